import { type CommonQueryMethods, type DatabasePool, sql } from 'slonik';
import { moneyPair } from '../../platform/money';
import { readCheckpoint } from '../../platform/read-models/checkpoints';
import { z } from 'zod';

/**
 * Reads of the double-entry journal that projections/journal builds (chart of accounts and booking
 * rules in its header). The account names are repeated here rather than imported, because `src/`
 * never imports `projections/`; the journal tests check the two against each other through these
 * balances.
 *
 * Amounts are bigint raw. Postings are signed (debit positive, credit negative); the balances below
 * are given in each account's normal sign: assets and expenses as debit balances, liabilities and
 * equity as credit balances, so each is positive in a healthy ledger (except the operator wallet,
 * which has no opening balance in the journal).
 */

const OPERATOR_WALLET = 'asset:operator_wallet';
const REWARDS_EXPENSE = 'expense:rewards';
const PAYABLE_PREFIX = 'liability:payable:';
const IN_FLIGHT_PREFIX = 'liability:in_flight:';
const DONATIONS_EQUITY = 'equity:donations';
const FUNDING_EQUITY = 'equity:funding';

/** At most this many entries are listed by `unbalancedEntries`, by default. */
export const UNBALANCED_ENTRIES_COUNT_MAX = 100;

const raw = z
  .string()
  .regex(/^-?\d+$/)
  .transform((text) => BigInt(text));

export interface JournalBalances {
  /** Debit balance: donations + funding − payouts sent. */
  readonly operatorWalletRaw: bigint;
  /** Debit balance: every reward accrued. */
  readonly rewardsExpenseRaw: bigint;
  /** Credit balance of every `liability:payable:<userId>`: accrued, not claimed by a payout. */
  readonly payableRaw: bigint;
  /** Credit balance of every `liability:in_flight:<userId>`: claimed by payouts not sent yet. */
  readonly inFlightRaw: bigint;
  /** Credit balance. */
  readonly donationsRaw: bigint;
  /** Credit balance. */
  readonly fundingRaw: bigint;
}

export interface UserJournalBalances {
  /** Accrued to the user and not claimed by a payout. */
  readonly payableRaw: bigint;
  /** Claimed by the user's payouts that are requested or failed. */
  readonly inFlightRaw: bigint;
  /** Sent to the user from the operator wallet. */
  readonly paidRaw: bigint;
}

/** The sum of every posting: zero in a journal where every entry balances. */
export async function trialBalance(connection: CommonQueryMethods): Promise<bigint> {
  return connection.oneFirst(sql.type(z.object({ total_raw: raw }))`
    SELECT coalesce(sum(amount_raw), 0)::text AS total_raw FROM journal_postings`);
}

/**
 * Entries that break the double-entry rule, in id order, at most `countMax`: postings that do not
 * sum to zero, fewer than two postings, or postings without an entry. The database refuses to
 * commit any of them (migrations/0010), so outside a transaction that is writing one this is empty.
 */
export async function unbalancedEntries(connection: CommonQueryMethods, countMax = UNBALANCED_ENTRIES_COUNT_MAX): Promise<readonly string[]> {
  if (!Number.isInteger(countMax) || countMax < 1) throw new Error('countMax must be a positive integer');
  return connection.anyFirst(sql.type(z.object({ entry_id: z.string() }))`
    SELECT coalesce(e.entry_id, p.entry_id) AS entry_id
      FROM journal_entries e
      FULL JOIN journal_postings p ON p.entry_id = e.entry_id
     GROUP BY coalesce(e.entry_id, p.entry_id)
    HAVING count(e.entry_id) = 0 OR count(p.entry_id) < 2 OR coalesce(sum(p.amount_raw), 0) <> 0
     ORDER BY 1
     LIMIT ${countMax}`);
}

const balancesRow = z.object({
  operator_wallet_raw: raw,
  rewards_expense_raw: raw,
  payable_raw: raw,
  in_flight_raw: raw,
  donations_raw: raw,
  funding_raw: raw,
});

