import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DatabasePool, sql } from 'slonik';
import { createDatabasePool } from '../src/platform/database/database';
import { WorkerLease } from '../src/platform/database/worker-lease';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/** Leases of the workers one instance at a time runs, against real PostgreSQL. */
describe('worker leases', () => {
  let database: TestDatabase;
  let pool: DatabasePool;
  const leases: WorkerLease[] = [];

  beforeEach(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url);
  });

  afterEach(async () => {
    await Promise.all(leases.splice(0).map((lease) => lease.release()));
    await pool.end();
    await database.drop();
  });

  function lease(worker = 'stats-poller', ttlMs?: number, log?: (message: string, fields?: Record<string, unknown>) => void): WorkerLease {
    const made = new WorkerLease(pool, worker, log, ttlMs);
    leases.push(made);
    return made;
  }

  /** Another instance that took the lease and then died: its row stays until it runs out. */
  async function leftByDeadInstance(worker: string, expiresInSeconds: number): Promise<void> {
    await pool.query(sql.unsafe`
      INSERT INTO worker_leases (worker, holder, expires_at) VALUES (${worker}, ${randomUUID()}, now() + ${expiresInSeconds} * interval '1 second')`);
  }

  it('is held by one instance at a time, and taken by another once given up', async () => {
    const [first, second] = [lease(), lease()];

    expect(await first.acquire()).toBe(true);
    expect(await second.acquire()).toBe(false);
    expect(await first.acquire()).toBe(true);

    await first.release();
    expect(await second.acquire()).toBe(true);
    expect(await first.acquire()).toBe(false);
  });

  it('is kept apart per worker', async () => {
    expect(await lease('stats-poller').acquire()).toBe(true);
    expect(await lease('yunite-reverification').acquire()).toBe(true);
  });

  it('is waited for while a dead instance holds it, and taken once it runs out', async () => {
    await leftByDeadInstance('stats-poller', 30);
    await leftByDeadInstance('yunite-reverification', -1);

    expect(await lease('stats-poller').acquire()).toBe(false);
    expect(await lease('yunite-reverification').acquire()).toBe(true);
  });

  it('is renewed while held, so it never runs out under a live holder, and gone once released', async () => {
    const logs: string[] = [];
    const holder = lease('stats-poller', 1_500, (message) => logs.push(message));
    expect(await holder.acquire()).toBe(true);

    await sleep(3_500);

    expect(await lease('stats-poller', 1_500).acquire()).toBe(false);
    expect(await pool.oneFirst(sql.unsafe`SELECT expires_at > now() FROM worker_leases WHERE worker = 'stats-poller'`)).toBe(true);
    await holder.release();
    expect(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM worker_leases`)).toBe(0);
    expect(logs).toEqual(['this instance runs the worker now']);
  });

  it('goes on renewing after a renewal failed, so a moment without the database does not cost a live holder its lease', async () => {
    let failNext = false;
    // The pool, except that the next statement asked for while `failNext` is set fails, as over a lost connection.
    const flaky = new Proxy(pool, {
      get(target, property) {
        if (property === 'maybeOne' && failNext) {
          failNext = false;
          return () => Promise.reject(new Error('Connection terminated unexpectedly'));
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const logs: string[] = [];
    const holder = new WorkerLease(flaky, 'stats-poller', (message) => logs.push(message), 1_500);
    leases.push(holder);
    expect(await holder.acquire()).toBe(true);

    failNext = true;
    await sleep(3_500);

    expect(logs).toEqual(['this instance runs the worker now', 'worker lease not renewed']);
    expect(await lease('stats-poller', 1_500).acquire()).toBe(false);
  });

  it('never fails to be given up: a lease that could not be deleted runs out by itself', async () => {
    const ownPool = await createDatabasePool(database.url);
    const logs: string[] = [];
    const holder = new WorkerLease(ownPool, 'stats-poller', (message) => logs.push(message));
    expect(await holder.acquire()).toBe(true);
    await ownPool.end();

    await expect(holder.release()).resolves.toBeUndefined();
    expect(logs).toEqual(['this instance runs the worker now', 'worker lease not released: it runs out by itself']);
  });

  it('refuses a length too short to renew', () => {
    expect(() => new WorkerLease(pool, 'stats-poller', undefined, 999)).toThrow(RangeError);
  });
});
