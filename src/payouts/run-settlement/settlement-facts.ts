import { type CommonQueryMethods, type FragmentSqlToken, sql } from 'slonik';
import { z } from 'zod';
import { type EligibleUser, type UnsettledAccrual } from '../settlement/settlement-plan';

const eligibleRow = z.object({ user_id: z.string(), address: z.string() });
const accrualRow = z.object({
  accrual_id: z.string(),
  user_id: z.string(),
  epoch_minute: z.bigint(),
  unclaimed: z.bigint(),
  claimed_kills: z.bigint(),
  rate_per_kill_raw: z.string(),
});
const claimsRow = z.object({ user_id: z.string(), today: z.bigint(), week: z.bigint() });
const totalsRow = z.object({ sent_raw: z.string(), pending_raw: z.string() });

/** Monday 00:00 UTC of the ISO week, and 00:00 UTC of the day, containing `now`. */
export function capWindows(now: Date): { dayStart: Date; weekStart: Date } {
  const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const daysSinceMonday = (dayStart.getUTCDay() + 6) % 7;
  return { dayStart, weekStart: new Date(dayStart.getTime() - daysSinceMonday * 86_400_000) };
}

/**
 * capWindows in SQL, of the instant `at` (a timestamptz expression; the database's clock_timestamp()
 * for a count made now): `day_start` and `week_start` (date_trunc's week begins on Monday, as the
 * ISO week does). A query that counts claims from the database's clock reads both in the same
 * statement, without a round trip for the time. test/cap-windows-sql.int-spec.ts holds the two
 * to the same answers.
 */
export function capWindowsSql(at: FragmentSqlToken = sql.fragment`clock_timestamp()`): FragmentSqlToken {
  return sql.fragment`SELECT date_trunc('day', ${at}, 'UTC') AS day_start, date_trunc('week', ${at}, 'UTC') AS week_start`;
}

/**
 * Eligible users (SPEC §4.3): a verified Epic link, a primary wallet (verified if required), no
 * open high flag, unclaimed kills worth something (kills accrued at a rate of 0 are never paid:
 * see planSettlement), and no payout in flight. A failed payout counts as in flight: it
 * keeps its claim until an admin retries or cancels it, and the user stream refuses the next
 * payout meanwhile (payout_in_flight). Read from the read models; the user
 * stream checks the plan again when each payout is requested, so a lagging read model can make a
 * run skip someone, never pay twice.
 */
export async function loadEligibleUsers(
  connection: CommonQueryMethods,
  options: { readonly requireVerifiedWallet: boolean; readonly now: Date },
): Promise<EligibleUser[]> {
  const users = await connection.any(sql.type(eligibleRow)`
    SELECT u.user_id, w.address
      FROM users u
      JOIN wallet_links w ON w.user_id = u.user_id AND w.is_primary
     WHERE u.epic_account_id IS NOT NULL
       AND u.verification_status = 'ok'
       ${options.requireVerifiedWallet ? sql.fragment`AND w.verified` : sql.fragment``}
       AND NOT EXISTS (SELECT 1 FROM abuse_flags f WHERE f.user_id = u.user_id AND f.status = 'open' AND f.severity = 'high')
       AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.user_id = u.user_id AND p.status IN ('pending', 'failed'))
       AND EXISTS (SELECT 1 FROM reward_accruals a WHERE a.user_id = u.user_id AND a.claimed_kills < a.kills AND a.rate_per_kill_raw > 0)`);
  if (users.length === 0) return [];
  const ids = users.map((user) => user.user_id);
  const accruals = await connection.any(sql.type(accrualRow)`
    SELECT accrual_id, user_id, epoch_minute, kills - claimed_kills AS unclaimed, claimed_kills, rate_per_kill_raw
      FROM reward_accruals
     WHERE user_id = ANY(${sql.array(ids, 'uuid')}) AND claimed_kills < kills`);
  const { dayStart, weekStart } = capWindows(options.now);
  // Every claimed kill counts against the caps whatever its payout's state; only a cancelled
  // payout gives its kills back (SPEC §4.3).
  const claims = await connection.any(sql.type(claimsRow)`
    SELECT user_id,
           coalesce(sum(kills) FILTER (WHERE requested_at >= ${dayStart.toISOString()}::timestamptz), 0)::bigint AS today,
           coalesce(sum(kills), 0)::bigint AS week
      FROM payouts
     WHERE user_id = ANY(${sql.array(ids, 'uuid')}) AND status <> 'cancelled'
       AND requested_at >= ${weekStart.toISOString()}::timestamptz
     GROUP BY user_id`);
  const accrualsByUser = new Map<string, UnsettledAccrual[]>();
  for (const row of accruals) {
    const list = accrualsByUser.get(row.user_id) ?? [];
    list.push({
      accrualId: row.accrual_id,
      epochMinute: Number(row.epoch_minute),
      unclaimedKills: row.unclaimed,
      claimedKills: row.claimed_kills,
      ratePerKillRaw: BigInt(row.rate_per_kill_raw),
    });
    accrualsByUser.set(row.user_id, list);
  }
  const claimsByUser = new Map(claims.map((row) => [row.user_id, row]));
  return users.map((user) => ({
    userId: user.user_id,
    address: user.address,
    accruals: accrualsByUser.get(user.user_id) ?? [],
    claimedToday: claimsByUser.get(user.user_id)?.today ?? 0n,
    claimedThisWeek: claimsByUser.get(user.user_id)?.week ?? 0n,
  }));
}

