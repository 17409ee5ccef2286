#include "store/pg_store.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "core/backoff.h"
#include "core/uuid.h"
#include "store/connection_pool.h"
#include "store/pg_errors.h"
#include "store/pg_rows.h"

namespace jq::store {
namespace {

using std::chrono::microseconds;

constexpr const char* kJobCols =
    "j.id::text, j.tenant, j.queue, j.payload, j.priority, j.status, j.max_retries, "
    "j.retry_count, j.attempt, j.ttl_seconds, j.timeout_seconds, jq_us(j.not_before), "
    "jq_us(j.created_at), jq_us(j.started_at), jq_us(j.completed_at), jq_us(j.updated_at), "
    "coalesce(j.idempotency_key, ''), coalesce(j.worker_id, ''), j.result, "
    "coalesce(j.error_message, '')";

constexpr const char* kQueueCols =
    "name, max_retries, ttl_seconds, timeout_seconds, backoff_base_ms, backoff_max_ms, "
    "concurrency_limit, paused, jq_us(created_at)";

constexpr const char* kWorkerCols =
    "id, hostname, status, concurrency, queues, active_job_count, coalesce(server_id, ''), "
    "jq_us(last_heartbeat)";

// The claim for many workers (SPEC §5): $1 = one worker id per free slot, in fill order;
// $2 = queues; $3 = lease seconds. Queues with a concurrency limit get `room` = limit - jobs
// ASSIGNED or RUNNING, and a claim takes at most `room` from each (ranked per queue in claim
// order). $2 lists only queues that may be claimed from (claim_allowed_queues): paused and
// full queues were filtered out per row before, as anti joins, which made the planner
// expect one row; once the table had statistics it chose a scan of every ready row plus a
// sort (690 ms instead of 4 ms for 100 of 95k ready jobs).
std::string ClaimSql(const std::string& queue_filter, const std::string& order) {
  return "WITH lim AS ("
         "  SELECT q.name, q.concurrency_limit - (SELECT count(*) FROM jobs r"
         "    WHERE r.queue = q.name AND r.status IN (2, 3)) AS room"
         "  FROM queues q WHERE q.concurrency_limit > 0),"
         " cand AS ("
         "  SELECT j.id, j.queue, j.priority, j.created_at FROM jobs j"
         "  WHERE j.status = 1 AND " +
         queue_filter +
         "    AND j.not_before <= now()"
         "    AND (j.expires_at IS NULL OR j.expires_at > now())"
         "  ORDER BY " +
         order +
         "  LIMIT cardinality($1::text[]) FOR UPDATE SKIP LOCKED),"
         " pick AS ("
         "  SELECT c.id, row_number() OVER (ORDER BY c.priority DESC, c.created_at, c.id) AS slot"
         "  FROM (SELECT c.*, row_number() OVER (PARTITION BY c.queue"
         "    ORDER BY c.priority DESC, c.created_at, c.id) AS rn FROM cand c) c"
         "  LEFT JOIN lim ON lim.name = c.queue WHERE lim.room IS NULL OR c.rn <= lim.room),"
         " w AS (SELECT * FROM unnest($1::text[]) WITH ORDINALITY AS w(worker_id, slot)),"
         " upd AS ("
         "  UPDATE jobs j SET status = 2, attempt = j.attempt + 1, worker_id = w.worker_id,"
         "    lease_expires_at = now() + $3::int * interval '1 second', updated_at = now()"
         "  FROM pick JOIN w ON w.slot = pick.slot WHERE j.id = pick.id"
         "  RETURNING j.id, j.tenant, j.queue, j.payload, j.priority, j.attempt,"
         "    j.timeout_seconds, j.created_at, j.not_before, j.traceparent, j.worker_id),"
         " ev AS ("
         "  INSERT INTO job_events (job_id, tenant, queue, from_status, to_status, reason,"
         "    worker_id, attempt)"
         "  SELECT id, tenant, queue, 1, 2, 'ASSIGNED', worker_id, attempt FROM upd ORDER BY id)"
         "SELECT id::text, tenant, queue, payload, priority, attempt, timeout_seconds,"
         "  jq_us(created_at), jq_us(not_before), coalesce(traceparent, ''), worker_id FROM upd"
         "  ORDER BY priority DESC, created_at, id";
}

// Named statements, prepared on every new connection. All of jq's SQL lives in this file.
const std::vector<std::pair<std::string, std::string>>& Statements() {
  static const std::vector<std::pair<std::string, std::string>> kStatements = {
      {"job_lock",
       "SELECT id::text, tenant, queue, coalesce(worker_id, ''), status, attempt, retry_count, "
       "max_retries, cancel_requested_at IS NOT NULL, ttl_seconds, "
       "coalesce(extract(epoch FROM now() - started_at), 0)::float8 "
       "FROM jobs WHERE id = $1::uuid FOR UPDATE"},
      {"event_insert",
       "INSERT INTO job_events (job_id, tenant, queue, from_status, to_status, reason, worker_id, "
       "attempt) VALUES ($1::uuid, $2, $3, $4, $5, $6, nullif($7, ''), $8)"},
      {"job_set_running",
       // TTL is "not started in time": a started job no longer has one.
       "UPDATE jobs SET status = 3, started_at = now(), updated_at = now(), expires_at = NULL "
       "WHERE id = $1::uuid AND status = 2 AND worker_id = $2 AND attempt = $3"},
      // Back to the queue at once without using a retry: the attempt never reached a worker.
      {"job_requeue",
       "UPDATE jobs SET status = 1, worker_id = NULL, not_before = now(), updated_at = now() "
       "WHERE id = $1::uuid AND status = 5"},
      {"job_set_done",
       "UPDATE jobs SET status = 4, result = $4, error_message = NULL, completed_at = now(), "
       "updated_at = now(), lease_expires_at = NULL, "
       "started_at = coalesce(started_at, now()) "
       "WHERE id = $1::uuid AND status IN (2, 3) AND worker_id = $2 AND attempt = $3"},
      {"job_set_failed",
       "UPDATE jobs SET status = 5, result = $4, error_message = $5, updated_at = now(), "
       "lease_expires_at = NULL, started_at = coalesce(started_at, CASE WHEN status = 3 "
       "THEN now() END) "
       "WHERE id = $1::uuid AND status IN (2, 3) AND coalesce(worker_id, '') = $2 "
       "AND attempt = $3"},
      {"job_retry_after",
       "UPDATE jobs SET status = 1, retry_count = retry_count + 1, worker_id = NULL, "
       "not_before = now() + $2::bigint * interval '1 millisecond', updated_at = now() "
       "WHERE id = $1::uuid AND status = 5"},
      {"job_dead_letter",
       "UPDATE jobs SET status = 6, completed_at = now(), updated_at = now(), "
       "lease_expires_at = NULL, error_message = coalesce($2, error_message) "
       "WHERE id = $1::uuid AND status = ANY($3::smallint[])"},
      {"queue_backoff", "SELECT backoff_base_ms, backoff_max_ms FROM queues WHERE name = $1"},
      {"output_upsert",
       "INSERT INTO job_outputs (job_id, attempt, worker_id, exit_code, stdout, stderr, "
       "stdout_truncated, stderr_truncated) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8) "
       "ON CONFLICT (job_id, attempt) DO UPDATE SET worker_id = excluded.worker_id, "
       "exit_code = excluded.exit_code, stdout = excluded.stdout, stderr = excluded.stderr, "
       "stdout_truncated = excluded.stdout_truncated, "
       "stderr_truncated = excluded.stderr_truncated, recorded_at = now()"},
      {"claim_lock_limited",
       "SELECT pg_advisory_xact_lock(hashtext('jq.queue.' || name)) FROM queues"
       " WHERE concurrency_limit > 0 AND (cardinality($1::text[]) = 0 OR name = ANY($1::text[]))"
       " ORDER BY name"},
      {"worker_heartbeat_many",
       "UPDATE workers w SET last_heartbeat = now(), active_job_count = v.active,"
       " status = CASE WHEN w.status = 2 THEN 1 ELSE w.status END"
       " FROM unnest($1::text[], $2::int[]) AS v(id, active) WHERE w.id = v.id RETURNING w.id"},
      // Returns every listed lease its worker still holds, but rewrites only those past half
      // their time: most heartbeats write nothing, and lease_expires_at is in no index, so
      // the renewals that do write are HOT updates. A row another transaction holds (its
      // report, most likely) is renewed next time.
      {"lease_renew_many",
       "WITH r AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[])"
       "  AS r(id, attempt, worker_id)),"
       " held AS (SELECT j.id, j.lease_expires_at FROM jobs j JOIN r ON j.id = r.id"
       "  WHERE j.attempt = r.attempt AND j.worker_id = r.worker_id AND j.status IN (2, 3)"
       "  AND j.cancel_requested_at IS NULL),"
       // A row another transaction holds (its report, most likely) is renewed next time.
       " due AS (SELECT j.id FROM jobs j JOIN held ON j.id = held.id"
       "  WHERE held.lease_expires_at < now() + $4::int * interval '500 milliseconds'"
       "  ORDER BY j.id FOR UPDATE OF j SKIP LOCKED),"
       " upd AS (UPDATE jobs j SET lease_expires_at = now() + $4::int * interval '1 second'"
       "  FROM due WHERE j.id = due.id)"
       "SELECT id::text FROM held"},
      {"lease_renew_all_many",
       "WITH due AS (SELECT id FROM jobs WHERE worker_id = ANY($1::text[])"
       " AND status IN (2, 3)"
       " AND lease_expires_at < now() + $2::int * interval '500 milliseconds'"
       " ORDER BY id FOR UPDATE SKIP LOCKED)"
       "UPDATE jobs j SET lease_expires_at = now() + $2::int * interval '1 second' "
       "FROM due WHERE j.id = due.id"},
      {"job_insert_many",
       "WITH v AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[],"
       "  $5::int[], $6::int[], $7::int[], $8::int[], $9::bigint[], $10::bigint[], $11::text[],"
       "  $12::text[]) AS v(id, tenant, queue, payload_hex, priority, max_retries, ttl, timeout,"
       "  delay_ms, run_at_us, idem, traceparent)),"
       " s AS (SELECT v.*, coalesce(timestamptz 'epoch' + run_at_us * interval "
       "  '1 microsecond', now() + delay_ms * interval '1 millisecond') AS nb FROM v),"
       " ins AS (INSERT INTO jobs (id, tenant, queue, payload, priority, status, "
       "  max_retries, ttl_seconds, timeout_seconds, not_before, expires_at, "
       "  idempotency_key, traceparent) "
       "  SELECT id, tenant, queue, decode(payload_hex, 'hex'), priority, 1, max_retries, "
       "   ttl, timeout, nb, CASE WHEN ttl > 0 THEN nb + ttl * interval '1 second' END, idem, "
       "   traceparent "
       "  FROM s ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL "
       "  DO NOTHING RETURNING id, tenant, queue),"
       " ev AS (INSERT INTO job_events (job_id, tenant, queue, to_status, reason) "
       "  SELECT id, tenant, queue, 1, 'SUBMITTED' FROM ins) "
       "SELECT id::text FROM ins"},
      {"queue_defaults_share",
       // FOR SHARE holds off a concurrent delete of the queue until the insert commits.
       "SELECT name, max_retries, ttl_seconds, timeout_seconds, backoff_base_ms, backoff_max_ms,"
       " concurrency_limit, paused, jq_us(created_at) FROM queues WHERE name = ANY($1::text[])"
       " FOR SHARE"},
      // "priority >= 0" (always true) lets this claim, and only this one, use
      // jobs_pending_all_idx (see db/migrations/0005).
      {"job_claim_many", ClaimSql("j.queue = ANY($2::text[]) AND j.priority >= 0",
                                  "j.priority DESC, j.created_at, j.id")},
      // The queues a claim may take from now ($1: the worker's queues; empty: all).
      {"claim_allowed_queues",
       "SELECT q.name FROM queues q WHERE NOT q.paused"
       " AND (cardinality($1::text[]) = 0 OR q.name = ANY($1::text[]))"
       " AND (q.concurrency_limit = 0 OR q.concurrency_limit > (SELECT count(*) FROM jobs r"
       "  WHERE r.queue = q.name AND r.status IN (2, 3)))"},
      // One queue: the claim walks jobs_ready_idx in claim order from the start.
      {"job_claim_queue",
       ClaimSql("j.queue = ($2::text[])[1]", "j.priority DESC, j.created_at, j.id")},
      // The common start: ASSIGNED -> RUNNING for every current lease in the batch.
      {"report_started_many",
       "WITH r AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[])"
       "  AS r(id, worker_id, attempt)),"
       // Rows are locked in id order, as by every statement that locks several jobs, so
       // concurrent batches cannot deadlock.
       " lk AS (SELECT j.id FROM jobs j JOIN r ON j.id = r.id WHERE j.status = 2"
       "  AND j.worker_id = r.worker_id AND (r.attempt = 0 OR j.attempt = r.attempt)"
       "  ORDER BY j.id FOR UPDATE OF j),"
       " upd AS (UPDATE jobs j SET status = 3, started_at = now(), updated_at = now(),"
       "  expires_at = NULL FROM lk WHERE j.id = lk.id"
       "  RETURNING j.id, j.tenant, j.queue, j.worker_id, j.attempt),"
       " ev AS (INSERT INTO job_events (job_id, tenant, queue, from_status, to_status, reason,"
       "  worker_id, attempt) SELECT id, tenant, queue, 2, 3, 'STARTED', worker_id, attempt"
       "  FROM upd ORDER BY id)"
       "SELECT id::text FROM upd"},
      // The common result: RUNNING (or ASSIGNED, from a worker that skips the start report)
      // -> DONE for every current lease in the batch, with its events in order.
      {"report_done_many",
       "WITH r AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[])"
       "  AS r(id, worker_id, attempt, result_hex)),"
       " old AS (SELECT j.id, j.status, j.started_at, decode(r.result_hex, 'hex') AS result"
       "  FROM jobs j JOIN r ON j.id = r.id WHERE j.status IN (2, 3)"
       "  AND j.worker_id = r.worker_id AND (r.attempt = 0 OR j.attempt = r.attempt)"
       "  ORDER BY j.id FOR UPDATE OF j),"
       " upd AS (UPDATE jobs j SET status = 4, result = old.result, error_message = NULL,"
       "  completed_at = now(), updated_at = now(), lease_expires_at = NULL, expires_at = NULL,"
       "  started_at = coalesce(j.started_at, now()) FROM old WHERE j.id = old.id"
       "  RETURNING j.id, j.tenant, j.queue, j.worker_id, j.attempt, old.status AS from_status,"
       "  coalesce(extract(epoch FROM now() - old.started_at), 0)::float8 AS run_s),"
       " ev AS (INSERT INTO job_events (job_id, tenant, queue, from_status, to_status, reason,"
       "  worker_id, attempt) SELECT id, tenant, queue, f, t, why, worker_id, attempt FROM ("
       "   SELECT id, tenant, queue, 2 AS f, 3 AS t, 'STARTED' AS why, worker_id, attempt,"
       "    0 AS ord FROM upd WHERE from_status = 2"
       "   UNION ALL SELECT id, tenant, queue, 3, 4, 'SUCCESS', worker_id, attempt, 1 FROM upd"
       "  ) e ORDER BY id, ord)"
       "SELECT id::text, queue, attempt, run_s FROM upd"},
      {"output_insert_many",
       "INSERT INTO job_outputs (job_id, attempt, worker_id, exit_code, stdout, stderr,"
       " stdout_truncated, stderr_truncated)"
       " SELECT id, attempt, worker_id, exit_code, decode(so, 'hex'), decode(se, 'hex'), sot, set"
       " FROM unnest($1::uuid[], $2::int[], $3::text[], $4::int[], $5::text[], $6::text[],"
       "  $7::bool[], $8::bool[]) AS o(id, attempt, worker_id, exit_code, so, se, sot, set)"
       " ON CONFLICT (job_id, attempt) DO UPDATE SET worker_id = excluded.worker_id,"
       " exit_code = excluded.exit_code, stdout = excluded.stdout, stderr = excluded.stderr,"
       " stdout_truncated = excluded.stdout_truncated,"
       " stderr_truncated = excluded.stderr_truncated, recorded_at = now()"},
      {"worker_heartbeat",
       "UPDATE workers SET last_heartbeat = now(), active_job_count = $2, "
       "status = CASE WHEN status = 2 THEN 1 ELSE status END WHERE id = $1"},
  };
  return kStatements;
}

void PrepareAll(pqxx::connection& c) {
  for (const auto& [name, sql] : Statements()) c.prepare(name, sql);
}

TimePoint FromUs(std::int64_t us) {
  return TimePoint(microseconds(us));
}
std::optional<TimePoint> OptTime(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return FromUs(f.as<std::int64_t>());
}
std::string Bytes(const pqxx::field& f) {
  if (f.is_null()) return {};
  return pqxx::binarystring(f).str();
}

std::string PgArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// A text[] literal whose unset elements are NULL.
std::string PgArrayOpt(const std::vector<std::optional<std::string>>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    if (!items[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (char c : *items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::vector<std::string> ParsePgTextArray(const pqxx::field& f) {
  std::vector<std::string> out;
  if (f.is_null()) return out;
  auto parser = f.as_array();
  for (auto [juncture, value] = parser.get_next(); juncture != pqxx::array_parser::juncture::done;
       std::tie(juncture, value) = parser.get_next()) {
    if (juncture == pqxx::array_parser::juncture::string_value) out.push_back(value);
  }
  return out;
}

std::string Hex(const std::string& data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

JobRecord JobFromRow(const pqxx::row& r) {
  JobRecord j;
  j.id = r[0].as<std::string>();
  j.tenant = r[1].as<std::string>();
  j.queue = r[2].as<std::string>();
  j.payload = Bytes(r[3]);
  j.priority = r[4].as<int>();
  j.status = static_cast<JobState>(r[5].as<int>());
  j.max_retries = r[6].as<int>();
  j.retry_count = r[7].as<int>();
  j.attempt = r[8].as<int>();
  j.ttl_seconds = r[9].as<int>();
  j.timeout_seconds = r[10].as<int>();
  j.not_before = FromUs(r[11].as<std::int64_t>());
  j.created_at = FromUs(r[12].as<std::int64_t>());
  j.started_at = OptTime(r[13]);
  j.completed_at = OptTime(r[14]);
  j.updated_at = FromUs(r[15].as<std::int64_t>());
  j.idempotency_key = r[16].as<std::string>();
  j.worker_id = r[17].as<std::string>();
  j.result = Bytes(r[18]);
  j.error_message = r[19].as<std::string>();
  return j;
}

QueueRecord QueueFromRow(const pqxx::row& r) {
  QueueRecord q;
  q.name = r[0].as<std::string>();
  q.max_retries = r[1].as<int>();
  q.ttl_seconds = r[2].as<int>();
  q.timeout_seconds = r[3].as<int>();
  q.backoff_base_ms = r[4].as<int>();
  q.backoff_max_ms = r[5].as<int>();
  q.concurrency_limit = r[6].as<int>();
  q.paused = r[7].as<bool>();
  q.created_at = FromUs(r[8].as<std::int64_t>());
  return q;
}

WorkerRecord WorkerFromRow(const pqxx::row& r) {
  WorkerRecord w;
  w.id = r[0].as<std::string>();
  w.hostname = r[1].as<std::string>();
  w.status = static_cast<WorkerState>(r[2].as<int>());
  w.concurrency = r[3].as<int>();
  w.queues = ParsePgTextArray(r[4]);
  w.active_job_count = r[5].as<int>();
  w.server_id = r[6].as<std::string>();
  w.last_heartbeat = FromUs(r[7].as<std::int64_t>());
  return w;
}

// A job row locked FOR UPDATE for the rest of the transaction.
struct LockedJob {
  std::string id, tenant, queue, worker_id;
  JobState status = JobState::kUnspecified;
  int attempt = 0, retry_count = 0, max_retries = 0, ttl_seconds = 0;
  bool cancel_requested = false;
  double run_seconds = 0;  // since started_at
};

std::optional<LockedJob> LockJob(pqxx::work& tx, const std::string& id) {
  auto r = tx.exec_prepared("job_lock", id);
  if (r.empty()) return std::nullopt;
  LockedJob j;
  j.id = r[0][0].as<std::string>();
  j.tenant = r[0][1].as<std::string>();
  j.queue = r[0][2].as<std::string>();
  j.worker_id = r[0][3].as<std::string>();
  j.status = static_cast<JobState>(r[0][4].as<int>());
  j.attempt = r[0][5].as<int>();
  j.retry_count = r[0][6].as<int>();
  j.max_retries = r[0][7].as<int>();
  j.cancel_requested = r[0][8].as<bool>();
  j.ttl_seconds = r[0][9].as<int>();
  j.run_seconds = r[0][10].as<double>();
  return j;
}

void InsertEvent(pqxx::work& tx, const LockedJob& j, JobState from, JobState to,
                 std::string_view reason, const std::string& worker_id) {
  tx.exec_prepared("event_insert", j.id, j.tenant, j.queue, static_cast<int>(from),
                   static_cast<int>(to), std::string(reason), worker_id, j.attempt);
}

std::string JobNotFound(const std::string& id) {
  return "job " + id + " not found";
}

// FAILED -> PENDING (retries left) or DEAD_LETTERED, after the FAILED row has been written.
// A payload the worker cannot run will not run on a retry either: it is dead-lettered at once.
JobState AfterFailure(pqxx::work& tx, const LockedJob& j, std::string_view why, double jitter01) {
  if (why == reason::kUndelivered) {
    tx.exec_prepared("job_requeue", j.id);
    InsertEvent(tx, j, JobState::kFailed, JobState::kPending, reason::kRetry, j.worker_id);
    return JobState::kPending;
  }
  if (why == reason::kInvalidPayload) {
    tx.exec_prepared("job_dead_letter", j.id, nullptr, "{5}");
    InsertEvent(tx, j, JobState::kFailed, JobState::kDeadLettered, reason::kInvalidPayload,
                j.worker_id);
    return JobState::kDeadLettered;
  }
  if (j.cancel_requested) {
    tx.exec_prepared("job_dead_letter", j.id, "cancelled", "{5}");
    InsertEvent(tx, j, JobState::kFailed, JobState::kDeadLettered, reason::kCancelled, j.worker_id);
    return JobState::kDeadLettered;
  }
  BackoffPolicy policy;
  auto q = tx.exec_prepared("queue_backoff", j.queue);
  if (!q.empty()) {
    policy.base = std::chrono::milliseconds(q[0][0].as<int>());
    policy.max = std::chrono::milliseconds(q[0][1].as<int>());
  }
  const RetryDecision d = DecideAfterFailure(j.retry_count, j.max_retries, policy, jitter01, why);
  if (d.next == JobState::kPending) {
    tx.exec_prepared("job_retry_after", j.id, static_cast<long long>(d.delay.count()));
  } else {
    tx.exec_prepared("job_dead_letter", j.id, nullptr, "{5}");
  }
  InsertEvent(tx, j, JobState::kFailed, d.next, d.reason, j.worker_id);
  return d.next;
}

// ASSIGNED/RUNNING -> FAILED (reason) -> retry or dead letter. REQUIRES: j locked, current.
JobState FailLocked(pqxx::work& tx, const LockedJob& j, std::string_view reason,
                    const std::string& error_message, const std::string& result, double jitter01) {
  tx.exec_prepared("job_set_failed", j.id, j.worker_id, j.attempt, pqxx::binarystring(result),
                   error_message);
  InsertEvent(tx, j, j.status, JobState::kFailed, reason, j.worker_id);
  return AfterFailure(tx, j, reason, jitter01);
}

std::string Describe(const LockedJob& j) {
  return std::string(JobStatusName(j.status)) + ", attempt " + std::to_string(j.attempt) +
         (j.worker_id.empty() ? "" : " held by worker " + j.worker_id);
}

// Checks a worker's report against the current lease. attempt 0 accepts the worker's lease.
Status CheckLease(const LockedJob& j, const LeaseRef& lease) {
  const bool leased = j.status == JobState::kAssigned || j.status == JobState::kRunning;
  if (!leased || j.worker_id != lease.worker_id ||
      (lease.attempt != 0 && lease.attempt != j.attempt)) {
    return Status::FailedPrecondition(
        "stale lease for job " + j.id + ": report from worker " + lease.worker_id + " attempt " +
        std::to_string(lease.attempt) + ", but the job is " + Describe(j));
  }
  return Status::Ok();
}

template <typename T, typename Fn>
Result<T> RunTx(ConnectionPool& pool, const PgStoreConfig& config, std::string_view op, Fn&& fn) {
  constexpr int kAttempts = 3;
  const auto timeout = config.acquire_timeout;
  const auto start = std::chrono::steady_clock::now();
  struct Timer {
    const PgStoreConfig& config;
    std::string_view op;
    std::chrono::steady_clock::time_point start;
    ~Timer() {
      if (config.on_query) {
        config.on_query(
            op, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    }
  } timer{config, op, start};
  for (int attempt = 1;; ++attempt) {
    try {
      auto conn = pool.Acquire(timeout);
      try {
        pqxx::work tx(*conn);
        Result<T> r = fn(tx);
        if (r.ok()) tx.commit();
        return r;
      } catch (const pqxx::broken_connection&) {
        conn.MarkBroken();
        throw;
      } catch (const pqxx::in_doubt_error&) {
        conn.MarkBroken();
        throw;
      }
    } catch (const pqxx::broken_connection& e) {
      // The statement did not commit: a stale pooled connection (e.g. after a PostgreSQL
      // restart) is retried on a fresh one.
      if (attempt < kAttempts) continue;
      return StatusFromException(e, op);
    } catch (const pqxx::sql_error& e) {
      const std::string state = e.sqlstate();
      if ((state == "40001" || state == "40P01") && attempt < kAttempts) continue;
      return StatusFromException(e, op);
    } catch (const std::exception& e) {
      return StatusFromException(e, op);
    }
  }
}

}  // namespace

PgStore::PgStore(PgStoreConfig config)
    : config_(std::move(config)),
      pool_(std::make_unique<ConnectionPool>(config_.conninfo, config_.pool_size, PrepareAll)) {}

PgStore::~PgStore() = default;

// ---------------------------------------------------------------------------- queues

Result<QueueRecord> PgStore::QueueCreate(const QueueRecord& q) {
  return RunTx<QueueRecord>(
      *pool_, config_, "QueueCreate", [&](pqxx::work& tx) -> Result<QueueRecord> {
        auto r = tx.exec_params(
            std::string("INSERT INTO queues (name, max_retries, ttl_seconds, timeout_seconds, "
                        "backoff_base_ms, backoff_max_ms, concurrency_limit, paused) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING "
                        "RETURNING ") +
                kQueueCols,
            q.name, q.max_retries, q.ttl_seconds, q.timeout_seconds, q.backoff_base_ms,
            q.backoff_max_ms, q.concurrency_limit, q.paused);
        if (r.empty()) return Status::AlreadyExists("queue '" + q.name + "' already exists");
        return QueueFromRow(r[0]);
      });
}

Result<QueueRecord> PgStore::QueueGet(const std::string& name) {
  return RunTx<QueueRecord>(
      *pool_, config_, "QueueGet", [&](pqxx::work& tx) -> Result<QueueRecord> {
        auto r = tx.exec_params(
            std::string("SELECT ") + kQueueCols + " FROM queues WHERE name = $1", name);
        if (r.empty()) return Status::NotFound("queue '" + name + "' not found");
        return QueueFromRow(r[0]);
      });
}

Result<std::vector<QueueRecord>> PgStore::QueueList() {
  return RunTx<std::vector<QueueRecord>>(
      *pool_, config_, "QueueList", [&](pqxx::work& tx) -> Result<std::vector<QueueRecord>> {
        std::vector<QueueRecord> out;
        for (const auto& row :
             tx.exec(std::string("SELECT ") + kQueueCols + " FROM queues ORDER BY name")) {
          out.push_back(QueueFromRow(row));
        }
        return out;
      });
}

Status PgStore::QueueDelete(const std::string& name, bool force) {
  auto r = RunTx<bool>(*pool_, config_, "QueueDelete", [&](pqxx::work& tx) -> Result<bool> {
    if (name == "default") {
      return Status::FailedPrecondition("the default queue cannot be deleted");
    }
    if (tx.exec_params("SELECT 1 FROM queues WHERE name = $1 FOR UPDATE", name).empty()) {
      return Status::NotFound("queue '" + name + "' not found");
    }
    const auto unfinished =
        tx.exec_params1("SELECT count(*) FROM jobs WHERE queue = $1 AND status IN (1, 2, 3, 5)",
                        name)[0]
            .as<long long>();
    if (unfinished > 0 && !force) {
      return Status::FailedPrecondition("queue '" + name + "' has " + std::to_string(unfinished) +
                                        " unfinished jobs; delete with force to dead-letter them");
    }
    if (unfinished > 0) {
      tx.exec_params(
          "WITH old AS (SELECT id, status FROM jobs WHERE queue = $1 AND status IN (1, 2, 3, 5) "
          "  FOR UPDATE),"
          " upd AS (UPDATE jobs j SET status = 6, completed_at = now(), updated_at = now(), "
          "  lease_expires_at = NULL, error_message = 'queue deleted' FROM old "
          "  WHERE j.id = old.id RETURNING j.id, j.tenant, j.queue, old.status AS from_status, "
          "  j.worker_id, j.attempt) "
          "INSERT INTO job_events (job_id, tenant, queue, from_status, to_status, reason, "
          "  worker_id, attempt) "
          "SELECT id, tenant, queue, from_status, 6, $2, worker_id, attempt FROM upd",
          name, std::string(reason::kQueueDeleted));
    }
    tx.exec_params("DELETE FROM queues WHERE name = $1", name);
    return true;
  });
  return r.status();
}

Status PgStore::QueueSetPaused(const std::string& name, bool paused) {
  auto r = RunTx<bool>(*pool_, config_, "QueueSetPaused", [&](pqxx::work& tx) -> Result<bool> {
    auto res = tx.exec_params("UPDATE queues SET paused = $2 WHERE name = $1", name, paused);
    if (res.affected_rows() == 0) return Status::NotFound("queue '" + name + "' not found");
    if (!paused) tx.exec(std::string("NOTIFY ") + kJobsChannel);
    return true;
  });
  return r.status();
}

Result<QueueStatsRecord> PgStore::QueueStats(const std::string& name) {
  return RunTx<QueueStatsRecord>(
      *pool_, config_, "QueueStats", [&](pqxx::work& tx) -> Result<QueueStatsRecord> {
        auto q = tx.exec_params("SELECT paused FROM queues WHERE name = $1", name);
        if (q.empty()) return Status::NotFound("queue '" + name + "' not found");
        QueueStatsRecord s;
        s.queue = name;
        s.paused = q[0][0].as<bool>();
        // Jobs waiting for a retry after a failure count as failed: FAILED itself is only held
        // inside the transaction that decides the retry.
        auto counts = tx.exec_params(
            "SELECT status, count(*), count(*) FILTER (WHERE status = 1 AND retry_count > 0) "
            "FROM jobs WHERE queue = $1 GROUP BY status",
            name);
        for (const auto& row : counts) {
          const auto n = row[1].as<std::int64_t>();
          switch (static_cast<JobState>(row[0].as<int>())) {
            case JobState::kPending:
              s.pending = n;
              s.failed += row[2].as<std::int64_t>();
              break;
            case JobState::kAssigned: s.assigned = n; break;
            case JobState::kRunning: s.running = n; break;
            case JobState::kDone: s.done = n; break;
            case JobState::kFailed: s.failed += n; break;
            case JobState::kDeadLettered: s.dead_lettered = n; break;
            case JobState::kUnspecified: break;
          }
        }
        s.total_processed = s.done + s.dead_lettered;
        s.error_rate = s.total_processed == 0 ? 0.0
                                              : static_cast<double>(s.dead_lettered) /
                                                    static_cast<double>(s.total_processed);
        auto agg = tx.exec_params1(
            "SELECT coalesce((SELECT avg(extract(epoch FROM completed_at - started_at)) * 1000 "
            "  FROM jobs WHERE queue = $1 AND status = 4 AND started_at IS NOT NULL), 0)::float8, "
            " coalesce((SELECT extract(epoch FROM now() - min(created_at)) FROM jobs "
            "  WHERE queue = $1 AND status = 1), 0)::float8",
            name);
        s.avg_duration_ms = agg[0].as<double>();
        s.oldest_pending_age_seconds = agg[1].as<double>();
        return s;
      });
}

Result<std::vector<QueueStatsRecord>> PgStore::QueueDepths(bool include_finished) {
  using Out = std::vector<QueueStatsRecord>;
  return RunTx<Out>(*pool_, config_, "QueueDepths", [&](pqxx::work& tx) -> Result<Out> {
    std::map<std::string, QueueStatsRecord> by_queue;
    for (const auto& row : tx.exec("SELECT name FROM queues")) {
      by_queue[row[0].as<std::string>()].queue = row[0].as<std::string>();
    }
    // Each branch matches one partial index's predicate, so none reads finished rows.
    std::string sql =
        "SELECT queue, 1, count(*), count(*) FILTER (WHERE retry_count > 0) FROM jobs "
        "WHERE status = 1 GROUP BY queue "
        "UNION ALL SELECT queue, status, count(*), 0 FROM jobs WHERE status IN (2, 3) "
        "GROUP BY queue, status";
    if (include_finished) {
      sql +=
          " UNION ALL SELECT queue, status, count(*), 0 FROM jobs WHERE status IN (4, 6) "
          "GROUP BY queue, status";
    }
    for (const auto& row : tx.exec(sql)) {
      auto& s = by_queue[row[0].as<std::string>()];
      s.queue = row[0].as<std::string>();
      const auto n = row[2].as<std::int64_t>();
      switch (static_cast<JobState>(row[1].as<int>())) {
        case JobState::kPending:
          s.pending = n;
          s.failed = row[3].as<std::int64_t>();  // waiting for a retry
          break;
        case JobState::kAssigned: s.assigned = n; break;
        case JobState::kRunning: s.running = n; break;
        case JobState::kDone: s.done = n; break;
        case JobState::kDeadLettered: s.dead_lettered = n; break;
        default: break;
      }
    }
    Out out;
    for (auto& [name, s] : by_queue) out.push_back(std::move(s));
    return out;
  });
}

// ---------------------------------------------------------------------------- jobs

namespace {

// Queue rows for the given names, locked FOR SHARE until the transaction ends.
std::map<std::string, QueueRecord> QueueDefaults(pqxx::work& tx,
                                                 const std::vector<JobInsertParams>& jobs) {
  std::set<std::string> names;
  for (const auto& j : jobs) names.insert(j.queue);
  std::map<std::string, QueueRecord> queues;
  for (const auto& row :
       tx.exec_prepared("queue_defaults_share", PgArray({names.begin(), names.end()}))) {
    auto q = QueueFromRow(row);
    queues.emplace(q.name, q);
  }
  return queues;
}

// Inserts jobs (every queue in `queues`) with their SUBMITTED events in one statement.
// REQUIRES: queues holds each job's queue.
Result<std::vector<JobInsertResult>> InsertJobs(pqxx::work& tx,
                                                const std::vector<const JobInsertParams*>& jobs,
                                                const std::map<std::string, QueueRecord>& queues) {
  const std::size_t n = jobs.size();
  std::vector<std::string> ids, tenants, names, payloads, priorities, max_retries, ttls, timeouts,
      delays;
  std::vector<std::optional<std::string>> run_ats, idems, traces;
  for (auto* v :
       {&ids, &tenants, &names, &payloads, &priorities, &max_retries, &ttls, &timeouts, &delays}) {
    v->reserve(n);
  }
  for (const JobInsertParams* j : jobs) {
    const auto& q = queues.at(j->queue);
    ids.push_back(NewUuidV7());
    tenants.push_back(j->tenant);
    names.push_back(j->queue);
    payloads.push_back(Hex(j->payload));
    priorities.push_back(std::to_string(j->priority));
    max_retries.push_back(std::to_string(j->max_retries.value_or(q.max_retries)));
    ttls.push_back(std::to_string(j->ttl_seconds.value_or(q.ttl_seconds)));
    timeouts.push_back(std::to_string(j->timeout_seconds.value_or(q.timeout_seconds)));
    delays.push_back(std::to_string(j->delay_ms));
    if (j->run_at) {
      run_ats.emplace_back(std::to_string(
          std::chrono::duration_cast<microseconds>(j->run_at->time_since_epoch()).count()));
    } else {
      run_ats.emplace_back(std::nullopt);
    }
    idems.push_back(j->idempotency_key.empty() ? std::nullopt
                                               : std::optional<std::string>(j->idempotency_key));
    traces.push_back(j->traceparent.empty() ? std::nullopt
                                            : std::optional<std::string>(j->traceparent));
  }
  std::set<std::string> inserted;
  for (const auto& row : tx.exec_prepared(
           "job_insert_many", PgArray(ids), PgArray(tenants), PgArray(names), PgArray(payloads),
           PgArray(priorities), PgArray(max_retries), PgArray(ttls), PgArray(timeouts),
           PgArray(delays), PgArrayOpt(run_ats), PgArrayOpt(idems), PgArrayOpt(traces))) {
    inserted.insert(row[0].as<std::string>());
  }
  std::vector<JobInsertResult> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (inserted.contains(ids[i])) {
      out.push_back({ids[i], false});
      continue;
    }
    // Lost to an existing job with the same idempotency key (in this batch or before it):
    // return that job.
    auto r = tx.exec_params("SELECT id::text FROM jobs WHERE tenant = $1 AND idempotency_key = $2",
                            jobs[i]->tenant, jobs[i]->idempotency_key);
    if (r.empty()) return Status::Internal("idempotent insert found no job");
    out.push_back({r[0][0].as<std::string>(), true});
  }
  return out;
}

}  // namespace

// No NOTIFY here: a NOTIFY in every submit transaction serialises commits on a cluster-wide
// lock. The server wakes its own dispatcher and signals other replicas, coalesced.
Result<std::vector<JobInsertResult>> PgStore::JobInsertMany(
    const std::vector<JobInsertParams>& jobs) {
  if (jobs.empty()) return std::vector<JobInsertResult>{};
  return RunTx<std::vector<JobInsertResult>>(
      *pool_, config_, "JobInsertMany",
      [&](pqxx::work& tx) -> Result<std::vector<JobInsertResult>> {
        const auto queues = QueueDefaults(tx, jobs);
        std::vector<const JobInsertParams*> all;
        for (const auto& j : jobs) {
          if (!queues.contains(j.queue))
            return Status::NotFound("queue '" + j.queue + "' not found");
          all.push_back(&j);
        }
        return InsertJobs(tx, all, queues);
      });
}

Result<std::vector<Result<JobInsertResult>>> PgStore::JobInsertEach(
    const std::vector<JobInsertParams>& jobs) {
  using Out = std::vector<Result<JobInsertResult>>;
  if (jobs.empty()) return Out{};
  return RunTx<Out>(*pool_, config_, "JobInsertEach", [&](pqxx::work& tx) -> Result<Out> {
    const auto queues = QueueDefaults(tx, jobs);
    std::vector<const JobInsertParams*> good;
    std::vector<std::size_t> good_index;
    Out out(jobs.size(), Result<JobInsertResult>(Status::Internal("not inserted")));
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (!queues.contains(jobs[i].queue)) {
        out[i] = Status::NotFound("queue '" + jobs[i].queue + "' not found");
        continue;
      }
      good.push_back(&jobs[i]);
      good_index.push_back(i);
    }
    if (good.empty()) return out;
    auto inserted = InsertJobs(tx, good, queues);
    if (!inserted.ok()) return inserted.status();
    for (std::size_t k = 0; k < good.size(); ++k) out[good_index[k]] = (*inserted)[k];
    return out;
  });
}

Result<JobRecord> PgStore::JobGet(const std::string& id, const std::string& tenant) {
  return RunTx<JobRecord>(*pool_, config_, "JobGet", [&](pqxx::work& tx) -> Result<JobRecord> {
    auto r = tx.exec_params(std::string("SELECT ") + kJobCols +
                                " FROM jobs j WHERE j.id = $1::uuid AND ($2 = '' OR j.tenant = $2)",
                            id, tenant);
    if (r.empty()) return Status::NotFound(JobNotFound(id));
    return JobFromRow(r[0]);
  });
}

Result<JobListResult> PgStore::JobList(const JobListParams& p) {
  return RunTx<JobListResult>(
      *pool_, config_, "JobList", [&](pqxx::work& tx) -> Result<JobListResult> {
        std::optional<std::string> after_us;
        std::optional<std::string> after_id;
        if (p.after_created_us) {
          after_us = std::to_string(*p.after_created_us);
          after_id = p.after_id;
        }
        auto r = tx.exec_params(
            std::string("SELECT ") + kJobCols +
                " FROM jobs j WHERE ($1 = '' OR j.tenant = $1) AND ($2 = '' OR j.queue = $2) "
                "AND ($3 = 0 OR j.status = $3) "
                "AND ($4::bigint IS NULL OR (j.created_at, j.id) < "
                "  (timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5::uuid)) "
                "ORDER BY j.created_at DESC, j.id DESC LIMIT $6",
            p.tenant, p.queue, static_cast<int>(p.status), after_us, after_id, p.limit + 1);
        JobListResult out;
        for (const auto& row : r) out.jobs.push_back(JobFromRow(row));
        if (static_cast<int>(out.jobs.size()) > p.limit) {
          out.jobs.pop_back();
          out.more = true;
        }
        return out;
      });
}

Result<std::vector<JobEventRecord>> PgStore::JobEventList(const std::string& job_id,
                                                          std::int64_t after_event_id) {
  return RunTx<std::vector<JobEventRecord>>(
      *pool_, config_, "JobEventList", [&](pqxx::work& tx) -> Result<std::vector<JobEventRecord>> {
        std::vector<JobEventRecord> out;
        auto r =
            tx.exec_params(std::string("SELECT ") + kEventCols +
                               " FROM job_events WHERE job_id = $1::uuid AND id > $2 ORDER BY id",
                           job_id, after_event_id);
        for (const auto& row : r) out.push_back(EventFromRow(row));
        return out;
      });
}

Result<std::vector<JobOutputRecord>> PgStore::JobOutputList(const std::string& job_id) {
  return RunTx<std::vector<JobOutputRecord>>(
      *pool_, config_, "JobOutputList",
      [&](pqxx::work& tx) -> Result<std::vector<JobOutputRecord>> {
        std::vector<JobOutputRecord> out;
        auto r = tx.exec_params(
            "SELECT job_id::text, attempt, coalesce(worker_id, ''), coalesce(exit_code, 0), "
            "stdout, stderr, stdout_truncated, stderr_truncated, jq_us(recorded_at) "
            "FROM job_outputs WHERE job_id = $1::uuid ORDER BY attempt",
            job_id);
        for (const auto& row : r) {
          JobOutputRecord o;
          o.job_id = row[0].as<std::string>();
          o.attempt = row[1].as<int>();
          o.worker_id = row[2].as<std::string>();
          o.exit_code = row[3].as<int>();
          o.stdout_data = Bytes(row[4]);
          o.stderr_data = Bytes(row[5]);
          o.stdout_truncated = row[6].as<bool>();
          o.stderr_truncated = row[7].as<bool>();
          o.recorded_at = FromUs(row[8].as<std::int64_t>());
          out.push_back(std::move(o));
        }
        return out;
      });
}

// ---------------------------------------------------------------------------- leases

std::string JobClaimSql(bool one_queue) {
  for (const auto& [name, sql] : Statements()) {
    if (name == (one_queue ? "job_claim_queue" : "job_claim_many")) return sql;
  }
  return {};
}

Result<std::vector<ClaimedJob>> PgStore::JobClaimAvailable(const JobClaimParams& p) {
  JobClaimManyParams many;
  many.slot_worker_ids.assign(static_cast<std::size_t>(std::max(p.limit, 0)), p.worker_id);
  many.queues = p.queues;
  many.lease = p.lease;
  return JobClaimMany(many);
}

Result<std::vector<ClaimedJob>> PgStore::JobClaimMany(const JobClaimManyParams& p) {
  if (p.slot_worker_ids.empty()) return std::vector<ClaimedJob>{};
  return RunTx<std::vector<ClaimedJob>>(
      *pool_, config_, "JobClaimMany", [&](pqxx::work& tx) -> Result<std::vector<ClaimedJob>> {
        std::vector<ClaimedJob> out;
        // Concurrent claims would each see the same room in a limited queue: serialize the
        // claims that may take from one (the lock ends with the transaction; the claim's
        // snapshot is taken after it, so it sees the other claimers' assignments).
        tx.exec_prepared("claim_lock_limited", PgArray(p.queues));
        // The generic plan of the claim cannot know its LIMIT or which queue it reads, and
        // picks a scan of every ready row of the queue plus a sort (measured: 58 ms instead
        // of 3 ms for 100 jobs of a 20k backlog). Plan it for its parameters each time
        // (~0.4 ms), which walks the ready index in claim order.
        tx.exec("SET LOCAL plan_cache_mode = force_custom_plan");
        std::vector<std::string> allowed;
        for (const auto& row : tx.exec_prepared("claim_allowed_queues", PgArray(p.queues))) {
          allowed.push_back(row[0].as<std::string>());
        }
        if (allowed.empty()) return out;  // every queue paused, full or gone
        auto r = tx.exec_prepared(allowed.size() == 1 ? "job_claim_queue" : "job_claim_many",
                                  PgArray(p.slot_worker_ids), PgArray(allowed),
                                  static_cast<int>(p.lease.count()));
        out.reserve(r.size());
        for (const auto& row : r) {
          ClaimedJob c;
          c.id = row[0].as<std::string>();
          c.tenant = row[1].as<std::string>();
          c.queue = row[2].as<std::string>();
          c.payload = Bytes(row[3]);
          c.priority = row[4].as<int>();
          c.attempt = row[5].as<int>();
          c.timeout_seconds = row[6].as<int>();
          c.created_at = FromUs(row[7].as<std::int64_t>());
          c.not_before = FromUs(row[8].as<std::int64_t>());
          c.traceparent = row[9].as<std::string>();
          c.worker_id = row[10].as<std::string>();
          out.push_back(std::move(c));
        }
        return out;
      });
}

namespace {

Status SetRunningInTx(pqxx::work& tx, const LeaseRef& lease) {
  auto j = LockJob(tx, lease.job_id);
  if (!j) return Status::NotFound(JobNotFound(lease.job_id));
  // A start reported after the same attempt's result (reports travel in parallel batches)
  // is no news: the job did start.
  if (j->status == JobState::kDone && j->worker_id == lease.worker_id &&
      (lease.attempt == 0 || lease.attempt == j->attempt)) {
    return Status::Ok();
  }
  if (Status s = CheckLease(*j, lease); !s.ok()) return s;
  if (j->status == JobState::kRunning) return Status::Ok();  // repeated report
  tx.exec_prepared("job_set_running", j->id, j->worker_id, j->attempt);
  InsertEvent(tx, *j, JobState::kAssigned, JobState::kRunning, reason::kStarted, j->worker_id);
  return Status::Ok();
}

// One report, the general path: lock, check the lease, record the output and the outcome.
// Returns before writing anything when the report is refused.
Result<JobCompleteResult> CompleteInTx(pqxx::work& tx, const JobCompleteParams& p) {
  auto j = LockJob(tx, p.lease.job_id);
  if (!j) return Status::NotFound(JobNotFound(p.lease.job_id));
  if (Status s = CheckLease(*j, p.lease); !s.ok()) return s;
  if (p.output) {
    const auto& o = *p.output;
    tx.exec_prepared("output_upsert", j->id, j->attempt, j->worker_id, o.exit_code,
                     pqxx::binarystring(o.stdout_data), pqxx::binarystring(o.stderr_data),
                     o.stdout_truncated, o.stderr_truncated);
  }
  if (j->status == JobState::kAssigned) {
    // A seed worker reports without ReportStarted: record the start it implies.
    tx.exec_prepared("job_set_running", j->id, j->worker_id, j->attempt);
    InsertEvent(tx, *j, JobState::kAssigned, JobState::kRunning, reason::kStarted, j->worker_id);
    j->status = JobState::kRunning;
  }
  JobCompleteResult out;
  out.queue = j->queue;
  out.run_seconds = j->run_seconds;
  if (p.success) {
    tx.exec_prepared("job_set_done", j->id, j->worker_id, j->attempt, pqxx::binarystring(p.result));
    InsertEvent(tx, *j, JobState::kRunning, JobState::kDone, reason::kSuccess, j->worker_id);
    out.final_status = JobState::kDone;
    return out;
  }
  std::string_view why = p.reason.empty() ? reason::kFailedExitCode : p.reason;
  if (why == reason::kCancelled && j->cancel_requested) {
    // SPEC §4: a cancelled RUNNING job goes straight to DEAD_LETTERED.
    tx.exec_prepared("job_dead_letter", j->id,
                     p.error_message.empty() ? "cancelled" : p.error_message, "{2,3}");
    InsertEvent(tx, *j, JobState::kRunning, JobState::kDeadLettered, reason::kCancelled,
                j->worker_id);
    out.final_status = JobState::kDeadLettered;
    return out;
  }
  if (why == reason::kCancelled) why = reason::kFailedExitCode;
  out.final_status = FailLocked(tx, *j, why, p.error_message, p.result, p.jitter01);
  return out;
}

}  // namespace

Status PgStore::JobSetRunning(const LeaseRef& lease) {
  auto r = RunTx<bool>(*pool_, config_, "JobSetRunning", [&](pqxx::work& tx) -> Result<bool> {
    if (Status s = SetRunningInTx(tx, lease); !s.ok()) return s;
    return true;
  });
  return r.status();
}

Result<JobReportBatchResult> PgStore::JobReportMany(const JobReportBatch& batch) {
  return RunTx<JobReportBatchResult>(
      *pool_, config_, "JobReportMany", [&](pqxx::work& tx) -> Result<JobReportBatchResult> {
        JobReportBatchResult out;
        out.started.assign(batch.started.size(), Status::Ok());
        out.results.assign(batch.results.size(),
                           Result<JobCompleteResult>(Status::Internal("not reported")));

        // A start whose success is in the same batch is written by the success statement
        // (ASSIGNED -> DONE with both events): one row version instead of two.
        // job id -> (attempt, index) of its first success report
        std::map<std::string, std::pair<int, std::size_t>> succeeding;
        for (std::size_t k = 0; k < batch.results.size(); ++k) {
          const auto& p = batch.results[k];
          if (p.success) succeeding.emplace(p.lease.job_id, std::make_pair(p.lease.attempt, k));
        }
        std::vector<std::size_t> merged_started;
        // Starts: one statement for every current ASSIGNED lease; the rest (repeats, stale
        // or unknown leases) take the single-report path for its exact answer.
        std::vector<std::size_t> slow_started;
        if (!batch.started.empty()) {
          std::vector<std::string> ids, workers, attempts;
          std::set<std::string> seen;
          for (std::size_t i = 0; i < batch.started.size(); ++i) {
            const auto& l = batch.started[i];
            if (auto it = succeeding.find(l.job_id);
                it != succeeding.end() && it->second.first == l.attempt && l.attempt != 0) {
              merged_started.push_back(i);
              continue;
            }
            if (!seen.insert(l.job_id).second) continue;
            ids.push_back(l.job_id);
            workers.push_back(l.worker_id);
            attempts.push_back(std::to_string(l.attempt));
          }
          std::set<std::string> started;
          for (const auto& row : tx.exec_prepared("report_started_many", PgArray(ids),
                                                  PgArray(workers), PgArray(attempts))) {
            started.insert(row[0].as<std::string>());
          }
          std::set<std::size_t> merged(merged_started.begin(), merged_started.end());
          for (std::size_t i = 0; i < batch.started.size(); ++i) {
            if (merged.contains(i)) continue;
            if (started.erase(batch.started[i].job_id) == 0) slow_started.push_back(i);
          }
        }
        // The single-report paths lock one row each: in job id order too (stable, so a
        // job's reports keep their order).
        const auto by_job = [](const auto& items, auto id_of) {
          return [&items, id_of](std::size_t a, std::size_t b) {
            return std::make_pair(id_of(items[a]), a) < std::make_pair(id_of(items[b]), b);
          };
        };
        std::sort(slow_started.begin(), slow_started.end(),
                  by_job(batch.started,
                         [](const LeaseRef& l) -> const std::string& { return l.job_id; }));
        for (std::size_t i : slow_started) out.started[i] = SetRunningInTx(tx, batch.started[i]);

        // Results: successes in one statement (outputs in one more), failures and anything the
        // statement did not take through the single-report path.
        std::vector<std::size_t> fast, slow;
        {
          std::set<std::string> seen;
          for (std::size_t i = 0; i < batch.results.size(); ++i) {
            const auto& p = batch.results[i];
            if (p.success && seen.insert(p.lease.job_id).second) {
              fast.push_back(i);
            } else {
              slow.push_back(i);
            }
          }
        }
        if (!fast.empty()) {
          std::vector<std::string> ids, workers, attempts, results;
          for (std::size_t i : fast) {
            const auto& p = batch.results[i];
            ids.push_back(p.lease.job_id);
            workers.push_back(p.lease.worker_id);
            attempts.push_back(std::to_string(p.lease.attempt));
            results.push_back(Hex(p.result));
          }
          std::map<std::string, std::pair<int, JobCompleteResult>> done;  // id -> attempt, result
          for (const auto& row :
               tx.exec_prepared("report_done_many", PgArray(ids), PgArray(workers),
                                PgArray(attempts), PgArray(results))) {
            JobCompleteResult r;
            r.final_status = JobState::kDone;
            r.queue = row[1].as<std::string>();
            r.run_seconds = row[3].as<double>();
            done.emplace(row[0].as<std::string>(), std::make_pair(row[2].as<int>(), r));
          }
          std::vector<std::string> o_ids, o_attempts, o_workers, o_codes, o_out, o_err, o_out_t,
              o_err_t;
          for (std::size_t i : fast) {
            const auto& p = batch.results[i];
            auto it = done.find(p.lease.job_id);
            if (it == done.end()) {
              slow.push_back(i);
              continue;
            }
            out.results[i] = it->second.second;
            if (p.output) {
              o_ids.push_back(p.lease.job_id);
              o_attempts.push_back(std::to_string(it->second.first));
              o_workers.push_back(p.lease.worker_id);
              o_codes.push_back(std::to_string(p.output->exit_code));
              o_out.push_back(Hex(p.output->stdout_data));
              o_err.push_back(Hex(p.output->stderr_data));
              o_out_t.push_back(p.output->stdout_truncated ? "t" : "f");
              o_err_t.push_back(p.output->stderr_truncated ? "t" : "f");
            }
          }
          if (!o_ids.empty()) {
            tx.exec_prepared("output_insert_many", PgArray(o_ids), PgArray(o_attempts),
                             PgArray(o_workers), PgArray(o_codes), PgArray(o_out), PgArray(o_err),
                             PgArray(o_out_t), PgArray(o_err_t));
          }
        }
        std::sort(slow.begin(), slow.end(),
                  by_job(batch.results, [](const JobCompleteParams& p) -> const std::string& {
                    return p.lease.job_id;
                  }));
        for (std::size_t i : slow) out.results[i] = CompleteInTx(tx, batch.results[i]);
        // A merged start is answered as its own call would have been: OK when the job did
        // start under that lease (its success was taken), else the single-report answer.
        for (std::size_t i : merged_started) {
          const auto& l = batch.started[i];
          const bool taken = out.results[succeeding.at(l.job_id).second].ok();
          out.started[i] = taken ? Status::Ok() : SetRunningInTx(tx, l);
        }
        return out;
      });
}

Status PgStore::JobReleaseUndelivered(const LeaseRef& lease) {
  auto r =
      RunTx<bool>(*pool_, config_, "JobReleaseUndelivered", [&](pqxx::work& tx) -> Result<bool> {
        auto j = LockJob(tx, lease.job_id);
        if (!j) return Status::NotFound(JobNotFound(lease.job_id));
        if (Status s = CheckLease(*j, lease); !s.ok()) return s;
        if (j->status != JobState::kAssigned) {
          return Status::FailedPrecondition("job " + j->id + " is " + Describe(*j));
        }
        FailLocked(tx, *j, reason::kUndelivered, "assignment not delivered", "", 0);
        tx.exec(std::string("NOTIFY ") + kJobsChannel);
        return true;
      });
  return r.status();
}

Result<std::map<std::string, std::int64_t>> PgStore::TenantInFlight() {
  return RunTx<std::map<std::string, std::int64_t>>(
      *pool_, config_, "TenantInFlight",
      [&](pqxx::work& tx) -> Result<std::map<std::string, std::int64_t>> {
        std::map<std::string, std::int64_t> out;
        // Served by the partial index over ASSIGNED/RUNNING rows (jobs_lease_idx's rows).
        for (const auto& row :
             tx.exec("SELECT tenant, count(*) FROM jobs WHERE status IN (2, 3) GROUP BY tenant")) {
          out[row[0].as<std::string>()] = row[1].as<std::int64_t>();
        }
        return out;
      });
}

Result<std::vector<LeaseRef>> PgStore::JobListHeldBy(const std::string& worker_id) {
  return RunTx<std::vector<LeaseRef>>(
      *pool_, config_, "JobListHeldBy", [&](pqxx::work& tx) -> Result<std::vector<LeaseRef>> {
        std::vector<LeaseRef> out;
        for (const auto& row : tx.exec_params(
                 "SELECT id::text, attempt FROM jobs WHERE worker_id = $1 AND status IN (2, 3)",
                 worker_id)) {
          out.push_back({row[0].as<std::string>(), worker_id, row[1].as<int>()});
        }
        return out;
      });
}

Result<JobCompleteResult> PgStore::JobComplete(const JobCompleteParams& p) {
  return RunTx<JobCompleteResult>(
      *pool_, config_, "JobComplete",
      [&](pqxx::work& tx) -> Result<JobCompleteResult> { return CompleteInTx(tx, p); });
}

Result<std::vector<std::string>> PgStore::JobLeaseRenew(const std::string& worker_id,
                                                        const std::vector<LeaseRef>& running,
                                                        std::chrono::seconds lease,
                                                        bool renew_all) {
  return RunTx<std::vector<std::string>>(
      *pool_, config_, "JobLeaseRenew", [&](pqxx::work& tx) -> Result<std::vector<std::string>> {
        if (renew_all) {
          tx.exec_prepared("lease_renew_all_many", PgArray({worker_id}),
                           static_cast<int>(lease.count()));
          return std::vector<std::string>{};
        }
        std::vector<std::string> ids, attempts, owners;
        for (const auto& l : running) {
          ids.push_back(l.job_id);
          attempts.push_back(std::to_string(l.attempt));
          owners.push_back(worker_id);
        }
        std::set<std::string> renewed;
        for (const auto& row : tx.exec_prepared("lease_renew_many", PgArray(ids), PgArray(attempts),
                                                PgArray(owners), static_cast<int>(lease.count()))) {
          renewed.insert(row[0].as<std::string>());
        }
        std::vector<std::string> lost;
        for (const auto& id : ids) {
          if (!renewed.contains(id)) lost.push_back(id);
        }
        return lost;
      });
}

Result<JobRecord> PgStore::JobCancel(const std::string& id, const std::string& tenant) {
  return RunTx<JobRecord>(*pool_, config_, "JobCancel", [&](pqxx::work& tx) -> Result<JobRecord> {
    auto j = LockJob(tx, id);
    if (!j || (!tenant.empty() && j->tenant != tenant)) return Status::NotFound(JobNotFound(id));
    switch (j->status) {
      case JobState::kPending:
      case JobState::kAssigned:
        tx.exec_prepared("job_dead_letter", j->id, "cancelled", "{1,2}");
        InsertEvent(tx, *j, j->status, JobState::kDeadLettered, reason::kCancelled, j->worker_id);
        break;
      case JobState::kRunning:
        // The worker kills the process group and reports CANCELLED.
        tx.exec_params(
            "UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, "
            "now()), updated_at = now() WHERE id = $1::uuid",
            j->id);
        break;
      default:
        return Status::FailedPrecondition("job " + id + " is " +
                                          std::string(JobStatusName(j->status)) +
                                          "; only PENDING, ASSIGNED or RUNNING jobs can be "
                                          "cancelled");
    }
    auto r = tx.exec_params(
        std::string("SELECT ") + kJobCols + " FROM jobs j WHERE j.id = $1::uuid", j->id);
    return JobFromRow(r[0]);
  });
}

Result<JobRecord> PgStore::JobRetry(const std::string& id, const std::string& tenant) {
  return RunTx<JobRecord>(*pool_, config_, "JobRetry", [&](pqxx::work& tx) -> Result<JobRecord> {
    auto j = LockJob(tx, id);
    if (!j || (!tenant.empty() && j->tenant != tenant)) return Status::NotFound(JobNotFound(id));
    if (j->status != JobState::kFailed && j->status != JobState::kDeadLettered) {
      return Status::FailedPrecondition("job " + id + " is " +
                                        std::string(JobStatusName(j->status)) +
                                        "; only FAILED or DEAD_LETTERED jobs can be retried");
    }
    if (tx.exec_params("SELECT 1 FROM queues WHERE name = $1 FOR SHARE", j->queue).empty()) {
      return Status::FailedPrecondition("job " + id + " belongs to queue '" + j->queue +
                                        "', which no longer exists");
    }
    tx.exec_params(
        "UPDATE jobs SET status = 1, retry_count = 0, worker_id = NULL, not_before = now(), "
        "expires_at = CASE WHEN ttl_seconds > 0 THEN now() + ttl_seconds * interval '1 second' "
        "END, completed_at = NULL, cancel_requested_at = NULL, lease_expires_at = NULL, "
        "updated_at = now() WHERE id = $1::uuid",
        j->id);
    InsertEvent(tx, *j, j->status, JobState::kPending, reason::kManualRetry, "");
    tx.exec(std::string("NOTIFY ") + kJobsChannel);
    auto r = tx.exec_params(
        std::string("SELECT ") + kJobCols + " FROM jobs j WHERE j.id = $1::uuid", j->id);
    return JobFromRow(r[0]);
  });
}

Result<ReapResult> PgStore::Reap(std::chrono::seconds worker_timeout, double jitter01) {
  ReapResult out;
  // Silent workers: OFFLINE, and their jobs reclaimed now rather than at lease expiry.
  auto workers = RunTx<std::vector<std::string>>(
      *pool_, config_, "Reap.workers", [&](pqxx::work& tx) -> Result<std::vector<std::string>> {
        std::vector<std::string> ids;
        for (const auto& row : tx.exec_params(
                 "UPDATE workers SET status = 2 WHERE status IN (1, 3) AND last_heartbeat < "
                 "now() - $1::int * interval '1 second' RETURNING id",
                 static_cast<int>(worker_timeout.count()))) {
          ids.push_back(row[0].as<std::string>());
        }
        return ids;
      });
  if (!workers.ok()) return workers.status();
  out.workers_offline = static_cast<int>(workers->size());

  // Fails each selected ASSIGNED/RUNNING job with `why`, then retries or dead-letters it.
  auto reclaim = [&](const char* op, const std::function<pqxx::result(pqxx::work&)>& select,
                     std::string_view why) -> Result<int> {
    return RunTx<int>(*pool_, config_, op, [&](pqxx::work& tx) -> Result<int> {
      int n = 0;
      for (const auto& row : select(tx)) {
        auto j = LockJob(tx, row[0].as<std::string>());
        if (!j || (j->status != JobState::kAssigned && j->status != JobState::kRunning)) {
          continue;
        }
        const std::string message = why == reason::kWorkerLost ? "worker lost" : "lease expired";
        FailLocked(tx, *j, why, message, "", jitter01);
        if (why == reason::kLeaseExpired) ++out.lease_expired_by_queue[j->queue];
        ++n;
      }
      return n;
    });
  };
  for (const auto& w : *workers) {
    auto n = reclaim(
        "Reap.worker_jobs",
        [&](pqxx::work& tx) {
          return tx.exec_params(
              // Only while the worker is still OFFLINE: if it registered again since it was
              // marked, the jobs it holds now are fresh.
              "SELECT id::text FROM jobs WHERE worker_id = $1 AND status IN (2, 3) "
              "AND EXISTS (SELECT 1 FROM workers w WHERE w.id = $1 AND w.status = 2) "
              "FOR UPDATE SKIP LOCKED",
              w);
        },
        reason::kWorkerLost);
    if (!n.ok()) return n.status();
    out.worker_jobs_reclaimed += *n;
  }
  auto leases = reclaim(
      "Reap.leases",
      [](pqxx::work& tx) {
        return tx.exec(
            "SELECT id::text FROM jobs WHERE status IN (2, 3) AND lease_expires_at < now() "
            "ORDER BY lease_expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED");
      },
      reason::kLeaseExpired);
  if (!leases.ok()) return leases.status();
  out.lease_expired = *leases;

  auto ttl = RunTx<int>(*pool_, config_, "Reap.ttl", [&](pqxx::work& tx) -> Result<int> {
    auto r = tx.exec_params(
        "WITH old AS (SELECT id, status FROM jobs WHERE status IN (1, 2) AND expires_at < now() "
        "  ORDER BY expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED),"
        " upd AS (UPDATE jobs j SET status = 6, completed_at = now(), updated_at = now(), "
        "  lease_expires_at = NULL, error_message = 'not started within its TTL' FROM old "
        "  WHERE j.id = old.id RETURNING j.id, j.tenant, j.queue, old.status AS from_status, "
        "  j.worker_id, j.attempt) "
        "INSERT INTO job_events (job_id, tenant, queue, from_status, to_status, reason, "
        "  worker_id, attempt) "
        "SELECT id, tenant, queue, from_status, 6, $1, worker_id, attempt FROM upd",
        std::string(reason::kTtlExpired));
    return static_cast<int>(r.affected_rows());
  });
  if (!ttl.ok()) return ttl.status();
  out.ttl_expired = *ttl;
  return out;
}

// ---------------------------------------------------------------------------- workers

Status PgStore::WorkerUpsert(const WorkerUpsertParams& p) {
  auto r = RunTx<bool>(*pool_, config_, "WorkerUpsert", [&](pqxx::work& tx) -> Result<bool> {
    tx.exec_params(
        "INSERT INTO workers (id, hostname, status, concurrency, queues, server_id) "
        "VALUES ($1, $2, 1, $3, $4::text[], $5) ON CONFLICT (id) DO UPDATE SET "
        "hostname = excluded.hostname, "
        // A drain outlives a reconnect: the worker is told again when its stream opens.
        "status = CASE WHEN workers.status = 3 THEN 3 ELSE 1 END, "
        "concurrency = excluded.concurrency, "
        "queues = excluded.queues, server_id = excluded.server_id, last_heartbeat = now()",
        p.id, p.hostname, p.concurrency, PgArray(p.queues), p.server_id);
    return true;
  });
  return r.status();
}

Status PgStore::WorkerHeartbeat(const std::string& id, int active_job_count) {
  auto r = RunTx<bool>(*pool_, config_, "WorkerHeartbeat", [&](pqxx::work& tx) -> Result<bool> {
    auto res = tx.exec_prepared("worker_heartbeat", id, active_job_count);
    if (res.affected_rows() == 0) return Status::NotFound("worker " + id + " is not registered");
    return true;
  });
  return r.status();
}

Result<std::vector<Result<std::vector<std::string>>>> PgStore::WorkerHeartbeatMany(
    const std::vector<WorkerHeartbeatParams>& beats, std::chrono::seconds lease) {
  using Out = std::vector<Result<std::vector<std::string>>>;
  if (beats.empty()) return Out{};
  return RunTx<Out>(*pool_, config_, "WorkerHeartbeatMany", [&](pqxx::work& tx) -> Result<Out> {
    // Duplicates (a worker beating twice in one batch) are written once: the last one wins.
    std::map<std::string, int> active;
    for (const auto& b : beats) active[b.worker_id] = b.active_job_count;
    std::vector<std::string> ids, actives;
    for (const auto& [id, n] : active) {
      ids.push_back(id);
      actives.push_back(std::to_string(n));
    }
    std::set<std::string> known;
    for (const auto& row :
         tx.exec_prepared("worker_heartbeat_many", PgArray(ids), PgArray(actives))) {
      known.insert(row[0].as<std::string>());
    }
    std::vector<std::string> job_ids, attempts, owners, seed_workers;
    for (const auto& b : beats) {
      if (!known.contains(b.worker_id)) continue;
      if (b.renew_all) seed_workers.push_back(b.worker_id);
      for (const auto& l : b.running) {
        job_ids.push_back(l.job_id);
        attempts.push_back(std::to_string(l.attempt));
        owners.push_back(b.worker_id);
      }
    }
    const int lease_s = static_cast<int>(lease.count());
    std::set<std::string> held;
    if (!job_ids.empty()) {
      for (const auto& row : tx.exec_prepared("lease_renew_many", PgArray(job_ids),
                                              PgArray(attempts), PgArray(owners), lease_s)) {
        held.insert(row[0].as<std::string>());
      }
    }
    if (!seed_workers.empty()) {
      tx.exec_prepared("lease_renew_all_many", PgArray(seed_workers), lease_s);
    }
    Out out;
    out.reserve(beats.size());
    for (const auto& b : beats) {
      if (!known.contains(b.worker_id)) {
        out.emplace_back(Status::NotFound("worker " + b.worker_id + " is not registered"));
        continue;
      }
      std::vector<std::string> lost;
      for (const auto& l : b.running) {
        if (!held.contains(l.job_id)) lost.push_back(l.job_id);
      }
      out.emplace_back(std::move(lost));
    }
    return out;
  });
}

Status PgStore::WorkerSetStatus(const std::string& id, WorkerState status) {
  auto r = RunTx<bool>(*pool_, config_, "WorkerSetStatus", [&](pqxx::work& tx) -> Result<bool> {
    auto res = tx.exec_params("UPDATE workers SET status = $2 WHERE id = $1", id,
                              static_cast<int>(status));
    if (res.affected_rows() == 0) return Status::NotFound("worker " + id + " not found");
    return true;
  });
  return r.status();
}

Result<WorkerRecord> PgStore::WorkerGet(const std::string& id) {
  return RunTx<WorkerRecord>(
      *pool_, config_, "WorkerGet", [&](pqxx::work& tx) -> Result<WorkerRecord> {
        auto r = tx.exec_params(
            std::string("SELECT ") + kWorkerCols + " FROM workers WHERE id = $1", id);
        if (r.empty()) return Status::NotFound("worker " + id + " not found");
        return WorkerFromRow(r[0]);
      });
}

Result<std::vector<WorkerRecord>> PgStore::WorkerList() {
  return RunTx<std::vector<WorkerRecord>>(
      *pool_, config_, "WorkerList", [&](pqxx::work& tx) -> Result<std::vector<WorkerRecord>> {
        std::vector<WorkerRecord> out;
        for (const auto& row :
             tx.exec(std::string("SELECT ") + kWorkerCols + " FROM workers ORDER BY id")) {
          out.push_back(WorkerFromRow(row));
        }
        return out;
      });
}

Status PgStore::WorkerDeregister(const std::string& id, double jitter01) {
  auto r = RunTx<bool>(*pool_, config_, "WorkerDeregister", [&](pqxx::work& tx) -> Result<bool> {
    auto res =
        tx.exec_params("UPDATE workers SET status = 2, active_job_count = 0 WHERE id = $1", id);
    if (res.affected_rows() == 0) return Status::NotFound("worker " + id + " not found");
    for (const auto& row : tx.exec_params(
             "SELECT id::text FROM jobs WHERE worker_id = $1 AND status IN (2, 3) FOR UPDATE",
             id)) {
      auto j = LockJob(tx, row[0].as<std::string>());
      if (j) FailLocked(tx, *j, reason::kWorkerLost, "worker deregistered", "", jitter01);
    }
    return true;
  });
  return r.status();
}

Status PgStore::Notify(const std::string& channel, const std::string& payload) {
  auto r = RunTx<bool>(*pool_, config_, "Notify", [&](pqxx::work& tx) -> Result<bool> {
    tx.exec_params("SELECT pg_notify($1, $2)", channel, payload);
    return true;
  });
  return r.status();
}

Status PgStore::Ping() {
  auto r = RunTx<bool>(*pool_, config_, "Ping", [&](pqxx::work& tx) -> Result<bool> {
    tx.exec("SELECT 1");
    return true;
  });
  return r.status();
}

}  // namespace jq::store
