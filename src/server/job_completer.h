// JobCompleter: group commit for what workers report (River's BatchCompleter). Starts,
// results and heartbeats from every worker go to one batcher; a flush writes its reports in
// one transaction (JobStore::JobReportMany: one statement for the common start, one for the
// common success, the single-report path for the rest) and its heartbeats in another
// (JobStore::WorkerHeartbeatMany), and each call is answered after its batch commits.
// Fencing by lease token (attempt) is the store's, per report. Thread-safe.
#pragma once

#include <functional>
#include <variant>

#include "core/job_store.h"
#include "server/batcher.h"

namespace jq::server {

class JobCompleter {
 public:
  using StartedDone = std::function<void(const Status&)>;
  using ResultDone = std::function<void(const Result<JobCompleteResult>&)>;
  // The job ids the worker no longer holds.
  using HeartbeatDone = std::function<void(const Result<std::vector<std::string>>&)>;

  // lease: how long a heartbeat extends the leases it renews.
  JobCompleter(JobStore& store, BatcherConfig config, std::chrono::seconds lease);

  void Start() { batcher_.Start(); }
  void Stop() { batcher_.Stop(); }
  // The callbacks run on a flusher thread after the batch commits (or fails); after Stop they
  // run at once with UNAVAILABLE.
  void Started(LeaseRef lease, StartedDone done);
  void Completed(JobCompleteParams params, ResultDone done);
  void Heartbeat(WorkerHeartbeatParams params, HeartbeatDone done);

 private:
  struct StartedItem {
    LeaseRef lease;
    StartedDone done;
  };
  struct ResultItem {
    JobCompleteParams params;
    ResultDone done;
  };
  struct HeartbeatItem {
    WorkerHeartbeatParams params;
    HeartbeatDone done;
  };
  using Item = std::variant<StartedItem, ResultItem, HeartbeatItem>;
  void Flush(std::vector<Item>& batch);
  void FlushHeartbeats(std::vector<HeartbeatItem*>& beats);

  JobStore& store_;
  const std::chrono::seconds lease_;
  Batcher<Item> batcher_;
};

}  // namespace jq::server
