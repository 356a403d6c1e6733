import { setTimeout as sleep } from 'node:timers/promises';
import { type DatabasePool, type DatabasePoolConnection, sql } from 'slonik';

/**
 * Runs `work` while holding a session advisory lock on one pooled connection, or returns null at
 * once when another session holds it. Keys have two integers: one-bigint keys are reserved for
 * the event store's in-flight appends (migrations/0001_create_event_store.sql).
 */
export async function withTryAdvisoryLock<T>(
  pool: DatabasePool,
  key: readonly [number, number],
  work: (connection: DatabasePoolConnection) => Promise<T>,
): Promise<T | null> {
  return pool.connect(async (connection) => {
    const locked = await connection.oneFirst(sql.unsafe`SELECT pg_try_advisory_lock(${key[0]}, ${key[1]}) AS locked`);
    if (locked !== true) return null;
    try {
      return await work(connection);
    } finally {
      // The pool does not reset connections (database.ts): the lock must not go back with this one.
      await connection.query(sql.unsafe`SELECT pg_advisory_unlock(${key[0]}, ${key[1]})`).catch(async (error: unknown) => {
        await connection.query(sql.unsafe`SELECT pg_advisory_unlock_all()`).catch(() => undefined);
        throw error;
      });
    }
  });
}

/** How often `withAdvisoryLockWithin` asks for the lock again. */
const LOCK_RETRY_MS = 50;

/**
 * `withTryAdvisoryLock`, asked again every LOCK_RETRY_MS for up to `waitMs` (or until `giveUp()`),
 * for a writer that would rather wait out another's short hold than lose its turn. Null when the
 * lock stayed held.
 */
export async function withAdvisoryLockWithin<T>(
  pool: DatabasePool,
  key: readonly [number, number],
  waitMs: number,
  work: (connection: DatabasePoolConnection) => Promise<T>,
  giveUp: () => boolean = () => false,
): Promise<T | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const result = await withTryAdvisoryLock(pool, key, work);
    if (result !== null) return result;
    if (Date.now() >= deadline || giveUp()) return null;
    await sleep(LOCK_RETRY_MS);
  }
}
