import { Agent, get as httpGet } from 'node:http';
import { Pool } from 'pg';
import { type Benchmark, type BenchFigure } from './types';
import { loadReadModels } from './data/read-model-rows';
import { SeededRandom } from './data/random';
import { startLedgerService } from './support/ledger-service';
import { formatRatio } from './support/ratio';

/*
 * P4: the dashboard queries at 1,000,000 accruals (1/20 in --quick), p99 under load. Each query is
 * run over HTTP against the service (a child process on loopback) with a fixed number of
 * concurrent connections for a fixed time, then, as the baseline, the same SQL its
 * handler runs, statement for statement and with the same order and parallelism, straight through
 * `pg` with the same concurrency for the same time, from pools as large as the service's (10 for
 * the read models, 10 for the event store). Both sides are driven by the same loop in this process
 * (a worker per connection, requests back to back, each timed to its last byte), so they differ
 * only in what answers. Ratio per query = service p99 ÷ baseline p99, target ≤ 2. The rows are
 * COPYed straight into the read models (data/read-model-rows.ts).
 */

const TARGET_RATIO = 2;
/**
 * Concurrent requests on each side. Enough to load two cores (the service and PostgreSQL share
 * them), not so many that both sides only measure their queues.
 */
const CONNECTIONS = 8;
/** The service's pools: slonik's (read models) and the PostgreSQL event store's. */
const POOL_SIZE = 10;

interface Sizes {
  readonly users: number;
  readonly accruals: number;
  readonly seconds: number;
  readonly warmUpSeconds: number;
}

function sizesOf(quick: boolean): Sizes {
  return quick ? { users: 5_000, accruals: 50_000, seconds: 1.5, warmUpSeconds: 0.5 } : { users: 100_000, accruals: 1_000_000, seconds: 5, warmUpSeconds: 1 };
}

interface Pools {
  readonly db: Pool;
  readonly events: Pool;
}

interface DashboardQuery {
  readonly name: string;
  /** The route, for a user picked at random. */
  path(userId: string): string;
  readonly needsKey: boolean;
  /** What the route's handler runs, as it runs it. */
  baseline(pools: Pools, userId: string): Promise<unknown>;
}

const FAUCET_CONFIG_STREAM = 'faucet-config';
/**
 * PostgresEventStore.readStream, as it reads the faucet-config stream (FaucetSettings.current)
 * when fewer than half its pool is reading; past that, concurrent reads go out together in one
 * statement, which this baseline does not do.
 */
const readFaucetConfig = (pools: Pools) =>
  pools.events.query(
    `SELECT global_position, stream_name, stream_revision, event_id, event_type, data, metadata, created_at FROM events
        WHERE stream_name = $1 AND stream_revision >= $2
        ORDER BY stream_revision
        LIMIT $3`,
    [FAUCET_CONFIG_STREAM, '0', null],
  );

/** Midnight UTC today and Monday 00:00 UTC of this ISO week, as capWindows computes them. */
function capWindows(now: Date): { dayStart: string; weekStart: string } {
  const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const daysSinceMonday = (dayStart.getUTCDay() + 6) % 7;
  return { dayStart: dayStart.toISOString(), weekStart: new Date(dayStart.getTime() - daysSinceMonday * 86_400_000).toISOString() };
}

/**
 * The four dashboard queries, with the statements of their handlers (src/identity/get-user,
 * src/payouts/list-payouts, src/dashboard-queries/leaderboard, src/treasury/donations) as they
 * stand: a change there must be made here too.
 */
