import { sql } from 'slonik';
import { z } from 'zod';
import { allProjections } from '../projections';
import { rebuildProjections } from '../projections/runtime/rebuild';
import { type Benchmark, type BenchFigure } from './types';
import { httpCall } from './support/http';
import { startLedgerService } from './support/ledger-service';
import { createEventDataset, DRY_RUN_BALANCE_BAN, type EventDataset, openEventStore, takeSharedDataset, withPool } from './data/dataset';
import { messageOf } from '../src/platform/errors/message-of';

/*
 * P3: one settlement run of every eligible user (100,000 in the full run), in dry-run, triggered
 * as an admin does (POST /v1/admin/settlements) on the service running as a child process with
 * its projector and payout executor. Measured: payouts requested per second over the request (the
 * whole run: reading the eligible users, planning, one PayoutRequested per user, the run's
 * summary), and the time from the trigger until the payouts read model shows every payout of the
 * run `sent` by the dry-run executor, waited for at most SENT_WAIT_MAX_SECONDS after the run
 * answered (past that, the figure says how many were sent by then, at what rate). No baseline: the target is absolute (≥ 1,000 payouts
 * requested per second; the original system's was 10 payouts a minute).
 *
 * Settlement settings: SETTLEMENT_BATCH_SIZE=0 (every eligible user in one run, which is the
 * default), the default kill caps (150 a day, 750 a week; the history is older than the current
 * week and every user's unsettled kills are below the caps), BANANO_DRY_RUN_BALANCE_BAN high enough
 * that the budget defers nobody, no scheduled runs, and the executor polling every 50 ms
 * (PAYOUT_EXECUTOR_INTERVAL_MS; the default is 1 s between its runs of up to 500 payouts).
 */

const TARGET_PER_SECOND = 1_000;
/** How long P3 waits, after the settlement answered, for every payout to be sent (--quick, full). */
const SENT_WAIT_MAX_SECONDS = { quick: 15, full: 120 } as const;
const summaryShape = z.object({
  runId: z.string(),
  eligible: z.number(),
  payoutsRequested: z.number(),
  killsRequested: z.number(),
  amountRequestedBan: z.string(),
  deferredByCaps: z.number(),
  deferredByBudget: z.number(),
  skipped: z.number(),
});
const sentShape = z.object({ sent: z.bigint(), total: z.bigint() });

