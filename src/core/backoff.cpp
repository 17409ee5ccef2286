#include "core/backoff.h"

#include <algorithm>

namespace jq {

std::chrono::milliseconds ComputeBackoff(int retry, const BackoffPolicy& policy, double jitter01) {
  using std::chrono::milliseconds;
  const long long base = std::max<long long>(policy.base.count(), 0);
  const long long cap = std::max<long long>(policy.max.count(), 0);
  long long exp = base;
  // Doubling stops at the cap, so large retry counts cannot overflow.
  for (int i = 0; i < retry && exp < cap; ++i) exp *= 2;
  exp = std::min(exp, cap);
  jitter01 = std::clamp(jitter01, 0.0, 0.999999);
  const auto jitter = static_cast<long long>(jitter01 * static_cast<double>(base));
  return milliseconds(exp + jitter);
}

RetryDecision DecideAfterFailure(int retry_count, int max_retries, const BackoffPolicy& policy,
                                 double jitter01, std::string_view why) {
  if (retry_count < max_retries) {
    if (why == reason::kWorkerLost || why == reason::kLeaseExpired) {
      return {JobState::kPending, reason::kRetry, std::chrono::milliseconds(0)};
    }
    return {JobState::kPending, reason::kRetry, ComputeBackoff(retry_count, policy, jitter01)};
  }
  return {JobState::kDeadLettered, reason::kMaxRetriesExceeded, std::chrono::milliseconds(0)};
}

}  // namespace jq
