#include "server/reaper.h"

#include <spdlog/spdlog.h>

#include <random>

namespace jq::server {

Reaper::Reaper(JobStore& store, ReaperConfig config, std::function<void(const ReapResult&)> on_reap)
    : store_(store), config_(config), on_reap_(std::move(on_reap)) {}

Reaper::~Reaper() {
  Stop();
}

void Reaper::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Reaper::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void Reaper::Run() {
  std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, config_.interval, [&] { return stop_; })) return;
    }
    auto r = store_.Reap(config_.worker_timeout, jitter(rng));
    if (!r.ok()) {
      spdlog::warn("reaper: {}", r.status().ToString());
      continue;
    }
    if (r->lease_expired + r->ttl_expired + r->workers_offline + r->worker_jobs_reclaimed > 0) {
      spdlog::info(
          "reaper: {} leases expired, {} TTLs expired, {} workers offline ({} jobs "
          "reclaimed)",
          r->lease_expired, r->ttl_expired, r->workers_offline, r->worker_jobs_reclaimed);
    }
    if (on_reap_) on_reap_(*r);
  }
}

}  // namespace jq::server
