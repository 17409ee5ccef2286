// Row readers shared by the store's files (internal to jq_store). Each column list names its
// columns (AS ...) and its reader reads them by those names, so the two cannot drift apart
// by position.
#pragma once

#include <pqxx/pqxx>

#include "core/model.h"

namespace jq::store {

// jobs, aliased j: SELECT kJobCols FROM jobs j ...
inline constexpr const char* kJobCols =
    "j.id::text AS id, j.tenant, j.queue, j.payload, j.priority, j.status, j.max_retries, "
    "j.retry_count, j.attempt, j.ttl_seconds, j.timeout_seconds, "
    "jq_us(j.not_before) AS not_before_us, jq_us(j.created_at) AS created_us, "
    "jq_us(j.started_at) AS started_us, jq_us(j.completed_at) AS completed_us, "
    "jq_us(j.updated_at) AS updated_us, coalesce(j.idempotency_key, '') AS idempotency_key, "
    "coalesce(j.worker_id, '') AS worker_id, j.result, "
    "coalesce(j.error_message, '') AS error_message";
JobRecord JobFromRow(const pqxx::row& r);

// queues (no alias; also valid in RETURNING).
inline constexpr const char* kQueueCols =
    "name, max_retries, ttl_seconds, timeout_seconds, backoff_base_ms, backoff_max_ms, "
    "concurrency_limit, paused, jq_us(created_at) AS created_us";
QueueRecord QueueFromRow(const pqxx::row& r);

// workers (no alias).
inline constexpr const char* kWorkerCols =
    "id, hostname, status, concurrency, queues, active_job_count, "
    "coalesce(server_id, '') AS server_id, jq_us(last_heartbeat) AS last_heartbeat_us, "
    "supports_control, drained, shutdown_requested";
WorkerRecord WorkerFromRow(const pqxx::row& r);

// job_events (no alias).
inline constexpr const char* kEventCols =
    "id, job_id::text AS job_id, tenant, queue, coalesce(from_status, 0) AS from_status, "
    "to_status, reason, coalesce(worker_id, '') AS worker_id, attempt, "
    "jq_us(occurred_at) AS occurred_us, coalesce(actor, '') AS actor";
JobEventRecord EventFromRow(const pqxx::row& r);

// job_outputs (no alias).
inline constexpr const char* kOutputCols =
    "job_id::text AS job_id, attempt, coalesce(worker_id, '') AS worker_id, "
    "coalesce(exit_code, 0) AS exit_code, stdout, stderr, stdout_truncated, stderr_truncated, "
    "jq_us(recorded_at) AS recorded_us";
JobOutputRecord OutputFromRow(const pqxx::row& r);

// A claimed job: the claim statement's RETURNING list (see leases.cpp), aliased as here.
inline constexpr const char* kClaimedCols =
    "id::text AS id, tenant, queue, payload, priority, attempt, timeout_seconds, "
    "jq_us(created_at) AS created_us, jq_us(not_before) AS not_before_us, "
    "coalesce(traceparent, '') AS traceparent, worker_id";
ClaimedJob ClaimedFromRow(const pqxx::row& r);

}  // namespace jq::store
