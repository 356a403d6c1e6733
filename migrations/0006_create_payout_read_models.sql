-- Read models of the paying side (SPEC §6), built by projections/ from the user streams.

ALTER TABLE users ADD COLUMN settled_raw numeric(40, 0) NOT NULL DEFAULT 0;

-- Which payouts claim which accruals, and how many of their kills: a split accrual has several.
-- Owned by the reward_accruals projection, which derives claimed and settled kills from it.
CREATE TABLE accrual_claims (
  accrual_id uuid NOT NULL,
  payout_id  uuid NOT NULL,
  kills      bigint NOT NULL CHECK (kills > 0),
  sent       boolean NOT NULL DEFAULT false,
  PRIMARY KEY (accrual_id, payout_id)
);
CREATE INDEX accrual_claims_payout_idx ON accrual_claims (payout_id);

ALTER TABLE reward_accruals
  ADD COLUMN claimed_kills bigint NOT NULL DEFAULT 0,
  ADD COLUMN settled_kills bigint NOT NULL DEFAULT 0;

CREATE TABLE payouts (
  payout_id        uuid PRIMARY KEY,
  user_id          uuid NOT NULL,
  run_id           uuid NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
  kills            bigint NOT NULL CHECK (kills > 0),
  amount_raw       numeric(40, 0) NOT NULL,
  amount_ban       numeric(18, 8) NOT NULL,
  address          text NOT NULL,
  idempotency_key  text NOT NULL,
  accruals         jsonb NOT NULL,
  attempt_count    integer NOT NULL DEFAULT 0,
  first_attempt_at timestamptz,
  last_attempt_at  timestamptz,
  block_hash       text,
  requested_at     timestamptz NOT NULL,
  -- Position of the PayoutRequested event: a stable order for paging, the same after a rebuild.
  requested_position bigint NOT NULL,
  sent_at          timestamptz
);
-- The decider never requests a payout whose key a live one holds; this index would stop the
-- projection loudly rather than let a double claim pass unseen.
CREATE UNIQUE INDEX payouts_live_idempotency_key_idx ON payouts (idempotency_key) WHERE status <> 'cancelled';
CREATE INDEX payouts_user_position_idx ON payouts (user_id, requested_position DESC);
CREATE INDEX payouts_pending_idx ON payouts (requested_at) WHERE status = 'pending';
