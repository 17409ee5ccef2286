// The parts a replica depends on besides PostgreSQL, checked in one place: GetSystemStatus
// lists them and the stats poller turns each configured one into jq_component_up. Redis and
// Kafka are optional; when they are not configured they are reported as such, not as down.
// Thread-safe (each check is a call to a thread-safe client).
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "events/outbox_relay.h"
#include "redis/redis_client.h"
#include "server/schema_check.h"
#include "server/services.h"
#include "store/pg_listener.h"

namespace jq::server {

class Health {
 public:
  // redis, relay and schema may be null (not configured / not checked). All must outlive the
  // Health.
  Health(const store::PgListener& listener, redis::RedisClient* redis, std::string redis_addr,
         const events::OutboxRelay* relay, const SchemaCheck* schema = nullptr)
      : listener_(listener),
        redis_(redis),
        redis_addr_(std::move(redis_addr)),
        relay_(relay),
        schema_(schema) {}

  // schema (the last SchemaCheck reading), notifications (LISTEN), redis (PING), kafka (the
  // relay's own view), in that order.
  std::vector<HealthComponent> Components() const;

 private:
  const store::PgListener& listener_;
  redis::RedisClient* const redis_;
  const std::string redis_addr_;
  const events::OutboxRelay* const relay_;
  const SchemaCheck* const schema_;
};

}  // namespace jq::server
