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
      await connection.query(sql.unsafe`SELECT pg_advisory_unlock(${key[0]}, ${key[1]})`);
    }
  });
}
