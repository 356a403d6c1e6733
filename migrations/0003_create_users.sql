-- The users read model (SPEC §6), built by projections/users from the user-<userId> streams.
CREATE TABLE users (
  user_id                  uuid PRIMARY KEY,
  discord_user_id          text NOT NULL,
  region_code              text,
  epic_account_id          text,
  verification_status      text,
  last_settled_kill_count  bigint NOT NULL DEFAULT 0,
  last_settlement_at       timestamptz,
  accrued_kill_count       bigint NOT NULL DEFAULT 0,
  last_observed_kill_count bigint,
  registered_at            timestamptz NOT NULL,
  -- Revision of the last user-stream event applied to this row: a replayed event changes nothing.
  stream_revision          bigint NOT NULL,
  CONSTRAINT users_discord_user_id_key UNIQUE (discord_user_id)
);
