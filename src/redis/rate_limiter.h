// Submit rate limits (SPEC §6, §9): token buckets per tenant and per queue, shared by every
// replica through one Lua script in Redis. While Redis is down each replica enforces the same
// limits alone (per-replica buckets), so jobs keep flowing; the shared limits resume when
// Redis returns. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "core/status.h"
#include "core/token_bucket.h"
#include "redis/redis_client.h"

namespace jq::redis {

struct Limit {
  double rate = 0;   // tokens per second; 0 = unlimited
  double burst = 0;  // 0 = one second's worth
};

struct RateLimiterConfig {
  Limit tenant;
  Limit queue;
};

class RateLimiter {
 public:
  // redis may be null: then only the per-replica buckets apply.
  RateLimiter(RateLimiterConfig config, RedisClient* redis);

  // Takes n submits for tenant and queue. RESOURCE_EXHAUSTED names the limit; retry_after_ms
  // (when refused) is how long until the submit would pass. tenant_limit, when given, is this
  // tenant's own limit (jq-ctl tenant) instead of the configured one.
  Status Take(const std::string& tenant, const std::string& queue, int n, long long* retry_after_ms,
              const Limit* tenant_limit = nullptr);
  bool enabled() const { return config_.tenant.rate > 0 || config_.queue.rate > 0; }
  // Per-replica buckets held now (for tests; bounded by the keys in recent use).
  std::size_t local_buckets();
  std::size_t sweeps();  // how often the local buckets were swept; for tests
  static constexpr std::size_t kSweepAt = 1024;

 private:
  // Returns 0 when taken, else the wait in ms. Falls back to the local bucket on error.
  long long TakeOne(const std::string& key, const Limit& limit, int n);

  const RateLimiterConfig config_;
  RedisClient* redis_;
  std::mutex mu_;
  std::map<std::string, TokenBucket> local_;  // GUARDED_BY(mu_)
  // The size that triggers the next sweep: twice what the last one kept (at least kSweepAt),
  // so that many keys in use at once cost one sweep per doubling, not one per new key.
  std::size_t sweep_at_ = kSweepAt;  // GUARDED_BY(mu_)
  std::size_t sweeps_ = 0;           // GUARDED_BY(mu_)
};

}  // namespace jq::redis
