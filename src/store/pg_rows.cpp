#include "store/pg_rows.h"

#include "store/pg_common.h"

namespace jq::store {

JobRecord JobFromRow(const pqxx::row& r) {
  JobRecord j;
  j.id = r["id"].as<std::string>();
  j.tenant = r["tenant"].as<std::string>();
  j.queue = r["queue"].as<std::string>();
  j.payload = Bytes(r["payload"]);
  j.priority = r["priority"].as<int>();
  j.status = static_cast<JobState>(r["status"].as<int>());
  j.max_retries = r["max_retries"].as<int>();
  j.retry_count = r["retry_count"].as<int>();
  j.attempt = r["attempt"].as<int>();
  j.ttl_seconds = r["ttl_seconds"].as<int>();
  j.timeout_seconds = r["timeout_seconds"].as<int>();
  j.not_before = FromUs(r["not_before_us"].as<std::int64_t>());
  j.created_at = FromUs(r["created_us"].as<std::int64_t>());
  j.started_at = OptTime(r["started_us"]);
  j.completed_at = OptTime(r["completed_us"]);
  j.updated_at = FromUs(r["updated_us"].as<std::int64_t>());
  j.idempotency_key = r["idempotency_key"].as<std::string>();
  j.worker_id = r["worker_id"].as<std::string>();
  j.result = Bytes(r["result"]);
  j.error_message = r["error_message"].as<std::string>();
  return j;
}

QueueRecord QueueFromRow(const pqxx::row& r) {
  QueueRecord q;
  q.name = r["name"].as<std::string>();
  q.max_retries = r["max_retries"].as<int>();
  q.ttl_seconds = r["ttl_seconds"].as<int>();
  q.timeout_seconds = r["timeout_seconds"].as<int>();
  q.backoff_base_ms = r["backoff_base_ms"].as<int>();
  q.backoff_max_ms = r["backoff_max_ms"].as<int>();
  q.concurrency_limit = r["concurrency_limit"].as<int>();
  q.paused = r["paused"].as<bool>();
  q.created_at = FromUs(r["created_us"].as<std::int64_t>());
  return q;
}

WorkerRecord WorkerFromRow(const pqxx::row& r) {
  WorkerRecord w;
  w.id = r["id"].as<std::string>();
  w.hostname = r["hostname"].as<std::string>();
  w.status = static_cast<WorkerState>(r["status"].as<int>());
  w.concurrency = r["concurrency"].as<int>();
  w.queues = ParsePgTextArray(r["queues"]);
  w.active_job_count = r["active_job_count"].as<int>();
  w.server_id = r["server_id"].as<std::string>();
  w.last_heartbeat = FromUs(r["last_heartbeat_us"].as<std::int64_t>());
  w.supports_control = r["supports_control"].as<bool>();
  w.drained = r["drained"].as<bool>();
  w.shutdown = static_cast<ShutdownRequest>(r["shutdown_requested"].as<int>());
  return w;
}

JobEventRecord EventFromRow(const pqxx::row& r) {
  JobEventRecord e;
  e.id = r["id"].as<std::int64_t>();
  e.job_id = r["job_id"].as<std::string>();
  e.tenant = r["tenant"].as<std::string>();
  e.queue = r["queue"].as<std::string>();
  e.from_status = static_cast<JobState>(r["from_status"].as<int>());
  e.to_status = static_cast<JobState>(r["to_status"].as<int>());
  e.reason = r["reason"].as<std::string>();
  e.worker_id = r["worker_id"].as<std::string>();
  e.attempt = r["attempt"].as<int>();
  e.occurred_at = FromUs(r["occurred_us"].as<std::int64_t>());
  e.actor = r["actor"].as<std::string>();
  return e;
}

JobOutputRecord OutputFromRow(const pqxx::row& r) {
  JobOutputRecord o;
  o.job_id = r["job_id"].as<std::string>();
  o.attempt = r["attempt"].as<int>();
  o.worker_id = r["worker_id"].as<std::string>();
  o.exit_code = r["exit_code"].as<int>();
  o.stdout_data = Bytes(r["stdout"]);
  o.stderr_data = Bytes(r["stderr"]);
  o.stdout_truncated = r["stdout_truncated"].as<bool>();
  o.stderr_truncated = r["stderr_truncated"].as<bool>();
  o.recorded_at = FromUs(r["recorded_us"].as<std::int64_t>());
  return o;
}

ClaimedJob ClaimedFromRow(const pqxx::row& r) {
  ClaimedJob c;
  c.id = r["id"].as<std::string>();
  c.tenant = r["tenant"].as<std::string>();
  c.queue = r["queue"].as<std::string>();
  c.payload = Bytes(r["payload"]);
  c.priority = r["priority"].as<int>();
  c.attempt = r["attempt"].as<int>();
  c.timeout_seconds = r["timeout_seconds"].as<int>();
  c.created_at = FromUs(r["created_us"].as<std::int64_t>());
  c.not_before = FromUs(r["not_before_us"].as<std::int64_t>());
  c.traceparent = r["traceparent"].as<std::string>();
  c.worker_id = r["worker_id"].as<std::string>();
  return c;
}

}  // namespace jq::store
