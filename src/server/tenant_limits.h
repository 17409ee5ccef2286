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
#include "redis/rate_limiter.h"

namespace jq::server {

class TenantLimits {
 public:
  TenantLimits(JobStore& store, redis::Limit default_submit, std::chrono::milliseconds interval);
  void Start();
  void Stop();

  // The submit rate limit of tenant: its own, else the default.
  redis::Limit SubmitLimit(const std::string& tenant);
  // Whether any submit limit applies to anyone (the default, or a tenant's own).
  bool AnySubmitLimit();
  // One reload; public for tests.
  BackgroundLoop::Next RunOnce();

 private:
  JobStore& store_;
  const redis::Limit default_submit_;
  std::mutex mu_;
  std::map<std::string, TenantRecord> tenants_;  // GUARDED_BY(mu_)
  BackgroundLoop loop_;
};

}  // namespace jq::server
