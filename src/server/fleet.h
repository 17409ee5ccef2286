// Fleet: this replica's side of its workers (SPEC §5, §6). It remembers what each worker
// registered with, opens the session of each StreamJobs stream (counting the jobs the worker
// already holds, resending a pending drain or shutdown), takes heartbeats (the worker's liveness in
// the database, metrics, Redis presence and the worker.heartbeat topic, its lease renewals, and
// reconciling its slots with what it says it runs), frees slots as reports land, and
// deregisters. The services call it after they validated a request; it speaks no gRPC.
// Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/job_store.h"
#include "redis/fleet_cache.h"
#include "server/dispatcher.h"
#include "server/job_completer.h"
#include "server/server_metrics.h"

namespace jq::server {

struct FleetConfig {
  std::string server_id;
  // A jq-worker heartbeats this often; slots of jobs it no longer lists are freed after two
  // missed beats and some slack (its report may still be on the way).
  std::chrono::seconds heartbeat_interval{5};
};

class Fleet {
 public:
  struct Registration {
    int concurrency = 1;
    std::vector<std::string> queues;
    bool supports_control = false;
  };
  using PublishHeartbeat = std::function<void(const std::string& worker_id, int active,
                                              const std::vector<std::string>& running)>;
  using HeartbeatDone = JobCompleter::HeartbeatDone;

  // presence and publish may be null/empty (Redis, Kafka not configured).
  Fleet(JobStore& store, Dispatcher& dispatcher, JobCompleter& completer, ServerMetrics& metrics,
        redis::WorkerPresence* presence, PublishHeartbeat publish, FleetConfig config,
        const Clock& clock = SystemClock());

  Status Register(const WorkerUpsertParams& p, Registration reg);
  // The session for a new stream of a registered worker (NOT_FOUND otherwise). queues: the
  // stream's own list; empty takes the registration's.
  // tenant: only its jobs are claimed for the session (a tenant's worker key); "" = all.
  Result<std::shared_ptr<WorkerSession>> OpenSession(const std::string& worker_id,
                                                     std::vector<std::string> queues,
                                                     const std::string& tenant = "");
  // done gets the job ids of beat.running the worker no longer holds, after the batch commits.
  // A worker that names no jobs and never said it supports control is a seed worker: all its
  // leases are renewed.
  void Heartbeat(WorkerHeartbeatParams beat, HeartbeatDone done);
  // After a report was written (or refused): metrics, and the worker's slot is free again.
  void Reported(const std::string& worker_id, const std::string& job_id, bool success,
                const Result<JobCompleteResult>& r);
  Status Deregister(const std::string& worker_id, double jitter01);

 private:
  JobStore& store_;
  Dispatcher& dispatcher_;
  JobCompleter& completer_;
  ServerMetrics& metrics_;
  redis::WorkerPresence* const presence_;
  const PublishHeartbeat publish_;
  const FleetConfig config_;
  const Clock& clock_;  // the sessions' (slot ages for reconcile)
  std::mutex mu_;
  std::map<std::string, Registration> registered_;  // GUARDED_BY(mu_); this replica only
};

}  // namespace jq::server
