// JobStore: the port through which everything reaches durable state (SPEC §3–§6).
// jq_store implements it on PostgreSQL; it is the only place with SQL. Every operation is
// one transaction; every transition checks the expected state (and lease token) and writes
// its job_events row in that transaction. Implementations are thread-safe; calls block on I/O.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "core/tenant_rooms.h"

namespace jq {

struct JobInsertParams {
  std::string tenant = "default";
  std::string queue;
  std::string payload;
  int priority = 0;
  std::optional<int> max_retries;      // unset: the queue's
  std::optional<int> ttl_seconds;      // unset: the queue's (0 = no TTL)
  std::optional<int> timeout_seconds;  // unset: the queue's (0 = none)
  std::int64_t delay_ms = 0;
  std::optional<TimePoint> run_at;  // overrides delay_ms
  std::string idempotency_key;      // empty: none
  std::string traceparent;          // W3C trace context of the submit; empty: none
};

struct JobInsertResult {
  std::string job_id;
  bool duplicate = false;  // an existing job with the same (tenant, idempotency_key)
};

struct JobListParams {
  std::string tenant;                        // empty: all tenants (admin)
  std::string queue;                         // empty: all
  JobState status = JobState::kUnspecified;  // kUnspecified: all
  int limit = 20;
  std::optional<std::int64_t> after_created_us;  // keyset cursor: rows after (created, id)
  std::string after_id;
};

struct JobListResult {
  std::vector<JobRecord> jobs;
  bool more = false;
};

struct JobClaimParams {
  std::string worker_id;
  std::vector<std::string> queues;  // empty: all queues
  int limit = 1;
  std::chrono::seconds lease{30};
  std::string tenant;  // only this tenant's jobs (a tenant's worker key); empty: every tenant
};

// Identifies a lease: the worker holding it and the attempt it was granted for.
struct LeaseRef {
  std::string job_id;
  std::string worker_id;
  int attempt = 0;  // 0: whatever attempt this worker currently holds (seed workers)
};

struct JobCompleteParams {
  LeaseRef lease;
  bool success = false;
  std::string result;
  std::string error_message;
  std::string reason;  // failure reason, FAILED_EXIT_CODE when empty
  std::optional<JobOutputRecord> output;
  double jitter01 = 0;  // for the retry backoff
};

struct JobCompleteResult {
  JobState final_status = JobState::kUnspecified;  // DONE, PENDING (retry) or DEAD_LETTERED
  std::string queue;
  double run_seconds = 0;  // started_at to now
};

// One dispatch cycle's claim for many workers that take from the same queues: one entry per
// free slot, in the order slots should be filled (round-robin over the workers for fairness).
struct JobClaimManyParams {
  std::vector<std::string> slot_worker_ids;
  std::vector<std::string> queues;  // empty: all queues
  std::chrono::seconds lease{30};
  std::string tenant;  // only this tenant's jobs; empty: every tenant
  // Per-tenant running limits (SPEC §6), on when any tenant has one: the claim then counts each
  // tenant's jobs ASSIGNED or RUNNING, on every replica, and takes no more than its room.
  TenantRunningLimits tenant_limits;
};

// Reports from workers, written together (group commit). Starts are applied before results.
struct JobReportBatch {
  std::vector<LeaseRef> started;
  std::vector<JobCompleteParams> results;
};

struct JobReportBatchResult {
  std::vector<Status> started;                     // one per JobReportBatch::started
  std::vector<Result<JobCompleteResult>> results;  // one per JobReportBatch::results
};

// One worker's heartbeat: its liveness, and the leases it says it still holds.
struct WorkerHeartbeatParams {
  std::string worker_id;
  int active_job_count = 0;
  std::vector<LeaseRef> running;  // jq workers: the leases to renew
  bool renew_all = false;         // seed workers name no jobs: renew every lease they hold
};

struct WorkerUpsertParams {
  std::string id;
  std::string hostname;
  int concurrency = 1;
  std::vector<std::string> queues;
  std::string server_id;
  // jq-worker: takes control messages and lists its jobs. A seed worker (false) does neither
  // and registers once per process, so its registration ends what its id held before.
  bool supports_control = true;
};

struct ReapResult {
  int lease_expired = 0;
  int ttl_expired = 0;
  int workers_offline = 0;
  int worker_jobs_reclaimed = 0;
  std::map<std::string, int> lease_expired_by_queue;
};

// Retention (SPEC §11): one batch of finished jobs to delete, oldest first.
struct JobDeleteFinishedParams {
  JobState status = JobState::kDone;   // kDone or kDeadLettered (the final states)
  std::chrono::seconds older_than{0};  // jobs completed before now - older_than
  int limit = 1000;
  // A relay publishes job_events to Kafka: a job stays, events and all, while any of its
  // events is above an outbox cursor (not yet published). false: no relay; the events go.
  bool keep_unpublished = true;
  // Keyset of a run's earlier batch: only jobs after (completed_at, id). Unset: the oldest.
  std::optional<TimePoint> after_completed_at;
  std::string after_id;
};

struct JobDeleteFinishedResult {
  int examined = 0;  // candidates locked and looked at; fewer than limit: none left
  int jobs = 0;      // rows deleted from each table
  int outputs = 0;
  int events = 0;
  int held_back = 0;  // examined but kept: events not yet published
  bool busy = false;  // another replica was deleting a batch: nothing done
  // The last candidate examined: the keyset for the run's next batch (unset: none examined).
  std::optional<TimePoint> last_completed_at;
  std::string last_id;
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Queues.
  virtual Result<QueueRecord> QueueCreate(const QueueRecord& q) = 0;
  virtual Result<QueueRecord> QueueGet(const std::string& name) = 0;
  virtual Result<std::vector<QueueRecord>> QueueList() = 0;
  // Refused (FAILED_PRECONDITION) while unfinished jobs exist unless force, which
  // dead-letters them first. The default queue cannot be deleted.
  // actor: who asked (docs/security.md), recorded on the dead-lettered jobs' events.
  virtual Status QueueDelete(const std::string& name, bool force,
                             const std::string& actor = "") = 0;
  virtual Status QueueSetPaused(const std::string& name, bool paused) = 0;
  virtual Result<QueueStatsRecord> QueueStats(const std::string& name) = 0;
  // Depth by status of every queue, for the metrics poller, in one statement. Unfinished
  // states are counted exactly through the partial indexes (their size is the backlog, not
  // the history); DONE and DEAD_LETTERED only with include_finished, which reads every row.
  virtual Result<std::vector<QueueStatsRecord>> QueueDepths(bool include_finished) = 0;

