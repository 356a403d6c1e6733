-- The key of the ids the public routes (GET /v1/leaderboard, GET /v1/feed) give players and
-- accruals. A user id is a UUID v5 of the Discord id under a namespace the source publishes, and
-- an accrual id one of the user id and the minute, so either, shown to the public, let anyone who
-- knows a Discord id find that player's entries, whatever the masked display name hides. The
-- public ids are an HMAC of the real ones under this key instead: stable for one deployment,
-- meaningless without the key. One row, random, made here; it is not a secret of the kind that
-- moves money, and never leaves the database but as those HMACs.
CREATE TABLE public_id_key (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  key       text NOT NULL
);
INSERT INTO public_id_key (key)
VALUES (encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')), 'hex'));
