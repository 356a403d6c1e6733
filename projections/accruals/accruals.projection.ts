import { sql } from 'slonik';
import { formatBan } from '../../src/platform/money';
import { userStreamProjection } from '../runtime/user-stream-projection';

/**
 * `reward_accruals`: one row per accrual, unique per (user, epoch minute), with how many of its
 * kills payouts claim and how many sent payouts settled. The claims are rows of `accrual_claims`
 * and the counts are recomputed from them, so applying an event twice changes nothing. A failed
 * payout keeps its claim rows; only a cancelled one loses them, which gives its kills back.
 */
export const accrualsProjection = userStreamProjection('reward_accruals', ['reward_accruals', 'accrual_claims'], async (transaction, event) => {
  if (event.type === 'PayoutCancelled') {
    for (const covered of event.data.accruals) {
      // Deleting this payout's row and recounting lowers claimed_kills by exactly what the row
      // held, and by nothing once it is gone, whatever other payouts hold of a split accrual.
      // Counting the release only when a row went keeps a replay from counting it twice.
      await transaction.query(sql.unsafe`
        WITH released AS (
          DELETE FROM accrual_claims WHERE accrual_id = ${covered.accrualId} AND payout_id = ${event.data.payoutId} RETURNING 1)
        UPDATE reward_accruals SET releases = releases + (SELECT count(*) FROM released)::int
         WHERE accrual_id = ${covered.accrualId}`);
      // The accrual named the cancelled payout: it now names one that still claims it, if any.
      // The user stream lets only one unsent payout claim a user's kills at a time, and this one
      // was it, so whatever claims remain were sent; any of them paid part of the accrual.
      await transaction.query(sql.unsafe`
        UPDATE reward_accruals a SET
          claimed_kills = c.claimed, settled_kills = c.settled, settled = (c.settled = a.kills),
          payout_id = CASE WHEN a.payout_id = ${event.data.payoutId}
                           THEN (SELECT r.payout_id FROM accrual_claims r WHERE r.accrual_id = a.accrual_id
                                  ORDER BY r.sent DESC, r.payout_id LIMIT 1)
                           ELSE a.payout_id END
          FROM (SELECT coalesce(sum(kills), 0) AS claimed, coalesce(sum(kills) FILTER (WHERE sent), 0) AS settled
                  FROM accrual_claims WHERE accrual_id = ${covered.accrualId}) c
         WHERE a.accrual_id = ${covered.accrualId}`);
    }
    return;
  }
  if (event.type === 'PayoutRequested' || event.type === 'PayoutSent') {
    for (const covered of event.data.accruals) {
      if (event.type === 'PayoutRequested') {
        await transaction.query(sql.unsafe`INSERT INTO accrual_claims (accrual_id, payout_id, kills)
          VALUES (${covered.accrualId}, ${event.data.payoutId}, ${covered.kills}) ON CONFLICT (accrual_id, payout_id) DO NOTHING`);
      } else {
        await transaction.query(sql.unsafe`UPDATE accrual_claims SET sent = true
          WHERE accrual_id = ${covered.accrualId} AND payout_id = ${event.data.payoutId}`);
      }
      await transaction.query(sql.unsafe`
        UPDATE reward_accruals a SET
          claimed_kills = c.claimed, settled_kills = c.settled, settled = (c.settled = a.kills), payout_id = ${event.data.payoutId}
          FROM (SELECT coalesce(sum(kills), 0) AS claimed, coalesce(sum(kills) FILTER (WHERE sent), 0) AS settled
                  FROM accrual_claims WHERE accrual_id = ${covered.accrualId}) c
         WHERE a.accrual_id = ${covered.accrualId}`);
    }
    return;
  }
  if (event.type !== 'AccrualRecorded') return;
  const accrual = event.data;
  await transaction.query(sql.unsafe`
    INSERT INTO reward_accruals (accrual_id, user_id, epoch_minute, kills, from_kill_count, to_kill_count,
      rate_per_kill_raw, base_rate_per_kill_raw, milestone_multiplier, sustainability_factor,
      amount_raw, amount_ban, recorded_at)
    VALUES (${accrual.accrualId}, ${accrual.userId}, ${accrual.epochMinute}, ${accrual.kills}, ${accrual.fromKillCount},
      ${accrual.toKillCount}, ${accrual.ratePerKillRaw}::numeric, ${accrual.baseRatePerKillRaw}::numeric,
      ${accrual.milestoneMultiplier}, ${accrual.sustainabilityFactor}, ${accrual.amountRaw}::numeric,
      ${formatBan(BigInt(accrual.amountRaw))}::numeric, ${accrual.recordedAt}::timestamptz)
    ON CONFLICT (accrual_id) DO NOTHING`);
});
