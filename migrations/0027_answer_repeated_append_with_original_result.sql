-- A repeated append answers with the result of the append that wrote its events, as EventStoreDB's
-- idempotent write does (it reports the batch's own last event number and that event's position).
--
-- append_events answered a repeat with the revision of the stream's last event, read from
-- event_streams, while its position was already that of the repeated batch's last event. The two
-- differ once other events were appended to the stream after the first append: a caller retrying
-- after a lost answer was told a revision its own events do not end at, which it could take for
-- the revision of the state it decided on and skip the events appended in between. Only the
-- idempotent branch changes; the rest of the function is 0015's. append_to_streams needs no
-- change: it refuses a group holding a stored event id (EV004), and the adapter then makes each of
-- that group's appends alone, through this function.

CREATE OR REPLACE FUNCTION append_events(
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
  -- The answer is the one the append that wrote them got: its last event's revision and position.
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
      next_revision := v_stored_last;
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

  next_revision := v_last_revision;
  last_position := v_positions[v_count];
  RETURN NEXT;
END;
$$;
