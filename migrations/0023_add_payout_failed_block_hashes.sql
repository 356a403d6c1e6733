-- The blocks of a payout's failed attempts, kept by the payouts projection (PayoutAttemptFailed).
-- The executor finds a refused block on the chain after all before it signs another, and sends the
-- payout with it: that send is not one more attempt. Without the blocks the projection counted it
-- as one, and attempt_count and last_attempt_at said an attempt was made that never was.
--
-- Rows from before this column start with no blocks, so such a send of theirs still counts one
-- attempt more; `npm run cli -- projections rebuild payouts` makes them exact. Only the attempt
-- figures of a payout differ; no amount depends on them.
ALTER TABLE payouts ADD COLUMN failed_block_hashes text[] NOT NULL DEFAULT '{}';
