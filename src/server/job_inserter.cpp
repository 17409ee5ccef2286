#include "server/job_inserter.h"

namespace jq::server {

JobInserter::JobInserter(JobStore& store, BatcherConfig config, std::function<void()> on_committed)
    : store_(store),
      on_committed_(std::move(on_committed)),
      batcher_(config, [this](std::vector<Item>& batch) { Flush(batch); }) {}

void JobInserter::Insert(JobInsertParams params, Done done) {
  // The batcher keeps the item only when it accepts it; keep the callback to answer a refusal.
  Done keep = done;
  if (!batcher_.Add({std::move(params), std::move(done)})) {
    keep(Status::Unavailable("server shutting down; retry on another replica"));
  }
}

void JobInserter::Flush(std::vector<Item>& batch) {
  std::vector<JobInsertParams> params;
  params.reserve(batch.size());
  for (auto& item : batch) params.push_back(std::move(item.params));
  auto results = store_.JobInsertEach(params);
  bool inserted = false;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!results.ok()) {
      batch[i].done(results.status());
      continue;
    }
    const auto& r = (*results)[i];
    inserted = inserted || (r.ok() && !r->duplicate);
    batch[i].done(r);
  }
  if (inserted && on_committed_) on_committed_();
}

}  // namespace jq::server
