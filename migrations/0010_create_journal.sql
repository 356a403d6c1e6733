-- The double-entry journal (SPEC §2, §4.2–4.5), built by the journal projection from the user and
-- operator streams. The chart of accounts and the booking rules are written at the top of
-- projections/journal/journal.projection.ts.
--
-- One entry per event that moves money, keyed by the event's id, so a replayed batch inserts
-- nothing. Each entry has two or more postings with signed amounts of raw (debit positive, credit
-- negative) that sum to zero. Money is append-only: a correction is a new entry that reverses an
-- earlier one, never an edit, and the triggers below refuse UPDATE and DELETE.

CREATE TABLE journal_entries (
  -- The id of the event the entry books.
  entry_id          uuid PRIMARY KEY,
  -- The event's position in $all: the order of the journal, the same after a rebuild.
  position          bigint NOT NULL,
  stream_name       text NOT NULL,
  event_type        text NOT NULL,
  kind              text NOT NULL CHECK (kind IN ('standard', 'reversal')),
  user_id           uuid,
  payout_id         uuid,
  -- The entry a reversal undoes; set exactly on reversals.
  reverses_entry_id uuid REFERENCES journal_entries (entry_id),
  -- The business time the event carries (recordedAt, requestedAt, sentAt, cancelledAt, receivedAt).
  occurred_at       timestamptz NOT NULL,
  description       text NOT NULL,
  CONSTRAINT journal_entries_reversal_check CHECK ((kind = 'reversal') = (reverses_entry_id IS NOT NULL)),
  CONSTRAINT journal_entries_not_self_reversal_check CHECK (reverses_entry_id <> entry_id)
);
-- An entry is reversed at most once.
CREATE UNIQUE INDEX journal_entries_reverses_idx ON journal_entries (reverses_entry_id) WHERE reverses_entry_id IS NOT NULL;
-- A payout is claimed, sent and cancelled at most once each: a second booking of one of them (a
-- second PayoutSent under another event id) stops the projection loudly instead of paying twice
-- in the books. The projection also finds a payout's claim through this index.
CREATE UNIQUE INDEX journal_entries_payout_event_idx ON journal_entries (payout_id, event_type) WHERE payout_id IS NOT NULL;
CREATE INDEX journal_entries_user_idx ON journal_entries (user_id, position) WHERE user_id IS NOT NULL;
CREATE INDEX journal_entries_position_idx ON journal_entries (position);

-- entry_id is not declared as a foreign key: a rebuild (resetProjection) truncates the tables of a
-- projection one at a time, which PostgreSQL refuses for a table another one references. The
-- constraint triggers below check it instead, at commit.
CREATE TABLE journal_postings (
  entry_id   uuid NOT NULL,
  line       smallint NOT NULL CHECK (line >= 1),
  -- '<type>:<name>' or '<type>:<name>:<userId>', type one of asset, liability, equity, expense.
  account    text NOT NULL CHECK (account ~ '^(asset|liability|equity|expense):[a-z_]+(:[0-9a-f-]{36})?$'),
  -- Signed raw: debit positive, credit negative. One digit more than NUMERIC(40,0) leaves room for
  -- a sum of postings; an entry that moves nothing is not booked at all.
  amount_raw numeric(41, 0) NOT NULL CHECK (amount_raw <> 0),
  PRIMARY KEY (entry_id, line)
);
-- text_pattern_ops serves both the equality of one account and the prefix of a family of them
-- ('liability:payable:%') whatever the database's collation.
CREATE INDEX journal_postings_account_idx ON journal_postings (account text_pattern_ops);

-- Checked at commit, so an entry and its postings may be written in any order within a
-- transaction: the entry of every posting exists, and every entry written has at least two
-- postings that sum to zero.
CREATE FUNCTION journal_check_entry_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_lines bigint;
  v_sum   numeric;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.entry_id = NEW.entry_id) THEN
    RAISE EXCEPTION 'journal posting of entry % has no entry', NEW.entry_id USING ERRCODE = 'foreign_key_violation';
  END IF;
  SELECT count(*), coalesce(sum(p.amount_raw), 0) INTO v_lines, v_sum FROM journal_postings p WHERE p.entry_id = NEW.entry_id;
  IF v_lines < 2 OR v_sum <> 0 THEN
    RAISE EXCEPTION 'journal entry % is unbalanced: % postings summing to %', NEW.entry_id, v_lines, v_sum
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_check_entry_balanced();
CREATE CONSTRAINT TRIGGER journal_postings_balanced AFTER INSERT ON journal_postings
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_check_entry_balanced();

-- Append-only. A rebuild empties the tables with TRUNCATE, which row triggers do not see.
CREATE FUNCTION journal_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: a correction is a reversal entry, never an edit', TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION journal_refuse_change();
CREATE TRIGGER journal_postings_append_only BEFORE UPDATE OR DELETE ON journal_postings
  FOR EACH ROW EXECUTE FUNCTION journal_refuse_change();
