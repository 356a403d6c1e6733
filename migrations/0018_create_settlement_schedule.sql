-- Write-side coordination, not a read model: when the last scheduled settlement run ended, in any
-- instance. A scheduled run goes ahead only once settlement.intervalSeconds have passed since, so
-- N instances of the service settle every interval rather than N times in each. One row at most.
CREATE TABLE settlement_schedule (
  id                smallint PRIMARY KEY CHECK (id = 1),
  last_run_ended_at timestamptz NOT NULL
);