/** The balances of the chart of accounts, the per-user liabilities summed over every user. */
export async function journalBalances(connection: CommonQueryMethods): Promise<JournalBalances> {
  const row = await connection.one(sql.type(balancesRow)`
    SELECT coalesce(sum(amount_raw) FILTER (WHERE account = ${OPERATOR_WALLET}), 0)::text AS operator_wallet_raw,
           coalesce(sum(amount_raw) FILTER (WHERE account = ${REWARDS_EXPENSE}), 0)::text AS rewards_expense_raw,
           coalesce(-sum(amount_raw) FILTER (WHERE account LIKE ${`${PAYABLE_PREFIX}%`}), 0)::text AS payable_raw,
           coalesce(-sum(amount_raw) FILTER (WHERE account LIKE ${`${IN_FLIGHT_PREFIX}%`}), 0)::text AS in_flight_raw,
           coalesce(-sum(amount_raw) FILTER (WHERE account = ${DONATIONS_EQUITY}), 0)::text AS donations_raw,
           coalesce(-sum(amount_raw) FILTER (WHERE account = ${FUNDING_EQUITY}), 0)::text AS funding_raw
      FROM journal_postings`);
  return {
    operatorWalletRaw: row.operator_wallet_raw,
    rewardsExpenseRaw: row.rewards_expense_raw,
    payableRaw: row.payable_raw,
    inFlightRaw: row.in_flight_raw,
    donationsRaw: row.donations_raw,
    fundingRaw: row.funding_raw,
  };
}

const userBalancesRow = z.object({ payable_raw: raw, in_flight_raw: raw, paid_raw: raw });

/** One user's liabilities, and what the operator wallet paid them (its credits on their entries). */
export async function userJournalBalances(connection: CommonQueryMethods, userId: string): Promise<UserJournalBalances> {
  const payable = `${PAYABLE_PREFIX}${userId}`;
  const inFlight = `${IN_FLIGHT_PREFIX}${userId}`;
  const row = await connection.one(sql.type(userBalancesRow)`
    SELECT coalesce(-sum(p.amount_raw) FILTER (WHERE p.account = ${payable}), 0)::text AS payable_raw,
           coalesce(-sum(p.amount_raw) FILTER (WHERE p.account = ${inFlight}), 0)::text AS in_flight_raw,
           (SELECT coalesce(-sum(w.amount_raw), 0)
              FROM journal_entries e JOIN journal_postings w ON w.entry_id = e.entry_id
             WHERE e.user_id = ${userId}::uuid AND w.account = ${OPERATOR_WALLET})::text AS paid_raw
      FROM journal_postings p
     WHERE p.account IN (${payable}, ${inFlight})`);
  return { payableRaw: row.payable_raw, inFlightRaw: row.in_flight_raw, paidRaw: row.paid_raw };
}

/** What `npm run cli -- journal` reports: the books as the journal read model holds them. */
export interface JournalReport {
  /** The last event position the journal applied; null before its first. */
  readonly position: string | null;
  readonly trialBalanceRaw: string;
  readonly unbalancedEntries: readonly string[];
  readonly balances: Readonly<Record<keyof JournalBalances, { readonly raw: string; readonly ban: string }>>;
}

/** The books in one snapshot, so the balances, the trial balance and the position agree. */
export async function journalReport(pool: DatabasePool): Promise<JournalReport> {
  return pool.transaction(async (transaction) => {
    await transaction.query(sql.unsafe`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY`);
    // One after the other: one connection runs one statement at a time anyway, and statements
    // sent together on one connection of slonik's leave a rejection unhandled when its backend is
    // terminated under them, which ends the process.
    const position = await readCheckpoint(transaction, 'journal');
    const total = await trialBalance(transaction);
    const unbalanced = await unbalancedEntries(transaction);
    const balances = await journalBalances(transaction);
    const pairs = Object.fromEntries(Object.entries(balances).map(([name, amount]) => [name, moneyPair(amount)]));
    return {
      position: position?.toString() ?? null,
      trialBalanceRaw: total.toString(),
      unbalancedEntries: unbalanced,
      balances: pairs as JournalReport['balances'],
    };
  });
}

/** The report for a person: each balance in BAN, then the trial balance. */
export function formatJournalReport(report: JournalReport): string {
  const labels: Record<keyof JournalBalances, string> = {
    operatorWalletRaw: 'operator wallet',
    rewardsExpenseRaw: 'rewards expense',
    payableRaw: 'payable to users',
    inFlightRaw: 'claimed by payouts in flight',
    donationsRaw: 'donations',
    fundingRaw: 'operator funding',
  };
  const lines = [`Journal as of event position ${report.position ?? '(none applied yet)'}`];
  for (const [name, label] of Object.entries(labels) as Array<[keyof JournalBalances, string]>) {
    lines.push(`  ${label.padEnd(30)} ${report.balances[name].ban.padStart(24)} BAN`);
  }
  const balanced = report.trialBalanceRaw === '0' && report.unbalancedEntries.length === 0;
  lines.push(balanced ? 'Trial balance: 0 raw (balanced)' : `Trial balance: ${report.trialBalanceRaw} raw; unbalanced entries: ${report.unbalancedEntries.join(', ') || 'none'}`);
  return `${lines.join('\n')}\n`;
}
