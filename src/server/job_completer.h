// JobCompleter: group commit for worker reports (River's BatchCompleter). Starts and results
// from every worker go to one batcher; each flush is one transaction (JobStore::JobReportMany:
// one statement for the common start, one for the common success, the single-report path
// for the rest) and each report is answered after its batch commits. Fencing by lease token
// (attempt) is the store's, per report. Thread-safe.
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

  JobCompleter(JobStore& store, BatcherConfig config);

  void Start() { batcher_.Start(); }
  void Stop() { batcher_.Stop(); }
  // The callbacks run on a flusher thread after the batch commits (or fails); after Stop they
  // run at once with UNAVAILABLE.
  void Started(LeaseRef lease, StartedDone done);
  void Completed(JobCompleteParams params, ResultDone done);

 private:
  struct StartedItem {
    LeaseRef lease;
    StartedDone done;
  };
  struct ResultItem {
    JobCompleteParams params;
    ResultDone done;
  };
  using Item = std::variant<StartedItem, ResultItem>;
  void Flush(std::vector<Item>& batch);

  JobStore& store_;
  Batcher<Item> batcher_;
};

}  // namespace jq::server
