#include "redis/fleet_cache.h"

#include <vector>

namespace jq::redis {
namespace {

std::string JobKey(const std::string& id) {
  return "jq:job:" + id;
}

}  // namespace

std::optional<std::string> RedisJobCache::Get(const std::string& job_id) {
  auto r = redis_.Command({"GET", JobKey(job_id)});
  if (!r.ok() || r->type != Reply::Type::kString) return std::nullopt;
  return std::move(r->str);
}

void RedisJobCache::Put(const std::string& job_id, const std::string& bytes) {
  (void)redis_.Command({"SET", JobKey(job_id), bytes, "EX", std::to_string(ttl_.count())});
}

void RedisJobCache::Invalidate(const std::string& job_id) {
  (void)redis_.Command({"DEL", JobKey(job_id)});
}

void RedisWorkerPresence::Mark(const std::string& worker_id, const std::string& server_id) {
  (void)redis_.Command(
      {"SET", "jq:worker:" + worker_id, server_id, "EX", std::to_string(ttl_.count())});
}

Status PublishTenantInFlight(RedisClient& redis, const std::map<std::string, std::int64_t>& counts,
                             const std::string& updated_by, std::chrono::seconds ttl) {
  std::vector<std::string> args = {std::to_string(ttl.count()), "_updated_by", updated_by};
  for (const auto& [tenant, n] : counts) {
    args.push_back(tenant);
    args.push_back(std::to_string(n));
  }
  return redis
      .Eval(
          "redis.call('DEL', KEYS[1]); redis.call('HSET', KEYS[1], unpack(ARGV, 2)); "
          "redis.call('EXPIRE', KEYS[1], ARGV[1])",
          {"jq:inflight:tenants"}, args)
      .status();
}

}  // namespace jq::redis