  // Jobs.
  // All or nothing: a missing queue fails the whole batch with NOT_FOUND.
  virtual Result<std::vector<JobInsertResult>> JobInsertMany(
      const std::vector<JobInsertParams>& jobs) = 0;
  // Group commit: independent submits in one transaction, each with its own result. A missing
  // queue fails only its own items (NOT_FOUND); an idempotency conflict returns the first job.
  // A database error fails the whole call (UNAVAILABLE when retryable), and nothing commits.
  virtual Result<std::vector<Result<JobInsertResult>>> JobInsertEach(
      const std::vector<JobInsertParams>& jobs) = 0;
  virtual Result<JobRecord> JobGet(const std::string& id, const std::string& tenant) = 0;
  virtual Result<JobListResult> JobList(const JobListParams& p) = 0;
  virtual Result<std::vector<JobEventRecord>> JobEventList(const std::string& job_id,
                                                           std::int64_t after_event_id) = 0;
  // JobEventList for many jobs in one query (WatchJob's fan-out): the events of each job
  // after its own cursor, in id order. cursors: (job id, after event id), ids canonical.
  virtual Result<std::vector<JobEventRecord>> JobEventListMany(
      const std::vector<std::pair<std::string, std::int64_t>>& cursors) = 0;
  virtual Result<std::vector<JobOutputRecord>> JobOutputList(const std::string& job_id) = 0;

