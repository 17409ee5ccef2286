// What jq-server replicas share through Redis besides the rate limits (SPEC §9), behind typed
// ports: a cache of final jobs for GetJobStatus, worker presence keys, and the per-tenant
// in-flight counts. All of it is optional and rebuildable from PostgreSQL, so every call is
// best effort: while Redis is down a Get misses and a write is dropped, and the caller goes on
// (the RedisClient fails fast and reconnects on its own). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "redis/redis_client.h"

namespace jq::redis {

// Serialized final jobs by id. Only final jobs are put: the one way out of a final state is
// a manual retry, which invalidates the entry before and after it commits.
//
// A reader that misses reads the database and puts what it found. Had a retry's Invalidate
// run between its database read and its Put, a plain Put would bring the old final row back
// for the entry's whole TTL. So every entry has a generation that Invalidate bumps: Get
// returns the generation it saw, and Put writes only if the generation is still that one.
class JobCache {
 public:
  struct Lookup {
    std::optional<std::string> hit;
    std::string generation;  // pass to Put
  };
  virtual ~JobCache() = default;
  virtual Lookup Get(const std::string& job_id) = 0;
  // Writes unless the entry was invalidated since `generation` was read.
  virtual void Put(const std::string& job_id, const std::string& bytes,
                   const std::string& generation) = 0;
  virtual void Invalidate(const std::string& job_id) = 0;
};

// A key per worker that lives as long as its heartbeats keep coming (the database stays the
// authority; this is the fast, shared view).
class WorkerPresence {
 public:
  virtual ~WorkerPresence() = default;
  virtual void Mark(const std::string& worker_id, const std::string& server_id) = 0;
};

// jq:job:<id>, expiring after ttl; its generation in jq:job:<id>:gen (kept an hour, far
// longer than any read takes; a generation that expired reads as a new one, which is safe).
class RedisJobCache final : public JobCache {
 public:
  RedisJobCache(RedisClient& redis, std::chrono::seconds ttl) : redis_(redis), ttl_(ttl) {}
  Lookup Get(const std::string& job_id) override;
  void Put(const std::string& job_id, const std::string& bytes,
           const std::string& generation) override;
  void Invalidate(const std::string& job_id) override;

 private:
  RedisClient& redis_;
  const std::chrono::seconds ttl_;
};

// jq:worker:<id> = server id, expiring after ttl (the worker timeout).
class RedisWorkerPresence final : public WorkerPresence {
 public:
  RedisWorkerPresence(RedisClient& redis, std::chrono::seconds ttl) : redis_(redis), ttl_(ttl) {}
  void Mark(const std::string& worker_id, const std::string& server_id) override;

 private:
  RedisClient& redis_;
  const std::chrono::seconds ttl_;
};

// The hash jq:inflight:tenants (tenant -> jobs ASSIGNED or RUNNING), replaced whole by one
// script so readers never see it half rebuilt; it expires if no replica refreshes it.
Status PublishTenantInFlight(RedisClient& redis, const std::map<std::string, std::int64_t>& counts,
                             const std::string& updated_by, std::chrono::seconds ttl);

}  // namespace jq::redis