export const p3Settlement: Benchmark = async (context) => {
  const dataset = takeSharedDataset(context) ?? (await ownDataset(context));
  try {
    const service = await startLedgerService({
      databaseUrl: dataset.database.url,
      eventStoreConnectionString: dataset.eventStoreConnectionString,
      log: context.log,
      env: {
        BANANO_DRY_RUN_BALANCE_BAN: DRY_RUN_BALANCE_BAN,
        SETTLEMENT_INTERVAL_SECONDS: '0',
        SETTLEMENT_BATCH_SIZE: '0',
        PAYOUT_EXECUTOR_INTERVAL_MS: '50',
      },
    });
    const key = service.apiKey;
    try {
      const users = dataset.sizes.users;
      context.log(`P3: settling ${users.toLocaleString('en-US')} eligible users through POST /v1/admin/settlements`);
      const commitsBefore = await databaseCommits(dataset.database.url);
      const startedAt = performance.now();
      const answer = await httpCall('POST', `${service.baseUrl}/v1/admin/settlements`, { key, body: {} });
      const requestSeconds = (performance.now() - startedAt) / 1000;
      if (answer.status !== 200) throw new Error(`POST /v1/admin/settlements answered ${answer.status}: ${answer.body.slice(0, 2_000)}`);
      const summary = summaryShape.parse(JSON.parse(answer.body));
      const commitsDuringRequest = (await databaseCommits(dataset.database.url)) - commitsBefore;
      const perSecond = summary.payoutsRequested / requestSeconds;
      context.log(`P3: ${summary.payoutsRequested.toLocaleString('en-US')} payouts requested in ${requestSeconds.toFixed(1)} s (${Math.round(perSecond)}/s); waiting until all are sent`);
      // The executor sends while the run requests, and after: the full run bounds the wait, to
      // stay in the suite's time, and extrapolates when it ends before every payout is sent.
      const deadlineMs = performance.now() + SENT_WAIT_MAX_SECONDS[context.quick ? 'quick' : 'full'] * 1000;
      const sent = await withPool(dataset.database.url, async (pool) => {
        for (;;) {
          const counts = await pool.one(sql.type(sentShape)`
            SELECT count(*) FILTER (WHERE status = 'sent') AS sent, count(*) AS total FROM payouts WHERE run_id = ${summary.runId}`);
          const now = performance.now();
          const seconds = (now - startedAt) / 1000;
          if (counts.sent >= BigInt(summary.payoutsRequested)) return { all: true, count: Number(counts.sent), seconds };
          if (now > deadlineMs) return { all: false, count: Number(counts.sent), seconds };
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      });
      const commitsUntilSent = (await databaseCommits(dataset.database.url)) - commitsBefore;
      context.log(`P3: ${sent.all ? 'all' : 'only'} ${sent.count.toLocaleString('en-US')} sent ${sent.seconds.toFixed(1)} s after the trigger`);
      const problems: string[] = [];
      if (summary.eligible !== users) problems.push(`${summary.eligible} eligible users, ${users} expected`);
      if (summary.payoutsRequested !== summary.eligible) problems.push(`${summary.payoutsRequested} payouts requested for ${summary.eligible} eligible users`);
      const figures: BenchFigure[] = [
        { label: 'payouts requested', value: `${summary.payoutsRequested.toLocaleString('en-US')} of ${summary.eligible.toLocaleString('en-US')} eligible (${summary.killsRequested.toLocaleString('en-US')} kills, ${summary.amountRequestedBan} BAN; deferred by caps ${summary.deferredByCaps}, by budget ${summary.deferredByBudget}, skipped ${summary.skipped})` },
        { label: 'settlement request', value: `${requestSeconds.toFixed(2)} s` },
        { label: 'payouts requested per second', value: Math.round(perSecond).toLocaleString('en-US') },
        {
          label: 'time until all sent',
          value: sent.all
            ? `${sent.seconds.toFixed(1)} s after the trigger (${Math.round(sent.count / sent.seconds).toLocaleString('en-US')} payouts/s, dry-run executor)`
            : `not within the wait: ${sent.count.toLocaleString('en-US')} of ${summary.payoutsRequested.toLocaleString('en-US')} sent ${sent.seconds.toFixed(0)} s after the trigger ` +
              `(${Math.round(sent.count / sent.seconds).toLocaleString('en-US')} payouts/s; all, at that rate, ~${Math.round((summary.payoutsRequested * sent.seconds) / Math.max(1, sent.count)).toLocaleString('en-US')} s)`,
        },
        {
          label: 'database transactions',
          value: `${commitsDuringRequest.toLocaleString('en-US')} committed during the request, ${commitsUntilSent.toLocaleString('en-US')} until all were sent (appends, projector batches, executor)`,
        },
        { label: 'settings', value: 'dry-run, SETTLEMENT_BATCH_SIZE=0 (all), default caps, PAYOUT_EXECUTOR_INTERVAL_MS=50' },
        ...(problems.length > 0 ? [{ label: 'problems', value: problems.join('; ') }] : []),
      ];
      return {
        id: 'P3',
        title: 'Settlement in dry-run',
        eventStore: context.eventStore,
        dataSize: `${summary.eligible.toLocaleString('en-US')} eligible users, store of ${dataset.history.eventCount.toLocaleString('en-US')} events`,
        figures,
        target: `≥ ${TARGET_PER_SECOND.toLocaleString('en-US')} payouts requested/s`,
        met: perSecond >= TARGET_PER_SECOND && problems.length === 0,
      };
    } catch (error) {
      throw new Error(`${messageOf(error)}\nservice output:\n${service.process.output().slice(-4_000)}`, { cause: error });
    } finally {
      await service.stop();
    }
  } finally {
    await dataset.database.drop();
  }
};

/** Transactions committed in the database so far (pg_stat_database, as the statistics collector last reported). */
async function databaseCommits(url: string): Promise<number> {
  return withPool(url, async (pool) => {
    await pool.query(sql.unsafe`SELECT pg_stat_clear_snapshot()`);
    return Number(await pool.oneFirst(sql.type(z.object({ commits: z.bigint() }))`
      SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = current_database()`));
  });
}

/** P3 run without P2 before it: the same data set, its read models rebuilt (not measured). */
async function ownDataset(context: Parameters<Benchmark>[0]): Promise<EventDataset> {
  const dataset = await createEventDataset(context, 'bench_p3');
  try {
    const store = openEventStore(dataset);
    try {
      context.log('P3: building the read models (not measured)');
      await withPool(dataset.database.url, (pool) => rebuildProjections(pool, store, allProjections));
    } finally {
      await store.close();
    }
    dataset.rebuilt = true;
    return dataset;
  } catch (error) {
    await dataset.database.drop();
    throw error;
  }
}
