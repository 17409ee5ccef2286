-- Operator requests to a worker, kept in its row so that every replica sees them (issue 12):
-- `drained` until the worker is resumed, whatever it does meanwhile (heartbeats, reconnects to
-- another replica, restarts, silences); `shutdown_requested` (jq ShutdownRequest: 1 graceful,
-- 2 now) until the worker deregisters. `status` stays what is shown: a live worker with
-- either request is DRAINING.
ALTER TABLE workers
  ADD COLUMN drained boolean NOT NULL DEFAULT false,
  ADD COLUMN shutdown_requested smallint NOT NULL DEFAULT 0;

-- A worker drained before this version (status DRAINING) stays drained.
UPDATE workers SET drained = true WHERE status = 3;
