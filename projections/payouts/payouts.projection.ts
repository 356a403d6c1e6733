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
 * there, so the rows end as they were. A failure replayed after a retry and a later attempt finds
 * a higher attempt count, so it does not fail the payout again.
 *
 * Each handler writes the events of a round (at most one per user, so one per payout) with one
 * statement. The rest of the user stream is kept by the other read models.
 */
export const payoutsProjection = userStreamProjection('payouts', ['payouts', 'payout_totals'], {
  PayoutRequested: async (transaction, events) => {
    // A payout cancelled earlier with the same key is 'cancelled' by now (events are applied in
    // order), so the live-key index lets this one in; a double claim would stop here loudly.
    await transaction.query(sql.unsafe`
      INSERT INTO payouts (payout_id, user_id, run_id, gateway, status, kills, amount_raw, amount_ban, address, idempotency_key,
                           accruals, requested_at, requested_position)
      SELECT v.payout_id, v.user_id, v.run_id, v.gateway, 'pending', v.kills, v.amount_raw, v.amount_ban, v.address, v.idempotency_key,
             v.accruals, v.requested_at, v.requested_position
        FROM ${sql.unnest(
          events.map(({ event: { data: payout }, recorded }) => [
            payout.payoutId,
            payout.userId,
            payout.runId,
            payout.gateway,
            payout.kills,
            payout.amountRaw,
            formatBan(BigInt(payout.amountRaw)),
            payout.address,
            payout.idempotencyKey,
            JSON.stringify(payout.accruals),
            payout.requestedAt,
            recorded.position.toString(),
          ]),
          ['uuid', 'uuid', 'uuid', 'text', 'int8', 'numeric', 'numeric', 'text', 'text', 'jsonb', 'timestamptz', 'int8'],
        )} AS v (payout_id, user_id, run_id, gateway, kills, amount_raw, amount_ban, address, idempotency_key, accruals, requested_at, requested_position)
      ON CONFLICT (payout_id) DO NOTHING`);
  },
  PayoutAttemptFailed: async (transaction, events) => {
    // Attempt numbers count across retries, so attempt_count is the highest one seen, and the
    // guard on it makes a replay of this attempt change nothing (its block is kept once).
    await transaction.query(sql.unsafe`
      UPDATE payouts p SET attempt_count = v.attempt, last_error = v.error, next_attempt_at = v.next_attempt_at,
             first_attempt_at = COALESCE(p.first_attempt_at, v.failed_at), last_attempt_at = v.failed_at,
             failed_block_hashes = CASE WHEN v.block_hash IS NULL THEN p.failed_block_hashes ELSE array_append(p.failed_block_hashes, v.block_hash) END
        FROM ${sql.unnest(
          events.map(({ event: { data: failed } }) => [failed.payoutId, failed.attempt, failed.error, failed.nextAttemptAt, failed.failedAt, failed.blockHash]),
          ['uuid', 'int4', 'text', 'timestamptz', 'timestamptz', 'text'],
        )} AS v (payout_id, attempt, error, next_attempt_at, failed_at, block_hash)
       WHERE p.payout_id = v.payout_id AND p.status = 'pending' AND p.attempt_count < v.attempt`);
  },
  PayoutFailed: async (transaction, events) => {
    // Its attempt is the last one applied. Replayed after a retry and a later attempt, it finds a
    // higher attempt_count and changes nothing, as the retry and that attempt then do too.
    await transaction.query(sql.unsafe`
      UPDATE payouts p SET status = 'failed', failed_at = v.failed_at, last_error = v.error,
             next_attempt_at = NULL, attempt_count = GREATEST(p.attempt_count, v.attempts)
        FROM ${sql.unnest(
          events.map(({ event: { data: failed } }) => [failed.payoutId, failed.failedAt, failed.error, failed.attempts]),
          ['uuid', 'timestamptz', 'text', 'int4'],
        )} AS v (payout_id, failed_at, error, attempts)
       WHERE p.payout_id = v.payout_id AND p.status = 'pending' AND p.attempt_count <= v.attempts`);
  },
  PayoutRetryRequested: async (transaction, events) => {
    // The same payout, the same key and the same claim: the executor may try it again now.
    await transaction.query(sql.unsafe`
      UPDATE payouts p SET status = 'pending', failed_at = NULL, next_attempt_at = NULL
       WHERE p.payout_id = ANY(${sql.array(
         events.map(({ event }) => event.data.payoutId),
         'uuid',
       )}) AND p.status = 'failed'`);
  },
  PayoutCancelled: async (transaction, events) => {
    // Leaving 'failed' for 'cancelled' takes the row out of the live-key index, so the same
    // kills may be requested again under the same key.
    await transaction.query(sql.unsafe`
      UPDATE payouts p SET status = 'cancelled', cancelled_at = v.cancelled_at, cancel_reason = v.reason, next_attempt_at = NULL
        FROM ${sql.unnest(
          events.map(({ event: { data: cancelled } }) => [cancelled.payoutId, cancelled.cancelledAt, cancelled.reason]),
          ['uuid', 'timestamptz', 'text'],
        )} AS v (payout_id, cancelled_at, reason)
       WHERE p.payout_id = v.payout_id AND p.status = 'failed'`);
  },
  PayoutSent: async (transaction, events) => {
    // The status guard makes a replayed PayoutSent update nothing, so the total is raised once,
    // also when the payout was failed before (its block was found on the chain after all).
    // Sent with a new block, the send was one more attempt after the failed ones. Sent with the
    // block of an attempt recorded as failed (found on the chain after all, by the executor
    // before it signs another, or while the payout is failed) or while failed, no new attempt was
    // made, so the attempts stay as they were. The total is raised once for all the round's sends.
    await transaction.query(sql.unsafe`
      WITH sent AS (
        UPDATE payouts p SET status = 'sent', block_hash = v.block_hash, sent_at = v.sent_at,
               next_attempt_at = NULL,
               attempt_count = CASE WHEN p.status = 'failed' OR v.block_hash = ANY(p.failed_block_hashes)
                                    THEN GREATEST(p.attempt_count, 1) ELSE p.attempt_count + 1 END,
               first_attempt_at = COALESCE(p.first_attempt_at, v.sent_at),
               last_attempt_at = CASE WHEN p.status = 'failed' OR v.block_hash = ANY(p.failed_block_hashes)
                                      THEN COALESCE(p.last_attempt_at, v.sent_at) ELSE v.sent_at END
          FROM ${sql.unnest(
            events.map(({ event: { data: sent } }) => [sent.payoutId, sent.blockHash, sent.sentAt]),
            ['uuid', 'text', 'timestamptz'],
          )} AS v (payout_id, block_hash, sent_at)
         WHERE p.payout_id = v.payout_id AND p.status <> 'sent'
         RETURNING p.amount_raw)
      INSERT INTO payout_totals (total_name, amount_raw)
      SELECT 'sent', sum(amount_raw) FROM sent HAVING count(*) > 0
      ON CONFLICT (total_name) DO UPDATE SET amount_raw = payout_totals.amount_raw + EXCLUDED.amount_raw`);
  },
});
