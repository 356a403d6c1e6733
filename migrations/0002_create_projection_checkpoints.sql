-- One row per projection. A projection commits its rows and this row in the same transaction, so
-- the checkpoint never runs ahead of, nor falls behind, what its tables hold.
CREATE TABLE projection_checkpoints (
  projection_name text PRIMARY KEY,
  -- Position in $all of the last event applied; NULL before the first one.
  position        bigint,
  events_applied  bigint NOT NULL DEFAULT 0,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
