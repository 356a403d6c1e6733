import { setTimeout as sleep } from 'node:timers/promises';
import { type DatabasePool, sql } from 'slonik';
import { runScheduledSettlement } from '../src/payouts/run-settlement/settlement-schedule';
import { createDatabasePool } from '../src/platform/database/database';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/** The settlement schedule shared by the instances of the service, against real PostgreSQL. */
describe('the shared settlement schedule', () => {
  let database: TestDatabase;
  let pools: DatabasePool[];

  beforeEach(async () => {
    database = await createTestDatabase();
    // Two pools stand for two instances of the service on one database.
    pools = [await createDatabasePool(database.url), await createDatabasePool(database.url)];
  });

  afterEach(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await database.drop();
  });

  const lastRunEndedAt = async (): Promise<Date | null> =>
    pools[0].maybeOneFirst(sql.unsafe`SELECT last_run_ended_at FROM settlement_schedule`) as Promise<Date | null>;

  it('runs at start whatever the schedule, and then only once the last run is an interval old, in any instance', async () => {
    let runs = 0;
    const run = async (): Promise<void> => {
      runs += 1;
    };

    expect(await runScheduledSettlement(pools[0], null, run)).toEqual({ ran: true });
    const ended = await lastRunEndedAt();
    const notDue = await runScheduledSettlement(pools[1], 60_000, run);
    expect(await runScheduledSettlement(pools[1], null, run)).toEqual({ ran: true });
    await sleep(50);
    expect(await runScheduledSettlement(pools[1], 20, run)).toEqual({ ran: true });

    expect(runs).toBe(3);
    expect(notDue).toEqual({ ran: false, lastRunEndedAt: ended });
  });

  /** The last scheduled run ended `ms` ago. */
  const lastRunAgo = async (ms: number): Promise<void> => {
    await pools[0].query(sql.unsafe`
      INSERT INTO settlement_schedule (id, last_run_ended_at) VALUES (1, now() - ${ms} * interval '1 millisecond')`);
  };

  it('starts the schedule at the first ask, so the first run is due an interval after it and not after each start', async () => {
    let runs = 0;
    const run = async (): Promise<void> => {
      runs += 1;
    };

    const first = await runScheduledSettlement(pools[0], 60_000, run);
    const anchor = await lastRunEndedAt();
    // Another instance starting later (or this one restarted) is not due either: the anchor holds.
    const restarted = await runScheduledSettlement(pools[1], 60_000, run);
    await sleep(50);
    const due = await runScheduledSettlement(pools[1], 20, run);

    expect(anchor).not.toBeNull();
    expect(first).toEqual({ ran: false, lastRunEndedAt: anchor });
    expect(restarted).toEqual({ ran: false, lastRunEndedAt: anchor });
    expect(due).toEqual({ ran: true });
    expect(runs).toBe(1);
  });

  it('makes one run of two instances due at the same moment', async () => {
    await lastRunAgo(120_000);
    let runs = 0;
    const run = async (): Promise<void> => {
      runs += 1;
      await sleep(200);
    };

    const outcomes = await Promise.all(pools.map((pool) => runScheduledSettlement(pool, 60_000, run)));

    expect(runs).toBe(1);
    expect(outcomes.map((outcome) => outcome.ran).sort()).toEqual([false, true]);
  });

  it('counts a run that failed as run, so the next waits for the interval', async () => {
    await lastRunAgo(120_000);
    await expect(runScheduledSettlement(pools[0], 60_000, () => Promise.reject(new Error('banano_node_unavailable')))).rejects.toThrow('banano_node_unavailable');

    expect(await lastRunEndedAt()).not.toBeNull();
    expect((await runScheduledSettlement(pools[1], 60_000, () => Promise.resolve())).ran).toBe(false);
  });
});
