-- The read side of failed payout attempts, failure, admin retry and cancel (SPEC §4.4.5), kept by
-- the payouts projection. attempt_count, first_attempt_at and last_attempt_at exist since 0006.

ALTER TABLE payouts
  -- The error of the last failed attempt (or of PayoutFailed); kept after a retry or a later send,
  -- as the record of why the payout needed one.
  ADD COLUMN last_error      text,
  -- When the executor may try a pending payout again; null means now. Cleared by a retry.
  ADD COLUMN next_attempt_at timestamptz,
  -- Set while the payout is failed; a retry clears it.
  ADD COLUMN failed_at       timestamptz,
  ADD COLUMN cancelled_at    timestamptz,
  ADD COLUMN cancel_reason   text;

-- payouts_pending_idx (requested_at) WHERE status = 'pending' stays as it is: the executor reads
-- pending payouts in requested_at order and filters next_attempt_at on the few rows that partial
-- index holds, so a key on next_attempt_at would only lose that order. Failed payouts leave the
-- index, so the executor never walks past them.

-- Which executor sends the payout: 'dry-run' or 'live' (a payout planned against the simulated
-- balance is never signed on chain, and a live one, which may have a block in flight, is never
-- sent dry). Every payout before this column was a dry-run one.
ALTER TABLE payouts ADD COLUMN gateway text NOT NULL DEFAULT 'dry-run' CHECK (gateway IN ('dry-run', 'live'));

-- How many cancelled payouts gave this accrual's kills back. It is part of the idempotency key
-- of a later claim, so a re-settlement after a cancel pays the same kills under a new key.
ALTER TABLE reward_accruals ADD COLUMN releases integer NOT NULL DEFAULT 0;
