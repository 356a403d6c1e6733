-- API keys (SPEC §4.6): a plain table, written only by the api-keys commands. The key itself is
-- never stored: only its SHA-256, so a copy of this table lets no one in.
CREATE TABLE api_keys (
  key_id     uuid PRIMARY KEY,
  -- A name is never reused, even after its key is revoked, so an audit entry names one key.
  name       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  key_hash   text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  scopes     text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['commands:write', 'queries:read', 'admin']),
  created_at timestamptz NOT NULL,
  expires_at timestamptz,
  revoked_at timestamptz
);
