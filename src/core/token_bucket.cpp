#include "core/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace jq {

std::chrono::milliseconds TokenBucket::TryTake(double n, Clock::time_point now) {
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    last_ = now;
  }
  // A batch larger than the bucket passes once the bucket is full and leaves it in debt, so
  // big batches are admitted at the same average rate instead of never.
  if (tokens_ >= std::min(n, burst_)) {
    tokens_ -= n;
    return std::chrono::milliseconds(0);
  }
  if (rate_ <= 0) return std::chrono::milliseconds(60000);
  const double missing = std::min(n, burst_) - tokens_;
  return std::chrono::milliseconds(
      std::max<long long>(1, static_cast<long long>(std::ceil(missing / rate_ * 1000.0))));
}

bool TokenBucket::FullAt(Clock::time_point now) const {
  const double elapsed = now > last_ ? std::chrono::duration<double>(now - last_).count() : 0;
  return tokens_ + elapsed * rate_ >= burst_;
}

}  // namespace jq
