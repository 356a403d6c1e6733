-- A send from one account of the operator to another is a transfer, not funding. The ingester
-- records the balance the operator moves from a former account to the new one as FundingReceived
-- (SPEC §4.5 knows only donations and funding), and the journal and the treasury read models
-- counted it as new money: the operator wallet held the moved BAN twice, once as they first came in
-- and once more as funding, and the funded total rose by money the operator already held.
--
-- The journal and treasury projections now tell such a send by its sender: an account with an
-- operator stream whose first event comes before the receive in $all. Each keeps the accounts it
-- has seen in a table of its own, so a rebuild of one never empties the other's.
CREATE TABLE journal_operator_accounts (
  address text PRIMARY KEY
);
CREATE TABLE treasury_operator_accounts (
  address text PRIMARY KEY
);

-- The treasury read model lists a transfer with its own kind and counts it in no total.
ALTER TABLE donation_ledger DROP CONSTRAINT donation_ledger_kind_check;
ALTER TABLE donation_ledger ADD CONSTRAINT donation_ledger_kind_check CHECK (kind IN ('donation', 'funding', 'transfer'));

-- The accounts the projections have already seen, each as of its own checkpoint: the operator
-- streams whose first event the projection has applied, when the events are in PostgreSQL, and the
-- accounts its own rows show receiving. Where the events are in EventStoreDB, the database cannot
-- see an account whose events were all PayoutBlockSigned (no row of either projection comes from
-- one), so such deployments run `npm run cli -- projections rebuild journal treasury` after this
-- migration. So does every deployment to count as transfers the ones recorded before it.
INSERT INTO journal_operator_accounts (address)
SELECT substr(s.stream_name, length('operator-') + 1)
  FROM event_streams s
  JOIN events e ON e.stream_name = s.stream_name AND e.stream_revision = 0
 WHERE s.stream_name LIKE 'operator-%'
   AND e.global_position <= (SELECT position FROM projection_checkpoints WHERE projection_name = 'journal')
UNION
SELECT substr(stream_name, length('operator-') + 1) FROM journal_entries WHERE stream_name LIKE 'operator-%'
ON CONFLICT DO NOTHING;
INSERT INTO treasury_operator_accounts (address)
SELECT substr(s.stream_name, length('operator-') + 1)
  FROM event_streams s
  JOIN events e ON e.stream_name = s.stream_name AND e.stream_revision = 0
 WHERE s.stream_name LIKE 'operator-%'
   AND e.global_position <= (SELECT position FROM projection_checkpoints WHERE projection_name = 'treasury')
UNION
SELECT operator_address FROM donation_ledger
ON CONFLICT DO NOTHING;
