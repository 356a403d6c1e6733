-- A write-side uniqueness guard, not a read model: an Epic account belongs to one user at most
-- (SPEC §4.1, 409 epic_account_already_linked). The link command claims the id here before it
-- appends, so two users linking the same account at once cannot both succeed, which a check
-- against the eventually consistent users table could not promise.
CREATE TABLE epic_account_claims (
  epic_account_id text PRIMARY KEY,
  user_id         uuid NOT NULL,
  claimed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX epic_account_claims_user_idx ON epic_account_claims (user_id);