const QUERIES: readonly DashboardQuery[] = [
  {
    name: 'user status',
    path: (userId) => `/v1/users/${userId}`,
    needsKey: true,
    // GetUserHandler.now: the user with its primary wallet, its open flags, its claims against the
    // caps, then the settings in force (the faucet-config stream) — one after another.
    async baseline(pools, userId) {
      await pools.db.query(
        `SELECT u.user_id, discord_user_id, region_code, epic_account_id, verification_status,
             last_settled_kill_count, last_settlement_at, accrued_kill_count, last_observed_kill_count, registered_at,
             accrued_raw, settled_raw, w.address AS wallet_address, w.verified AS wallet_verified
        FROM users u
        LEFT JOIN wallet_links w ON w.user_id = u.user_id AND w.is_primary
       WHERE u.user_id = $1`,
        [userId],
      );
      await pools.db.query(`SELECT flag_id, flag_type, severity FROM abuse_flags WHERE user_id = $1 AND status = 'open' ORDER BY raised_at`, [userId]);
      const { dayStart, weekStart } = capWindows(new Date());
      await pools.db.query(
        `SELECT coalesce(sum(kills) FILTER (WHERE requested_at >= $1::timestamptz), 0)::bigint AS today,
             coalesce(sum(kills), 0)::bigint AS week
        FROM payouts
       WHERE user_id = $2 AND status <> 'cancelled' AND requested_at >= $3::timestamptz`,
        [dayStart, userId, weekStart],
      );
      await readFaucetConfig(pools);
    },
  },
  {
    name: 'payouts page',
    path: (userId) => `/v1/users/${userId}/payouts`,
    needsKey: true,
    // ListPayoutsController.list: the user exists (slonik's exists()), then the first page (limit 50, one more read).
    async baseline(pools, userId) {
      await pools.db.query(`SELECT EXISTS(SELECT 1 FROM users WHERE user_id = $1)`, [userId]);
      await pools.db.query(
        `SELECT payout_id, user_id, status, gateway, kills, amount_raw, address, idempotency_key, attempt_count,
  first_attempt_at, last_attempt_at, last_error, next_attempt_at, failed_at, cancelled_at, cancel_reason,
  block_hash, requested_at, sent_at, accruals, requested_position FROM payouts
       WHERE user_id = $1 
       ORDER BY requested_position DESC LIMIT $2`,
        [userId, 51],
      );
    },
  },
  {
    name: 'leaderboard',
    path: () => '/v1/leaderboard?by=kills',
    needsKey: false,
    // GetLeaderboardHandler: the first 10 of the partial index on accrued kills.
    async baseline(pools) {
      await pools.db.query(
        `SELECT u.user_id, u.discord_user_id, u.accrued_kill_count, u.accrued_raw::text AS accrued_raw, u.settled_raw::text AS settled_raw
        FROM users u
       WHERE u.accrued_kill_count > 0
       ORDER BY u.accrued_kill_count DESC, u.user_id
       LIMIT $1`,
        [10],
      );
    },
  },
  {
    name: 'donations',
    path: () => '/v1/donations',
    needsKey: false,
    // GetDonationsHandler.execute: six reads at once — totals, milestones reached, the top 50
    // donors, the donor count, the rate factors (RateFactorsSource: the paid and donated totals
    // and the settings in force, together) and the operator address (the secure_config entry).
    async baseline(pools) {
      await Promise.all([
        pools.db.query(`SELECT total_name, amount_raw::text, entry_count FROM treasury_totals`),
        pools.db.query(`SELECT threshold_raw::text, reached_at FROM milestones`),
        pools.db.query(
          `SELECT sender, amount_raw::text, donation_count, last_donation_at FROM donor_totals
         ORDER BY amount_raw DESC, sender LIMIT $1`,
          [50],
        ),
        pools.db.query(`SELECT count(*) AS donors FROM donor_totals`),
        Promise.all([
          pools.db.query(`
      SELECT coalesce((SELECT amount_raw FROM payout_totals WHERE total_name = 'sent'), 0)::text AS paid_raw,
             coalesce((SELECT amount_raw FROM treasury_totals WHERE total_name = 'donated'), 0)::text AS donated_raw`),
          readFaucetConfig(pools),
        ]),
        pools.db.query(`SELECT name, ciphertext, auth_tag, nonce, key_id, address, updated_at FROM secure_config WHERE name = $1`, ['operator_seed']),
      ]);
    },
  },
];

