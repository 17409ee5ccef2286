#include "server/tenant_limits.h"

#include <spdlog/spdlog.h>

namespace jq::server {

TenantLimits::TenantLimits(JobStore& store, redis::Limit default_submit, int default_running,
                           std::chrono::milliseconds interval)
    : store_(store),
      default_submit_(default_submit),
      default_running_(default_running),
      loop_({.name = "jq-tenant-limits", .interval = interval}, [this] { return RunOnce(); }) {}

void TenantLimits::Start() {
  loop_.Start();
}

void TenantLimits::Stop() {
  loop_.Stop();
}

BackgroundLoop::Next TenantLimits::RunOnce() {
  auto list = store_.TenantList();
  if (!list.ok()) {
    spdlog::debug("tenant limits: reload failed (the last ones apply): {}",
                  list.status().message());
    return std::nullopt;
  }
  std::map<std::string, TenantRecord> tenants;
  for (auto& t : *list) tenants[t.name] = std::move(t);
  std::lock_guard lock(mu_);
  tenants_.swap(tenants);
  return std::nullopt;
}

redis::Limit TenantLimits::SubmitLimit(const std::string& tenant) {
  redis::Limit limit = default_submit_;
  std::lock_guard lock(mu_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return limit;
  if (it->second.submit_rate) limit.rate = *it->second.submit_rate;
  if (it->second.submit_burst) limit.burst = *it->second.submit_burst;
  return limit;
}

bool TenantLimits::AnySubmitLimit() {
  if (default_submit_.rate > 0) return true;
  std::lock_guard lock(mu_);
  for (const auto& [name, t] : tenants_) {
    if (t.submit_rate.value_or(0) > 0) return true;
  }
  return false;
}

TenantRunningLimits TenantLimits::Running() {
  TenantRunningLimits out{.on = default_running_ > 0, .default_limit = default_running_};
  std::lock_guard lock(mu_);
  for (const auto& [name, t] : tenants_) {
    if (t.max_running_jobs.value_or(0) > 0) out.on = true;
  }
  return out;
}

}  // namespace jq::server
