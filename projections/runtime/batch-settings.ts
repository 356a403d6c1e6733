import { type DatabaseTransactionConnection, sql } from 'slonik';

/**
 * Settings of a transaction that applies a batch of events, set with SET LOCAL semantics (until
 * its end), in one round trip.
 *
 * jit = off. A batch runs a few short, set-based statements. PostgreSQL compiles a statement with
 * LLVM when its estimated cost passes jit_above_cost, which the statements that look rows up by
 * key reach on tables without statistics — a rebuild's fresh shadow copies above all, where a
 * lookup by accrual id is estimated at hundreds of rows — and compiling takes 100 ms and more,
 * longer than the statement itself. Measured on bench P2 (1,000,000 events): the reward_accruals
 * rebuild went from 43 s to 13 s, the journal's from 89 s to 52 s.
 *
 * `searchPath`: a shadow build's schema alone (shadow-schema.ts, useShadowSearchPath).
 *
 * `idleTimeoutMs`: idle_in_transaction_session_timeout, for the projector's batches, which hold
 * their projection's checkpoint row. A process that stalls inside one (stopped, a frozen VM, a
 * network path gone silent with its TCP connection still open) holds the row, and keeps every other
 * runner of the projection waiting, until the server ends its session: once the transaction has
 * sat that long between two statements. The pool's sessions have slonik's default of 60 s; this
 * makes the bound the projector's own (PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS), whatever the pool's
 * configuration says. Set first thing in the transaction, before the row is locked.
 */
export async function setBatchSettings(
  transaction: DatabaseTransactionConnection,
  options: { readonly searchPath?: string; readonly idleTimeoutMs?: number } = {},
): Promise<void> {
  await transaction.query(sql.unsafe`
    SELECT set_config('jit', 'off', true)
           ${options.searchPath === undefined ? sql.fragment`` : sql.fragment`, set_config('search_path', quote_ident(${options.searchPath}), true)`}
           ${options.idleTimeoutMs === undefined ? sql.fragment`` : sql.fragment`, set_config('idle_in_transaction_session_timeout', ${`${options.idleTimeoutMs}ms`}, true)`}`);
}
