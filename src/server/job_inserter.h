// JobInserter: group commit for submits (issue 11). Concurrent SubmitJob calls coalesce into
// one transaction (one multi-row INSERT of jobs and their SUBMITTED events); each call is
// answered after its batch commits. A missing queue or an idempotency conflict affects only
// its own call; a database error fails exactly the calls in that batch (UNAVAILABLE when
// retryable). After a commit the local dispatcher is woken at once and other replicas within
// RemoteWaker's window. Thread-safe.
#pragma once

#include <functional>

#include "core/job_store.h"
#include "server/batcher.h"

namespace jq::server {

class JobInserter {
 public:
  using Done = std::function<void(const Result<JobInsertResult>&)>;

  // on_committed runs after each batch that inserted at least one job.
  JobInserter(JobStore& store, BatcherConfig config, std::function<void()> on_committed);

  void Start() { batcher_.Start(); }
  void Stop() { batcher_.Stop(); }
  // done runs on a flusher thread once the job's batch has committed (or failed). After Stop,
  // done runs at once with UNAVAILABLE.
  void Insert(JobInsertParams params, Done done);

 private:
  struct Item {
    JobInsertParams params;
    Done done;
  };
  void Flush(std::vector<Item>& batch);

  JobStore& store_;
  const std::function<void()> on_committed_;
  Batcher<Item> batcher_;
};

}  // namespace jq::server
