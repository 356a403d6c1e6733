import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { allProjections } from '../projections';
import { METRICS, type Metrics } from '../src/platform/metrics/metrics';
import { call, earner, withLiveApp } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

const BAN = 10n ** 29n;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface Scrape {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly samples: readonly Sample[];
}

/** GET /metrics as Prometheus does it: no key. */
async function scrape(app: TestApp): Promise<Scrape> {
  const response = await fetch(`${app.baseUrl}/metrics`);
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, samples: parseExposition(text) };
}

/** The samples of the text format 0.0.4: `name{label="value",…} number` per line, comments skipped. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[label[1]] = label[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when none. */
function valueOf(scraped: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = scraped.samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** The sum over every sample named `name` whose labels include `labels`. */
function sumOf(scraped: Scrape, name: string, labels: Record<string, string> = {}): number {
  return scraped.samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

const LEDGER_FAMILIES = [
  'ledger_commands_total',
  'ledger_events_appended_total',
  'ledger_projection_lag_events',
  'ledger_projection_lag_seconds',
  'ledger_payouts',
  'ledger_settlement_run_duration_seconds',
  'ledger_settlement_run_payouts',
  'ledger_settlement_run_kills',
  'ledger_banano_rpc_duration_seconds',
  'ledger_banano_rpc_errors_total',
  'ledger_http_request_duration_seconds',
  'ledger_metrics_collect_errors_total',
  'ledger_worker_run_failures_total',
];

/**
 * GET /metrics (SPEC §5, public per §4.6): Prometheus text of what the ledger did — commands by
 * outcome, events appended, projection lag, payouts by status, settlement runs, Banano node calls
 * and HTTP latency — beside the process metrics, with no id, key or seed in it.
 */
describe('Prometheus metrics', () => {
  describe('a dry-run app', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    });

    afterAll(async () => {
      await app.close();
    });

    it('answers a scrape without a key on a fresh app, in the text format, with every family declared', async () => {
      const fresh = await scrape(app);

      expect(fresh.status).toBe(200);
      expect(fresh.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
      for (const family of LEDGER_FAMILIES) expect(fresh.text).toContain(`# TYPE ${family} `);
      expect(valueOf(fresh, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(valueOf(fresh, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
      expect(valueOf(fresh, 'ledger_payouts', { status: 'sent' })).toBe(0);
      // The workers this process runs show 0 failed runs from the start; the others show nothing.
      const failures = fresh.samples.filter((sample) => sample.name === 'ledger_worker_run_failures_total');
      expect(failures.map((sample) => [sample.labels.worker, sample.value]).sort()).toEqual([
        ['payout-executor', 0],
        ['settlement-scheduler', 0],
      ]);
    });

    it('shows commands, events, lag, payouts, settlement and HTTP latency after traffic, and never an id or a key', async () => {
      // Given two players with kills, one registered twice, a rule broken and an unknown user and route,
      const players = [await earner(app, 12), await earner(app, 5)];
      expect((await call(app, 'POST', '/v1/users', { discordUserId: players[0].discordUserId })).status).toBe(200);
      const stale = await call(app, 'POST', `/v1/users/${players[0].userId}/kills`, { lifetimeKills: 20, observedAt: new Date(Date.now() - 3_600_000).toISOString() });
      expect(stale.body.code).toBe('observed_at_before_previous');
      expect((await call(app, 'GET', `/v1/users/${randomUUID()}`)).status).toBe(404);
      expect((await call(app, 'GET', '/v1/no-such-route')).status).toBe(404);
      // when a settlement runs and the executor sends its payouts (dry run),
      await synced(app);
      const run = await call(app, 'POST', '/v1/admin/settlements', {});
      expect(run.status).toBe(200);
      expect(run.body.payoutsRequested).toBe(2);
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 2, failed: 0 });
      await synced(app);
      const scraped = await scrape(app);

      // then every family shows it.
      expect(scraped.status).toBe(200);
      expect(valueOf(scraped, 'ledger_commands_total', { command: 'RegisterUser', outcome: 'ok' })).toBe(3);
      expect(valueOf(scraped, 'ledger_commands_total', { command: 'RecordKills', outcome: 'ok' })).toBe(2);
      expect(valueOf(scraped, 'ledger_commands_total', { command: 'RecordKills', outcome: 'rejected' })).toBe(1);
      expect(valueOf(scraped, 'ledger_commands_total', { command: 'RunSettlement', outcome: 'ok' })).toBe(1);
      // Every user event in the store was appended by this app, the executor's PayoutSent included.
      const userEvents = await app.store.readAll({ maxCount: 10_000, filter: { kind: 'category', categories: ['user'] } });
      expect(userEvents.filter((event) => event.type === 'PayoutSent')).toHaveLength(2);
      expect(valueOf(scraped, 'ledger_events_appended_total', { category: 'user' })).toBe(userEvents.length);
      expect(valueOf(scraped, 'ledger_events_appended_total', { category: 'settlement' })).toBe(2);

      for (const projection of allProjections) {
        expect([projection.name, valueOf(scraped, 'ledger_projection_lag_events', { projection: projection.name })]).toEqual([projection.name, 0]);
        expect([projection.name, valueOf(scraped, 'ledger_projection_lag_seconds', { projection: projection.name })]).toEqual([projection.name, 0]);
      }
      expect(valueOf(scraped, 'ledger_payouts', { status: 'sent' })).toBe(2);
      expect(valueOf(scraped, 'ledger_payouts', { status: 'pending' })).toBe(0);

      expect(valueOf(scraped, 'ledger_settlement_run_duration_seconds_count', { trigger: 'admin' })).toBe(1);
      expect(valueOf(scraped, 'ledger_settlement_run_duration_seconds_sum', { trigger: 'admin' })).toBeGreaterThan(0);
      expect(valueOf(scraped, 'ledger_settlement_run_payouts_sum', { trigger: 'admin' })).toBe(2);
      expect(valueOf(scraped, 'ledger_settlement_run_kills_sum', { trigger: 'admin' })).toBe(17);

      const http = (route: string, method: string, status: string) =>
        valueOf(scraped, 'ledger_http_request_duration_seconds_count', { route, method, status });
      expect(http('/v1/users', 'POST', '201')).toBe(2);
      expect(http('/v1/users', 'POST', '200')).toBe(1);
      expect(http('/v1/users/:userId/kills', 'POST', '422')).toBe(1);
      expect(http('/v1/users/:userId', 'GET', '404')).toBe(1);
      expect(http('unmatched', 'GET', '404')).toBe(1);
      expect(valueOf(scraped, 'ledger_http_request_duration_seconds_bucket', { route: '/v1/users', method: 'POST', status: '201', le: '+Inf' })).toBe(2);

      const labelValues = scraped.samples.flatMap((sample) => Object.values(sample.labels));
      expect(labelValues.filter((value) => UUID.test(value))).toEqual([]);
      expect(scraped.text).not.toMatch(UUID);
      for (const player of players) {
        expect(scraped.text).not.toContain(player.discordUserId);
        expect(scraped.text).not.toContain(player.address);
      }
      expect(scraped.text).not.toContain(app.apiKey);
      expect(scraped.text).not.toContain('p2s_');
    });
  });

  it('counts every failed run of a worker by worker, the runs whose log line was left out too', async () => {
    await withLiveApp({ env: () => ({ PAYOUT_EXECUTOR_INTERVAL_MS: '50' }) }, async ({ app, seedFile, ingester }) => {
      // Given a live app whose operator seed file no longer holds a seed, so every run fails alike,
      await writeFile(seedFile, 'not a seed\n');
      const fresh = await scrape(app);
      // when the payout executor and the donation ingester run on their schedules for a while,
      app.workers.payoutExecutor.start();
      ingester.start();
      // (watched through the registry itself: GET /metrics every 50 ms would meet the rate limit)
      const registry = app.app.get<Metrics>(METRICS);
      const failedSoFar = async (worker: string) => new RegExp(`ledger_worker_run_failures_total\\{worker="${worker}"\\} (\\d+)`).exec(await registry.scrape())?.[1];
      // Bounded, so a count that never comes fails below rather than running past the test's end.
      for (let waits = 0; waits < 400 && (Number((await failedSoFar('payout-executor')) ?? 0) < 3 || Number((await failedSoFar('donation-ingester')) ?? 0) < 1); waits += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await Promise.all([app.workers.payoutExecutor.stop(), ingester.stop()]);
      const scraped = await scrape(app);

      // then each worker's failed runs show under its own label, from 0 before the first one.
      const failures = (of: Scrape, worker: string) => valueOf(of, 'ledger_worker_run_failures_total', { worker });
      expect([failures(fresh, 'payout-executor'), failures(fresh, 'donation-ingester'), failures(fresh, 'settlement-scheduler')]).toEqual([0, 0, 0]);
      expect(failures(scraped, 'payout-executor')).toBeGreaterThanOrEqual(3);
      expect(failures(scraped, 'donation-ingester')).toBeGreaterThanOrEqual(1);
      expect(failures(scraped, 'settlement-scheduler')).toBe(0);
      expect(failures(scraped, 'stats-poller')).toBeUndefined();
      expect(failures(scraped, 'yunite-reverification')).toBeUndefined();
      expect(scraped.text).toContain('# TYPE ledger_worker_run_failures_total counter');
    });
  });

  it('watches the Banano node: call latency by outcome, and errors by kind, in a registry of its own', async () => {
    await withLiveApp({ openWithRaw: 1_000n * BAN }, async ({ app, node, seedFile, operator }) => {
      // Given a player owed kills, and a node that refuses, then fails three times in a row,
      const player = await earner(app, 10);
      await synced(app);
      node.failNext('account_balance', 'reject', { error: 'Internal server error in RPC' });
      const refused = await call(app, 'POST', '/v1/admin/settlements', {});
      expect([refused.status, refused.body.code]).toEqual([503, 'banano_node_unavailable']);
      node.failNext('account_balance', 'answer', { status: 500, count: 3 });
      const failed = await call(app, 'POST', '/v1/admin/settlements', {});
      expect([failed.status, failed.body.code]).toEqual([503, 'banano_node_unavailable']);
      // when it answers again and the payout goes out on chain,
      const run = await call(app, 'POST', '/v1/admin/settlements', {});
      expect(run.body.payoutsRequested).toBe(1);
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      await synced(app);
      const scraped = await scrape(app);

      // then each call is timed by action and outcome, and each failure counted by kind.
      const rpc = (action: string, outcome: string) => valueOf(scraped, 'ledger_banano_rpc_duration_seconds_count', { action, outcome });
      expect(rpc('account_balance', 'rejected')).toBe(1);
      expect(rpc('account_balance', 'unavailable')).toBe(1);
      expect(rpc('account_balance', 'ok')).toBeGreaterThanOrEqual(1);
      expect(rpc('work_generate', 'ok')).toBeGreaterThanOrEqual(1);
      expect(rpc('process', 'ok')).toBe(1);
      expect(valueOf(scraped, 'ledger_banano_rpc_errors_total', { action: 'account_balance', kind: 'rejected' })).toBe(1);
      expect(valueOf(scraped, 'ledger_banano_rpc_errors_total', { action: 'account_balance', kind: 'server_error' })).toBe(1);
      expect(sumOf(scraped, 'ledger_banano_rpc_errors_total')).toBe(2);
      expect(valueOf(scraped, 'ledger_commands_total', { command: 'RunSettlement', outcome: 'error' })).toBe(2);
      expect(valueOf(scraped, 'ledger_commands_total', { command: 'RunSettlement', outcome: 'ok' })).toBe(1);
      // This app counts only its own traffic, not that of the other apps this test file starts.
      expect(valueOf(scraped, 'ledger_commands_total', { command: 'RegisterUser', outcome: 'ok' })).toBe(1);
      expect(valueOf(scraped, 'ledger_payouts', { status: 'sent' })).toBe(1);

      const seed = (await readFile(seedFile, 'utf8')).trim();
      for (const secret of [seed, seed.toLowerCase(), operator.privateKey, operator.privateKey.toLowerCase(), app.apiKey]) {
        expect(scraped.text).not.toContain(secret);
      }
      expect(scraped.text).not.toContain(operator.address);
      expect(scraped.text).not.toContain(player.address);
      expect(scraped.text).not.toMatch(UUID);
    });
  });
});
