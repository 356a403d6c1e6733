-- Secrets the service holds (SPEC §4.6), today the operator seed: a plain table, written only by
-- its commands (PUT /v1/admin/operator-seed, npm run cli -- secure-config rotate). A value is
-- stored only as AES-256-GCM output under the key-encryption key of the environment
-- (LEDGER_MASTER_KEY), so a copy of this table reveals no secret without that key.
CREATE TABLE secure_config (
  name       text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
  ciphertext bytea NOT NULL,
  -- The full 128-bit GCM tag, and the random 96-bit nonce of this one encryption.
  auth_tag   bytea NOT NULL CHECK (octet_length(auth_tag) = 16),
  nonce      bytea NOT NULL CHECK (octet_length(nonce) = 12),
  -- Which master key encrypted the value: a hash of the key, never the key. Rotation moves every
  -- entry to a new key id in one transaction.
  key_id     text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
  -- The public Banano address the value derives (operator_seed: index 0), so the status needs no
  -- decryption. It is authenticated with the name as associated data: altering it breaks decryption.
  address    text,
  updated_at timestamptz NOT NULL
);

-- SecureConfigChanged events not yet appended to the event store. A change writes its row and its
-- event here in one transaction; the event is then appended (its id chosen here, so appending it
-- twice stores it once) and deleted. A crash in between leaves the event here, and the next change,
-- rotation or start-up appends it: the stream never misses a change that the table holds, and never
-- records one that the table does not. The event store may be EventStoreDB, so no transaction can
-- span both.
CREATE TABLE secure_config_outbox (
  sequence   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id   uuid NOT NULL UNIQUE,
  event_type text NOT NULL,
  data       jsonb NOT NULL,
  metadata   jsonb NOT NULL,
  created_at timestamptz NOT NULL
);
