-- Write-side coordination, not a read model: every operator account the ledger signs blocks for.
-- The operator seed can name another account (PUT /v1/admin/operator-seed, or a new seed file), and
-- a block the former account signed may still be in flight: recorded, maybe published, its payout
-- not yet sent. The payout executor finishes such a block before the current account signs anything
-- for that payout (SPEC §4.4.4), and it finds the former accounts here. Rows are only ever added,
-- each before the first block signed for its account.
CREATE TABLE operator_accounts (
  address       text PRIMARY KEY,
  first_used_at timestamptz NOT NULL DEFAULT now()
);

-- The accounts that signed before this table: their operator streams, when the events are in
-- PostgreSQL, and the accounts the treasury read model saw receive, when they are in EventStoreDB.
INSERT INTO operator_accounts (address)
SELECT substr(stream_name, length('operator-') + 1) FROM event_streams WHERE stream_name LIKE 'operator-%'
UNION
SELECT operator_address FROM donation_ledger
ON CONFLICT DO NOTHING;
