-- Appends to several streams in one statement, and so in one round trip and one commit: the
-- adapter gathers the appends that callers make while earlier ones are on their way (group commit,
-- src/platform/event-store/postgres-event-store.ts). Each stream's append stands on its own, as if
-- it had been made alone with append_events: its expectation is checked against its own stream,
-- and a wrong one leaves that stream untouched while the others are written.
--
-- p_counts[i] events of p_event_ids (and of the other event arrays) belong to stream i, in order.
-- A stream appears at most once. Answers one row per stream, by its 1-based index:
--   appended:       next_revision and last_position as append_events answers them;
--   wrong_revision: actual_revision is the stream's last revision, or -1 when it does not exist.
-- Raises 'EV004' when any of the event ids is already stored (the caller appends those streams on
-- their own, where append_events answers idempotently), and 'EV003' for a malformed call.
-- Gap safety: rules 1 and 2 of 0001's header hold for the statement as a whole, so it must be the
-- first write of its transaction, which it is when called on its own.
CREATE FUNCTION append_to_streams(
  p_stream_names text[],
  p_expected text[],
  p_expected_revisions bigint[],
  p_counts int[],
  p_event_ids uuid[],
  p_event_types text[],
  p_data jsonb[],
  p_metadata jsonb[]
) RETURNS TABLE (stream_index int, outcome text, next_revision bigint, last_position bigint, actual_revision bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_streams int := cardinality(p_stream_names);
  v_total int := cardinality(p_event_ids);
  v_firsts int[];
  v_positions bigint[];
  v_revisions bigint[];
  v_owners int[];
  v_xid xid8;
  v_index int;
  v_count int;
  v_last_revision bigint;
  v_actual bigint;
BEGIN
  IF v_streams IS NULL OR v_streams = 0 OR v_total IS NULL
     OR cardinality(p_expected) <> v_streams OR cardinality(p_expected_revisions) <> v_streams OR cardinality(p_counts) <> v_streams
     OR cardinality(p_event_types) <> v_total OR cardinality(p_data) <> v_total OR cardinality(p_metadata) <> v_total
     OR (SELECT sum(c) FROM unnest(p_counts) c) <> v_total OR EXISTS (SELECT 1 FROM unnest(p_counts) c WHERE c IS NULL OR c < 1)
     OR (SELECT count(DISTINCT n) FROM unnest(p_stream_names) n) <> v_streams THEN
    RAISE EXCEPTION 'append_to_streams: malformed call' USING ERRCODE = 'EV003';
  END IF;
  IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = ANY (p_event_ids)) THEN
    RAISE EXCEPTION 'append_to_streams: some event ids are already stored' USING ERRCODE = 'EV004';
  END IF;

  -- Where each stream's events start in the event arrays.
  SELECT array_agg(s.first ORDER BY s.i) INTO v_firsts
    FROM (SELECT u.i, (sum(u.c) OVER (ORDER BY u.i) - u.c + 1)::int AS first FROM unnest(p_counts) WITH ORDINALITY AS u(c, i)) s;

  -- Rules 1 and 2 of 0001's header, once for every event of the statement.
  PERFORM pg_advisory_lock(7358, 1);
  BEGIN
    v_xid := pg_current_xact_id();
    PERFORM pg_advisory_xact_lock_shared(v_xid::text::bigint);
    SELECT array_agg(q.p ORDER BY q.p) INTO v_positions
      FROM (SELECT nextval('events_global_position_seq') AS p FROM generate_series(1, v_total)) q;
  EXCEPTION WHEN OTHERS THEN
    PERFORM pg_advisory_unlock(7358, 1);
    RAISE;
  END;
  PERFORM pg_advisory_unlock(7358, 1);

  -- By event: its revision and the index of its stream, both NULL while its stream is refused.
  v_revisions := array_fill(NULL::bigint, ARRAY[v_total]);
  v_owners := array_fill(NULL::int, ARRAY[v_total]);
  -- Stream rows are locked in name order, so two statements never wait on each other in a cycle.
  FOR v_index IN SELECT u.i FROM unnest(p_stream_names) WITH ORDINALITY AS u(n, i) ORDER BY u.n LOOP
    v_count := p_counts[v_index];
    v_last_revision := NULL;
    IF p_expected[v_index] = 'no_stream' THEN
      INSERT INTO event_streams AS s (stream_name, stream_revision) VALUES (p_stream_names[v_index], v_count - 1)
        ON CONFLICT (stream_name) DO NOTHING
        RETURNING s.stream_revision INTO v_last_revision;
    ELSIF p_expected[v_index] = 'any' THEN
      INSERT INTO event_streams AS s (stream_name, stream_revision) VALUES (p_stream_names[v_index], v_count - 1)
        ON CONFLICT (stream_name) DO UPDATE SET stream_revision = s.stream_revision + v_count
        RETURNING s.stream_revision INTO v_last_revision;
    ELSIF p_expected[v_index] = 'stream_exists' THEN
      UPDATE event_streams s SET stream_revision = s.stream_revision + v_count
        WHERE s.stream_name = p_stream_names[v_index]
        RETURNING s.stream_revision INTO v_last_revision;
    ELSIF p_expected[v_index] = 'exact' THEN
      UPDATE event_streams s SET stream_revision = s.stream_revision + v_count
        WHERE s.stream_name = p_stream_names[v_index] AND s.stream_revision = p_expected_revisions[v_index]
        RETURNING s.stream_revision INTO v_last_revision;
    ELSE
      RAISE EXCEPTION 'unknown expectation %', p_expected[v_index] USING ERRCODE = 'EV003';
    END IF;

    stream_index := v_index;
    IF v_last_revision IS NULL THEN
      SELECT s.stream_revision INTO v_actual FROM event_streams s WHERE s.stream_name = p_stream_names[v_index];
      outcome := 'wrong_revision';
      next_revision := NULL;
      last_position := NULL;
      actual_revision := coalesce(v_actual, -1);
    ELSE
      FOR n IN 1 .. v_count LOOP
        v_revisions[v_firsts[v_index] + n - 1] := v_last_revision - v_count + n;
        v_owners[v_firsts[v_index] + n - 1] := v_index;
      END LOOP;
      outcome := 'appended';
      next_revision := v_last_revision;
      last_position := v_positions[v_firsts[v_index] + v_count - 1];
      actual_revision := NULL;
    END IF;
    RETURN NEXT;
  END LOOP;

  -- The events of the streams whose expectation held; a refused stream's positions stay unused.
  INSERT INTO events (global_position, stream_name, stream_category, stream_revision, event_id,
                      event_type, data, metadata, transaction_id)
  SELECT v_positions[g.n], p_stream_names[v_owners[g.n]], split_part(p_stream_names[v_owners[g.n]], '-', 1), v_revisions[g.n],
         g.id, p_event_types[g.n], p_data[g.n], p_metadata[g.n], v_xid
    FROM unnest(p_event_ids) WITH ORDINALITY AS g(id, n)
   WHERE v_owners[g.n] IS NOT NULL;
