// Retry decisions after a failed attempt (SPEC §4): pure functions of the job's counters.
#pragma once

#include <chrono>
#include <string_view>

#include "core/job_state.h"

namespace jq {

struct BackoffPolicy {
  std::chrono::milliseconds base{5000};
  std::chrono::milliseconds max{300000};
};

// min(base * 2^retry, max) + jitter, where jitter01 in [0, 1) scales a jitter in [0, base).
std::chrono::milliseconds ComputeBackoff(int retry, const BackoffPolicy& policy, double jitter01);

struct RetryDecision {
  JobState next;                       // kPending (retry) or kDeadLettered
  std::string_view reason;             // RETRY or MAX_RETRIES_EXCEEDED
  std::chrono::milliseconds delay{0};  // not_before = now + delay when retrying
};

// retry_count is how many retries the job has already had; max_retries how many it may have.
// why is the failure's reason: a lost worker or lease is not the job's fault, so that retry
// is due at once (it still counts, so a job that keeps killing its workers ends).
RetryDecision DecideAfterFailure(int retry_count, int max_retries, const BackoffPolicy& policy,
                                 double jitter01, std::string_view why = {});

}  // namespace jq
