-- The hot path (issue 11). Claims for one queue walk an index in claim order from its first
-- entry; lease renewals touch no indexed column, so they are HOT updates.

-- Ready jobs per queue, in claim order: a claim for a queue never walks another queue's
-- backlog (1M rows pending elsewhere cost it nothing).
CREATE INDEX jobs_ready_idx ON jobs (queue, priority DESC, created_at, id) WHERE status = 1;

-- lease_expires_at was indexed only for the reaper, which now scans the in-flight rows
-- through jobs_worker_idx (a partial index over ASSIGNED/RUNNING rows: at most the fleet's
-- slots). Without it a heartbeat's renewal updates no index.
DROP INDEX jobs_lease_idx;

-- Heartbeats rewrite workers rows every few seconds: leave room for HOT updates.
ALTER TABLE workers SET (fillfactor = 50);

-- job_events is the outbox and grows by several rows per job; analyze it often enough that
-- the relay's and GetJobLogs' plans stay right.
ALTER TABLE job_events SET (autovacuum_analyze_scale_factor = 0.02,
                            autovacuum_vacuum_cost_delay = 0);
