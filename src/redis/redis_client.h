// RedisClient: jq's door to Redis (hiredis). Thread-safe (one connection behind a mutex; the
// commands jq sends are short). Every call has a timeout, so a hung Redis cannot stall the
// caller for longer than `timeout`. When Redis is unreachable, calls fail fast with
// UNAVAILABLE and a reconnect is tried at most once per `retry_interval`: callers fall back
// (SPEC §9) and recovery is automatic.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace jq::redis {

struct RedisConfig {
  std::string addr;  // host:port
  std::string password;
  std::chrono::milliseconds timeout{200};
  std::chrono::milliseconds retry_interval{1000};
  // Called after every command with its name and duration (metrics); may be empty.
  std::function<void(std::string_view op, double seconds)> on_op;
};

// A reply, flattened: integers, strings (bulk or status), nil, arrays.
struct Reply {
  enum class Type { kNil, kInteger, kString, kArray };
  Type type = Type::kNil;
  long long integer = 0;
  std::string str;
  std::vector<Reply> elements;
};

class RedisClient {
 public:
  explicit RedisClient(RedisConfig config);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs one command. Redis errors (e.g. a script error) are INTERNAL; connection trouble and
  // timeouts are UNAVAILABLE.
  Result<Reply> Command(const std::vector<std::string>& argv);
  // EVALSHA with a fallback to EVAL when the script is not cached (after a restart/flush).
  Result<Reply> Eval(const std::string& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args);

  bool healthy() const;
  std::string last_error() const;

 private:
  struct Conn;
  Status ConnectLocked();                                             // REQUIRES(mu_)
  Result<Reply> CommandLocked(const std::vector<std::string>& argv);  // REQUIRES(mu_)

  const RedisConfig config_;
  mutable std::mutex mu_;
  std::unique_ptr<Conn> conn_;                            // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point next_attempt_{};  // GUARDED_BY(mu_)
  bool healthy_ = false;                                  // GUARDED_BY(mu_)
  std::string last_error_ = "not connected yet";          // GUARDED_BY(mu_)
};

}  // namespace jq::redis
