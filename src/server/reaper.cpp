#include "server/reaper.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace jq::server {

Reaper::Reaper(JobStore& store, ReaperConfig config, std::function<void(const ReapResult&)> on_reap,
               const Clock& clock)
    : store_(store),
      config_(std::move(config)),
      on_reap_(std::move(on_reap)),
      clock_(clock),
      loop_({.name = "jq-reaper", .interval = config_.interval, .run_at_start = false}, [this] {
        RunOnce();
        return BackgroundLoop::Next();
      }) {}

Result<ReapResult> Reaper::RunOnce() {
  if (renew_first_) {
    auto renewed = store_.RenewAllAfterOutage(config_.lease);
    if (!renewed.ok()) {
      spdlog::warn("reaper: {}", renewed.status().ToString());
      // Only an unreachable store is waited out: any other failure must not stop the reaping.
      if (!renewed.status().retryable()) renew_first_ = false;
      store_failed_ = true;
      return renewed.status();
    }
    renew_first_ = false;
    if (store_failed_) {
      spdlog::warn(
          "reaper: the store is reachable again; {} leases renewed for {} s before anything is "
          "reaped",
          *renewed, config_.lease.count());
    } else if (*renewed > 0) {
      spdlog::info("reaper: first pass; {} held leases renewed for {} s before anything is reaped",
                   *renewed, config_.lease.count());
    }
    store_failed_ = false;
  }
  auto r = store_.Reap(config_.worker_timeout, config_.jitter01());
  if (!r.ok()) {
    const auto outage =
        std::max<std::chrono::milliseconds>(2 * config_.interval, config_.lease / 10);
    if (r.status().retryable() && clock_.Steady() - last_reached_ >= outage) renew_first_ = true;
    if (r.status().retryable()) store_failed_ = true;
    spdlog::warn("reaper: {}", r.status().ToString());
    return r;
  }
  last_reached_ = clock_.Steady();
  // Pruning is housekeeping: once a minute or so, on the first pass too.
  const long long prune_every =
      std::max<long long>(1, 60000 / std::max<long long>(1, config_.interval.count()));
  if (config_.offline_worker_retention.count() > 0 && passes_++ % prune_every == 0) {
    auto pruned = store_.WorkerPrune(config_.offline_worker_retention);
    if (!pruned.ok()) {
      spdlog::warn("reaper: {}", pruned.status().ToString());
    } else if (*pruned > 0) {
      spdlog::info("reaper: {} workers offline for over {} h deleted", *pruned,
                   config_.offline_worker_retention.count() / 3600);
    }
  }
  if (r->lease_expired + r->ttl_expired + r->workers_offline + r->worker_jobs_reclaimed > 0) {
    spdlog::info(
        "reaper: {} leases expired, {} TTLs expired, {} workers offline ({} jobs reclaimed)",
        r->lease_expired, r->ttl_expired, r->workers_offline, r->worker_jobs_reclaimed);
  }
  if (on_reap_) on_reap_(*r);
  return r;
}

}  // namespace jq::server
