import { sql } from 'slonik';
import { formatBan } from '../../src/platform/money';
import { userStreamProjection } from '../runtime/user-stream-projection';

/**
 * `payouts`: one row per payout, pending until sent (failure and cancel come with the saga), and
 * `payout_totals.sent`, the sum of sent payouts, raised only by the update that marks one sent.
 */
export const payoutsProjection = userStreamProjection('payouts', ['payouts', 'payout_totals'], async (transaction, event, recorded) => {
  if (event.type === 'PayoutRequested') {
    const payout = event.data;
    await transaction.query(sql.unsafe`
      INSERT INTO payouts (payout_id, user_id, run_id, status, kills, amount_raw, amount_ban, address, idempotency_key,
                           accruals, requested_at, requested_position)
      VALUES (${payout.payoutId}, ${payout.userId}, ${payout.runId}, 'pending', ${payout.kills}, ${payout.amountRaw}::numeric,
              ${formatBan(BigInt(payout.amountRaw))}::numeric, ${payout.address}, ${payout.idempotencyKey},
              ${JSON.stringify(payout.accruals)}::jsonb, ${payout.requestedAt}::timestamptz, ${recorded.position.toString()}::bigint)
      ON CONFLICT (payout_id) DO NOTHING`);
  } else if (event.type === 'PayoutSent') {
    // The status guard makes a replayed PayoutSent update nothing, so the total is raised once.
    await transaction.query(sql.unsafe`
      WITH sent AS (
        UPDATE payouts SET status = 'sent', block_hash = ${event.data.blockHash}, sent_at = ${event.data.sentAt}::timestamptz,
               attempt_count = GREATEST(attempt_count, 1),
               first_attempt_at = COALESCE(first_attempt_at, ${event.data.sentAt}::timestamptz),
               last_attempt_at = COALESCE(last_attempt_at, ${event.data.sentAt}::timestamptz)
         WHERE payout_id = ${event.data.payoutId} AND status <> 'sent'
         RETURNING amount_raw)
      INSERT INTO payout_totals (total_name, amount_raw)
      SELECT 'sent', amount_raw FROM sent
      ON CONFLICT (total_name) DO UPDATE SET amount_raw = payout_totals.amount_raw + EXCLUDED.amount_raw`);
  }
});
