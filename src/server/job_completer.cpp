#include "server/job_completer.h"

namespace jq::server {
namespace {

Status ShuttingDown() {
  return Status::Unavailable("server shutting down; report again to another replica");
}

}  // namespace

JobCompleter::JobCompleter(JobStore& store, BatcherConfig config, std::chrono::seconds lease)
    : store_(store),
      lease_(lease),
      batcher_(config, [this](std::vector<Item>& batch) { Flush(batch); }) {}

void JobCompleter::Started(LeaseRef lease, StartedDone done) {
  StartedDone keep = done;
  if (!batcher_.Add(StartedItem{std::move(lease), std::move(done)})) keep(ShuttingDown());
}

void JobCompleter::Completed(JobCompleteParams params, ResultDone done) {
  ResultDone keep = done;
  if (!batcher_.Add(ResultItem{std::move(params), std::move(done)})) keep(ShuttingDown());
}

void JobCompleter::Heartbeat(WorkerHeartbeatParams params, HeartbeatDone done) {
  HeartbeatDone keep = done;
  if (!batcher_.Add(HeartbeatItem{std::move(params), std::move(done)})) keep(ShuttingDown());
}

void JobCompleter::FlushHeartbeats(std::vector<HeartbeatItem*>& beats) {
  std::vector<WorkerHeartbeatParams> params;
  params.reserve(beats.size());
  for (auto* b : beats) params.push_back(std::move(b->params));
  auto out = store_.WorkerHeartbeatMany(params, lease_);
  for (std::size_t i = 0; i < beats.size(); ++i) {
    if (out.ok()) {
      beats[i]->done((*out)[i]);
    } else {
      beats[i]->done(out.status());
    }
  }
}

void JobCompleter::Flush(std::vector<Item>& batch) {
  JobReportBatch reports;
  std::vector<StartedDone*> started_done;
  std::vector<ResultDone*> result_done;
  std::vector<HeartbeatItem*> beats;
  for (auto& item : batch) {
    if (auto* h = std::get_if<HeartbeatItem>(&item)) {
      beats.push_back(h);
    } else if (auto* s = std::get_if<StartedItem>(&item)) {
      reports.started.push_back(std::move(s->lease));
      started_done.push_back(&s->done);
    } else {
      auto& r = std::get<ResultItem>(item);
      reports.results.push_back(std::move(r.params));
      result_done.push_back(&r.done);
    }
  }
  if (!beats.empty()) FlushHeartbeats(beats);
  if (started_done.empty() && result_done.empty()) return;
  auto out = store_.JobReportMany(reports);
  for (std::size_t i = 0; i < started_done.size(); ++i) {
    (*started_done[i])(out.ok() ? out->started[i] : out.status());
  }
  for (std::size_t i = 0; i < result_done.size(); ++i) {
    if (out.ok()) {
      (*result_done[i])(out->results[i]);
    } else {
      (*result_done[i])(out.status());
    }
  }
}

}  // namespace jq::server
