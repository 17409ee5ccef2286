// TenantLimits: each tenant's own limits (the tenants table, jq-ctl tenant), kept in memory
// and reloaded every `interval` so that a submit never waits on a query for them; a tenant
// without a row, or without a given limit, has the configuration's (limits.*). A change
// applies on every replica within one interval. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/background_loop.h"
#include "core/job_store.h"
#include "core/tenant_rooms.h"
#include "redis/rate_limiter.h"

namespace jq::server {

class TenantLimits {
 public:
  // default_running: limits.tenant_max_running_jobs (0 = unlimited).
  TenantLimits(JobStore& store, redis::Limit default_submit, int default_running,
               std::chrono::milliseconds interval);
  void Start();
  void Stop();

  // The submit rate limit of tenant: its own, else the default.
  redis::Limit SubmitLimit(const std::string& tenant);
  // Whether any submit limit applies to anyone (the default, or a tenant's own).
  bool AnySubmitLimit();
  // What claims enforce: on when the default or any tenant's own running limit is set. The
  // claim itself reads the tenants' own limits from the store, so every replica applies the
  // same ones; this only spares the claims the count while nobody has a limit.
  TenantRunningLimits Running();
  // One reload; public for tests.
  BackgroundLoop::Next RunOnce();

 private:
  JobStore& store_;
  const redis::Limit default_submit_;
  const int default_running_;
  std::mutex mu_;
  std::map<std::string, TenantRecord> tenants_;  // GUARDED_BY(mu_)
  BackgroundLoop loop_;
};

}  // namespace jq::server
