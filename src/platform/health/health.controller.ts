import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { type FastifyReply } from 'fastify';
import { Public } from '../../security/access';

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

/** Bounds each check, so a hung dependency makes /ready answer "not ready" instead of hanging. */
const CHECK_TIMEOUT_MS = 2_000;

@Public()
@Controller()
export class HealthController {
  constructor(@Inject(READINESS_CHECKS) private readonly checks: readonly ReadinessCheck[]) {}

  /** Liveness: the process serves HTTP. */
  @Get('health')
  @HttpCode(200)
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: 200 when every dependency answers and the read models keep up, else 503. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ status: string; checks: Record<string, CheckResult> }> {
    const results = await Promise.all(this.checks.map(async (check) => [check.name, await runCheck(check)] as const));
    const ready = results.every(([, result]) => result.ok);
    void reply.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) };
  }
}

async function runCheck(check: ReadinessCheck): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      check.check(),
      new Promise<CheckResult>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }), CHECK_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
