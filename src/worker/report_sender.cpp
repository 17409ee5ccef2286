#include "worker/report_sender.h"

#include <spdlog/spdlog.h>

namespace jq::worker {
namespace {

// Reports carry output tails (up to 1 MiB each by default): keep one call's request well
// under the server's receive limit.
constexpr std::size_t kMaxBatchBytes = 4u << 20;
constexpr std::size_t kMaxBatchItems = 1000;
constexpr auto kCallTimeout = std::chrono::seconds(10);

}  // namespace

ReportSender::ReportSender(std::string worker_id, StubFn stub)
    : worker_id_(std::move(worker_id)), stub_(std::move(stub)) {
  thread_ = std::thread([this] { Run(); });
}

ReportSender::~ReportSender() {
  Stop();
}

void ReportSender::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

grpc::Status ReportSender::Started(const jq::ReportStartedRequest& report) {
  return Enqueue({report, {}});
}

grpc::Status ReportSender::Result(const jq::ReportResultRequest& report) {
  return Enqueue({report, {}});
}

grpc::Status ReportSender::Enqueue(Pending pending) {
  std::future<grpc::Status> outcome = pending.outcome.get_future();
  {
    std::lock_guard lock(mu_);
    if (stop_) return {grpc::StatusCode::UNAVAILABLE, "worker stopping"};
    queue_.push_back(std::move(pending));
    cv_.notify_one();
  }
  return outcome.get();
}

void ReportSender::Run() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      std::size_t bytes = 0;
      batch.clear();
      while (!queue_.empty() && batch.size() < kMaxBatchItems &&
             (batch.empty() || bytes < kMaxBatchBytes)) {
        const auto& r = queue_.front().report;
        bytes += std::visit([](const auto& m) { return m.ByteSizeLong(); }, r);
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (unary_) {
      SendUnary(batch);
    } else {
      SendBatch(batch);
    }
  }
}

void ReportSender::SendBatch(std::vector<Pending>& batch) {
  jq::ReportBatchRequest req;
  req.set_worker_id(worker_id_);
  std::vector<std::pair<bool, int>> where;  // (is result, index in its list)
  for (auto& p : batch) {
    if (auto* s = std::get_if<jq::ReportStartedRequest>(&p.report)) {
      where.emplace_back(false, req.started_size());
      *req.add_started() = std::move(*s);
    } else {
      where.emplace_back(true, req.results_size());
      *req.add_results() = std::move(std::get<jq::ReportResultRequest>(p.report));
    }
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  jq::ReportBatchResponse resp;
  grpc::Status s = stub_()->ReportBatch(&ctx, req, &resp);
  if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    spdlog::info("server has no ReportBatch; reporting one call per report");
    unary_ = true;
    // Put the reports back as they were and send them the old way.
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (where[i].first) {
        batch[i].report = std::move(*req.mutable_results(where[i].second));
      } else {
        batch[i].report = std::move(*req.mutable_started(where[i].second));
      }
    }
    SendUnary(batch);
    return;
  }
  const bool complete = s.ok() && resp.started_size() == req.started_size() &&
                        resp.results_size() == req.results_size();
  if (s.ok() && !complete) s = {grpc::StatusCode::INTERNAL, "ReportBatch answer is incomplete"};
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!complete) {
      batch[i].outcome.set_value(s);
      continue;
    }
    const auto& o = where[i].first ? resp.results(where[i].second) : resp.started(where[i].second);
    batch[i].outcome.set_value(
        o.code() == 0 ? grpc::Status::OK
                      : grpc::Status(static_cast<grpc::StatusCode>(o.code()), o.message()));
  }
}

void ReportSender::SendUnary(std::vector<Pending>& batch) {
  for (auto& p : batch) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    grpc::Status s;
    if (auto* st = std::get_if<jq::ReportStartedRequest>(&p.report)) {
      jq::ReportStartedResponse resp;
      s = stub_()->ReportStarted(&ctx, *st, &resp);
    } else {
      jq::ReportResultResponse resp;
      s = stub_()->ReportResult(&ctx, std::get<jq::ReportResultRequest>(p.report), &resp);
    }
    p.outcome.set_value(s);
  }
}

}  // namespace jq::worker
