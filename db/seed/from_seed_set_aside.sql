-- jq-server migrate --from-seed, step 1 of 3: moves the seed system's tables and types
-- (distributed-job-queue, its migrations V1-V5) into a schema of their own, so that jq's
-- migrations can create jq's tables under the same names. Indexes, constraints and the
-- job_events id sequence move with their tables. Step 2 is jq's own migrations, step 3
-- from_seed_copy.sql; all three run in one transaction.
CREATE SCHEMA jq_seed_import;

ALTER TABLE schema_migrations SET SCHEMA jq_seed_import;
ALTER TABLE job_events SET SCHEMA jq_seed_import;
ALTER TABLE jobs SET SCHEMA jq_seed_import;
ALTER TABLE workers SET SCHEMA jq_seed_import;
ALTER TABLE queues SET SCHEMA jq_seed_import;
ALTER TYPE job_status SET SCHEMA jq_seed_import;
ALTER TYPE worker_status SET SCHEMA jq_seed_import;
