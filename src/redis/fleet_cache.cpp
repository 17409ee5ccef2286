#include "redis/fleet_cache.h"

#include <vector>

namespace jq::redis {
namespace {

std::string JobKey(const std::string& id) {
  return "jq:job:" + id;
}
std::string GenerationKey(const std::string& id) {
  return "jq:job:" + id + ":gen";
}

}  // namespace

JobCache::Lookup RedisJobCache::Get(const std::string& job_id) {
  Lookup out;
  auto r = redis_.Command({"MGET", JobKey(job_id), GenerationKey(job_id)});
  if (!r.ok() || r->type != Reply::Type::kArray || r->elements.size() != 2) {
    out.generation = "unavailable";  // a Put after a failed read is refused too
    return out;
  }
  if (r->elements[0].type == Reply::Type::kString) out.hit = std::move(r->elements[0].str);
  out.generation = r->elements[1].type == Reply::Type::kString ? r->elements[1].str : "";
  return out;
}

void RedisJobCache::Put(const std::string& job_id, const std::string& bytes,
                        const std::string& generation) {
  // The compare and the write in one script: nothing can invalidate in between.
  (void)redis_.Eval(
      "if (redis.call('GET', KEYS[2]) or '') ~= ARGV[2] then return 0 end "
      "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3]) return 1",
      {JobKey(job_id), GenerationKey(job_id)}, {bytes, generation, std::to_string(ttl_.count())});
}

void RedisJobCache::Invalidate(const std::string& job_id) {
  (void)redis_.Eval(
      "redis.call('DEL', KEYS[1]) redis.call('INCR', KEYS[2]) redis.call('EXPIRE', KEYS[2], 3600)",
      {JobKey(job_id), GenerationKey(job_id)}, {});
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
