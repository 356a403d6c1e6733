-- Indexes of the public dashboard queries (SPEC §5 GET /v1/leaderboard, GET /v1/feed), built in
-- src/dashboard-queries/. Each answer is the first `limit` (at most 100) entries of one index scan,
-- so neither route sorts a whole table or runs a query per row, however many users, accruals and
-- payouts there are.
--
-- No projection changes: the leaderboard's totals are the running totals the users projection
-- already keeps (accrued_kill_count and accrued_raw from AccrualRecorded, settled_raw, the paid
-- total, from PayoutSent), and the feed reads reward_accruals and payouts as they are.
--
-- The price is paid on writes: the users updates of AccrualRecorded change an indexed column, so
-- they are no longer HOT updates and touch these two small partial indexes as well.

-- GET /v1/leaderboard?by=kills and ?by=earned: highest first, ties by user id, players with nothing
-- accrued left out. The handler's WHERE is this predicate, so the planner can use the index.
CREATE INDEX users_leaderboard_kills_idx ON users (accrued_kill_count DESC, user_id) WHERE accrued_kill_count > 0;
CREATE INDEX users_leaderboard_earned_idx ON users (accrued_raw DESC, user_id) WHERE accrued_kill_count > 0;

-- GET /v1/feed: the newest accruals by the time they were recorded.
CREATE INDEX reward_accruals_recorded_at_idx ON reward_accruals (recorded_at DESC, accrual_id DESC);

-- GET /v1/feed: the newest payouts by their sent time once sent, else their request time. sent_at
-- is set by PayoutSent alone, so coalesce(sent_at, requested_at) is that time.
CREATE INDEX payouts_feed_time_idx ON payouts ((COALESCE(sent_at, requested_at)) DESC, payout_id DESC);
