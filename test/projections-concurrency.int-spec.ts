import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DatabasePool, type DatabaseTransactionConnection, sql } from 'slonik';
import { allProjections, type Projection, Projector, type ProjectionStatus } from '../projections';
import { rebuildProjections } from '../projections/runtime/rebuild';
import { formatVerifyReport, verifyProjections } from '../projections/runtime/verify';
import { createDatabasePool } from '../src/platform/database/database';
import { type NewEvent, type RecordedEvent } from '../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { readCheckpoints } from '../src/platform/read-models/checkpoints';
import { childEnv, eventually, startBuiltEntry, waitForExit } from './support/processes';
import { recordReceive } from './support/receive-record';
import { newBananoAccount } from './support/scenario';
import { createTestDatabase, type TestDatabase, useDatabaseWithStore } from './support/test-database';
import { projectionBatchInFlight, projectionEventsUpTo } from './support/projection-progress';
import { appendUserHistory } from './support/user-history';

/*
 * Several projectors on one database, as `npm start` (in-process) plus one or two
 * `npm run start:projector` run them, each with its own pool and event store as separate
 * processes have. The probe read model here is deliberately NOT idempotent: every application of
 * an event adds one to its `times` and its `n` to a running sum, so an event applied twice, or
 * skipped, shows, and only the runtime's fencing (checkpoint row lock and compare in each batch's
 * transaction) stands between the runners and a double count.
 */
