// PgStore: the PostgreSQL implementation of jq::JobStore (see core/job_store.h for the
// contract). Thread-safe; each call borrows a pooled connection and runs one transaction.
// libpqxx exceptions never escape: they become a Status (UNAVAILABLE when retryable).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/job_store.h"

namespace jq::store {

class ConnectionPool;

struct PgStoreConfig {
  std::string conninfo;
  int pool_size = 8;
  std::chrono::milliseconds acquire_timeout{5000};
  // Called after every operation with its name and duration (for metrics); may be empty.
  std::function<void(std::string_view operation, double seconds)> on_query;
  // Called before an operation is run again: reason is "deadlock", "serialization" or
  // "connection" (for metrics: a steady rate of deadlocks means two paths lock rows in
  // different orders). May be empty.
  std::function<void(std::string_view operation, std::string_view reason)> on_retry;
};

class PgStore final : public JobStore {
 public:
  explicit PgStore(PgStoreConfig config);
  ~PgStore() override;

  Result<QueueRecord> QueueCreate(const QueueRecord& q) override;
  Result<QueueRecord> QueueGet(const std::string& name) override;
  Result<std::vector<QueueRecord>> QueueList() override;
  Status QueueDelete(const std::string& name, bool force, const std::string& actor = "") override;
  Status QueueSetPaused(const std::string& name, bool paused) override;
  Result<QueueStatsRecord> QueueStats(const std::string& name) override;
  Result<std::vector<QueueStatsRecord>> QueueDepths(bool include_finished) override;

  Result<std::vector<JobInsertResult>> JobInsertMany(
      const std::vector<JobInsertParams>& jobs) override;
  Result<std::vector<Result<JobInsertResult>>> JobInsertEach(
      const std::vector<JobInsertParams>& jobs) override;
  Result<JobRecord> JobGet(const std::string& id, const std::string& tenant) override;
  Result<JobListResult> JobList(const JobListParams& p) override;
  Result<std::vector<JobEventRecord>> JobEventList(const std::string& job_id,
                                                   std::int64_t after_event_id) override;
  Result<std::vector<JobEventRecord>> JobEventListMany(
      const std::vector<std::pair<std::string, std::int64_t>>& cursors) override;
  Result<std::vector<JobOutputRecord>> JobOutputList(const std::string& job_id) override;

  Result<std::vector<ClaimedJob>> JobClaimAvailable(const JobClaimParams& p) override;
  Result<std::vector<ClaimedJob>> JobClaimMany(const JobClaimManyParams& p) override;
  Status JobSetRunning(const LeaseRef& lease) override;
  Result<JobReportBatchResult> JobReportMany(const JobReportBatch& batch) override;
  Status JobReleaseUndelivered(const LeaseRef& lease) override;
  Result<std::vector<LeaseRef>> JobListHeldBy(const std::string& worker_id) override;
  Result<std::map<std::string, std::int64_t>> TenantInFlight() override;
  Result<JobCompleteResult> JobComplete(const JobCompleteParams& p) override;
  Result<std::vector<std::string>> JobLeaseRenew(const std::string& worker_id,
                                                 const std::vector<LeaseRef>& running,
                                                 std::chrono::seconds lease,
                                                 bool renew_all = false) override;
  Result<JobRecord> JobCancel(const std::string& id, const std::string& tenant,
                              const std::string& actor = "") override;
  Result<JobRecord> JobRetry(const std::string& id, const std::string& tenant,
                             const std::string& actor = "") override;
  Result<ReapResult> Reap(std::chrono::seconds worker_timeout, double jitter01) override;
  Result<int> RenewAllAfterOutage(std::chrono::seconds lease) override;
  Result<JobDeleteFinishedResult> JobDeleteFinished(const JobDeleteFinishedParams& p) override;

  Status WorkerUpsert(const WorkerUpsertParams& p) override;
  Status WorkerHeartbeat(const std::string& id, int active_job_count) override;
  Result<std::vector<Result<std::vector<std::string>>>> WorkerHeartbeatMany(
      const std::vector<WorkerHeartbeatParams>& beats, std::chrono::seconds lease) override;
  Status WorkerSetStatus(const std::string& id, WorkerState status) override;
  Status WorkerSetDrained(const std::string& id, bool drained) override;
  Status WorkerRequestShutdown(const std::string& id, bool now) override;
  Result<WorkerRecord> WorkerGet(const std::string& id) override;
  Result<std::vector<WorkerRecord>> WorkerList() override;
  Status WorkerDeregister(const std::string& id, double jitter01) override;
  Result<int> WorkerPrune(std::chrono::seconds offline_for) override;

  Status ApiKeyInsert(const ApiKeyRecord& key) override;
  Result<std::vector<ApiKeyRecord>> ApiKeyList(const std::string& tenant) override;
  Result<ApiKeyRecord> ApiKeyRevoke(const std::string& id) override;
  Status ApiKeyTouch(const std::vector<std::string>& ids) override;
  Result<JwtRevocationRecord> JwtRevoke(const std::string& subject,
                                        const std::string& actor) override;
  Result<std::vector<JwtRevocationRecord>> JwtRevocationList() override;
  Result<TenantRecord> TenantCreate(const TenantRecord& tenant) override;
  Result<TenantRecord> TenantUpdate(const TenantUpdateParams& p) override;
  Result<std::vector<TenantRecord>> TenantList() override;

  Status Notify(const std::string& channel, const std::string& payload) override;
  Status Ping() override;

 private:
  PgStoreConfig config_;
  std::unique_ptr<ConnectionPool> pool_;
};

// The planner settings every claim transaction runs with (plan tests use them too):
// - force_custom_plan: the generic plan cannot know the LIMIT or the queue, and scanned every
//   ready row of the queue plus a sort (58 ms instead of 3 ms for 100 jobs of a 20k backlog);
//   planning for the parameters costs ~0.4 ms.
// - enable_bitmapscan off: until jobs has column statistics (a new install, before autovacuum
//   first analyzes it, up to autovacuum_naptime later) `status = PENDING AND queue = $q` is
//   estimated at ~1 row, and a bitmap scan plus a sort of the whole backlog (under LockRows,
//   so not a top-N sort: 200 ms for 100k ready jobs) beat the ordered index walk by 1%. No
//   claim plan needs a bitmap scan, so once statistics exist this changes nothing.
inline constexpr const char* kClaimPlanSettings =
    "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL enable_bitmapscan = off";

// The claim statement (for plan tests): one_queue selects the single-queue variant.
// Parameters: $1 text[] worker id per slot, $2 text[] queues, $3 int lease seconds, $4 text
// tenant ('' = every tenant), $5..$8 the tenants' rooms (TenantRooms: $5 text[] capped, $6
// text[] and $7 int[] names and rooms, $8 int unlisted room; '{}', '{}', '{}', -1 = none).
std::string JobClaimSql(bool one_queue);

// The transaction advisory lock a retention batch takes (pg_try_advisory_xact_lock), so that
// one replica's batch runs at a time; exposed for tests.
inline constexpr std::int64_t kRetentionLockKey = 0x6a71'7265'746e;  // "jqretn"

// The NOTIFY channel a commit that makes jobs runnable signals (payload: the queue name).
inline constexpr const char* kJobsChannel = "jq_jobs";
// Worker control messages between replicas: "cancel <job> <worker>", "drain <worker>", ...
inline constexpr const char* kControlChannel = "jq_control";

}  // namespace jq::store
