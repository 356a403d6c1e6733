import { sql } from 'slonik';
import { formatBan } from '../../src/platform/money';
import { userStreamProjection } from '../runtime/user-stream-projection';

/**
 * `payouts`: one row per payout, pending → sent | failed | cancelled, and failed → pending again on
 * an admin retry; and `payout_totals.sent`, the sum of sent payouts, raised only by the update that
 * marks one sent. Every update is guarded by the status (and the attempt number) it moves from.
 * The runtime replays a batch, in order, only after applying it: an event replayed after the
 * payout has moved on finds its guard false, and one that finds it true again (a retry replayed
 * while the payout is failed once more) is followed in the same batch by the events that led
 * there, so the rows end as they were.
 */
export const payoutsProjection = userStreamProjection('payouts', ['payouts', 'payout_totals'], async (transaction, event, recorded) => {
  switch (event.type) {
    case 'PayoutRequested': {
      const payout = event.data;
      // A payout cancelled earlier with the same key is 'cancelled' by now (events are applied in
      // order), so the live-key index lets this one in; a double claim would stop here loudly.
      await transaction.query(sql.unsafe`
        INSERT INTO payouts (payout_id, user_id, run_id, gateway, status, kills, amount_raw, amount_ban, address, idempotency_key,
                             accruals, requested_at, requested_position)
        VALUES (${payout.payoutId}, ${payout.userId}, ${payout.runId}, ${payout.gateway}, 'pending', ${payout.kills}, ${payout.amountRaw}::numeric,
                ${formatBan(BigInt(payout.amountRaw))}::numeric, ${payout.address}, ${payout.idempotencyKey},
                ${JSON.stringify(payout.accruals)}::jsonb, ${payout.requestedAt}::timestamptz, ${recorded.position.toString()}::bigint)
        ON CONFLICT (payout_id) DO NOTHING`);
      return;
    }
    case 'PayoutAttemptFailed': {
      // Attempt numbers count across retries, so attempt_count is the highest one seen, and the
      // guard on it makes a replay of this attempt change nothing.
      const failed = event.data;
      await transaction.query(sql.unsafe`
        UPDATE payouts SET attempt_count = ${failed.attempt}, last_error = ${failed.error},
               next_attempt_at = ${failed.nextAttemptAt}::timestamptz,
               first_attempt_at = COALESCE(first_attempt_at, ${failed.failedAt}::timestamptz),
               last_attempt_at = ${failed.failedAt}::timestamptz
         WHERE payout_id = ${failed.payoutId} AND status = 'pending' AND attempt_count < ${failed.attempt}`);
      return;
    }
    case 'PayoutFailed': {
      const failed = event.data;
      await transaction.query(sql.unsafe`
        UPDATE payouts SET status = 'failed', failed_at = ${failed.failedAt}::timestamptz, last_error = ${failed.error},
               next_attempt_at = NULL, attempt_count = GREATEST(attempt_count, ${failed.attempts})
         WHERE payout_id = ${failed.payoutId} AND status = 'pending'`);
      return;
    }
    case 'PayoutRetryRequested':
      // The same payout, the same key and the same claim: the executor may try it again now.
      await transaction.query(sql.unsafe`
        UPDATE payouts SET status = 'pending', failed_at = NULL, next_attempt_at = NULL
         WHERE payout_id = ${event.data.payoutId} AND status = 'failed'`);
      return;
    case 'PayoutCancelled': {
      // Leaving 'failed' for 'cancelled' takes the row out of the live-key index, so the same
      // kills may be requested again under the same key.
      const cancelled = event.data;
      await transaction.query(sql.unsafe`
        UPDATE payouts SET status = 'cancelled', cancelled_at = ${cancelled.cancelledAt}::timestamptz,
               cancel_reason = ${cancelled.reason}, next_attempt_at = NULL
         WHERE payout_id = ${cancelled.payoutId} AND status = 'failed'`);
      return;
    }
    case 'PayoutSent': {
      // The status guard makes a replayed PayoutSent update nothing, so the total is raised once,
      // also when the payout was failed before (its block was found on the chain after all).
      // Sent while pending, the send was one more attempt after the failed ones. Sent while
      // failed, no attempt was running: the block of an attempt recorded as failed confirmed, so
      // the attempts made stay as they were.
      const sent = event.data;
      await transaction.query(sql.unsafe`
        WITH sent AS (
          UPDATE payouts SET status = 'sent', block_hash = ${sent.blockHash}, sent_at = ${sent.sentAt}::timestamptz,
                 next_attempt_at = NULL,
                 attempt_count = CASE WHEN status = 'failed' THEN GREATEST(attempt_count, 1) ELSE attempt_count + 1 END,
                 first_attempt_at = COALESCE(first_attempt_at, ${sent.sentAt}::timestamptz),
                 last_attempt_at = CASE WHEN status = 'failed' THEN COALESCE(last_attempt_at, ${sent.sentAt}::timestamptz)
                                        ELSE ${sent.sentAt}::timestamptz END
           WHERE payout_id = ${sent.payoutId} AND status <> 'sent'
           RETURNING amount_raw)
        INSERT INTO payout_totals (total_name, amount_raw)
        SELECT 'sent', amount_raw FROM sent
        ON CONFLICT (total_name) DO UPDATE SET amount_raw = payout_totals.amount_raw + EXCLUDED.amount_raw`);
      return;
    }
    case 'UserRegistered':
    case 'EpicAccountLinked':
    case 'VerificationRecorded':
    case 'WalletLinked':
    case 'WalletVerified':
    case 'KillsObserved':
    case 'AccrualRecorded':
    case 'AbuseFlagRaised':
    case 'AbuseFlagCleared':
      // Kept by the other read models.
      return;
    default: {
      const unreachable: never = event;
      throw new Error(`Unhandled user event ${JSON.stringify(unreachable)}`);
    }
  }
});