/**
 * The dry-run operator balance (SPEC §4.4): the configured start minus what dry runs sent (a dry
 * run has no chain, so no donations arrive in it). Payouts requested and not yet sent
 * are spoken for, so they come off what a run may spend; so are failed ones, which keep their
 * claim and may be retried. Only a cancelled payout frees its amount.
 */
export async function dryRunSpendable(connection: CommonQueryMethods, startRaw: bigint, floorRaw: bigint): Promise<bigint> {
  const totals = await payoutTotals(connection);
  return atLeastZero(startRaw - totals.sentRaw - floorRaw - totals.spokenForRaw);
}

/**
 * What a live run may spend (SPEC §4.3): the operator balance the node confirms, minus the floor,
 * minus what payouts not yet sent are spoken for (pending and failed, as for dry-run). What is
 * spoken for is read first and the balance (`readBalance`) after it, because the executor keeps
 * sending meanwhile: a payout sent between the two reads then comes off twice, which only makes a
 * run request less. Read the other way round, it would come off neither, and be spent again.
 */
export async function liveSpendable(connection: CommonQueryMethods, readBalance: () => Promise<bigint>, floorRaw: bigint): Promise<bigint> {
  const totals = await payoutTotals(connection);
  const balanceRaw = await readBalance();
  return atLeastZero(balanceRaw - floorRaw - totals.spokenForRaw);
}

async function payoutTotals(connection: CommonQueryMethods): Promise<{ sentRaw: bigint; spokenForRaw: bigint }> {
  const totals = await connection.one(sql.type(totalsRow)`
    SELECT (${DRY_RUN_SENT_SUM})::text AS sent_raw,
           coalesce(sum(amount_raw) FILTER (WHERE status IN ('pending', 'failed')), 0)::text AS pending_raw
      FROM payouts`);
  return { sentRaw: BigInt(totals.sent_raw), spokenForRaw: BigInt(totals.pending_raw) };
}

/**
 * What a dry run has sent: the sent payouts of the dry-run gateway only. A live payout's block left
 * a real account, not the simulated one, so a dry run after a live one does not count it.
 */
const DRY_RUN_SENT_SUM = sql.fragment`coalesce(sum(amount_raw) FILTER (WHERE status = 'sent' AND gateway = 'dry-run'), 0)`;

/** The sum the simulated balance subtracts, read from the payouts read model (reconciliation checks it). */
export async function dryRunSentRaw(connection: CommonQueryMethods): Promise<bigint> {
  return BigInt(await connection.oneFirst(sql.type(z.object({ sent_raw: z.string() }))`SELECT (${DRY_RUN_SENT_SUM})::text AS sent_raw FROM payouts`));
}

function atLeastZero(raw: bigint): bigint {
  return raw < 0n ? 0n : raw;
}
