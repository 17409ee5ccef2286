#include "server/health.h"

namespace jq::server {

std::vector<HealthComponent> Health::Components() const {
  std::vector<HealthComponent> out;
  if (schema_ != nullptr) {
    const Status s = schema_->status();
    out.push_back({"schema", s.ok(),
                   s.ok() ? "version " + std::to_string(schema_->required()) : s.message(), true,
                   true});
  }
  const bool listening = listener_.connected();
  out.push_back(
      {"notifications", listening,
       listening ? "LISTEN connected" : "LISTEN disconnected; dispatch falls back to the tick"});
  if (redis_ == nullptr) {
    out.push_back({"redis", true, "not configured; limits are per replica", false});
  } else {
    auto pong = redis_->Command({"PING"});
    out.push_back({"redis", pong.ok(),
                   pong.ok()
                       ? "reachable at " + redis_addr_
                       : pong.status().message() + "; limits fall back to per-replica buckets"});
  }
  if (relay_ == nullptr) {
    out.push_back({"kafka", true, "not configured; events stay in PostgreSQL", false});
  } else {
    const auto st = relay_->Stats();
    out.push_back({"kafka", st.healthy, st.message});
  }
  return out;
}

}  // namespace jq::server