describe('projections with several runners at once', () => {
  let database: TestDatabase;
  let pool: DatabasePool;
  let store: PostgresEventStore;
  const cleanups: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url);
    store = new PostgresEventStore(database.url, { pollIntervalMs: 50 });
    await pool.query(sql.unsafe`CREATE TABLE probe_seen (position bigint PRIMARY KEY, times int NOT NULL)`);
    await pool.query(sql.unsafe`CREATE TABLE probe_sum (k int PRIMARY KEY, total bigint NOT NULL, applied bigint NOT NULL)`);
    await pool.query(sql.unsafe`CREATE TABLE probe_other_seen (position bigint PRIMARY KEY, times int NOT NULL)`);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await store.close();
    await pool.end();
    await database.drop();
  });

  type Hook = (transaction: DatabaseTransactionConnection, events: readonly RecordedEvent[]) => Promise<void>;

  /** The non-idempotent probe; `after` runs in the batch's transaction once its rows are written. */
  const counter = (options: { name?: string; seen?: string; sum?: boolean; before?: Hook; after?: Hook } = {}): Projection => {
    const seen = options.seen ?? 'probe_seen';
    const withSum = options.sum ?? true;
    return {
      name: options.name ?? 'probe',
      filter: { kind: 'category', categories: ['probe'] },
      tables: withSum ? [seen, 'probe_sum'] : [seen],
      async apply(transaction, events) {
        await options.before?.(transaction, events);
        const positions = events.map((event) => event.position.toString());
        await transaction.query(sql.unsafe`
          INSERT INTO ${sql.identifier([seen])} (position, times) SELECT p, 1 FROM unnest(${sql.array(positions, 'int8')}) AS p
          ON CONFLICT (position) DO UPDATE SET times = ${sql.identifier([seen])}.times + 1`);
        if (withSum) {
          const total = events.reduce((sum, event) => sum + BigInt(event.data.n as number), 0n);
          await transaction.query(sql.unsafe`
            INSERT INTO probe_sum (k, total, applied) VALUES (1, ${total.toString()}::bigint, ${events.length})
            ON CONFLICT (k) DO UPDATE SET total = probe_sum.total + EXCLUDED.total, applied = probe_sum.applied + EXCLUDED.applied`);
        }
        await options.after?.(transaction, events);
      },
    };
  };

  /** A projector with a pool and an event store of its own: one process of the deployment. */
  async function startRunner(projections: readonly Projection[], batchSizeMax = 25): Promise<Projector> {
    const runnerPool = await createDatabasePool(database.url);
    const runnerStore = new PostgresEventStore(database.url, { pollIntervalMs: 50 });
    const projector = new Projector(runnerPool, runnerStore, projections, {
      batchSizeMax,
      idleCheckMs: 30,
      retryDelayMinMs: 10,
      retryDelayMaxMs: 100,
    });
    projector.start();
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      await projector.stop();
      await runnerStore.close();
      // slonik's end() rejects when it destroys a connection whose backend was terminated under a
      // batch (the test does that on purpose); the projector itself has stopped cleanly by then.
      await runnerPool.end().catch(() => undefined);
    };
    cleanups.push(stop);
    (projector as Projector & { shutdown?: () => Promise<void> }).shutdown = stop;
    return projector;
  }
  const shutdown = (projector: Projector): Promise<void> => (projector as Projector & { shutdown: () => Promise<void> }).shutdown();

  const newEvent = (n: number): NewEvent => ({
    id: randomUUID(),
    type: 'Probed',
    data: { n },
    metadata: { correlationId: randomUUID(), causationId: null, actor: { kind: 'system', name: 'concurrency-test' }, schemaVersion: 1 },
  });

  interface Appended {
    count: number;
    total: bigint;
    last: bigint;
  }
  const appended: Appended = { count: 0, total: 0n, last: 0n };

  /** Appends `count` probe events in small appends (and an unrelated event now and then). */
  async function appendProbes(count: number, perAppend = 7): Promise<void> {
    for (let done = 0; done < count; done += perAppend) {
      const size = Math.min(perAppend, count - done);
      const ns = Array.from({ length: size }, () => 1 + Math.floor(Math.random() * 1_000));
      const { position } = await store.appendToStream(`probe-${randomUUID()}`, ns.map(newEvent), { expectedRevision: 'no_stream' });
      appended.count += size;
      appended.total += ns.reduce((sum, n) => sum + BigInt(n), 0n);
      appended.last = position;
      if (done % (perAppend * 5) === 0) await store.appendToStream(`other-${randomUUID()}`, [newEvent(0)], { expectedRevision: 'no_stream' });
    }
  }

  beforeEach(() => {
    appended.count = 0;
    appended.total = 0n;
    appended.last = 0n;
  });

  const checkpointOf = async (name: string) => (await readCheckpoints(pool)).find((row) => row.projection_name === name);
  const reached = (name: string, position: () => bigint) => async () => {
    const checkpoint = await checkpointOf(name);
    return checkpoint?.position !== null && checkpoint?.position !== undefined && checkpoint.position >= position() ? true : undefined;
  };

  /** Every appended probe event applied exactly once: no double count, no gap. */
  async function expectExactlyOnce(name = 'probe', seen = 'probe_seen', withSum = true): Promise<void> {
    const twice = await pool.anyFirst(sql.unsafe`SELECT position FROM ${sql.identifier([seen])} WHERE times <> 1 ORDER BY position LIMIT 5`);
    expect(twice).toEqual([]);
    expect(Number(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM ${sql.identifier([seen])}`))).toBe(appended.count);
    if (withSum) {
      expect(await pool.one(sql.unsafe`SELECT total, applied FROM probe_sum`)).toEqual({ total: appended.total, applied: BigInt(appended.count) });
    }
    expect((await checkpointOf(name))?.events_applied).toBe(BigInt(appended.count));
  }

  /** Terminates the backends of open write transactions other than the event store's appends. */
  async function terminateBatchTransactions(): Promise<number> {
    const killed = await pool.anyFirst(sql.unsafe`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL
         AND application_name <> 'ledger-event-store'`);
    return killed.length;
  }

  it('three runners with appends going on, their batch transactions killed at random, apply every event exactly once', async () => {
    await appendProbes(300);
    const runners = await Promise.all([1, 2, 3].map(() => startRunner([counter()], 20)));
    let kills = 0;
    // Appends go on, 1,200 events at first and more in rounds of 100, until five batch transactions
    // were killed: a kill needs a batch open at that instant.
    const deadline = Date.now() + 90_000;
    for (let events = 1_200; kills < 5 && Date.now() < deadline; events = 100) {
      const appending = appendProbes(events, 5);
      let appendsDone = false;
      void appending.finally(() => {
        appendsDone = true;
      });
      while (!appendsDone) {
        await sleep(5 + Math.floor(Math.random() * 30));
        kills += await terminateBatchTransactions();
      }
      await appending;
    }
    await eventually('every runner to catch up', reached('probe', () => appended.last), 30_000);
    await Promise.all(runners.map(shutdown));

    expect(kills).toBeGreaterThanOrEqual(5);
    await expectExactlyOnce();
  });

  it('a holder stalled inside its batch (a GC pause, a stalled connection) keeps the others waiting, not writing; killed, it leaves nothing behind', async () => {
    await appendProbes(40);
    let stall: { pid: number; release: () => void; reached: () => void } | null = null;
    let stalledAt: Promise<void> = Promise.resolve();
    const armStall = (): Promise<void> => {
      let release = (): void => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let reachedResolve = (): void => undefined;
      stalledAt = new Promise<void>((resolve) => {
        reachedResolve = resolve;
      });
      stall = { pid: 0, release, reached: reachedResolve };
      return gate;
    };
    let gate: Promise<void> | null = null;
    const holder = await startRunner([
      counter({
        after: async (transaction) => {
          if (gate === null || stall === null) return;
          const current = stall;
          const waiting = gate;
          gate = null;
          current.pid = Number(await transaction.oneFirst(sql.unsafe`SELECT pg_backend_pid()`));
          current.reached();
          await waiting;
        },
      }),
    ]);
    await eventually('the holder to catch up', reached('probe', () => appended.last));

    gate = armStall();
    await appendProbes(30);
    await stalledAt;
    const held = await checkpointOf('probe');
    const other = await startRunner([counter()]);
    await appendProbes(30);
    // No lease runs out: however long the holder stalls, the other runner waits on the checkpoint
    // row instead of applying the same events.
    await sleep(1_500);
    expect(await checkpointOf('probe')).toEqual(held);
    expect(Number(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM probe_seen`))).toBe(40);

    // The database ends the stalled session (idle_in_transaction_session_timeout, a dead peer):
    await pool.query(sql.unsafe`SELECT pg_terminate_backend(${(stall as unknown as { pid: number }).pid})`);
    await eventually('the other runner to apply everything', reached('probe', () => appended.last), 20_000);
    // The holder wakes up to a dead connection, finds the checkpoint moved, and goes on from there.
    (stall as unknown as { release: () => void }).release();
    await appendProbes(10);
    await eventually('both to apply the last events', reached('probe', () => appended.last), 20_000);
    await Promise.all([shutdown(holder), shutdown(other)]);

    await expectExactlyOnce();
  });

  it('a holder that stalls and then commits makes the other runner drop what it had read, not apply it again', async () => {
    await appendProbes(40);
    let release = (): void => undefined;
    let stalled = (): void => undefined;
    const stalledAt = new Promise<void>((resolve) => {
      stalled = resolve;
    });
    let armed = false;
    const holder = await startRunner([
      counter({
        after: async () => {
          if (!armed) return;
          armed = false;
          stalled();
          await new Promise<void>((resolve) => {
            release = resolve;
          });
        },
      }),
    ]);
    await eventually('the holder to catch up', reached('probe', () => appended.last));
    armed = true;
    await appendProbes(30);
    await stalledAt;
    const other = await startRunner([counter()]);
    await appendProbes(30);
    await sleep(1_000);
    release();
    await eventually('the runners to apply everything', reached('probe', () => appended.last), 20_000);
    await Promise.all([shutdown(holder), shutdown(other)]);

    await expectExactlyOnce();
  });

  it('a rebuild while two live runners apply new events: neither writes into the copies nor moves the checkpoint past them; a verify then agrees', async () => {
    await appendProbes(600);
    const runners = await Promise.all([1, 2].map(() => startRunner([counter()], 10)));
    await eventually('the runners to catch up', reached('probe', () => appended.last));

    let stopAppending = false;
    const appending = (async () => {
      while (!stopAppending) await appendProbes(10, 2);
    })();
    try {
      const [result] = await rebuildProjections(pool, store, [counter()], { batchSizeMax: 25 });
      expect(result.outcome).toBe('rebuilt');
      const report = await verifyProjections(pool, store, [counter()], { batchSizeMax: 25 });
      expect(report.differences).toBe(0);
    } finally {
      stopAppending = true;
      await appending;
    }
    await eventually('the runners to apply what came since', reached('probe', () => appended.last), 20_000);
    await Promise.all(runners.map(shutdown));

    await expectExactlyOnce();
    const report = await verifyProjections(pool, store, [counter()]);
    expect(report.differences).toBe(0);
  });

  it('a poison event stops only its projection, in every runner, after the events before it are applied once; the others go on', async () => {
    await appendProbes(20);
    const lastBefore = appended.last;
    const poisonStream = `probe-${randomUUID()}`;
    const { position: poisonAt } = await store.appendToStream(poisonStream, [newEvent(-1)], { expectedRevision: 'no_stream' });
    await appendProbes(20);
    let poisoned = true;
    const projections = (): Projection[] => [
      counter({
        before: async (_transaction, events) => {
          if (poisoned && events.some((event) => event.position === poisonAt)) throw new Error('cannot apply the poison event');
        },
      }),
      counter({ name: 'probe_other', seen: 'probe_other_seen', sum: false }),
    ];
    const runners = await Promise.all([1, 2].map(() => startRunner(projections(), 8)));
    await eventually('the other projection to apply everything', reached('probe_other', () => appended.last), 20_000);
    await appendProbes(10);
    await eventually('the other projection to go on', reached('probe_other', () => appended.last), 20_000);
    await eventually('the poisoned projection to stop just before the poison event', async () => ((await checkpointOf('probe'))?.position === lastBefore ? true : undefined), 20_000);
    await sleep(300);
    const statuses: ProjectionStatus[] = runners.flatMap((runner) => runner.status());
    expect(statuses.filter((status) => status.name === 'probe_other').map((status) => status.state)).toEqual(['running', 'running']);
    // 20 probes before the poison one, each applied once.
    expect(Number(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM probe_seen WHERE times = 1`))).toBe(20);
    expect(Number(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM probe_seen WHERE times <> 1`))).toBe(0);

    poisoned = false;
    await eventually('the poisoned projection to apply the rest', reached('probe', () => appended.last), 20_000);
    await Promise.all(runners.map(shutdown));
    appended.count += 1;
    appended.total -= 1n;
    await expectExactlyOnce();
    await expectExactlyOnce('probe_other', 'probe_other_seen', false);
  });
});

