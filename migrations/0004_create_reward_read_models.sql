-- Read models of the rewards side (SPEC §6), built by projections/ from the user-<userId> streams.

-- Kill counters of a user are sums over its accruals and payouts, not lifetime counts, so they
-- stay meaningful across a change of Epic account: accrued_kill_count is every kill accrued,
-- last_settled_kill_count every kill a sent payout covered, and their difference is unsettled.
ALTER TABLE users
  ADD COLUMN baseline_kills       bigint,
  ADD COLUMN epic_linked_at       timestamptz,
  ADD COLUMN verification_source  text,
  ADD COLUMN last_verified_at     timestamptz,
  ADD COLUMN last_observed_at     timestamptz,
  ADD COLUMN accrued_raw          numeric(40, 0) NOT NULL DEFAULT 0;

CREATE INDEX users_epic_account_id_idx ON users (epic_account_id) WHERE epic_account_id IS NOT NULL;

CREATE TABLE wallet_links (
  user_id     uuid NOT NULL,
  address     text NOT NULL,
  is_primary  boolean NOT NULL,
  verified    boolean NOT NULL DEFAULT false,
  linked_at   timestamptz NOT NULL,
  verified_at timestamptz,
  PRIMARY KEY (user_id, address)
);
CREATE UNIQUE INDEX wallet_links_one_primary_idx ON wallet_links (user_id) WHERE is_primary;
CREATE INDEX wallet_links_primary_address_idx ON wallet_links (address) WHERE is_primary;

CREATE TABLE verification_records (
  user_id          uuid NOT NULL,
  stream_revision  bigint NOT NULL,
  source           text NOT NULL,
  status           text NOT NULL,
  epic_account_id  text,
  detail           text,
  verified_at      timestamptz NOT NULL,
  PRIMARY KEY (user_id, stream_revision)
);

CREATE TABLE reward_accruals (
  accrual_id               uuid PRIMARY KEY,
  user_id                  uuid NOT NULL,
  epoch_minute             bigint NOT NULL,
  kills                    bigint NOT NULL CHECK (kills > 0),
  from_kill_count          bigint NOT NULL,
  to_kill_count            bigint NOT NULL,
  rate_per_kill_raw        numeric(40, 0) NOT NULL,
  base_rate_per_kill_raw   numeric(40, 0) NOT NULL,
  -- The factors exactly as the event spells them ("1.05", "2.0000"): they are records, not sums.
  milestone_multiplier     text NOT NULL,
  sustainability_factor    text NOT NULL,
  amount_raw               numeric(40, 0) NOT NULL,
  amount_ban               numeric(18, 8) NOT NULL,
  settled                  boolean NOT NULL DEFAULT false,
  payout_id                uuid,
  recorded_at              timestamptz NOT NULL,
  CONSTRAINT reward_accruals_user_minute_key UNIQUE (user_id, epoch_minute)
);

CREATE TABLE abuse_flags (
  flag_id      uuid PRIMARY KEY,
  user_id      uuid NOT NULL,
  flag_type    text NOT NULL,
  severity     text NOT NULL,
  detail       text NOT NULL,
  status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cleared')),
  raised_at    timestamptz NOT NULL,
  cleared_at   timestamptz,
  clear_reason text
);
CREATE INDEX abuse_flags_user_open_idx ON abuse_flags (user_id) WHERE status = 'open';
