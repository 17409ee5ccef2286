#include "server/stats_poller.h"

#include <spdlog/spdlog.h>

namespace jq::server {

StatsPoller::StatsPoller(JobStore& store, ServerMetrics& metrics,
                         std::chrono::milliseconds interval, std::function<void()> extra)
    : store_(store), metrics_(metrics), interval_(interval), extra_(std::move(extra)) {}

StatsPoller::~StatsPoller() {
  Stop();
}

void StatsPoller::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    for (;;) {
      PollOnce();
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, interval_, [&] { return stop_; })) return;
    }
  });
}

void StatsPoller::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void StatsPoller::PollOnce() {
  if (auto queues = store_.QueueList(); queues.ok()) {
    for (const auto& q : *queues) {
      auto s = store_.QueueStats(q.name);
      if (!s.ok()) continue;
      metrics_.QueueDepth(q.name, "PENDING", static_cast<double>(s->pending));
      metrics_.QueueDepth(q.name, "ASSIGNED", static_cast<double>(s->assigned));
      metrics_.QueueDepth(q.name, "RUNNING", static_cast<double>(s->running));
      metrics_.QueueDepth(q.name, "FAILED", static_cast<double>(s->failed));
      metrics_.QueueDepth(q.name, "DONE", static_cast<double>(s->done));
      metrics_.QueueDepth(q.name, "DEAD_LETTERED", static_cast<double>(s->dead_lettered));
    }
  } else {
    spdlog::debug("stats: {}", queues.status().ToString());
  }
  if (auto workers = store_.WorkerList(); workers.ok()) {
    int online = 0;
    for (const auto& w : *workers) {
      const bool on = w.status != WorkerState::kOffline;
      online += w.status == WorkerState::kOnline;
      metrics_.WorkerConcurrency(w.id, on ? w.active_job_count : 0);
    }
    metrics_.ActiveWorkers(online);
  }
  if (extra_) extra_();
}

}  // namespace jq::server