interface Latencies {
  readonly requests: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

export const p4Queries: Benchmark = async (context) => {
  const sizes = sizesOf(context.quick);
  const database = await context.createDatabase('bench_p4', { migrate: true });
  try {
    context.log(`P4: writing read-model rows for ${sizes.users.toLocaleString('en-US')} users and ${sizes.accruals.toLocaleString('en-US')} accruals`);
    const loadStartedAt = performance.now();
    const loaded = await loadReadModels(database.url, { users: sizes.users, accruals: sizes.accruals }, new Date());
    const loadSeconds = (performance.now() - loadStartedAt) / 1000;
    context.log(`P4: rows written in ${loadSeconds.toFixed(1)} s: ${[...loaded.rows].map(([table, rows]) => `${table} ${rows}`).join(', ')}`);
    const service = await startLedgerService({ databaseUrl: database.url, log: context.log, env: { SETTLEMENT_INTERVAL_SECONDS: '0' } });
    const key = service.apiKey;
    const pools: Pools = {
      db: new Pool({ connectionString: database.url, max: POOL_SIZE, application_name: 'bench-p4-baseline' }),
      events: new Pool({ connectionString: database.url, max: POOL_SIZE, application_name: 'bench-p4-baseline-events' }),
    };
    const figures: BenchFigure[] = [];
    const ratios: Array<{ name: string; ratio: number }> = [];
    try {
      for (const query of QUERIES) {
        // Both sides ask for the same users in the same order.
        const pickUser = (random: SeededRandom) => loaded.userIds[Math.floor(random.next() * loaded.userIds.length)];
        const probe = await fetchStatus(`${service.baseUrl}${query.path(loaded.userIds[0])}`, query.needsKey ? key : undefined);
        if (probe !== 200) throw new Error(`GET ${query.path(loaded.userIds[0])} answered ${probe}`);
        await serviceLatencies(service.baseUrl, query, key, sizes.warmUpSeconds, new SeededRandom(`${query.name}-warm`), pickUser);
        const served = await serviceLatencies(service.baseUrl, query, key, sizes.seconds, new SeededRandom(query.name), pickUser);
        await baselineLatencies(pools, query, sizes.warmUpSeconds, new SeededRandom(`${query.name}-warm`), pickUser);
        const direct = await baselineLatencies(pools, query, sizes.seconds, new SeededRandom(query.name), pickUser);
        const ratio = served.p99 / direct.p99;
        ratios.push({ name: query.name, ratio });
        context.log(
          `P4: ${query.name.padEnd(12)} service p50 ${served.p50.toFixed(2)} ms p99 ${served.p99.toFixed(2)} ms (${served.requests} requests); ` +
            `pg p50 ${direct.p50.toFixed(2)} ms p99 ${direct.p99.toFixed(2)} ms (${direct.requests}); ratio ${formatRatio(ratio, TARGET_RATIO)}`,
        );
        figures.push({
          label: `${query.name} (GET ${query.path(':userId')})`,
          value:
            `service p50 ${served.p50.toFixed(2)} ms, p99 ${served.p99.toFixed(2)} ms, ${Math.round(served.requests / sizes.seconds)} req/s; ` +
            `pg p50 ${direct.p50.toFixed(2)} ms, p99 ${direct.p99.toFixed(2)} ms, ${Math.round(direct.requests / sizes.seconds)} req/s; p99 ratio ${formatRatio(ratio, TARGET_RATIO)}` +
            (served.errors + direct.errors > 0 ? `; errors: service ${served.errors}, pg ${direct.errors}` : ''),
        });
        if (served.errors > 0 || direct.errors > 0) ratios.push({ name: `${query.name} errors`, ratio: Number.POSITIVE_INFINITY });
      }
    } finally {
      await Promise.all([pools.db.end(), pools.events.end()]);
      await service.stop();
    }
    figures.push(
      { label: 'load', value: `${CONNECTIONS} concurrent connections / workers for ${sizes.seconds} s per query and side, after ${sizes.warmUpSeconds} s of warm-up; pools of ${POOL_SIZE}` },
      { label: 'read-model rows', value: [...loaded.rows].map(([table, rows]) => `${table} ${rows.toLocaleString('en-US')}`).join(', ') },
    );
    const worst = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    return {
      id: 'P4',
      title: 'Dashboard queries under load',
      dataSize: `${sizes.accruals.toLocaleString('en-US')} accruals of ${sizes.users.toLocaleString('en-US')} users`,
      figures,
      ratio: { value: worst.ratio, description: `the worst service p99 ÷ pg p99 (${worst.name}); per query above`, bound: TARGET_RATIO },
      target: `p99 ≤ ${TARGET_RATIO}× the baseline's, for every query`,
      met: ratios.every((entry) => entry.ratio <= TARGET_RATIO),
    };
  } finally {
    // BENCH_KEEP_DB=1 keeps the database, for looking at it by hand afterwards.
    if (process.env.BENCH_KEEP_DB === '1') context.log(`P4: kept ${database.url}`);
    else await database.drop();
  }
};

/**
 * The service side: CONNECTIONS workers, each sending the route's requests back to back over its
 * own kept-alive HTTP connection for `seconds`, timing each from the request to the last byte of
 * the answer. The same loop as the baseline's, in the same process, so the two differ only in
 * what is on the other end.
 */
async function serviceLatencies(
  baseUrl: string,
  query: DashboardQuery,
  key: string,
  seconds: number,
  random: SeededRandom,
  pickUser: (random: SeededRandom) => string,
): Promise<Latencies> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const headers: Record<string, string> = query.needsKey ? { authorization: `Bearer ${key}` } : {};
  try {
    return await measure(seconds, async () => {
      const status = await get(agent, `${baseUrl}${query.path(pickUser(random))}`, headers);
      if (status !== 200) throw new Error(`answered ${status}`);
    });
  } finally {
    agent.destroy();
  }
}

function get(agent: Agent, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { agent, headers }, (response) => {
      response.on('data', () => undefined);
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** The baseline: CONNECTIONS workers, each running the handler's statements back to back for `seconds`. */
function baselineLatencies(
  pools: Pools,
  query: DashboardQuery,
  seconds: number,
  random: SeededRandom,
  pickUser: (random: SeededRandom) => string,
): Promise<Latencies> {
  return measure(seconds, () => query.baseline(pools, pickUser(random)));
}

/** CONNECTIONS workers running `request` back to back for `seconds`; its latencies, in milliseconds. */
async function measure(seconds: number, request: () => Promise<unknown>): Promise<Latencies> {
  const samples: number[] = [];
  let errors = 0;
  const endAt = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < endAt) {
      const startedAt = performance.now();
      try {
        await request();
        samples.push(performance.now() - startedAt);
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, () => worker()));
  samples.sort((a, b) => a - b);
  const at = (quantile: number): number => samples[Math.min(samples.length - 1, Math.floor(quantile * samples.length))] ?? Number.NaN;
  return { requests: samples.length, p50: at(0.5), p99: at(0.99), errors };
}

async function fetchStatus(url: string, key: string | undefined): Promise<number> {
  const response = await fetch(url, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });
  await response.arrayBuffer();
  return response.status;
}
