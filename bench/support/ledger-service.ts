import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/platform/config/project-root';
import { createDatabasePool } from '../../src/platform/database/database';
import { freePort } from '../../src/platform/database/embedded-postgres';
import { API_KEY_SCOPES, ApiKeys } from '../../src/security/api-keys';
import { type BenchChild, childEnv, eventually, sleep, startNodeChild } from './children';
import { messageOf } from '../../src/platform/errors/message-of';

export interface LedgerService {
  readonly baseUrl: string;
  readonly pid: number;
  /** A key with every scope, created straight in the api_keys table (as the CLI does). */
  readonly apiKey: string;
  readonly process: BenchChild;
  /** The node flags it runs with: npm start's, then BENCH_SERVICE_NODE_ARGS. */
  readonly nodeArgs: readonly string[];
  /** Waits until every projection has caught up with the event store (GET /ready). */
  projectionsCaughtUp(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

/** Per-key and per-IP limits far above anything the load generator can send (their maximum). */
const RATE_LIMIT_OUT_OF_THE_WAY = '10000000';
const START_TIMEOUT_MS = 120_000;

/**
 * The service as `npm start` runs it (`node dist/src/main.js`, with the flags of that script), in its
 * own process, on `databaseUrl`:
 * the projector in process and the workers on their production defaults (dry-run payouts, settlement
 * every 20 minutes), NODE_ENV=production, only the rate limits raised out of the load's way.
 * `env` adds a benchmark's own settings (P3: a settlement of everything, a fast executor).
 * BENCH_SERVICE_NODE_ARGS (space-separated) go to the child's node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`
 * for a V8 CPU profile written when it stops.
 */
export async function startLedgerService(options: {
  readonly databaseUrl: string;
  readonly eventStoreConnectionString?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly log: (line: string) => void;
}): Promise<LedgerService> {
  // BENCH_SERVICE_ENTRY: another build to measure (an earlier commit's, for a before/after).
  const main = process.env.BENCH_SERVICE_ENTRY ?? join(projectRoot(), 'dist', 'src', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: npm run bench builds it first (prebench)`);
  const port = await freePort();
  const env: Record<string, string> = {
    DATABASE_URL: options.databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    LEDGER_MASTER_KEY: randomBytes(32).toString('base64'),
    LOG_FORMAT: 'json',
    RATE_LIMIT_KEY_PER_MINUTE: RATE_LIMIT_OUT_OF_THE_WAY,
    RATE_LIMIT_IP_PER_MINUTE: RATE_LIMIT_OUT_OF_THE_WAY,
  };
  if (options.eventStoreConnectionString !== undefined) env.EVENTSTORE_CONNECTION_STRING = options.eventStoreConnectionString;
  Object.assign(env, options.env);
  const nodeArgs = [...npmStartNodeFlags(), ...(process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '')];
  const child = startNodeChild([...nodeArgs, main], childEnv(env));
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await eventually(
      'the service to answer /health',
      async () => ((await fetch(`${baseUrl}/health`)).ok ? true : undefined),
      START_TIMEOUT_MS,
      child,
    );
  } catch (error) {
    await child.stop();
    throw new Error(`the ledger service did not start: ${messageOf(error)}\n${child.output()}`);
  }
  const pool = await createDatabasePool(options.databaseUrl, { poolSizeMax: 1 });
  let apiKey: string;
  try {
    ({ key: apiKey } = await new ApiKeys(pool).create({ name: `bench-${randomBytes(4).toString('hex')}`, scopes: API_KEY_SCOPES }));
  } finally {
    await pool.end();
  }
  options.log(`ledger service pid ${child.pid} listening on ${baseUrl}${nodeArgs.length > 0 ? ` (node ${nodeArgs.join(' ')})` : ''}`);
  return {
    baseUrl,
    pid: child.pid,
    apiKey,
    process: child,
    nodeArgs,
    async projectionsCaughtUp(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const caughtUp = await fetch(`${baseUrl}/ready`)
          .then(async (response) => {
            const body = (await response.json()) as { checks?: { projections?: { detail?: Record<string, { caughtUp?: boolean }> } } };
            const detail = body.checks?.projections?.detail;
            return detail !== undefined && Object.values(detail).every((projection) => projection.caughtUp === true);
          })
          .catch(() => false);
        if (caughtUp) return true;
        await sleep(250);
      }
      return false;
    },
    stop: () => child.stop(),
  };
}

/**
 * The node flags `npm start` passes (package.json: `exec node [flags] dist/src/main.js`), so that
 * the service runs here exactly as it is started for real, heap settings included.
 */
function npmStartNodeFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const match = /^(?:exec\s+)?node\s+(.*?)\s*dist\/src\/main\.js$/.exec(scripts?.start?.trim() ?? '');
  if (match === null) throw new Error(`package.json's start script is not "exec node [flags] dist/src/main.js" (got ${scripts?.start}): the bench cannot start the service as it does`);
  return match[1].split(/\s+/).filter((flag) => flag !== '');
}

/** Users seeded for the load: registered, Epic account linked with a baseline. */
export interface SeededUsers {
  readonly userIds: readonly string[];
  readonly baselineKills: number;
}

const SEED_CONCURRENCY = 16;
const SEED_BASELINE_KILLS = 1_000;

/**
 * `count` users through the public API (POST /v1/users, PUT …/epic-account with a baseline), as an
 * integration would make them; `tag` keeps Discord and Epic ids unique across services.
 */
export async function seedUsers(service: LedgerService, count: number, tag: number): Promise<SeededUsers> {
  const userIds: string[] = new Array(count);
  const headers = { authorization: `Bearer ${service.apiKey}`, 'content-type': 'application/json' };
  const send = async (method: string, path: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${service.baseUrl}${path}`, { method, headers, body: JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < count; index = next++) {
      const discordUserId = (800_000_000_000_000_000n + BigInt(tag) * 10_000_000n + BigInt(index)).toString();
      const { userId } = await send('POST', '/v1/users', { discordUserId });
      if (typeof userId !== 'string') throw new Error('POST /v1/users answered no userId');
      const epicAccountId = `${tag.toString(16)}b${index.toString(16)}`.padStart(32, 'e');
      await send('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId, lifetimeKills: SEED_BASELINE_KILLS });
      userIds[index] = userId;
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
  return { userIds, baselineKills: SEED_BASELINE_KILLS };
}

/**
 * Observations for the load: each one a higher lifetime count than the user's last, so each
 * records KillsObserved (and the first of a user's minute also AccrualRecorded). Batches take
 * consecutive users, so with enough users the requests in flight touch disjoint streams.
 */
export class ObservationSource {
  private readonly kills: number[];
  private cursor = 0;

  constructor(private readonly users: SeededUsers) {
    if (users.userIds.length === 0) throw new Error('the load needs users');
    this.kills = users.userIds.map(() => users.baselineKills);
  }

  next(): { userId: string; lifetimeKills: number } {
    const index = this.cursor;
    this.cursor = (this.cursor + 1) % this.users.userIds.length;
    this.kills[index] += 1;
    return { userId: this.users.userIds[index], lifetimeKills: this.kills[index] };
  }

  batch(size: number): Array<{ userId: string; lifetimeKills: number }> {
    return Array.from({ length: size }, () => this.next());
  }
}
