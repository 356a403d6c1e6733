import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { type FastifyReply } from 'fastify';
import { Public } from '../../security/access';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiSuccessExample, EXAMPLE, type OpenApiSchema } from '../http/openapi';
import { messageOf } from '../errors/message-of';
import { LOGGER, type Logger } from '../logging/logger';
import { SharedRuns } from '../runtime/shared-runs';

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

export interface CheckResult {
  readonly ok: boolean;
  readonly detail?: unknown;
}

/** One dependency the service needs to serve correct answers: database, event store, projections. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<CheckResult>;
}

/** The readiness answer's shape, for the OpenAPI document: a result per check, by name. */
const READINESS_SCHEMA: OpenApiSchema = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    checks: {
      type: 'object',
      description: 'By check name: `database`, `eventStore`, `projections` (each projection\'s lag), `payouts` (the mode, and in live mode the operator address and balance, or the reason it cannot pay).',
      additionalProperties: {
        type: 'object',
        required: ['ok'],
        properties: {
          ok: { type: 'boolean' },
          detail: {
            description:
              'What the check found. A check that threw gives `{ reason: "check_failed" }` and one that gave no answer in time `{ reason: "check_timed_out", timeoutMs }`: ' +
              'why it failed is in the log, not here.',
          },
        },
      },
    },
  },
};

const READY_EXAMPLE = {
  status: 'ready',
  checks: {
    database: { ok: true },
    eventStore: { ok: true, detail: { headPosition: '1234' } },
    projections: { ok: true, detail: { users: { caughtUp: true, lagSeconds: 0, state: 'running' }, payouts: { caughtUp: true, lagSeconds: 0, state: 'running' } } },
    payouts: { ok: true, detail: { mode: 'live', operatorAddress: EXAMPLE.address, balanceBan: '99980.00000000' } },
  },
};

/** Bounds each check, so a hung dependency makes /ready answer "not ready" instead of hanging. */
const CHECK_TIMEOUT_MS = 2_000;

/**
 * How long requests keep taking the answer of a check's run under way. A database statement
 * times out after 30 s, so a run older than that is stuck for a reason of its own.
 */
const CHECK_RUN_SHARED_MAX_MS = 30_000;

/**
 * What /ready says of a check that threw or did not answer. The error's own message stays in the
 * log: /ready is public, and a driver's message can name an internal host and port, a database or
 * a user ("connect ECONNREFUSED 10.0.0.5:5432", "password authentication failed for user …").
 */
const CHECK_FAILED: CheckResult = { ok: false, detail: { reason: 'check_failed' } };
const CHECK_TIMED_OUT: CheckResult = { ok: false, detail: { reason: 'check_timed_out', timeoutMs: CHECK_TIMEOUT_MS } };

@ApiTags('operations')
@Public()
@Controller()
export class HealthController {
  /**
   * The run each check has under way, whose answer requests arriving meanwhile take. /ready is
   * public: were every request to run the checks, a burst of requests would put as many queries
   * on the database pool and calls on the Banano node at once, and against a hung dependency each
   * request would leave one more waiting after its timeout.
   */
  private readonly runs = new SharedRuns<ReadinessCheck, CheckResult>(CHECK_RUN_SHARED_MAX_MS);

  constructor(
    @Inject(READINESS_CHECKS) private readonly checks: readonly ReadinessCheck[],
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Liveness: the process serves HTTP. */
  @ApiOperation({ summary: 'Liveness: the process serves HTTP' })
  @ApiSuccessExample(200, 'Alive', { status: 'ok' })
  @Get('health')
  @HttpCode(200)
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: 200 when every dependency answers and the read models keep up, else 503. */
  @ApiOperation({
    summary: 'Readiness: the database, the event store, the projections and payouts',
    description:
      '200 when every check passes: the database and event store answer, every projection is at most READY_PROJECTION_LAG_SECONDS_MAX behind, and payouts can go out ' +
      '(dry-run, or a readable operator seed and a node that answers). 503 otherwise, with the same body naming the failing check. Each check has 2 s to answer; ' +
      'one that throws or does not answer says only that (`check_failed`, `check_timed_out`), and the service logs why.',
  })
  @ApiResponse({ status: 200, description: 'Ready', content: { 'application/json': { schema: READINESS_SCHEMA, example: READY_EXAMPLE } } })
  @ApiResponse({
    status: 503,
    description: 'Not ready: the body names the failing check (not a problem+json)',
    content: {
      'application/json': {
        schema: READINESS_SCHEMA,
        example: { status: 'not_ready', checks: { ...READY_EXAMPLE.checks, payouts: { ok: false, detail: { mode: 'live', reason: 'operator_seed_not_configured' } } } },
      },
    },
  })
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ status: string; checks: Record<string, CheckResult> }> {
    const results = await Promise.all(this.checks.map(async (check) => [check.name, await runCheck(check, this.runs.run(check, () => check.check()), this.logger)] as const));
    const ready = results.every(([, result]) => result.ok);
    void reply.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) };
  }
}

async function runCheck(check: ReadinessCheck, run: Promise<CheckResult>, logger: Logger): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      run,
      new Promise<CheckResult>((resolve) => {
        timer = setTimeout(() => resolve(CHECK_TIMED_OUT), CHECK_TIMEOUT_MS);
      }),
    ]);
    if (result === CHECK_TIMED_OUT) logger.warn({ check: check.name, timeoutMs: CHECK_TIMEOUT_MS }, 'readiness check did not answer in time');
    return result;
  } catch (error) {
    // The message only: an error object can carry more than its message (a driver's connection
    // parameters), and the message is what an operator needs to find the failing dependency.
    logger.warn({ check: check.name, error: messageOf(error) }, 'readiness check failed');
    return CHECK_FAILED;
  } finally {
    clearTimeout(timer);
  }
}
