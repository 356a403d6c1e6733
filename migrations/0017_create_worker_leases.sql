-- Write-side coordination, not a read model. The workers that call an outside API under its rate
-- limit (the Fortnite stats poller, the Yunite re-verification) run in one instance at a time:
-- that instance holds the worker's lease and renews it as it works. Without it, N instances of the
-- service would make N times the calls the operator allowed. Expiry is judged on the database's
-- clock, so the instances' own clocks do not matter.
CREATE TABLE worker_leases (
  worker     text PRIMARY KEY,
  holder     uuid NOT NULL,
  expires_at timestamptz NOT NULL
);
