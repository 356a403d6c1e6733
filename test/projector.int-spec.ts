import { randomUUID } from 'node:crypto';
import { type DatabasePool, sql } from 'slonik';
import { allProjections, measureLag, type Projection, Projector, resetProjection } from '../projections';
import { type UserCommand } from '../src/identity/user/user.decider';
import { usersProjection } from '../projections/users/users.projection';
import { createDatabasePool } from '../src/platform/database/database';
import { type NewEvent, type RecordedEvent } from '../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { readCheckpoints } from '../src/platform/read-models/checkpoints';
import { loadConfig } from '../src/platform/config/config';
import { type Infrastructure } from '../src/platform/runtime/infrastructure';
import { projectionLagCheck } from '../src/read-side';
import { eventually } from './support/processes';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { decideInTurn, HISTORY_ABUSE, HISTORY_RATE, payFirstAccrual } from './support/user-history';

describe('projection runtime', () => {
  let database: TestDatabase;
  let pool: DatabasePool;
  let store: PostgresEventStore;

  beforeEach(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url);
    store = new PostgresEventStore(database.url, { pollIntervalMs: 50 });
    await pool.query(sql.unsafe`CREATE TABLE probe_rows (position bigint PRIMARY KEY, stream text NOT NULL, n int NOT NULL)`);
  });

  // Every projector a test starts is stopped here too, so a failing test cannot leave one
  // running against a closed pool (which would keep jest from exiting).
  let started: Projector[] = [];
  const projectorOf = (...args: ConstructorParameters<typeof Projector>): Projector => {
    const projector = new Projector(...args);
    started.push(projector);
    return projector;
  };

  afterEach(async () => {
    await Promise.all(started.map((projector) => projector.stop()));
    started = [];
    await store.close();
    await pool.end();
    await database.drop();
  });

  const probe = (overrides: Partial<Projection> = {}): Projection & { batches: number[] } => {
    const batches: number[] = [];
    return {
      name: 'probe',
      filter: { kind: 'category', categories: ['probe'] },
      tables: ['probe_rows'],
      batches,
      async apply(transaction, events) {
        batches.push(events.length);
        for (const event of events) {
          await transaction.query(sql.unsafe`INSERT INTO probe_rows (position, stream, n)
            VALUES (${event.position.toString()}::bigint, ${event.streamName}, ${event.data.n as number})
            ON CONFLICT (position) DO NOTHING`);
        }
      },
      ...overrides,
    };
  };

  const newEvent = (n: number): NewEvent => ({
    id: randomUUID(),
    type: 'Probed',
    data: { n },
    metadata: { correlationId: randomUUID(), causationId: null, actor: { kind: 'system', name: 'projector-test' }, schemaVersion: 1 },
  });

  async function appendProbes(count: number, stream = `probe-${randomUUID()}`): Promise<bigint> {
    let position = 0n;
    for (let start = 0; start < count; start += 100) {
      const size = Math.min(100, count - start);
      ({ position } = await store.appendToStream(stream, Array.from({ length: size }, (_, k) => newEvent(start + k)), { expectedRevision: 'any' }));
    }
    return position;
  }

  const checkpointOf = async (name: string) => (await readCheckpoints(pool)).find((row) => row.projection_name === name);
  const rowCount = async () => Number(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM probe_rows`));
  const caughtUpTo = (name: string, position: bigint) => async () => ((await checkpointOf(name))?.position === position ? true : undefined);

  it('applies events in batches of at most batchSizeMax and commits the last position as checkpoint', async () => {
    const last = await appendProbes(1_050);
    await store.appendToStream(`other-${randomUUID()}`, [newEvent(0)], { expectedRevision: 'no_stream' });
    const projection = probe();
    const projector = projectorOf(pool, store, [projection], { batchSizeMax: 200 });

    projector.start();
    await eventually('the probe to catch up', caughtUpTo('probe', last));
    await projector.stop();

    expect(Math.max(...projection.batches)).toBeLessThanOrEqual(200);
    expect(projection.batches.reduce((sum, size) => sum + size, 0)).toBe(1_050);
    expect(await rowCount()).toBe(1_050);
    expect((await checkpointOf('probe'))?.events_applied).toBe(1_050n);
    expect(projector.status()).toEqual([{ name: 'probe', state: 'stopped', checkpoint: last, lastError: null }]);
  });

  it('resumes from its checkpoint after a restart, applying only what is new', async () => {
    const first = await appendProbes(300);
    const before = projectorOf(pool, store, [probe()]);
    before.start();
    await eventually('the first run to catch up', caughtUpTo('probe', first));
    await before.stop();

    const second = await appendProbes(120);
    const projection = probe();
    const after = projectorOf(pool, store, [projection]);
    after.start();
    await eventually('the second run to catch up', caughtUpTo('probe', second));
    await after.stop();

    expect(projection.batches.reduce((sum, size) => sum + size, 0)).toBe(120);
    expect(await rowCount()).toBe(420);
    expect((await checkpointOf('probe'))?.events_applied).toBe(420n);
  });

  it('follows live appends', async () => {
    const projector = projectorOf(pool, store, [probe()]);
    projector.start();
    try {
      const first = await appendProbes(10);
      await eventually('the first live events', caughtUpTo('probe', first), 10_000);
      const second = await appendProbes(5);
      await eventually('the next live events', caughtUpTo('probe', second), 10_000);
    } finally {
      await projector.stop();
    }
    expect(await rowCount()).toBe(15);
  });

  it('moves its checkpoint past events of other categories while idle, so ?minPosition= of those is reached', async () => {
    await appendProbes(3);
    const { position: elsewhere } = await store.appendToStream(`other-${randomUUID()}`, [newEvent(0)], { expectedRevision: 'no_stream' });
    const projection = probe();
    const projector = projectorOf(pool, store, [projection], { idleCheckMs: 20 });

    projector.start();
    await eventually('the checkpoint to pass the other category', caughtUpTo('probe', elsewhere), 10_000);
    await projector.stop();

    expect(await rowCount()).toBe(3);
    expect((await checkpointOf('probe'))?.events_applied).toBe(3n);
  });

  it('never applies an event twice when two projectors run the same projection at once', async () => {
    const last = await appendProbes(2_000);
    // The rows alone would hide a double application behind ON CONFLICT; events_applied counts
    // every event a committed batch applied, so it shows one.
    const counted = probe();
    const one = projectorOf(pool, store, [counted], { batchSizeMax: 50 });
    const two = projectorOf(pool, store, [counted], { batchSizeMax: 50 });

    one.start();
    two.start();
    await eventually('both projectors to catch up', caughtUpTo('probe', last));
    await Promise.all([one.stop(), two.stop()]);

    expect(await rowCount()).toBe(2_000);
    expect((await checkpointOf('probe'))?.events_applied).toBe(2_000n);
  });

  it('retries a failing batch from its checkpoint, reporting the failure meanwhile', async () => {
    const last = await appendProbes(30);
    let failuresLeft = 2;
    const projection = probe({
      async apply(transaction, events: readonly RecordedEvent[]) {
        for (const event of events) {
          await transaction.query(sql.unsafe`INSERT INTO probe_rows (position, stream, n)
            VALUES (${event.position.toString()}::bigint, ${event.streamName}, ${event.data.n as number})`);
        }
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          throw new Error('read model briefly unavailable');
        }
      },
    });
    const projector = projectorOf(pool, store, [projection], { retryDelayMinMs: 20 });
    const states: string[] = [];

    projector.start();
    await eventually('the failure to be reported', async () => {
      const [status] = projector.status();
      states.push(status.state);
      return status.lastError === 'read model briefly unavailable' ? true : undefined;
    }, 10_000, 5);
    await eventually('the retried batch to commit', caughtUpTo('probe', last), 10_000);
    const [status] = projector.status();
    await projector.stop();

    expect(states).toContain('retrying');
    expect(status).toMatchObject({ state: 'running', lastError: null });
    // Plain INSERTs without ON CONFLICT: a batch that half-applied before would now fail forever.
    expect(await rowCount()).toBe(30);
  });

  it('commits the events before a poison event in its batch, retries the poison one alone, and holds back no other projection', async () => {
    await pool.query(sql.unsafe`CREATE TABLE probe_other_rows (position bigint PRIMARY KEY)`);
    // One append, before the projector starts: the seven events reach it as a single batch.
    const stream = `probe-${randomUUID()}`;
    await store.appendToStream(stream, [0, 1, 2, 3, 4, -1, 6].map(newEvent), { expectedRevision: 'no_stream' });
    const positions = (await store.readStream(stream)).map((event) => event.position);
    let poisoned = true;
    const projection = probe({
      async apply(transaction, events: readonly RecordedEvent[]) {
        for (const event of events) {
          if (poisoned && (event.data.n as number) < 0) throw new Error(`cannot apply n=${String(event.data.n)}`);
          // Plain INSERTs: a prefix applied twice would fail here rather than hide behind ON CONFLICT.
          await transaction.query(sql.unsafe`INSERT INTO probe_rows (position, stream, n)
            VALUES (${event.position.toString()}::bigint, ${event.streamName}, ${event.data.n as number})`);
        }
      },
    });
    const other: Projection = {
      name: 'probe_other',
      filter: { kind: 'category', categories: ['probe'] },
      tables: ['probe_other_rows'],
      async apply(transaction, events) {
        for (const event of events) await transaction.query(sql.unsafe`INSERT INTO probe_other_rows (position) VALUES (${event.position.toString()}::bigint)`);
      },
    };
    const delays: unknown[] = [];
    const log = (_message: string, fields?: Record<string, unknown>): void => {
      if (fields?.retryInMs !== undefined) delays.push(fields.retryInMs);
    };
    const projector = projectorOf(pool, store, [projection, other], { retryDelayMinMs: 20, retryDelayMaxMs: 5_000, log });

    projector.start();
    // The good events before the poison one are visible, with their checkpoint: a ?minPosition= of
    // any of them is reached while the poison event is retried.
    await eventually('the events before the poison one to commit', caughtUpTo('probe', positions[4]), 10_000);
    await eventually('the poison event to be retried with a growing delay', async () => (delays.length >= 3 ? true : undefined), 10_000);
    await eventually('the other projection to apply every event', caughtUpTo('probe_other', positions[6]), 10_000);
    const [retrying, running] = projector.status();
    const held = await checkpointOf('probe');
    const rowsMeanwhile = await pool.anyFirst(sql.unsafe`SELECT n FROM probe_rows ORDER BY position`);

    poisoned = false;
    await eventually('the poison event to apply once it can', caughtUpTo('probe', positions[6]), 10_000);
    await projector.stop();

    expect(held).toMatchObject({ position: positions[4], events_applied: 5n });
    expect(rowsMeanwhile).toEqual([0, 1, 2, 3, 4]);
    expect(retrying).toMatchObject({ name: 'probe', state: 'retrying', checkpoint: positions[4], lastError: 'cannot apply n=-1' });
    expect(running).toMatchObject({ name: 'probe_other', state: 'running', lastError: null });
    expect(delays.slice(0, 3)).toEqual([20, 40, 80]);
    expect(await rowCount()).toBe(7);
    expect((await checkpointOf('probe'))?.events_applied).toBe(7n);
  });

  it('waits the shortest delay again after a failure that follows a committed batch, however long the outage before it', async () => {
    // The outage lasts a number of retries, not of apply calls: a failed batch is also tried
    // event by event before its retry waits.
    let retriesLeft = 3;
    const projection = probe({
      async apply(transaction, events: readonly RecordedEvent[]) {
        if (retriesLeft > 0) throw new Error('read model briefly unavailable');
        await probe().apply(transaction, events);
      },
    });
    const delays: unknown[] = [];
    const log = (_message: string, fields?: Record<string, unknown>): void => {
      if (fields?.retryInMs === undefined) return;
      delays.push(fields.retryInMs);
      retriesLeft -= 1;
    };
    const projector = projectorOf(pool, store, [projection], { retryDelayMinMs: 20, retryDelayMaxMs: 5_000, log });

    const first = await appendProbes(10);
    projector.start();
    await eventually('the batch after the outage to commit', caughtUpTo('probe', first), 10_000);
    retriesLeft = 1;
    const second = await appendProbes(10);
    await eventually('the batch after one more failure to commit', caughtUpTo('probe', second), 10_000);

    expect(delays).toEqual([20, 40, 80, 20]);
    expect(await rowCount()).toBe(20);
  });

  it('says on /ready which projection is retrying a failing batch, and that the others run', async () => {
    // Idle checks far apart, so a slow re-read of the failing event cannot pass for an idle projection.
    const projector = projectorOf(pool, store, allProjections, { retryDelayMinMs: 20, retryDelayMaxMs: 50, idleCheckMs: 5_000 });
    projector.start();
    // An admin's settlement run recorded without its config (say, by a newer schema): the admin
    // audit cannot apply it, and retries; the other read models do not read it.
    const started: NewEvent = { ...newEvent(0), type: 'SettlementRunStarted', data: { runId: randomUUID(), seed: 'seed' }, metadata: { ...newEvent(0).metadata, actor: { kind: 'admin', name: 'ops' } } };
    await store.appendToStream(`settlement-${randomUUID()}`, [started], { expectedRevision: 'no_stream' });
    await eventually('the admin audit to retry', async () => (projector.status().find((status) => status.name === 'admin_audit')?.state === 'retrying' ? true : undefined), 10_000);

    const check = projectionLagCheck({ pool, eventStore: store } as unknown as Infrastructure, loadConfig({}), projector);
    const { detail } = await check.check();
    const without = await projectionLagCheck({ pool, eventStore: store } as unknown as Infrastructure, loadConfig({}), null).check();

    expect(detail).toMatchObject({ admin_audit: { caughtUp: false, state: 'retrying' }, users: { caughtUp: true, state: 'running' } });
    // A separate projector's states are not known here: the check says only what it measured.
    expect(without.detail).toMatchObject({ admin_audit: { caughtUp: false } });
    expect(Object.values(without.detail as Record<string, object>).some((projection) => 'state' in projection)).toBe(false);
  });

  it('reports lag while behind and none once caught up', async () => {
    const last = await appendProbes(20);
    const projection = probe();

    const behind = await measureLag(pool, store, [projection], new Date(Date.now() + 5_000));
    const projector = projectorOf(pool, store, [projection]);
    projector.start();
    await eventually('the probe to catch up', caughtUpTo('probe', last));
    await projector.stop();
    const caughtUp = await measureLag(pool, store, [projection]);

    expect(behind).toEqual([{ name: 'probe', caughtUp: false, lagSeconds: expect.any(Number) }]);
    expect(behind[0].lagSeconds).toBeGreaterThanOrEqual(4);
    expect(caughtUp).toEqual([{ name: 'probe', caughtUp: true, lagSeconds: 0 }]);
  });

  it('rebuilds a projection from position zero to the same rows', async () => {
    const discordIds = ['700000000000000001', '700000000000000002', '700000000000000003'];
    let last = 0n;
    for (const discordUserId of discordIds) {
      const userId = randomUUID();
      ({ position: last } = await store.appendToStream(
        `user-${userId}`,
        [{ ...newEvent(0), type: 'UserRegistered', data: { userId, discordUserId, regionCode: 'EU', registeredAt: '2026-11-01T00:00:00.000Z' } }],
        { expectedRevision: 'no_stream' },
      ));
    }
    const snapshot = () => pool.any(sql.unsafe`SELECT * FROM users ORDER BY user_id`);
    const run = async () => {
      const projector = projectorOf(pool, store, [usersProjection]);
      projector.start();
      await eventually('users to catch up', caughtUpTo('users', last));
      await projector.stop();
    };
    await run();
    const live = await snapshot();

    await resetProjection(pool, usersProjection);
    const emptied = await snapshot();
    await run();

    expect(live).toHaveLength(3);
    expect(emptied).toEqual([]);
    expect(await snapshot()).toEqual(live);
  });

  it('changes nothing when the users projection applies the same batch twice', async () => {
    const userId = randomUUID();
    await store.appendToStream(
      `user-${userId}`,
      [{ ...newEvent(0), type: 'UserRegistered', data: { userId, discordUserId: '700000000000000009', regionCode: null, registeredAt: '2026-11-01T00:00:00.000Z' } }],
      { expectedRevision: 'no_stream' },
    );
    const events = await store.readStream(`user-${userId}`);

    await pool.transaction((transaction) => usersProjection.apply(transaction, events));
    const once = await pool.any(sql.unsafe`SELECT * FROM users`);
    await pool.transaction((transaction) => usersProjection.apply(transaction, events));

    expect(await pool.any(sql.unsafe`SELECT * FROM users`)).toEqual(once);
    expect(once).toHaveLength(1);
  });

  it('rebuilds every read model from position zero to the same rows after a realistic rewards history', async () => {
    const t0 = Date.UTC(2026, 10, 1);
    const rate = HISTORY_RATE;
    const abuse = HISTORY_ABUSE;
    let last = 0n;
    for (let n = 0; n < 12; n += 1) {
      const userId = randomUUID();
      const at = (minutes: number): Date => new Date(t0 + n * 3_600_000 + minutes * 60_000);
      const commands: UserCommand[] = [
        { type: 'RegisterUser', data: { userId, discordUserId: `70000000000000${1000 + n}`, regionCode: n % 2 === 0 ? 'EU' : null, now: at(0) } },
        { type: 'LinkEpicAccount', data: { epicAccountId: n.toString(16).padStart(32, '0'), baselineKills: BigInt(n * 10), linkedToAnotherUser: false, formerHolderMark: null, rate, now: at(0) } },
        { type: 'LinkWallet', data: { address: `ban_1wallet${n}`, primaryForAnotherUser: n % 5 === 4, now: at(1) } },
        { type: 'ObserveKills', data: { lifetimeKills: BigInt(n * 10 + 7), observedAt: at(2), now: at(2), rate, abuse } },
        { type: 'ObserveKills', data: { lifetimeKills: BigInt(n * 10 + 9), observedAt: at(2), now: at(2), rate, abuse } },
        { type: 'ObserveKills', data: { lifetimeKills: BigInt(n * 10 + (n % 3 === 0 ? 2 : 30)), observedAt: at(5), now: at(5), rate, abuse } },
      ];
      const events = decideInTurn(commands);
      // Half the users are paid for their first accrual: requested, then sent.
      if (n % 2 === 0) payFirstAccrual(events, n, at);
      ({ position: last } = await store.appendToStream(`user-${userId}`, events.map((event) => ({ ...newEvent(0), type: event.type, data: event.data })), {
        expectedRevision: 'no_stream',
      }));
    }
    const tables = ['users', 'wallet_links', 'verification_records', 'reward_accruals', 'accrual_claims', 'abuse_flags', 'payouts', 'payout_totals'];
    const snapshot = async () =>
      Object.fromEntries(await Promise.all(tables.map(async (table) => [table, await pool.any(sql.unsafe`SELECT * FROM ${sql.identifier([table])} ORDER BY 1, 2`)])));
    const runAll = async () => {
      const projector = projectorOf(pool, store, allProjections, { batchSizeMax: 7 });
      projector.start();
      for (const projection of allProjections) await eventually(`${projection.name} to catch up`, caughtUpTo(projection.name, last));
      await projector.stop();
    };
    await runAll();
    const live = await snapshot();

    // Applying every event once more, as a replayed batch would, changes nothing.
    const everything = await store.readAll({ fromPosition: null, maxCount: 10_000 });
    for (const projection of allProjections) await pool.transaction((transaction) => projection.apply(transaction, everything));
    expect(await snapshot()).toEqual(live);

    for (const projection of allProjections) await resetProjection(pool, projection);
    await runAll();

    expect(live.users).toHaveLength(12);
    expect((live.reward_accruals as unknown[]).length).toBeGreaterThan(12);
    expect((live.abuse_flags as unknown[]).length).toBeGreaterThan(0);
    expect((live.payouts as unknown[]).length).toBe(6);
    expect(live.payout_totals).toHaveLength(1);
    expect(await snapshot()).toEqual(live);
  });
});
