import { randomUUID } from 'node:crypto';
import { type DatabasePool, sql } from 'slonik';
import { createDatabasePool } from '../src/platform/database/database';
import { StoredWorkerCursor } from '../src/platform/database/worker-cursor';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/** The round-robin cursors of the workers one instance at a time runs, against real PostgreSQL. */
describe('worker cursors', () => {
  let database: TestDatabase;
  let pool: DatabasePool;

  beforeEach(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url);
  });

  afterEach(async () => {
    await pool.end();
    await database.drop();
  });

  it('is null until saved, then the last user saved, whichever instance reads it', async () => {
    const [first, second] = [randomUUID(), randomUUID()];
    const saving = new StoredWorkerCursor(pool, 'stats-poller');

    expect(await saving.load()).toBeNull();
    await saving.save(first);
    expect(await new StoredWorkerCursor(pool, 'stats-poller').load()).toBe(first);
    await saving.save(second);
    expect(await new StoredWorkerCursor(pool, 'stats-poller').load()).toBe(second);
    expect(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM worker_cursors WHERE updated_at > now() - interval '1 minute'`)).toBe(1);
  });

  it('says how long ago, by the database clock, it was last saved: null before the first save', async () => {
    const cursor = new StoredWorkerCursor(pool, 'yunite-reverification');
    expect(await cursor.sinceSavedMs()).toBeNull();

    await cursor.save(randomUUID());
    const justSaved = await cursor.sinceSavedMs();
    await pool.query(sql.unsafe`UPDATE worker_cursors SET updated_at = updated_at - interval '40 days' WHERE worker = 'yunite-reverification'`);
    const longAgo = await cursor.sinceSavedMs();

    expect(justSaved).toBeGreaterThanOrEqual(0);
    expect(justSaved).toBeLessThan(60_000);
    // More than an int4 of milliseconds holds (24.8 days).
    expect(longAgo).toBeGreaterThanOrEqual(40 * 86_400_000);
    expect(longAgo).toBeLessThan(40 * 86_400_000 + 60_000);
  });

  it('is kept apart per worker', async () => {
    const [stats, yunite] = [randomUUID(), randomUUID()];
    await new StoredWorkerCursor(pool, 'stats-poller').save(stats);
    await new StoredWorkerCursor(pool, 'yunite-reverification').save(yunite);

    expect(await new StoredWorkerCursor(pool, 'stats-poller').load()).toBe(stats);
    expect(await new StoredWorkerCursor(pool, 'yunite-reverification').load()).toBe(yunite);
  });

  it('never fails to be saved: a database error is logged, and the cursor saved before stays', async () => {
    const kept = randomUUID();
    await new StoredWorkerCursor(pool, 'stats-poller').save(kept);
    const ownPool = await createDatabasePool(database.url);
    const logs: Array<{ message: string; fields?: Record<string, unknown> }> = [];
    const cursor = new StoredWorkerCursor(ownPool, 'stats-poller', (message, fields) => logs.push({ message, fields }));
    await ownPool.end();

    await expect(cursor.save(randomUUID())).resolves.toBeUndefined();
    expect(logs).toEqual([{ message: 'worker cursor not saved', fields: expect.objectContaining({ worker: 'stats-poller' }) as unknown }]);
    expect(await new StoredWorkerCursor(pool, 'stats-poller').load()).toBe(kept);
  });
});
