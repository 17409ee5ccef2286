-- No claim reads jobs_pending_all_idx any more (issue 11): a claim over several queues now
-- walks each queue's jobs_ready_idx (a LATERAL per queue), since the global index made it walk
-- other queues' backlogs (100k rows filtered to take 10). Dropping it saves an index entry on
-- every submit and every claim.
DROP INDEX IF EXISTS jobs_pending_all_idx;
