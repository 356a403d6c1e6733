import { type DatabasePool, sql } from 'slonik';
import { setBatchSettings } from '../projections/runtime/batch-settings';
import { withTryAdvisoryLock } from '../src/platform/database/advisory-lock';
import { createDatabasePool } from '../src/platform/database/database';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/**
 * The pool hands connections back without slonik's DISCARD ALL (src/platform/database/database.ts),
 * so nothing a query or transaction does may outlive it on the connection. A pool of one connection
 * makes the next query meet whatever the previous one left.
 */
describe('pooled connections carry no state from one use to the next', () => {
  let database: TestDatabase;
  let pool: DatabasePool;
  let other: DatabasePool;
  const KEY = [7358, 99] as const;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url, { poolSizeMax: 1 });
    other = await createDatabasePool(database.url, { poolSizeMax: 1 });
  });

  afterAll(async () => {
    await pool.end();
    await other.end();
    await database.drop();
  });

  const advisoryLocksHeld = async (): Promise<number> =>
    Number(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`));

  it('one connection is reused, so the checks below look at the same session', async () => {
    const first = await pool.oneFirst(sql.unsafe`SELECT pg_backend_pid()`);
    await pool.transaction(async (transaction) => transaction.query(sql.unsafe`SELECT 1`));
    expect(await pool.oneFirst(sql.unsafe`SELECT pg_backend_pid()`)).toBe(first);
  });

  it('releases the session advisory lock when the work ends, and when it fails', async () => {
    expect(await withTryAdvisoryLock(pool, KEY, async () => 'done')).toBe('done');
    expect(await advisoryLocksHeld()).toBe(0);

    await expect(withTryAdvisoryLock(pool, KEY, async () => Promise.reject(new Error('work failed')))).rejects.toThrow('work failed');
    expect(await advisoryLocksHeld()).toBe(0);
    expect(await withTryAdvisoryLock(other, KEY, async () => 'taken elsewhere')).toBe('taken elsewhere');
  });

  it("leaves no batch setting behind: jit, search_path and the idle timeout are back to the session's own", async () => {
    const settings = sql.unsafe`SELECT current_setting('jit') AS jit, current_setting('search_path') AS search_path,
      current_setting('idle_in_transaction_session_timeout') AS idle_timeout`;
    const before = await pool.one(settings);
    await pool.transaction(async (transaction) => {
      await setBatchSettings(transaction, { searchPath: 'pg_catalog', idleTimeoutMs: 1_500 });
      expect(await transaction.oneFirst(sql.unsafe`SELECT current_setting('jit')`)).toBe('off');
      expect(await transaction.oneFirst(sql.unsafe`SELECT current_setting('idle_in_transaction_session_timeout')`)).toBe('1500ms');
    });
    await expect(
      pool.transaction(async (transaction) => {
        await setBatchSettings(transaction);
        throw new Error('batch failed');
      }),
    ).rejects.toThrow('batch failed');
    expect(await pool.one(settings)).toEqual(before);
  });
});

describe('a pool reads timestamps as the instants they are', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database.drop();
  });

  const withSessionOptions = (options: string): string => {
    const url = new URL(database.url);
    url.searchParams.set('options', options);
    return url.toString();
  };

  it('refuses to start on a session whose DateStyle is not ISO, which timestamps would be misread in', async () => {
    // Given a database set (or a role, or PGOPTIONS) to print dates as day/month/year: Date
    // would read 07/12/2026 as July 12.
    const pool = createDatabasePool(withSessionOptions('-c DateStyle=SQL,DMY'), { poolSizeMax: 1 });

    await expect(pool).rejects.toThrow("the database session's DateStyle is SQL, DMY, not ISO");
  });

  it('starts on ISO whatever the date order, and in any session TimeZone', async () => {
    const pool = await createDatabasePool(withSessionOptions('-c DateStyle=ISO,DMY -c TimeZone=Pacific/Kiritimati'), { poolSizeMax: 1 });
    try {
      const at = await pool.oneFirst(sql.unsafe`SELECT '2026-12-07T00:00:00.000Z'::timestamptz AS at`);
      expect((at as Date).toISOString()).toBe('2026-12-07T00:00:00.000Z');
    } finally {
      await pool.end();
    }
  });
});
