-- The PostgreSQL event store: one row per event, one row per stream.
--
-- Gap safety. Positions come from a sequence, and sequence values commit out of order under
-- concurrent transactions, so a reader that simply read "everything above my checkpoint" could
-- skip an event whose transaction commits after a later one. Three rules close that hole:
--   1. An append takes its transaction id and its positions together, under a short exclusive
--      advisory lock released before the transaction commits (commits still run in parallel).
--      Among appends, transaction-id order is therefore position order.
--   2. While it is in flight, an append holds a transaction-scoped advisory lock whose key is its
--      own transaction id, taken inside that same locked section.
--   3. A reader first fixes a horizon (events_read_horizon, under the same advisory lock in shared
--      mode, so no append is half-way through rule 1): the lowest transaction id among appends in
--      flight in this database, or, if none is, the first transaction id not yet assigned. It then
--      reads, with a later snapshot, only events of transactions below that horizon.
-- Every append below the horizon had ended when it was fixed, so its events are either visible or
-- gone for good, and no event can ever appear below a position a reader has already passed.
-- Unlike a cluster-wide xmin, the horizon ignores transactions that are not appends, so long
-- transactions elsewhere (other databases, read-model batches) never hold readers back.

CREATE TABLE event_streams (
  stream_name     text PRIMARY KEY,
  -- Revision of the stream's last event (zero-based).
  stream_revision bigint NOT NULL CHECK (stream_revision >= 0)
);

CREATE SEQUENCE events_global_position_seq AS bigint MINVALUE 1;

CREATE TABLE events (
  global_position bigint PRIMARY KEY,
  stream_name     text NOT NULL,
  stream_category text NOT NULL,
  stream_revision bigint NOT NULL CHECK (stream_revision >= 0),
  event_id        uuid NOT NULL,
  event_type      text NOT NULL,
  data            jsonb NOT NULL,
  metadata        jsonb NOT NULL,
  transaction_id  xid8 NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT events_stream_revision_key UNIQUE (stream_name, stream_revision),
  CONSTRAINT events_event_id_key UNIQUE (event_id)
);

CREATE INDEX events_category_position_idx ON events (stream_category, global_position);
CREATE INDEX events_type_position_idx ON events (event_type, global_position);

