-- The admin audit (SPEC §4.6): one row per event an admin's command appended, built by the
-- admin-audit projection from the events and their metadata (actor, request id, client IP).
CREATE TABLE admin_audit (
  event_id    uuid PRIMARY KEY,
  position    bigint NOT NULL UNIQUE,
  action      text NOT NULL,
  actor       text NOT NULL,
  request_id  text NOT NULL,
  client_ip   text,
  target_type text NOT NULL,
  target_id   text NOT NULL,
  summary     text NOT NULL,
  event_type  text NOT NULL,
  stream_name text NOT NULL,
  occurred_at timestamptz NOT NULL
);

-- Newest first, by each filter of GET /v1/admin/audit.
CREATE INDEX admin_audit_by_actor ON admin_audit (actor, position DESC);
CREATE INDEX admin_audit_by_action ON admin_audit (action, position DESC);
CREATE INDEX admin_audit_by_target ON admin_audit (target_type, target_id, position DESC);
