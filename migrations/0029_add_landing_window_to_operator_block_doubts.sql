-- The landing window a copy in doubt was published under (BANANO_LANDING_WINDOW_SECONDS of the
-- process that published it, the longest when several did). Every process of one ledger writes the
-- operator account's blocks, each with the window of its own environment, and a process whose
-- window is shorter than the publisher's must not judge the copy landed or lost before the
-- publisher's window is over: a copy is in doubt while either window lasts. Rows from before have
-- none, and the asking process's window alone applies to them, as before.
ALTER TABLE operator_block_doubts ADD COLUMN landing_window_ms integer CHECK (landing_window_ms > 0);
