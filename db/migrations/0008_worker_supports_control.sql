-- Whether a worker takes control messages (cancel, drain) on its job stream: jq-worker does,
-- the seed system's worker does not. Every replica must know it, not only the one holding the
-- worker's stream: a cancel of a job a worker cannot be told to stop is refused, wherever the
-- cancel lands. Rows from before (and converted seed rows) read false until their worker
-- registers again, as every jq-worker does when its server restarts for the upgrade.
ALTER TABLE workers ADD COLUMN IF NOT EXISTS supports_control boolean NOT NULL DEFAULT false;
