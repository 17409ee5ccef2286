-- Retention (SPEC §11): finished jobs are deleted oldest first, in small batches
-- (src/store/retention.cpp). A batch reads this index from where the previous one stopped,
-- so it costs its own rows, not the history: a DONE or DEAD_LETTERED row gets one entry
-- here when it finishes (a status change is never a HOT update: status is indexed already),
-- and unfinished rows get none.
--
-- Building it locks jobs against writes for as long as it takes (about 1.3 s per million
-- finished rows on 2 cores; migrations run in a transaction, so not CONCURRENTLY). On a large
-- database, create it beforehand without blocking anyone and this does nothing:
--   CREATE INDEX CONCURRENTLY jobs_finished_idx ON jobs (status, completed_at, id)
--     WHERE status IN (4, 6);
CREATE INDEX IF NOT EXISTS jobs_finished_idx ON jobs (status, completed_at, id)
  WHERE status IN (4, 6);
