#include "core/backoff.h"

#include <gtest/gtest.h>

namespace jq {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesFromBaseUpToMax) {
  BackoffPolicy p;  // 5 s base, 300 s max
  EXPECT_EQ(ComputeBackoff(0, p, 0.0), milliseconds(5000));
  EXPECT_EQ(ComputeBackoff(1, p, 0.0), milliseconds(10000));
  EXPECT_EQ(ComputeBackoff(3, p, 0.0), milliseconds(40000));
  EXPECT_EQ(ComputeBackoff(6, p, 0.0), milliseconds(300000));     // 320 s capped
  EXPECT_EQ(ComputeBackoff(1000, p, 0.0), milliseconds(300000));  // no overflow
}

TEST(BackoffTest, JitterIsBelowBase) {
  BackoffPolicy p;
  EXPECT_EQ(ComputeBackoff(0, p, 0.5), milliseconds(7500));
  EXPECT_LT(ComputeBackoff(0, p, 1.0), milliseconds(10000));
  EXPECT_LT(ComputeBackoff(10, p, 0.999), milliseconds(305000));
  EXPECT_EQ(ComputeBackoff(0, p, -3.0), milliseconds(5000));  // clamped
}

TEST(BackoffTest, PerQueuePolicy) {
  BackoffPolicy p{milliseconds(100), milliseconds(250)};
  EXPECT_EQ(ComputeBackoff(0, p, 0), milliseconds(100));
  EXPECT_EQ(ComputeBackoff(1, p, 0), milliseconds(200));
  EXPECT_EQ(ComputeBackoff(2, p, 0), milliseconds(250));
  BackoffPolicy zero{milliseconds(0), milliseconds(0)};
  EXPECT_EQ(ComputeBackoff(5, zero, 0.9), milliseconds(0));
}

TEST(BackoffTest, RetriesUntilMaxRetriesThenDeadLetters) {
  BackoffPolicy p;
  auto d0 = DecideAfterFailure(0, 1, p, 0);
  EXPECT_EQ(d0.next, JobState::kPending);
  EXPECT_EQ(d0.reason, reason::kRetry);
  EXPECT_EQ(d0.delay, milliseconds(5000));
  auto d1 = DecideAfterFailure(1, 1, p, 0);
  EXPECT_EQ(d1.next, JobState::kDeadLettered);
  EXPECT_EQ(d1.reason, reason::kMaxRetriesExceeded);
  EXPECT_EQ(DecideAfterFailure(0, 0, p, 0).next, JobState::kDeadLettered);
}

TEST(BackoffTest, LostWorkersRetryAtOnceButStillCount) {
  BackoffPolicy p;
  for (auto why : {reason::kWorkerLost, reason::kLeaseExpired}) {
    auto d = DecideAfterFailure(0, 3, p, 0.5, why);
    EXPECT_EQ(d.next, JobState::kPending);
    EXPECT_EQ(d.delay, milliseconds(0));
    EXPECT_EQ(DecideAfterFailure(3, 3, p, 0.5, why).next, JobState::kDeadLettered);
  }
  EXPECT_EQ(DecideAfterFailure(0, 3, p, 0, reason::kTimeout).delay, milliseconds(5000));
}

}  // namespace
}  // namespace jq
