-- reward_accruals.releases counted the cancelled payouts that gave an accrual's kills back, and the
-- settlement plan wrote that count into the idempotency key (`id~r`) so a re-settlement used a new
-- key. SPEC §4.3 defines the key as the covered accrual ids alone (`id:j` for part of a split one),
-- and a cancelled payout is not live, so claiming its kills again under the same key is allowed;
-- the plan now keeps to the SPEC's key and nothing reads the count any more.
ALTER TABLE reward_accruals DROP COLUMN releases;
