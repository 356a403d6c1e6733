import { Client } from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { allProjections, type Projection } from '../projections';
import { Projector } from '../projections/runtime/projector';
import { rebuildProjections } from '../projections/runtime/rebuild';
import { REBUILD_SCHEMA } from '../projections/runtime/shadow-schema';
import { verifyProjections } from '../projections/runtime/verify';
import { describe as describeError } from '../src/cli/ledger-command';
import { type EventStore } from '../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { readCheckpoint } from '../src/platform/read-models/checkpoints';
import { registerProbeUser } from './support/probe-event';
import { eventually } from './support/processes';
import { useDatabaseWithStore } from './support/test-database';

const register = (store: PostgresEventStore): Promise<bigint> => registerProbeUser(store, 'verify-rebuild-test');

/**
 * `projections verify` and `projections rebuild` at the same time. A verification holds a
 * projection's checkpoint row (FOR UPDATE) and reads its live tables for as long as it compares
 * them; a rebuild's swap of that projection waits for them with lock_timeout, a few times, and
 * then gives up with a message that says what held it and that running it again resumes. No
 * projector runs here: the live checkpoints move only by the swaps.
 */
describe('projections verify and rebuild at the same time', () => {
  const suite = useDatabaseWithStore({ storeOptions: { pollIntervalMs: 100 } });
  let last: bigint;
  const users = allProjections.find((projection) => projection.name === 'users') as Projection;
  const other = allProjections.find((projection) => projection.name !== 'users') as Projection;
  const userRows = (): Promise<number> => suite.pool.oneFirst(sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM users`);

  /**
   * A verification of users held in the middle of its comparison: its copy is locked away by another
   * connection, so it waits there with the checkpoint row of users locked and the live users table
   * read. `release` lets it finish (and may be called again); `verifying` is its report.
   */
  async function verificationHeldInComparison(): Promise<{ verifying: ReturnType<typeof verifyProjections>; release(): Promise<void> }> {
    const { database, pool, store } = suite;
    const blocker = new Client({ connectionString: database.url });
    await blocker.connect();
    let held: Promise<unknown> | null = null;
    const verifying = verifyProjections(pool, store, [users, other], {
      lockTimeoutMs: 60_000,
      progress: {
        start: (name) => {
          if (name === other.name) held ??= blocker.query('BEGIN').then(() => blocker.query('LOCK TABLE projection_verify.users IN ACCESS EXCLUSIVE MODE'));
        },
        update: () => undefined,
        stop: () => undefined,
      },
    });
    let released = false;
    const release = async (): Promise<void> => {
      if (released) return;
      released = true;
      await blocker.query('ROLLBACK');
      await blocker.end();
      await verifying.catch(() => undefined);
    };
    try {
      await eventually('the verification to wait in its comparison of users', async () => {
        const waiting = await pool.oneFirst(sql.type(z.object({ waiting: z.boolean() }))`
          SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FULL JOIN%') AS waiting`);
        return waiting ? true : undefined;
      });
    } catch (error) {
      await release();
      throw error;
    }
    return { verifying, release };
  }

  beforeAll(async () => {
    for (let index = 0; index < 20; index += 1) last = await register(suite.store);
  }, 60_000);

  it('a swap between the build and the comparison of a verification moves the checkpoint it compares at, with no false difference', async () => {
    const { pool, store } = suite;
    await rebuildProjections(pool, store, [users]);
    last = await register(store);
    // The verification reads the live checkpoint of users (20) and, before it builds its copy to
    // there, a rebuild swaps in users up to the store's head (21): the store the verification reads
    // waits for that swap on its first read.
    let swapped: Promise<unknown> | null = null;
    const gated = new Proxy(store, {
      get(target, property, receiver) {
        if (property !== 'readAll') return Reflect.get(target, property, receiver) as unknown;
        return async (...args: Parameters<EventStore['readAll']>) => {
          swapped ??= rebuildProjections(pool, store, [users]);
          await swapped;
          return target.readAll(...args);
        };
      },
    });
    const report = await verifyProjections(pool, gated, [users]);
    expect(swapped).not.toBeNull();
    expect(await userRows()).toBe(21);
    expect(report.differences).toBe(0);
    expect(report.projections[0]).toMatchObject({ name: 'users', position: last, tables: [{ table: 'users', rows: 21, differences: 0 }] });
  });

  it('a swap waits for a verification comparing its projection, gives up after its attempts saying so, and resumes when run again', async () => {
    const { pool, store } = suite;
    last = await register(store);
    const { verifying, release } = await verificationHeldInComparison();
    try {
      const startedAt = Date.now();
      const failure = await rebuildProjections(pool, store, [users], { lockTimeoutMs: 200, swapAttemptsMax: 3 }).then(
        () => new Error('the swap did not give up'),
        (error: unknown) => error,
      );
      const tookMs = Date.now() - startedAt;

      // 3 attempts of 200 ms, 250 + 500 ms apart: the budget, not the verification, ends the wait.
      expect(tookMs).toBeGreaterThanOrEqual(3 * 200 + 250 + 500);
      expect(tookMs).toBeLessThan(30_000);
      expect(failure).toMatchObject({ code: 'rebuild_swap_lock_timeout' });
      expect(describeError(failure)).toMatch(
        /^rebuild_swap_lock_timeout: The swap of users gave up after 3 attempts of 0\.2 s each \(\d+\.\d s in all\): it could not lock the checkpoint row of users, which a `projections verify` holds while it compares users \(a long query or batch can too\)\. The rebuilt copies are kept: run the same command again once that has ended, and it resumes where it stopped\.$/,
      );
      // The live tables are the old ones, and the copies are kept.
      expect(await userRows()).toBe(21);
      const shadow = await pool.oneFirst(sql.type(z.object({ position: z.bigint() }))`
        SELECT position FROM ${sql.identifier([REBUILD_SCHEMA, 'shadow_checkpoints'])} WHERE projection_name = 'users'`);
      expect(shadow).toBe(last);
    } finally {
      await release();
    }
    // The verification compared at the checkpoint it held, untouched by the swap that gave up.
    const report = await verifying;
    expect(report.differences).toBe(0);
    expect(report.projections[0]).toMatchObject({ name: 'users', position: last - 1n, tables: [{ table: 'users', rows: 21 }] });

    const [again] = await rebuildProjections(pool, store, [users]);
    expect(again).toMatchObject({ outcome: 'rebuilt', resumedFrom: last, position: last, eventsThisRun: 0, tables: [{ table: 'users', rows: 22 }] });
  });

  it('a swap that cannot lock the live tables (a long query reads them) names them when it gives up', async () => {
    const { database, pool, store } = suite;
    last = await register(store);
    const reader = new Client({ connectionString: database.url });
    await reader.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM users');
      const failure = await rebuildProjections(pool, store, [users], { lockTimeoutMs: 100, swapAttemptsMax: 2 }).then(
        () => new Error('the swap did not give up'),
        (error: unknown) => error,
      );
      expect(describeError(failure)).toMatch(
        /^rebuild_swap_lock_timeout: The swap of users gave up after 2 attempts of 0\.1 s each \(\d+\.\d s in all\): it could not lock the live tables of users \(users\), /,
      );
      expect(await userRows()).toBe(22);
    } finally {
      await reader.query('ROLLBACK');
      await reader.end();
    }
    const [again] = await rebuildProjections(pool, store, [users]);
    expect(again).toMatchObject({ outcome: 'rebuilt', resumedFrom: last, position: last, tables: [{ table: 'users', rows: 23 }] });
  });

  it('the live projector of a projection waits while a verification compares it, and carries on when it ends', async () => {
    const { pool, store } = suite;
    const projector = new Projector(pool, store, [users], { idleCheckMs: 50 });
    projector.start();
    const { verifying, release } = await verificationHeldInComparison();
    try {
      const next = await register(store);
      // The projector's batch waits for the checkpoint row the comparison holds: nothing moves.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await readCheckpoint(pool, 'users')).toBe(last);
      expect(await userRows()).toBe(23);

      await release();
      const report = await verifying;
      expect(report.differences).toBe(0);
      expect(report.projections[0]).toMatchObject({ name: 'users', position: last });
      await eventually('the projector to apply the event appended during the comparison', async () => ((await readCheckpoint(pool, 'users')) === next ? true : undefined), 10_000);
      expect(await userRows()).toBe(24);
    } finally {
      await release();
      await projector.stop();
    }
  });
});