-- Appends events to one stream in a single statement, and so in a single round trip.
-- p_expected: 'no_stream' | 'stream_exists' | 'any' | 'exact' (with p_expected_revision).
-- Raises SQLSTATE 'EV001' (wrong expected revision; DETAIL holds the actual revision or '-1'
-- when the stream does not exist) and 'EV002' (some but not all event ids are already stored).
-- It must be the first write of its transaction, which it is when called on its own.
CREATE FUNCTION append_events(
  p_stream_name text,
  p_expected text,
  p_expected_revision bigint,
  p_event_ids uuid[],
  p_event_types text[],
  p_data jsonb[],
  p_metadata jsonb[]
) RETURNS TABLE (next_revision bigint, last_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_count int := cardinality(p_event_ids);
  v_existing int;
  v_first_revision bigint;
  v_last_revision bigint;
  v_stored_stream text;
  v_stored_first bigint;
  v_stored_last bigint;
  v_stored_position bigint;
  v_actual bigint;
  v_positions bigint[];
  v_xid xid8;
BEGIN
  IF v_count IS NULL OR v_count = 0 THEN
    RAISE EXCEPTION 'append_events needs at least one event' USING ERRCODE = 'EV003';
  END IF;

  -- Idempotence: the same event ids appended again write nothing, provided they are the very
  -- events stored, in the same stream and order, and the expectation matches where they went.
  SELECT count(*), min(e.stream_name), min(e.stream_revision), max(e.stream_revision), max(e.global_position)
    INTO v_existing, v_stored_stream, v_stored_first, v_stored_last, v_stored_position
    FROM events e WHERE e.event_id = ANY (p_event_ids);
  IF v_existing > 0 THEN
    IF v_existing = v_count
       AND v_stored_stream = p_stream_name
       AND v_stored_last - v_stored_first + 1 = v_count
       AND NOT EXISTS (
         SELECT 1 FROM events e, unnest(p_event_ids) WITH ORDINALITY AS g(id, n)
          WHERE e.event_id = g.id AND e.stream_revision <> v_stored_first + g.n - 1)
       AND (p_expected = 'any'
            OR p_expected = 'stream_exists'
            OR (p_expected = 'no_stream' AND v_stored_first = 0)
            OR (p_expected = 'exact' AND v_stored_first = p_expected_revision + 1)) THEN
      SELECT s.stream_revision INTO v_actual FROM event_streams s WHERE s.stream_name = p_stream_name;
      next_revision := v_actual;
      last_position := v_stored_position;
      RETURN NEXT;
      RETURN;
    END IF;
    SELECT s.stream_revision INTO v_actual FROM event_streams s WHERE s.stream_name = p_stream_name;
    RAISE EXCEPTION 'event ids already stored elsewhere in % or another stream', p_stream_name
      USING ERRCODE = 'EV002', DETAIL = coalesce(v_actual, -1)::text;
  END IF;

  -- Rules 1 and 2 of the header. The lock is held for microseconds.
  PERFORM pg_advisory_lock(7358, 1);
  BEGIN
    v_xid := pg_current_xact_id();
    PERFORM pg_advisory_xact_lock_shared(v_xid::text::bigint);
    SELECT array_agg(q.p ORDER BY q.p) INTO v_positions
      FROM (SELECT nextval('events_global_position_seq') AS p FROM generate_series(1, v_count)) q;
  EXCEPTION WHEN OTHERS THEN
    PERFORM pg_advisory_unlock(7358, 1);
    RAISE;
  END;
  PERFORM pg_advisory_unlock(7358, 1);

  -- The stream row is the revision counter; its row lock orders appends to one stream.
  IF p_expected = 'no_stream' THEN
    INSERT INTO event_streams AS s (stream_name, stream_revision) VALUES (p_stream_name, v_count - 1)
      ON CONFLICT (stream_name) DO NOTHING
      RETURNING s.stream_revision INTO v_last_revision;
  ELSIF p_expected = 'any' THEN
    INSERT INTO event_streams AS s (stream_name, stream_revision) VALUES (p_stream_name, v_count - 1)
      ON CONFLICT (stream_name) DO UPDATE SET stream_revision = s.stream_revision + v_count
      RETURNING s.stream_revision INTO v_last_revision;
  ELSIF p_expected = 'stream_exists' THEN
    UPDATE event_streams s SET stream_revision = s.stream_revision + v_count
      WHERE s.stream_name = p_stream_name
      RETURNING s.stream_revision INTO v_last_revision;
  ELSIF p_expected = 'exact' THEN
    UPDATE event_streams s SET stream_revision = s.stream_revision + v_count
      WHERE s.stream_name = p_stream_name AND s.stream_revision = p_expected_revision
      RETURNING s.stream_revision INTO v_last_revision;
  ELSE
    RAISE EXCEPTION 'unknown expectation %', p_expected USING ERRCODE = 'EV003';
  END IF;

  IF v_last_revision IS NULL THEN
    SELECT s.stream_revision INTO v_actual FROM event_streams s WHERE s.stream_name = p_stream_name;
    RAISE EXCEPTION 'wrong expected revision for %', p_stream_name
      USING ERRCODE = 'EV001', DETAIL = coalesce(v_actual, -1)::text;
  END IF;
  v_first_revision := v_last_revision - v_count + 1;

  INSERT INTO events (global_position, stream_name, stream_category, stream_revision, event_id,
                      event_type, data, metadata, transaction_id)
  SELECT v_positions[g.n], p_stream_name, split_part(p_stream_name, '-', 1), v_first_revision + g.n - 1,
         g.id, p_event_types[g.n], p_data[g.n], p_metadata[g.n], v_xid
    FROM unnest(p_event_ids) WITH ORDINALITY AS g(id, n);

  -- Delivered at commit; subscribers wake up and read. Polling covers a missed notification.
  PERFORM pg_notify('ledger_events', v_positions[v_count]::text);

  next_revision := v_last_revision;
  last_position := v_positions[v_count];
  RETURN NEXT;
END;
$$;

-- Rule 3 of the header: the transaction id below which every append has ended. Advisory locks
-- taken with one bigint key show in pg_locks with objsubid 1, the key split into classid (high
-- 32 bits) and objid (low 32 bits). Only rule 2 takes such locks in this database; the service's
-- other advisory locks use two-integer keys.
CREATE FUNCTION events_read_horizon() RETURNS xid8
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_inflight bigint;
  v_next xid8;
BEGIN
  PERFORM pg_advisory_lock_shared(7358, 1);
  BEGIN
    SELECT min((l.classid::bigint << 32) | l.objid::bigint) INTO v_inflight
      FROM pg_locks l
     WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
       AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database());
    v_next := pg_snapshot_xmax(pg_current_snapshot());
  EXCEPTION WHEN OTHERS THEN
    PERFORM pg_advisory_unlock_shared(7358, 1);
    RAISE;
  END;
  PERFORM pg_advisory_unlock_shared(7358, 1);
  IF v_inflight IS NOT NULL AND v_inflight::text::xid8 < v_next THEN
    RETURN v_inflight::text::xid8;
  END IF;
  RETURN v_next;
END;
$$;
