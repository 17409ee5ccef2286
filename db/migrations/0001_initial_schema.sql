-- jq initial schema. Status values are the wire values of jq.JobStatus:
-- 1 PENDING, 2 ASSIGNED, 3 RUNNING, 4 DONE, 5 FAILED, 6 DEAD_LETTERED.

CREATE FUNCTION jq_us(ts timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT floor(extract(epoch FROM ts) * 1000000)::bigint $$;

CREATE TABLE queues (
  name              text PRIMARY KEY,
  max_retries       integer NOT NULL DEFAULT 3 CHECK (max_retries >= 0),
  ttl_seconds       integer NOT NULL DEFAULT 0 CHECK (ttl_seconds >= 0),      -- 0 = no TTL
  timeout_seconds   integer NOT NULL DEFAULT 0 CHECK (timeout_seconds >= 0),  -- 0 = none
  backoff_base_ms   integer NOT NULL DEFAULT 5000 CHECK (backoff_base_ms >= 0),
  backoff_max_ms    integer NOT NULL DEFAULT 300000 CHECK (backoff_max_ms >= 0),
  concurrency_limit integer NOT NULL DEFAULT 0 CHECK (concurrency_limit >= 0),  -- 0 = unlimited
  paused            boolean NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL DEFAULT now()
);

INSERT INTO queues (name) VALUES ('default');

-- No foreign key to queues: finished jobs outlive a deleted queue.
CREATE TABLE jobs (
  id               uuid PRIMARY KEY,
  tenant           text NOT NULL DEFAULT 'default',
  queue            text NOT NULL,
  payload          bytea NOT NULL,
  priority         smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
  status           smallint NOT NULL CHECK (status BETWEEN 1 AND 6),
  max_retries      integer NOT NULL CHECK (max_retries >= 0),
  retry_count      integer NOT NULL DEFAULT 0,
  attempt          integer NOT NULL DEFAULT 0,  -- lease token: +1 on every claim
  ttl_seconds      integer NOT NULL DEFAULT 0,
  timeout_seconds  integer NOT NULL DEFAULT 0,
  not_before       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz,                 -- not started by then: TTL_EXPIRED
  idempotency_key  text,
  worker_id        text,                        -- lease owner
  lease_expires_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  completed_at     timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  result           bytea,
  error_message    text,
  cancel_requested_at timestamptz             -- RUNNING job asked to stop
) WITH (fillfactor = 80);

-- A queue table churns: vacuum it early and often (see MACHINE-NOTES on bloat).
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.01,
                      autovacuum_vacuum_threshold = 1000,
                      autovacuum_analyze_scale_factor = 0.02,
                      autovacuum_vacuum_cost_delay = 0);

-- The claim: priority DESC, created_at ASC among PENDING rows. Partial, so its size is the
-- backlog, not the history.
CREATE INDEX jobs_pending_idx ON jobs (priority DESC, created_at, id) WHERE status = 1;
-- The reaper: leases that may expire, and TTLs of jobs not yet started.
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE status IN (2, 3);
CREATE INDEX jobs_expires_idx ON jobs (expires_at) WHERE status IN (1, 2) AND expires_at IS NOT NULL;
CREATE UNIQUE INDEX jobs_idempotency_idx ON jobs (tenant, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
-- Listings: newest first, per queue and status.
CREATE INDEX jobs_queue_status_created_idx ON jobs (queue, status, created_at, id);
CREATE INDEX jobs_created_idx ON jobs (created_at, id);
CREATE INDEX jobs_worker_idx ON jobs (worker_id) WHERE status IN (2, 3);

-- One row per transition, written in the transaction that makes it; also the Kafka outbox.
CREATE TABLE job_events (
  id          bigserial PRIMARY KEY,
  job_id      uuid NOT NULL,
  tenant      text NOT NULL,
  queue       text NOT NULL,
  from_status smallint,  -- NULL for the submission
  to_status   smallint NOT NULL,
  reason      text NOT NULL,
  worker_id   text,
  attempt     integer NOT NULL DEFAULT 0,
  occurred_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX job_events_job_idx ON job_events (job_id, id);

CREATE TABLE workers (
  id               text PRIMARY KEY,
  hostname         text NOT NULL DEFAULT '',
  status           smallint NOT NULL DEFAULT 1,  -- jq.WorkerStatus: 1 ONLINE, 2 OFFLINE, 3 DRAINING
  concurrency      integer NOT NULL DEFAULT 1,
  queues           text[] NOT NULL DEFAULT '{}',
  active_job_count integer NOT NULL DEFAULT 0,
  server_id        text,
  registered_at    timestamptz NOT NULL DEFAULT now(),
  last_heartbeat   timestamptz NOT NULL DEFAULT now()
);

-- Captured output, one row per attempt.
CREATE TABLE job_outputs (
  job_id           uuid NOT NULL,
  attempt          integer NOT NULL,
  worker_id        text,
  exit_code        integer,
  stdout           bytea NOT NULL DEFAULT '',
  stderr           bytea NOT NULL DEFAULT '',
  stdout_truncated boolean NOT NULL DEFAULT false,
  stderr_truncated boolean NOT NULL DEFAULT false,
  recorded_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, attempt)
);
