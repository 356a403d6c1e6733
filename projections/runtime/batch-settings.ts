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
 */
export async function setBatchSettings(transaction: DatabaseTransactionConnection, options: { readonly searchPath?: string } = {}): Promise<void> {
  await transaction.query(sql.unsafe`
    SELECT set_config('jit', 'off', true)
           ${options.searchPath === undefined ? sql.fragment`` : sql.fragment`, set_config('search_path', quote_ident(${options.searchPath}), true)`}`);
}
