-- The master keys a rotation moved secure_config away from, by key id (a hash, never the key).
-- A process still running with one of them (not yet restarted with the new key) would otherwise
-- seal a seed PUT under the retired key again, undoing the rotation for that entry. A PUT under a
-- retired key is refused; one under a key never seen here is not, which is how an operator who
-- lost the current key stores the seed again. Rotating back to a retired key takes it off the list.
CREATE TABLE secure_config_retired_keys (
  key_id     text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
  retired_at timestamptz NOT NULL
);
