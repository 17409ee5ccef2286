-- Test fixture: a database as the seed system (github.com/dylen400mh/distributed-job-queue)
-- leaves it after its migrator ran db/migrations/V1..V5: its schema_migrations table, then
-- each migration's DDL, each recorded as the seed's migrator records it. No jq objects.

CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER     NOT NULL,
    description TEXT        NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT schema_migrations_pkey PRIMARY KEY (version)
);

-- V1__create_queues_table.sql
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE queues (
    name        TEXT        NOT NULL,
    max_retries SMALLINT    NOT NULL DEFAULT 3,
    ttl_seconds INTEGER,                           -- NULL means no TTL
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT queues_pkey PRIMARY KEY (name),
    CONSTRAINT queues_max_retries_check CHECK (max_retries >= 0),
    CONSTRAINT queues_ttl_check CHECK (ttl_seconds IS NULL OR ttl_seconds > 0)
);
INSERT INTO schema_migrations (version, description) VALUES (1, 'create_queues_table');

-- V2__create_workers_table.sql
CREATE TYPE worker_status AS ENUM ('ONLINE', 'OFFLINE', 'DRAINING');

CREATE TABLE workers (
    worker_id       UUID          NOT NULL DEFAULT gen_random_uuid(),
    hostname        TEXT          NOT NULL,
    status          worker_status NOT NULL DEFAULT 'ONLINE',
    concurrency     SMALLINT      NOT NULL DEFAULT 4,
    active_job_count SMALLINT     NOT NULL DEFAULT 0,
    last_heartbeat  TIMESTAMPTZ   NOT NULL DEFAULT now(),
    registered_at   TIMESTAMPTZ   NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ   NOT NULL DEFAULT now(),
    CONSTRAINT workers_pkey PRIMARY KEY (worker_id),
    CONSTRAINT workers_concurrency_check CHECK (concurrency > 0),
    CONSTRAINT workers_active_job_count_check CHECK (active_job_count >= 0)
);

CREATE INDEX workers_status_idx ON workers (status);
CREATE INDEX workers_last_heartbeat_idx ON workers (last_heartbeat);
INSERT INTO schema_migrations (version, description) VALUES (2, 'create_workers_table');

-- V3__create_jobs_table.sql
CREATE TYPE job_status AS ENUM (
    'PENDING',
    'ASSIGNED',
    'RUNNING',
    'DONE',
    'FAILED',
    'DEAD_LETTERED'
);

CREATE TABLE jobs (
    job_id        UUID        NOT NULL DEFAULT gen_random_uuid(),
    queue_name    TEXT        NOT NULL,
    payload       BYTEA       NOT NULL,
    status        job_status  NOT NULL DEFAULT 'PENDING',
    priority      SMALLINT    NOT NULL DEFAULT 0,
    max_retries   SMALLINT    NOT NULL DEFAULT 3,
    retry_count   SMALLINT    NOT NULL DEFAULT 0,
    worker_id     UUID,
    result        BYTEA,
    error_message TEXT,
    not_before    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at    TIMESTAMPTZ,
    completed_at  TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT jobs_pkey PRIMARY KEY (job_id),
    CONSTRAINT jobs_queue_fkey FOREIGN KEY (queue_name) REFERENCES queues (name),
    CONSTRAINT jobs_worker_fkey FOREIGN KEY (worker_id) REFERENCES workers (worker_id),
    CONSTRAINT jobs_priority_check CHECK (priority BETWEEN 0 AND 9),
    CONSTRAINT jobs_retry_count_check CHECK (retry_count >= 0),
    CONSTRAINT jobs_max_retries_check CHECK (max_retries >= 0)
);

CREATE INDEX jobs_scheduler_idx ON jobs (status, priority DESC, created_at ASC)
    WHERE status = 'PENDING';
CREATE INDEX jobs_worker_idx ON jobs (worker_id)
    WHERE worker_id IS NOT NULL;
CREATE INDEX jobs_queue_status_idx ON jobs (queue_name, status);
CREATE INDEX jobs_retry_idx ON jobs (status, not_before)
    WHERE status = 'PENDING' AND not_before IS NOT NULL;
INSERT INTO schema_migrations (version, description) VALUES (3, 'create_jobs_table');

-- V4__create_job_events_table.sql
CREATE TABLE job_events (
    id          BIGSERIAL   NOT NULL,
    job_id      UUID        NOT NULL,
    from_status job_status,
    to_status   job_status  NOT NULL,
    worker_id   UUID,
    reason      TEXT,
    occurred_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT job_events_pkey PRIMARY KEY (id),
    CONSTRAINT job_events_job_fkey FOREIGN KEY (job_id) REFERENCES jobs (job_id)
);

CREATE INDEX job_events_job_id_idx ON job_events (job_id, occurred_at ASC);
INSERT INTO schema_migrations (version, description) VALUES (4, 'create_job_events_table');

-- V5__seed_default_queue.sql
INSERT INTO queues (name, max_retries, ttl_seconds)
VALUES ('default', 3, NULL)
ON CONFLICT (name) DO NOTHING;
INSERT INTO schema_migrations (version, description) VALUES (5, 'seed_default_queue');
