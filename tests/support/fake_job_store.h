// FakeJobStore: an in-memory jq::JobStore for unit tests. It answers every operation as
// store::PgStore does on a freshly migrated database (the "default" queue exists; the same
// statuses and messages, the same job_events rows in the same order), and
// tests/integration/job_store_contract_test.cpp runs one suite against both so it stays so.
// The job rules (lease fencing, retries, backoff, cancels) are not copied: like PgStore, the
// fake asks core/transitions.h and only writes the transitions it returns.
//
// Time comes only from the clock given to the constructor, so a test can let leases,
// backoffs, TTLs and heartbeats run out by moving its clock instead of sleeping. Timestamps
// are kept to the microsecond, as PostgreSQL keeps them.
//
// Thread-safe: one mutex serialises every call, as if each were one transaction at a time.
// The clock is called with that mutex held and must not call back into the store. Nothing
// blocks except on the mutex. Notify is accepted and dropped: there are no listeners.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/job_store.h"
#include "core/tenant_rooms.h"
#include "core/transitions.h"

namespace jq::testing {

class FakeJobStore final : public JobStore {
 public:
  explicit FakeJobStore(std::function<TimePoint()> now = [] {
    return std::chrono::system_clock::now();
  });

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
  Status JobReleaseUndelivered(const LeaseRef& lease) override;
  Result<std::map<std::string, std::int64_t>> TenantInFlight() override;
  Result<std::vector<LeaseRef>> JobListHeldBy(const std::string& worker_id) override;
  Result<JobCompleteResult> JobComplete(const JobCompleteParams& p) override;
  Result<JobReportBatchResult> JobReportMany(const JobReportBatch& batch) override;
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

  // An outage: while unreachable, the calls that keep leases alive or reap them (Reap,
  // RenewAllAfterOutage, JobLeaseRenew, WorkerHeartbeat[Many], Ping) fail UNAVAILABLE.
  void SetReachable(bool reachable);
  // How far the Kafka relay has published (outbox_cursors' lowest last_event_id): what
  // JobDeleteFinished with keep_unpublished compares events with. 0 at start, as after
  // migrating.
  void SetOutboxCursor(std::int64_t last_event_id);

 private:
  // A jobs row: what JobGet shows plus the columns it does not.
  struct Job {
    JobRecord rec;
    std::string traceparent;
    std::optional<TimePoint> expires_at;  // not started by then: TTL_EXPIRED
    std::optional<TimePoint> lease_expires_at;
    bool cancel_requested = false;  // a RUNNING job asked to stop
  };
  // One lease named by a worker's heartbeat: (job id as given, attempt, worker).
  struct HeldLease {
    std::string job_id;
    int attempt = 0;
    std::string worker_id;
  };

  // Every helper below REQUIRES mu_ held.
  TimePoint Now();
  std::string NewJobId(TimePoint now);
  Result<Job*> LockJob(std::string_view op, const std::string& id);
  void AddEvent(const Job& j, JobState from, JobState to, std::string_view why,
                const std::string& worker_id, TimePoint now, const std::string& actor = "");
  std::int64_t InFlight(const std::string& queue) const;
  std::vector<TenantLoad> TenantLoads(const std::string& only) const;
  Result<std::vector<JobInsertResult>> InsertLocked(std::string_view op,
                                                    const std::vector<const JobInsertParams*>& jobs,
                                                    TimePoint now);
  // job_lock's facts: the row, and its queue's backoff (the default when the queue is gone).
  JobFacts Facts(const Job& j) const;
  // ApplyDecision: writes d's steps in order, each as its PgStore statement sets the row, plus
  // one job_events row. Throws std::logic_error for a step SPEC §4 does not allow.
  // REQUIRES: d.refusal is OK.
  void Apply(Job& j, const Decision& d, const std::string& result, TimePoint now,
             const std::string& actor = "");
  void DeadLetter(Job& j, std::optional<std::string> error_message, TimePoint now);
  void WriteOutput(const Job& j, const std::string& worker_id, const JobOutputRecord& o,
                   TimePoint now);
  Status SetRunningLocked(const LeaseRef& lease, TimePoint now);
  Result<JobCompleteResult> CompleteLocked(const JobCompleteParams& p, TimePoint now);
  std::set<std::string> RenewHeld(const std::vector<HeldLease>& leases, std::chrono::seconds lease,
                                  TimePoint now);
  void RenewAll(const std::set<std::string>& worker_ids, std::chrono::seconds lease, TimePoint now);

  const std::function<TimePoint()> now_;
  std::mutex mu_;
  bool reachable_ = true;                                            // GUARDED_BY(mu_)
  std::map<std::string, QueueRecord> queues_;                        // GUARDED_BY(mu_)
  std::map<std::string, Job> jobs_;                                  // GUARDED_BY(mu_), by id
  std::map<std::pair<std::string, std::string>, std::string> idem_;  // GUARDED_BY(mu_)
  std::map<std::string, std::vector<JobEventRecord>> events_;        // GUARDED_BY(mu_)
  std::map<std::pair<std::string, int>, JobOutputRecord> outputs_;   // GUARDED_BY(mu_)
  std::map<std::string, WorkerRecord> workers_;                      // GUARDED_BY(mu_)
  std::map<std::string, JwtRevocationRecord> jwt_revocations_;       // GUARDED_BY(mu_)
  std::vector<ApiKeyRecord> api_keys_;                               // GUARDED_BY(mu_), in order
  std::map<std::string, TenantRecord> tenants_;                      // GUARDED_BY(mu_)
  std::int64_t last_event_id_ = 0;                                   // GUARDED_BY(mu_)
  std::int64_t outbox_cursor_ = 0;                                   // GUARDED_BY(mu_)
  std::uint64_t last_id_ms_ = 0, id_counter_ = 0;                    // GUARDED_BY(mu_)
  std::mt19937_64 rng_{std::random_device{}()};                      // GUARDED_BY(mu_)
};

}  // namespace jq::testing
