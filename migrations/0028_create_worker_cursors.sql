-- Write-side coordination, not a read model, beside worker_leases. The workers that walk the
-- linked users round-robin under a lease (the Fortnite stats poller, the Yunite re-verification)
-- keep here the last user they served, saved after each one, so that whichever instance takes
-- the lease next, after a handover or a restart, goes on strictly after that user: nobody is
-- skipped, and a crash repeats at most the user in hand. A lease row is deleted when it is given
-- up, so it cannot hold the cursor. A user no longer listed needs no care: the walk goes on
-- strictly after its id all the same.
CREATE TABLE worker_cursors (
  worker        text PRIMARY KEY,
  after_user_id uuid NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
