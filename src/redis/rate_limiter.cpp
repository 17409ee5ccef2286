#include "redis/rate_limiter.h"

#include <algorithm>

namespace jq::redis {
namespace {

// KEYS[1] bucket; ARGV rate (tokens/s), burst, n. Uses the server's clock so that replicas
// with skewed clocks share one bucket correctly. Returns {taken (0/1), wait_ms}.
constexpr const char* kTokenBucket = R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local wait = 0
local taken = 0
if tokens >= math.min(n, burst) then
  -- a batch larger than the bucket passes when it is full, leaving it in debt
  tokens = tokens - n
  taken = 1
else
  wait = math.ceil((math.min(n, burst) - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {taken, wait}
)lua";

double Burst(const Limit& l) {
  return l.burst > 0 ? l.burst : std::max(1.0, l.rate);
}

}  // namespace

RateLimiter::RateLimiter(RateLimiterConfig config, RedisClient* redis)
    : config_(config), redis_(redis) {}

std::size_t RateLimiter::local_buckets() {
  std::lock_guard lock(mu_);
  return local_.size();
}

std::size_t RateLimiter::sweeps() {
  std::lock_guard lock(mu_);
  return sweeps_;
}

long long RateLimiter::TakeOne(const std::string& key, const Limit& limit, int n) {
  const double burst = Burst(limit);
  if (redis_ != nullptr) {
    auto r = redis_->Eval(kTokenBucket, {key},
                          {std::to_string(limit.rate), std::to_string(burst), std::to_string(n)});
    if (r.ok() && r->type == Reply::Type::kArray && r->elements.size() == 2) {
      return r->elements[0].integer == 1 ? 0 : std::max<long long>(1, r->elements[1].integer);
    }
  }
  std::lock_guard lock(mu_);
  const auto now = TokenBucket::Clock::now();
  auto it = local_.find(key);
  if (it == local_.end()) {
    // Keys come from clients (any queue name is limited before it is checked): drop the
    // buckets that have refilled, which a new bucket would equal, so the map holds at most
    // twice the keys used within the last burst/rate seconds (sweep_at_).
    if (local_.size() >= sweep_at_) {
      std::erase_if(local_, [&](const auto& kv) { return kv.second.FullAt(now); });
      sweep_at_ = std::max(kSweepAt, 2 * local_.size());
      ++sweeps_;
    }
    it = local_.emplace(key, TokenBucket(limit.rate, burst, now)).first;
  }
  return it->second.TryTake(n, now).count();
}

Status RateLimiter::Take(const std::string& tenant, const std::string& queue, int n,
                         long long* retry_after_ms, const Limit* tenant_limit) {
  *retry_after_ms = 0;
  const Limit& per_tenant = tenant_limit != nullptr ? *tenant_limit : config_.tenant;
  if (per_tenant.rate > 0) {
    if (long long wait = TakeOne("jq:rl:tenant:" + tenant, per_tenant, n); wait > 0) {
      *retry_after_ms = wait;
      return Status::ResourceExhausted("submit rate limit of tenant '" + tenant + "' (" +
                                       std::to_string(static_cast<long long>(per_tenant.rate)) +
                                       "/s) exceeded; retry after " + std::to_string(wait) + " ms");
    }
  }
  if (config_.queue.rate > 0) {
    if (long long wait = TakeOne("jq:rl:queue:" + queue, config_.queue, n); wait > 0) {
      *retry_after_ms = wait;
      return Status::ResourceExhausted("submit rate limit of queue '" + queue + "' (" +
                                       std::to_string(static_cast<long long>(config_.queue.rate)) +
                                       "/s) exceeded; retry after " + std::to_string(wait) + " ms");
    }
  }
  return Status::Ok();
}

}  // namespace jq::redis
