-- A write-side guard, beside epic_account_claims: for each Epic account a user let go of, the
-- lifetime count up to which that user accrued its kills (the user's accrued high-water mark of
-- the account when it linked another). A lifetime count never falls, so the next user to link the
-- account gets no lower a baseline, whatever count the stats API or the integration gives: a lower
-- one is stale, and the kills between would be paid a second time, to a second user. The user's
-- own stream keeps the same mark for its own links again; this table carries it across users.
-- Written in the statement that frees the old claim, so a user can claim the account only once
-- its mark is here. user_id names the user whose accruals set the mark, for the audit.
CREATE TABLE epic_account_marks (
  epic_account_id text PRIMARY KEY,
  kill_count      bigint NOT NULL CHECK (kill_count >= 0),
  user_id         uuid NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now()
);