  // One statement: PENDING -> ASSIGNED for up to limit jobs, priority then FIFO, skipping
  // paused queues, locked rows and queues at their concurrency limit.
  virtual Result<std::vector<ClaimedJob>> JobClaimAvailable(const JobClaimParams& p) = 0;
  // JobClaimAvailable for many workers in one statement: slot i of the claim order goes to
  // slot_worker_ids[i] (each job ASSIGNED under its own lease). Returns fewer jobs than slots
  // when fewer are available; each ClaimedJob names its worker.
  virtual Result<std::vector<ClaimedJob>> JobClaimMany(const JobClaimManyParams& p) = 0;
  // ASSIGNED -> RUNNING if the lease is current.
  virtual Status JobSetRunning(const LeaseRef& lease) = 0;
  // An assignment that never reached its worker (its stream closed first): ASSIGNED ->
  // FAILED (UNDELIVERED) -> PENDING at once, without using a retry. Lease-checked.
  virtual Status JobReleaseUndelivered(const LeaseRef& lease) = 0;
  // Jobs ASSIGNED or RUNNING per tenant.
  virtual Result<std::map<std::string, std::int64_t>> TenantInFlight() = 0;
  // The leases a worker holds (ASSIGNED or RUNNING jobs), e.g. to count its busy slots.
  virtual Result<std::vector<LeaseRef>> JobListHeldBy(const std::string& worker_id) = 0;
  // RUNNING (or ASSIGNED) -> DONE, or -> FAILED -> PENDING / DEAD_LETTERED.
  virtual Result<JobCompleteResult> JobComplete(const JobCompleteParams& p) = 0;
  // JobSetRunning and JobComplete for many reports in one transaction: one statement for the
  // common case of each (start, success), the per-report path for the rest. Each item gets the
  // status its single call would have returned; a database error fails the whole call.
  virtual Result<JobReportBatchResult> JobReportMany(const JobReportBatch& batch) = 0;
  // Renews the leases a worker still holds; returns the job ids it no longer holds.
  // A seed worker's heartbeat names no jobs: pass renew_all to renew every lease it holds.
  virtual Result<std::vector<std::string>> JobLeaseRenew(const std::string& worker_id,
                                                         const std::vector<LeaseRef>& running,
                                                         std::chrono::seconds lease,
                                                         bool renew_all = false) = 0;
  // PENDING/ASSIGNED -> DEAD_LETTERED at once. RUNNING: returns the job with status RUNNING
  // and leaves it; the caller tells the worker, which reports CANCELLED.
  // A RUNNING job whose worker takes no control messages (a seed worker) cannot be stopped:
  // FAILED_PRECONDITION, and nothing changes.
  // tenant "" = any; a job of another tenant is NOT_FOUND. actor is recorded on the events.
  virtual Result<JobRecord> JobCancel(const std::string& id, const std::string& tenant,
                                      const std::string& actor = "") = 0;
  // FAILED/DEAD_LETTERED -> PENDING, retry count reset. tenant and actor as for JobCancel.
  virtual Result<JobRecord> JobRetry(const std::string& id, const std::string& tenant,
                                     const std::string& actor = "") = 0;

  // Maintenance: expired leases, TTLs, silent workers. jitter01 feeds the retry backoff.
  virtual Result<ReapResult> Reap(std::chrono::seconds worker_timeout, double jitter01) = 0;
  // Retention: deletes up to limit jobs in p.status that completed more than older_than ago,
  // oldest first, with their outputs and events, in one short transaction that waits for no
  // row lock (a job another transaction holds, e.g. a RetryJob, is skipped: a later run takes
  // it). One batch at a time across replicas: a batch that finds another replica's running
  // returns busy. A deleted job's idempotency key goes with it, so a resubmission with that
  // key afterwards creates a new job. INVALID_ARGUMENT for a status that is not final, a
  // negative age or a limit below 1.
  virtual Result<JobDeleteFinishedResult> JobDeleteFinished(const JobDeleteFinishedParams& p) = 0;
  // After the store was unreachable: every lease held gets `lease` from now and every live
  // worker counts as heard from now, so nothing is reaped for the time in which nobody could
  // renew (a healthy worker renews within the new term). Returns how many leases it renewed.
  virtual Result<int> RenewAllAfterOutage(std::chrono::seconds lease) = 0;

