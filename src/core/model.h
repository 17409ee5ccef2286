// Records that cross the store boundary. Plain data; times are system_clock points.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/job_state.h"

namespace jq {

using TimePoint = std::chrono::system_clock::time_point;

enum class WorkerState : int { kUnspecified = 0, kOnline = 1, kOffline = 2, kDraining = 3 };

// An operator's shutdown request that the worker has not yet carried out (workers table).
enum class ShutdownRequest : int { kNone = 0, kGraceful = 1, kNow = 2 };

struct JobRecord {
  std::string id;
  std::string tenant;
  std::string queue;
  std::string payload;  // opaque bytes
  int priority = 0;
  JobState status = JobState::kUnspecified;
  int max_retries = 0;
  int retry_count = 0;
  int attempt = 0;
  int ttl_seconds = 0;
  int timeout_seconds = 0;
  TimePoint not_before;
  TimePoint created_at;
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> completed_at;
  TimePoint updated_at;
  std::string idempotency_key;
  std::string worker_id;
  std::string result;
  std::string error_message;
};

struct QueueRecord {
  std::string name;
  int max_retries = 3;
  int ttl_seconds = 0;
  int timeout_seconds = 0;
  int backoff_base_ms = 5000;
  int backoff_max_ms = 300000;
  int concurrency_limit = 0;
  bool paused = false;
  TimePoint created_at;
};

struct QueueStatsRecord {
  std::string queue;
  std::int64_t pending = 0, assigned = 0, running = 0, failed = 0, done = 0, dead_lettered = 0;
  std::int64_t total_processed = 0;  // DONE + DEAD_LETTERED
  double avg_duration_ms = 0;        // started -> completed, DONE jobs
  double error_rate = 0;             // DEAD_LETTERED / processed
  double oldest_pending_age_seconds = 0;
  bool paused = false;
};

struct WorkerRecord {
  std::string id;
  std::string hostname;
  WorkerState status = WorkerState::kOnline;
  int concurrency = 1;
  std::vector<std::string> queues;
  int active_job_count = 0;
  std::string server_id;
  TimePoint last_heartbeat;
  bool supports_control = false;  // a jq-worker; false for a seed-protocol worker
  // Operator requests, kept in the row so that every replica sees them. A live worker that
  // has either is shown DRAINING.
  bool drained = false;  // until WorkerSetDrained(false), whatever the worker does
  ShutdownRequest shutdown = ShutdownRequest::kNone;  // until it deregisters
};

struct JobEventRecord {
  std::int64_t id = 0;
  std::string job_id;
  std::string tenant;
  std::string queue;
  JobState from_status = JobState::kUnspecified;  // kUnspecified for the submission
  JobState to_status = JobState::kUnspecified;
  std::string reason;
  std::string worker_id;
  int attempt = 0;
  TimePoint occurred_at;
  std::string actor;  // who asked for it (API key id, "jwt:<sub>", "bootstrap"); "" = the system
};

struct JobOutputRecord {
  std::string job_id;
  int attempt = 0;
  std::string worker_id;
  int exit_code = 0;
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  TimePoint recorded_at;
};

// A job handed to a worker: the lease token is `attempt`.
struct ClaimedJob {
  std::string id;
  std::string tenant;
  std::string queue;
  std::string payload;
  int priority = 0;
  int attempt = 0;
  int timeout_seconds = 0;
  TimePoint created_at;
  TimePoint not_before;  // when it became runnable: submit-to-start is measured from here
  std::string traceparent;
  std::string worker_id;  // the lease owner
};

// An API key's row (SPEC §11). The secret itself is never stored: only its SHA-256.
struct ApiKeyRecord {
  std::string id;  // 16 hex digits, the middle of the key "jq_<id>_<secret>"
  std::string tenant;
  std::string role;           // admin, producer, worker or fleet
  std::string secret_sha256;  // 32 raw bytes
  std::string description;
  TimePoint created_at;
  std::optional<TimePoint> last_used_at;
  std::optional<TimePoint> revoked_at;
};

// Every JWT of `subject` (the actor "jwt:<sub>") issued at or before revoked_at is refused
// (docs/security.md, "JWT"): JWTs are not stored, so they are revoked by who and when.
struct JwtRevocationRecord {
  std::string subject;
  TimePoint revoked_at;
  std::string revoked_by;  // the actor who revoked it
};

// A tenant's limits (SPEC §6); an unset limit takes the configuration's default.
struct TenantRecord {
  std::string name;
  std::optional<int> max_running_jobs;  // jobs ASSIGNED or RUNNING at once; 0 = unlimited
  std::optional<int> submit_rate;       // submits per second; 0 = unlimited
  std::optional<int> submit_burst;
  TimePoint created_at;
};

// JobStore::TenantUpdate: set the limits `set` gives; a reset one goes back to the
// configuration's default (NULL). A limit both set and reset is the caller's error.
struct TenantUpdateParams {
  TenantRecord set;
  bool reset_max_running_jobs = false;
  bool reset_submit_rate = false;
  bool reset_submit_burst = false;
};

}  // namespace jq