END;
$$;

-- append_to_streams with the appends in one JSON document, as the adapter sends them:
-- [{"stream": name, "expected": kind, "revision": n | null, "events": [{"id", "type", "data", "metadata"}, …]}, …].
-- One document is one string for the driver to send, where arrays of JSON texts cost it an escaped
-- copy of every event.
CREATE FUNCTION append_to_streams(p_appends jsonb)
RETURNS TABLE (stream_index int, outcome text, next_revision bigint, last_position bigint, actual_revision bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_stream_names text[];
  v_expected text[];
  v_revisions bigint[];
  v_counts int[];
  v_event_ids uuid[];
  v_event_types text[];
  v_data jsonb[];
  v_metadata jsonb[];
BEGIN
  IF jsonb_typeof(p_appends) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'append_to_streams: malformed call' USING ERRCODE = 'EV003';
  END IF;
  SELECT array_agg(a.value->>'stream' ORDER BY a.i), array_agg(a.value->>'expected' ORDER BY a.i),
         array_agg((a.value->>'revision')::bigint ORDER BY a.i), array_agg(jsonb_array_length(a.value->'events') ORDER BY a.i)
    INTO v_stream_names, v_expected, v_revisions, v_counts
    FROM jsonb_array_elements(p_appends) WITH ORDINALITY AS a(value, i);
  SELECT array_agg((e.value->>'id')::uuid ORDER BY a.i, e.j), array_agg(e.value->>'type' ORDER BY a.i, e.j),
         array_agg(e.value->'data' ORDER BY a.i, e.j), array_agg(e.value->'metadata' ORDER BY a.i, e.j)
    INTO v_event_ids, v_event_types, v_data, v_metadata
    FROM jsonb_array_elements(p_appends) WITH ORDINALITY AS a(value, i),
         jsonb_array_elements(a.value->'events') WITH ORDINALITY AS e(value, j);
  RETURN QUERY SELECT * FROM append_to_streams(v_stream_names, v_expected, v_revisions, v_counts, v_event_ids, v_event_types, v_data, v_metadata);
END;
$$;
