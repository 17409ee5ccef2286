// A token bucket: `rate` tokens per second, holding at most `burst`. Pure; the caller passes
// the time. Used for per-replica submit limits when Redis (the shared limiter) is down.
#pragma once

#include <chrono>

namespace jq {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double rate, double burst, Clock::time_point now)
      : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

  // Takes n tokens if available (or, for n > burst, if the bucket is full: it then goes into
  // debt). Otherwise takes none and returns how long until it would succeed.
  std::chrono::milliseconds TryTake(double n, Clock::time_point now);
  // Refilled to its burst by now: indistinguishable from a new bucket, so it can be dropped.
  bool FullAt(Clock::time_point now) const;

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace jq
