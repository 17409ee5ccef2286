-- The claim's plans (issue 11).
--
-- A claim for one queue must read jobs_ready_idx (queue, priority DESC, created_at, id). With
-- the global pending index beside it, the planner sometimes walked the global one, filtering
-- on the queue, through every other queue's backlog (a test with 100k jobs pending in one
-- queue and 1k in another reproduces it). The global index now carries a predicate that only
-- the claim over several queues states (priority >= 0 always holds: priority is 0-9), so a
-- one-queue claim cannot use it.
DROP INDEX jobs_pending_idx;
CREATE INDEX jobs_pending_all_idx ON jobs (priority DESC, created_at, id)
  WHERE status = 1 AND priority >= 0;

-- Per-column statistics cannot tell how many of a queue's jobs are ready; the joint
-- statistics give the planner the real count.
CREATE STATISTICS jobs_queue_status_stats (mcv, dependencies) ON queue, status FROM jobs;
