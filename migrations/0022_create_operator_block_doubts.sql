-- Write-side coordination, not a read model: the operator blocks published without a clear answer
-- (a timeout, a 5xx, a process killed during the call), with the time of the latest such copy. A
-- node may still take that copy, so a refusal of a later copy is not the end of the block until
-- its account's frontier has moved past the block's previous or five minutes have passed since
-- this time. Written by every writer of the operator account (payout executor, donation ingester)
-- under the operator account's lock, before each publish; a row goes when its block has landed or
-- can no longer land. Kept here rather than in memory so that every process and every writer in a
-- process judge a refusal by the same copies.
CREATE TABLE operator_block_doubts (
  block_hash text PRIMARY KEY CHECK (block_hash ~ '^[0-9A-F]{64}$'),
  doubt_at   timestamptz NOT NULL
);
