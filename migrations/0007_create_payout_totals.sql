-- Running totals of the payouts read model, so the per-kill rate reads one row instead of
-- summing every sent payout on each observation. Owned by the payouts projection.
CREATE TABLE payout_totals (
  total_name text PRIMARY KEY,
  amount_raw numeric(40, 0) NOT NULL
);
