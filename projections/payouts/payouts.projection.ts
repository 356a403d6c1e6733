import { sql } from 'slonik';
import { formatBan } from '../../src/platform/money';
import { userStreamProjection } from '../runtime/user-stream-projection';

/** `payouts`: one row per payout, pending until sent (failure and cancel come with the saga). */
export const payoutsProjection = userStreamProjection('payouts', ['payouts'], async (transaction, event, recorded) => {
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
    await transaction.query(sql.unsafe`
      UPDATE payouts SET status = 'sent', block_hash = ${event.data.blockHash}, sent_at = ${event.data.sentAt}::timestamptz,
             attempt_count = GREATEST(attempt_count, 1),
             first_attempt_at = COALESCE(first_attempt_at, ${event.data.sentAt}::timestamptz),
             last_attempt_at = COALESCE(last_attempt_at, ${event.data.sentAt}::timestamptz)
       WHERE payout_id = ${event.data.payoutId}`);
  }
});
