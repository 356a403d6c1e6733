import { setTimeout as sleep } from 'node:timers/promises';
import { type DatabasePool, type DatabasePoolConnection, sql } from 'slonik';

/** How often a held lock's session is asked whether it still holds the lock. */
export const LOCK_HEARTBEAT_MS = 5_000;

/**
 * How long the lock's session has by default to answer a heartbeat or the unlock. The work may run
 * its own statements on the lock's connection (settlement reads its eligible users there), and a
 * heartbeat waits behind such a statement, which the pool's statement timeout (30 s) bounds; so
 * this is that and a margin, far below the minutes or hours a server's TCP keepalive takes to give
 * up on a client that went silent and free the lock for another holder.
 */
export const LOCK_ANSWER_TIMEOUT_MS = 45_000;

/**
 * Runs `work` while holding a session advisory lock on one pooled connection, or returns null at
 * once when another session holds it. Keys have two integers: one-bigint keys are reserved for
 * the event store's in-flight appends (migrations/0001_create_event_store.sql).
 *
 * The lock lasts as long as its session, and the work mostly runs on other connections (the event
 * store's, the node's), so the session sits idle for a long hold: PostgreSQL's
 * idle_session_timeout, or a proxy that cuts idle connections, would end it and free the lock
 * while the holder goes on, and a second holder would work beside it. So the session's
 * idle_session_timeout is switched off, and every LOCK_HEARTBEAT_MS it is asked whether it still
 * holds the lock, which also keeps it busy for a proxy. Should it not (the session ended after
 * all), or not answer within `answerTimeoutMs` (LOCK_ANSWER_TIMEOUT_MS unless given: a network
 * path gone silent, where no error ever arrives and the server may free the lock once it gives up
 * on the client), `held` is
 * aborted: the work must stop taking on anything new, and may end with an error of its own that
 * says what it left done (thrown rather than the session's). `work` must not open a transaction on
 * `connection`, where a failed statement would fail the heartbeat too.
 */
export async function withTryAdvisoryLock<T>(
  pool: DatabasePool,
  key: readonly [number, number],
  work: (connection: DatabasePoolConnection, held: AbortSignal) => Promise<T>,
  options: { readonly answerTimeoutMs?: number } = {},
): Promise<T | null> {
  const answerTimeoutMs = options.answerTimeoutMs ?? LOCK_ANSWER_TIMEOUT_MS;
  const lost = new AbortController();
  let running: Promise<T> | null = null;
  try {
    return await pool.connect(async (connection) => {
      const locked = await connection.oneFirst(sql.unsafe`SELECT pg_try_advisory_lock(${key[0]}, ${key[1]}) AS locked`);
      if (locked !== true) return null;
      let heartbeat: NodeJS.Timeout | undefined;
      try {
        // idle_session_timeout is PostgreSQL 14's; an older server has none to switch off (and the
        // WHERE keeps set_config from being called there, where it would fail).
        await connection.query(sql.unsafe`
          SELECT set_config('idle_session_timeout', '0', false) WHERE current_setting('server_version_num')::int >= 140000`);
        let asking = false;
        heartbeat = setInterval(() => {
          // One question at a time: a connection that stopped answering is not asked again and again.
          if (asking) return;
          asking = true;
          void answeredWithin(stillHeld(connection, key), key, answerTimeoutMs)
            .then(
              (held) => {
                if (!held) lost.abort(new Error(`advisory lock ${key.join(',')} lost: its session no longer holds it`));
              },
              (error: unknown) => lost.abort(error),
            )
            .finally(() => {
              asking = false;
            });
        }, LOCK_HEARTBEAT_MS);
        running = work(connection, lost.signal);
        return await running;
      } finally {
        clearInterval(heartbeat);
        // The pool does not reset connections (database.ts): the lock must not go back with this one.
        // A session that does not answer is not waited for: the error makes slonik destroy the
        // connection, which ends the session and its lock once the server hears of it.
        await answeredWithin(connection.query(sql.unsafe`SELECT pg_advisory_unlock(${key[0]}, ${key[1]})`), key, answerTimeoutMs).catch(async (error: unknown) => {
          if (!(error instanceof LockSessionSilentError)) await connection.query(sql.unsafe`SELECT pg_advisory_unlock_all()`).catch(() => undefined);
          throw error;
        });
      }
    });
  } catch (error) {
    // slonik rejects at once when the lock's session is terminated, while the work goes on: it is
    // told, and this answers only once it has ended, so that no caller starts another beside it.
    // A work that stopped with an error of its own says better than the session's what it left done.
    lost.abort(error);
    if (running !== null) {
      const failure = await (running as Promise<T>).then(() => null, (workError: unknown) => ({ workError }));
      if (failure !== null) throw failure.workError;
    }
    throw error;
  }
}

class LockSessionSilentError extends Error {}

/** `answer`, or a LockSessionSilentError when the lock's session has not given it within `timeoutMs`. */
async function answeredWithin<T>(answer: Promise<T>, key: readonly [number, number], timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const silence = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new LockSessionSilentError(`advisory lock ${key.join(',')} lost: its session did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  // The answer may still come, or fail, after the silence won: nobody waits for it then.
  answer.catch(() => undefined);
  try {
    return await Promise.race([answer, silence]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether this session holds the two-integer advisory lock `key` (pg_locks: classid, objid, objsubid 2). */
async function stillHeld(connection: DatabasePoolConnection, key: readonly [number, number]): Promise<boolean> {
  return (
    (await connection.oneFirst(sql.unsafe`
      SELECT EXISTS (
        SELECT 1 FROM pg_locks
         WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
           AND classid = ${key[0]}::int::oid AND objid = ${key[1]}::int::oid AND objsubid = 2) AS held`)) === true
  );
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