  // Workers.
  virtual Status WorkerUpsert(const WorkerUpsertParams& p) = 0;
  virtual Status WorkerHeartbeat(const std::string& id, int active_job_count) = 0;
  // WorkerHeartbeat + JobLeaseRenew for many workers in one transaction. Per heartbeat: the
  // job ids of `running` its worker no longer holds, or NOT_FOUND for an unknown worker.
  virtual Result<std::vector<Result<std::vector<std::string>>>> WorkerHeartbeatMany(
      const std::vector<WorkerHeartbeatParams>& beats, std::chrono::seconds lease) = 0;
  virtual Status WorkerSetStatus(const std::string& id, WorkerState status) = 0;
  // Drain (true) or resume (false). A drain outlives the worker's heartbeats, reconnects,
  // restarts and absences: a live drained worker is DRAINING (an OFFLINE one stays OFFLINE
  // until it is back), and it is registered again as DRAINING. Resume makes a DRAINING
  // worker ONLINE unless a shutdown is pending. NOT_FOUND for an unknown worker.
  virtual Status WorkerSetDrained(const std::string& id, bool drained) = 0;
  // Records a shutdown request (kNow wins over kGraceful) and shows the worker DRAINING.
  // FAILED_PRECONDITION if it is OFFLINE, NOT_FOUND if unknown. The request lapses when the
  // worker deregisters, or registers again after it was OFFLINE (it went away first).
  virtual Status WorkerRequestShutdown(const std::string& id, bool now) = 0;
  virtual Result<WorkerRecord> WorkerGet(const std::string& id) = 0;
  virtual Result<std::vector<WorkerRecord>> WorkerList() = 0;
  // Deregister: OFFLINE now (a drain stays recorded); its unfinished jobs go through FAILED
  // to retry: WORKER_LOST, or WORKER_SHUTDOWN without using a retry when a shutdown was
  // requested (the operator stopped them, not the job).
  virtual Status WorkerDeregister(const std::string& id, double jitter01) = 0;
  // Deletes the rows of workers OFFLINE (unheard of) for longer than `offline_for` that hold
  // no job, so a fleet that churns through worker ids (pods) does not grow the table forever.
  virtual Result<int> WorkerPrune(std::chrono::seconds offline_for) = 0;

  // API keys (SPEC §11). Insert: ALREADY_EXISTS for a taken id.
  virtual Status ApiKeyInsert(const ApiKeyRecord& key) = 0;
  // Every key, revoked ones included, oldest first; tenant "" = all tenants.
  virtual Result<std::vector<ApiKeyRecord>> ApiKeyList(const std::string& tenant) = 0;
  // Revoked from now on (a second revoke keeps the first time); NOT_FOUND for an unknown id.
  virtual Result<ApiKeyRecord> ApiKeyRevoke(const std::string& id) = 0;
  // last_used_at = now for these keys (unknown ids are ignored).
  virtual Status ApiKeyTouch(const std::vector<std::string>& ids) = 0;
  // Refuses the subject's JWTs issued until now (a second revocation moves the time on).
  virtual Result<JwtRevocationRecord> JwtRevoke(const std::string& subject,
                                                const std::string& actor) = 0;
  virtual Result<std::vector<JwtRevocationRecord>> JwtRevocationList() = 0;  // by subject

  // Tenants' limits (SPEC §6). Create: ALREADY_EXISTS if it exists. Update: sets the limits
  // given (an unset field stays as it is) and clears the reset ones; NOT_FOUND for an unknown
  // tenant.
  virtual Result<TenantRecord> TenantCreate(const TenantRecord& tenant) = 0;
  virtual Result<TenantRecord> TenantUpdate(const TenantUpdateParams& p) = 0;
  virtual Result<std::vector<TenantRecord>> TenantList() = 0;

  // Signals every replica listening on channel (PostgreSQL NOTIFY); delivered after commit.
  virtual Status Notify(const std::string& channel, const std::string& payload) = 0;

  // Health.
  virtual Status Ping() = 0;
};

}  // namespace jq
