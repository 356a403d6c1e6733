-- Read models of the inflow side (SPEC §4.5, §6), built by the treasury projection from the
-- operator streams.

-- One row per send block received by an operator account: a donation, or operator funding.
CREATE TABLE donation_ledger (
  send_block_hash    text PRIMARY KEY,
  operator_address   text NOT NULL,
  kind               text NOT NULL CHECK (kind IN ('donation', 'funding')),
  sender             text NOT NULL,
  amount_raw         numeric(40, 0) NOT NULL CHECK (amount_raw > 0),
  amount_ban         numeric(18, 8) NOT NULL,
  receive_block_hash text NOT NULL,
  received_at        timestamptz NOT NULL,
  event_id           uuid NOT NULL,
  position           bigint NOT NULL
);
CREATE INDEX donation_ledger_received_idx ON donation_ledger (received_at DESC);

-- Per donor totals, for the top donors without a scan of every donation.
CREATE TABLE donor_totals (
  sender            text PRIMARY KEY,
  amount_raw        numeric(40, 0) NOT NULL,
  donation_count    bigint NOT NULL,
  last_donation_at  timestamptz NOT NULL
);
CREATE INDEX donor_totals_amount_idx ON donor_totals (amount_raw DESC, sender);

-- Running totals: 'donated' and 'funded', so the per-kill rate reads one row.
CREATE TABLE treasury_totals (
  total_name  text PRIMARY KEY CHECK (total_name IN ('donated', 'funded')),
  amount_raw  numeric(40, 0) NOT NULL,
  entry_count bigint NOT NULL
);

-- The tiers reached, one row each, from MilestoneReached. Tiers not reached yet are configuration
-- (economics.milestones); GET /v1/donations lists both.
CREATE TABLE milestones (
  threshold_raw     numeric(40, 0) PRIMARY KEY,
  threshold_ban     numeric(18, 8) NOT NULL,
  multiplier        text NOT NULL,
  name              text NOT NULL,
  reached_at        timestamptz NOT NULL,
  total_donated_raw numeric(40, 0) NOT NULL,
  send_block_hash   text NOT NULL,
  event_id          uuid NOT NULL
);
