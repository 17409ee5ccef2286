#include "server/stats_poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace jq::server {

StatsPoller::StatsPoller(JobStore& store, ServerMetrics& metrics,
                         std::chrono::milliseconds interval, std::function<void()> extra,
                         int finished_every)
    : store_(store),
      metrics_(metrics),
      interval_(interval),
      extra_(std::move(extra)),
      finished_every_(std::max(1, finished_every)),
      loop_({.name = "jq-stats", .interval = interval}, [this] {
        PollOnce();
        return BackgroundLoop::Next();
      }) {}

void StatsPoller::PollOnce() {
  const bool finished = polls_++ % finished_every_ == 0;
  if (auto depths = store_.QueueDepths(finished); depths.ok()) {
    for (const auto& s : *depths) {
      if (finished) finished_[s.queue] = {s.done, s.dead_lettered};
      const auto [done, dead] = finished_[s.queue];
      metrics_.QueueDepth(s.queue, "PENDING", static_cast<double>(s.pending));
      metrics_.QueueDepth(s.queue, "ASSIGNED", static_cast<double>(s.assigned));
      metrics_.QueueDepth(s.queue, "RUNNING", static_cast<double>(s.running));
      metrics_.QueueDepth(s.queue, "FAILED", static_cast<double>(s.failed));
      metrics_.QueueDepth(s.queue, "DONE", static_cast<double>(done));
      metrics_.QueueDepth(s.queue, "DEAD_LETTERED", static_cast<double>(dead));
    }
  } else {
    spdlog::debug("stats: {}", depths.status().ToString());
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