/*
 * The deployment itself: two `npm run start:projector` processes and the service's in-process
 * projector (here the same Projector in the test process, over every read model), while users
 * play, are paid and donate; one projector process is SIGKILLed mid-batch and started again, three
 * times. Afterwards every read model equals a rebuild from the events (`projections verify`, which
 * compares every counter and sum: users' accrued and settled, payout_totals, donor_totals,
 * treasury_totals, the journal), and each checkpoint counts every event of its projection once.
 */
describe('projector processes and the in-process projector on one database', () => {
  const suite = useDatabaseWithStore();

  /** One user's history, as the deciders make it, appended in two parts (appendUserHistory). */
  const playUser = (n: number): Promise<void> =>
    appendUserHistory(suite.store, n, { t0: Date.UTC(2026, 10, 1), discordBase: 710000000000000000n, actor: 'concurrency-test', parts: 2 });
  const batchInFlight = (): Promise<true | undefined> => projectionBatchInFlight(suite.pool);
  const eventsOf = (projection: Projection, position: bigint | null): Promise<bigint> => projectionEventsUpTo(suite.store, projection, position);

  it('apply every event once across SIGKILLs and a CLI rebuild and verify, and end equal to a rebuild from the events', async () => {
    const { database, pool, store } = suite;
    const [operator, ...donors] = await Promise.all([0, 1, 2, 3].map(() => newBananoAccount()));
    const env = childEnv({ DATABASE_URL: database.url, PROJECTOR_BATCH_SIZE: '13' });
    const children = [startBuiltEntry('projector.main.js', env), startBuiltEntry('projector.main.js', env)];
    const inProcess = new Projector(pool, store, allProjections, { batchSizeMax: 17, retryDelayMinMs: 10, retryDelayMaxMs: 200 });
    inProcess.start();
    let stop = false;
    const play = (async () => {
      for (let n = 0; (!stop && n < 400) || n < 60; n += 1) {
        await playUser(n);
        if (n % 3 === 0) {
          await recordReceive(store, { address: operator.address, kind: n % 2 === 0 ? 'DonationReceived' : 'FundingReceived', sender: donors[n % donors.length].address, amountRaw: BigInt(n + 1) * 10n ** 29n, actorName: 'concurrency-test' });
        }
      }
    })();
    try {
      for (let kill = 1; kill <= 3; kill += 1) {
        await eventually('a batch in flight', batchInFlight, 30_000, 1);
        children[0].child.kill('SIGKILL');
        expect((await waitForExit(children[0].child)).signal).toBe('SIGKILL');
        children[0] = startBuiltEntry('projector.main.js', env);
        await sleep(200);
      }
      // `projections rebuild` and then `projections verify`, from the CLI, while all of it runs.
      for (const command of ['rebuild', 'verify']) {
        const cli = startBuiltEntry('cli.main.js', childEnv({ DATABASE_URL: database.url }), ['projections', command]);
        const { code } = await waitForExit(cli.child, 120_000);
        if (code !== 0) throw new Error(`projections ${command} exited ${String(code)}:\n${cli.output()}`);
      }
      stop = true;
      await play;
      const head = await store.headPosition();
      for (const projection of allProjections) {
        await eventually(`${projection.name} to catch up`, async () => {
          const checkpoint = (await readCheckpoints(pool)).find((row) => row.projection_name === projection.name)?.position;
          return checkpoint !== undefined && checkpoint !== null && head !== null && checkpoint >= head ? true : undefined;
        }, 60_000);
      }
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${children.map((child) => child.output()).join('\n---\n')}`);
    } finally {
      stop = true;
      await play.catch(() => undefined);
      await inProcess.stop();
      for (const child of children) child.child.kill('SIGTERM');
    }
    for (const child of children) expect(await waitForExit(child.child)).toEqual({ code: 0, signal: null });

    for (const row of await readCheckpoints(pool)) {
      const projection = allProjections.find((candidate) => candidate.name === row.projection_name);
      if (projection === undefined) continue;
      expect({ name: row.projection_name, applied: row.events_applied }).toEqual({ name: row.projection_name, applied: await eventsOf(projection, row.position) });
    }
    expect(Number(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM donor_totals`))).toBeGreaterThan(0);
    expect(Number(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM payout_totals`))).toBe(1);
    const report = await verifyProjections(pool, store, allProjections);
    expect(formatVerifyReport(report)).toContain('equal a rebuild from the events');
    expect(report.differences).toBe(0);
 }, 180_000);
});
