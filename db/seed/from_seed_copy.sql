-- jq schema version: 7
-- jq-server migrate --from-seed, step 3 of 3: copies the seed's rows (set aside in
-- jq_seed_import by step 1) into jq's tables as jq's migrations up to the version above left
-- them, then drops the seed's copies. Migrations newer than that version run after this file,
-- in the same transaction, so they upgrade converted rows like any others.
--
-- The seed has no tenants (everything is jq's 'default' tenant), no per-job TTL or timeout,
-- no leases and no attempt counter; what jq needs of those is derived below.

-- The seed's job_status / worker_status labels are jq's wire names; jq stores the numbers.
CREATE FUNCTION jq_seed_import.job_state(s jq_seed_import.job_status) RETURNS smallint
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT (CASE s WHEN 'PENDING' THEN 1 WHEN 'ASSIGNED' THEN 2 WHEN 'RUNNING' THEN 3
                       WHEN 'DONE' THEN 4 WHEN 'FAILED' THEN 5 WHEN 'DEAD_LETTERED' THEN 6
                  END)::smallint $$;
CREATE FUNCTION jq_seed_import.worker_state(s jq_seed_import.worker_status) RETURNS smallint
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT (CASE s WHEN 'ONLINE' THEN 1 WHEN 'OFFLINE' THEN 2 WHEN 'DRAINING' THEN 3
                  END)::smallint $$;

-- Exactly the seed's queues: jq's migrations created a 'default' queue, which the seed has
-- too unless someone deleted it. The seed's TTL is NULL for none (jq: 0). Backoff keeps jq's
-- defaults, which are the seed's fixed 5 s base and 300 s cap; no timeout, no limit.
DELETE FROM queues;
INSERT INTO queues (name, max_retries, ttl_seconds, created_at)
SELECT name, max_retries, coalesce(ttl_seconds, 0), created_at FROM jq_seed_import.queues;

-- Workers keep their status and last heartbeat: jq's reaper marks the silent ones OFFLINE
-- and reclaims their jobs, as the seed's heartbeat monitor would have.
INSERT INTO workers (id, hostname, status, concurrency, active_job_count, registered_at,
                     last_heartbeat)
SELECT worker_id::text, hostname, jq_seed_import.worker_state(status), concurrency,
       active_job_count, registered_at, last_heartbeat
FROM jq_seed_import.workers;

-- attempt (jq's lease token, +1 per claim) is the number of times the seed assigned the job.
-- The seed's TTL is its queue's, counted from creation while the job waits: jq's expires_at.
-- A job in flight has no jq lease: it gets one that has already run out, so the first reaper
-- pass returns it to the retry rules (FAILED, LEASE_EXPIRED), as the seed's heartbeat monitor
-- did when a worker went silent.
WITH claims AS (
  SELECT job_id, count(*)::int AS n FROM jq_seed_import.job_events
  WHERE to_status = 'ASSIGNED' GROUP BY job_id)
INSERT INTO jobs (id, tenant, queue, payload, priority, status, max_retries, retry_count,
                  attempt, ttl_seconds, timeout_seconds, not_before, expires_at, worker_id,
                  lease_expires_at, created_at, started_at, completed_at, updated_at, result,
                  error_message)
SELECT j.job_id, 'default', j.queue_name, j.payload, j.priority,
       jq_seed_import.job_state(j.status), j.max_retries, j.retry_count,
       greatest(coalesce(c.n, 0),
                CASE WHEN j.status IN ('ASSIGNED', 'RUNNING', 'DONE', 'FAILED') THEN 1 ELSE 0 END),
       coalesce(q.ttl_seconds, 0), 0, coalesce(j.not_before, j.created_at),
       j.created_at + q.ttl_seconds * interval '1 second',
       j.worker_id::text,
       CASE WHEN j.status IN ('ASSIGNED', 'RUNNING') THEN now() END,
       j.created_at, j.started_at, j.completed_at, j.updated_at, j.result, j.error_message
FROM jq_seed_import.jobs j
LEFT JOIN jq_seed_import.queues q ON q.name = j.queue_name
LEFT JOIN claims c ON c.job_id = j.job_id;

-- Events keep their ids (jq reads a job's events in id order) and reasons; each carries the
-- attempt it belongs to, counted as for the job.
INSERT INTO job_events (id, job_id, tenant, queue, from_status, to_status, reason, worker_id,
                        attempt, occurred_at)
SELECT e.id, e.job_id, 'default', j.queue_name, jq_seed_import.job_state(e.from_status),
       jq_seed_import.job_state(e.to_status), coalesce(e.reason, ''), e.worker_id::text,
       count(*) FILTER (WHERE e.to_status = 'ASSIGNED')
         OVER (PARTITION BY e.job_id ORDER BY e.id)::int,
       e.occurred_at
FROM jq_seed_import.job_events e
JOIN jq_seed_import.jobs j ON j.job_id = e.job_id;

-- New events follow the seed's. The seed published its events to Kafka itself: the outbox
-- relay starts after them instead of publishing the history a second time.
SELECT setval('job_events_id_seq', coalesce((SELECT max(id) FROM job_events), 1),
              (SELECT count(*) > 0 FROM job_events));
UPDATE outbox_cursors SET last_event_id = (SELECT coalesce(max(id), 0) FROM job_events),
                          updated_at = now()
WHERE name = 'kafka';

DROP SCHEMA jq_seed_import CASCADE;
