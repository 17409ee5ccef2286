#include "worker/report_sender.h"

#include <spdlog/spdlog.h>

#include <optional>

namespace jq::worker {
namespace {

// Reports carry output tails (up to 1 MiB each by default): keep one call's request well
// under the server's receive limit.
constexpr std::size_t kMaxBatchBytes = 4u << 20;
constexpr std::size_t kMaxBatchItems = 1000;
constexpr auto kCallTimeout = std::chrono::seconds(10);

}  // namespace

bool RetryableStatus(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

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
  return EnqueueAndWait(report);
}

grpc::Status ReportSender::Result(const jq::ReportResultRequest& report) {
  return EnqueueAndWait(report);
}

grpc::Status ReportSender::EnqueueAndWait(
    std::variant<jq::ReportStartedRequest, jq::ReportResultRequest> report) {
  std::mutex done_mu;
  std::condition_variable done_cv;
  std::optional<grpc::Status> outcome;
  {
    std::lock_guard lock(mu_);
    if (stop_) return {grpc::StatusCode::UNAVAILABLE, "worker stopping"};
    if (const auto* r = std::get_if<jq::ReportResultRequest>(&report)) {
      // A start still waiting out its delay goes first, in the same batch as its result.
      for (auto it = later_.begin(); it != later_.end();) {
        const auto* s = std::get_if<jq::ReportStartedRequest>(&it->second.report);
        if (s != nullptr && s->job_id() == r->job_id() && s->attempt() == r->attempt()) {
          queue_.push_back(std::move(it->second));
          it = later_.erase(it);
        } else {
          ++it;
        }
      }
    }
    // The locals outlive the callback: this waits for it below.
    queue_.push_back({std::move(report), [&](const grpc::Status& s) {
                        std::lock_guard l(done_mu);
                        outcome = s;
                        done_cv.notify_one();
                      }});
    cv_.notify_one();
  }
  std::unique_lock l(done_mu);
  done_cv.wait(l, [&] { return outcome.has_value(); });
  return *outcome;
}

void ReportSender::StartedAsync(jq::ReportStartedRequest report, Done done,
                                std::chrono::milliseconds delay) {
  {
    std::lock_guard lock(mu_);
    if (!stop_) {
      if (delay.count() > 0) {
        auto it = later_.emplace(Clock::now() + delay, Pending{std::move(report), std::move(done)});
        // Waking the sender is only needed to move its timer earlier.
        if (it == later_.begin()) cv_.notify_one();
      } else {
        queue_.push_back({std::move(report), std::move(done)});
        cv_.notify_one();
      }
      return;
    }
  }
  done({grpc::StatusCode::CANCELLED, "worker stopping"});
}

void ReportSender::Run() {
  std::vector<Pending> batch;
  std::unique_lock lock(mu_);
  for (;;) {
    for (auto now = Clock::now(); !later_.empty() && later_.begin()->first <= now;) {
      queue_.push_back(std::move(later_.begin()->second));
      later_.erase(later_.begin());
    }
    if (queue_.empty()) {
      if (stop_) break;
      if (later_.empty()) {
        cv_.wait(lock);
      } else {
        cv_.wait_until(lock, later_.begin()->first);
      }
      continue;
    }
    std::size_t bytes = 0;
    batch.clear();
    while (!queue_.empty() && batch.size() < kMaxBatchItems &&
           (batch.empty() || bytes < kMaxBatchBytes)) {
      const auto& r = queue_.front().report;
      bytes += std::visit([](const auto& m) { return m.ByteSizeLong(); }, r);
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    if (unary_) {
      SendUnary(batch);
    } else {
      SendBatch(batch);
    }
    batch.clear();  // the callbacks' captures go here, outside the lock
    lock.lock();
  }
  // Stopping: what still waits out a delay is not sent.
  std::multimap<Clock::time_point, Pending> dropped;
  dropped.swap(later_);
  lock.unlock();
  for (auto& [due, p] : dropped) p.done({grpc::StatusCode::CANCELLED, "worker stopping"});
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
  const auto put_back = [&] {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (where[i].first) {
        batch[i].report = std::move(*req.mutable_results(where[i].second));
      } else {
        batch[i].report = std::move(*req.mutable_started(where[i].second));
      }
    }
  };
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  jq::ReportBatchResponse resp;
  grpc::Status s = stub_()->ReportBatch(&ctx, req, &resp);
  if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    spdlog::info("server has no ReportBatch; reporting one call per report");
    unary_ = true;
    put_back();
    SendUnary(batch);
    return;
  }
  if (!s.ok() && !RetryableStatus(s) && batch.size() > 1) {
    // The whole call was refused (e.g. one report above the server's message limit): send
    // each report alone, so only the one at fault gets the refusal and its neighbours land.
    spdlog::warn("report batch of {} refused: {} ({}); sending its reports one by one",
                 batch.size(), s.error_message(), static_cast<int>(s.error_code()));
    put_back();
    for (auto& p : batch) {
      std::vector<Pending> one;
      one.push_back(std::move(p));
      SendBatch(one);
    }
    return;
  }
  const bool complete = s.ok() && resp.started_size() == req.started_size() &&
                        resp.results_size() == req.results_size();
  if (s.ok() && !complete) s = {grpc::StatusCode::INTERNAL, "ReportBatch answer is incomplete"};
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!complete) {
      batch[i].done(s);
      continue;
    }
    const auto& o = where[i].first ? resp.results(where[i].second) : resp.started(where[i].second);
    batch[i].done(o.code() == 0
                      ? grpc::Status::OK
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
    p.done(s);
  }
}

}  // namespace jq::worker
