#include "server/job_watch_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace jq::server {

std::vector<JobEventRecord> JobWatchHub::Watch::Next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !pending_.empty(); });
  std::vector<JobEventRecord> out(std::make_move_iterator(pending_.begin()),
                                  std::make_move_iterator(pending_.end()));
  pending_.clear();
  return out;
}

std::int64_t JobWatchHub::Watch::after() const {
  std::lock_guard lock(mu_);
  return after_;
}

void JobWatchHub::Watch::Deliver(const JobEventRecord& e) {
  std::lock_guard lock(mu_);
  if (e.id <= after_) return;  // it had this one (its job's cursor was another watcher's)
  after_ = e.id;
  pending_.push_back(e);
  cv_.notify_one();
}

JobWatchHub::JobWatchHub(JobStore& store, std::chrono::milliseconds interval)
    : store_(store), loop_({.name = "jq-watch", .interval = interval}, [this] {
        PollOnce();
        return BackgroundLoop::Next();
      }) {}

std::shared_ptr<JobWatchHub::Watch> JobWatchHub::Subscribe(const std::string& job_id,
                                                           std::int64_t after) {
  auto watch = std::make_shared<Watch>(job_id, after);
  std::lock_guard lock(mu_);
  watches_.emplace(job_id, watch);
  return watch;
}

std::size_t JobWatchHub::watched_jobs() {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (auto it = watches_.begin(); it != watches_.end(); it = watches_.upper_bound(it->first)) ++n;
  return n;
}

int JobWatchHub::PollOnce() {
  // Live watches by job, and each job's cursor: the least of its watchers'.
  std::map<std::string, std::vector<std::shared_ptr<Watch>>> live;
  {
    std::lock_guard lock(mu_);
    for (auto it = watches_.begin(); it != watches_.end();) {
      if (auto w = it->second.lock()) {
        live[it->first].push_back(std::move(w));
        ++it;
      } else {
        it = watches_.erase(it);
      }
    }
  }
  if (live.empty()) return 0;
  std::vector<std::pair<std::string, std::int64_t>> cursors;
  for (const auto& [job, ws] : live) {
    std::int64_t after = ws.front()->after();
    for (const auto& w : ws) after = std::min(after, w->after());
    cursors.emplace_back(job, after);
  }
  auto events = store_.JobEventListMany(cursors);
  if (!events.ok()) {
    // The watchers wait on; the next pass asks again.
    spdlog::warn("watch: {}", events.status().ToString());
    return 0;
  }
  for (const auto& e : *events) {
    if (auto it = live.find(e.job_id); it != live.end()) {
      for (const auto& w : it->second) w->Deliver(e);
    }
  }
  int served = 0;
  for (const auto& [job, ws] : live) served += static_cast<int>(ws.size());
  return served;
}

}  // namespace jq::server
