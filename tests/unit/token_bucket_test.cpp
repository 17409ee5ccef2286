#include "core/token_bucket.h"

#include <gtest/gtest.h>

namespace jq {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucketTest, BurstThenRate) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket b(10, 5, t0);  // 10/s, bucket of 5
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.TryTake(1, t0), milliseconds(0));
  EXPECT_EQ(b.TryTake(1, t0), milliseconds(100));  // one token takes 100 ms at 10/s
  EXPECT_EQ(b.TryTake(1, t0 + milliseconds(100)), milliseconds(0));
  // Refill never exceeds the burst.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.TryTake(1, t0 + milliseconds(10000)), milliseconds(0));
  EXPECT_GT(b.TryTake(1, t0 + milliseconds(10000)), milliseconds(0));
}

TEST(TokenBucketTest, FullOnceRefilledToItsBurst) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket b(10, 5, t0);
  EXPECT_TRUE(b.FullAt(t0));
  EXPECT_EQ(b.TryTake(2, t0).count(), 0);
  EXPECT_FALSE(b.FullAt(t0 + std::chrono::milliseconds(100)));  // 4 of 5
  EXPECT_TRUE(b.FullAt(t0 + std::chrono::milliseconds(200)));
}

TEST(TokenBucketTest, BatchesTakeAllOrNothing) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket b(100, 50, t0);
  EXPECT_EQ(b.TryTake(40, t0), milliseconds(0));
  EXPECT_EQ(b.TryTake(20, t0), milliseconds(100));  // 10 left, 10 more at 100/s
  EXPECT_EQ(b.TryTake(10, t0), milliseconds(0));    // the refused batch took nothing
}

TEST(TokenBucketTest, BatchLargerThanTheBucketPassesWhenFullAndLeavesDebt) {
  const auto t0 = TokenBucket::Clock::now();
  TokenBucket b(10, 10, t0);
  EXPECT_EQ(b.TryTake(50, t0), milliseconds(0));    // full bucket: admitted, 40 in debt
  EXPECT_EQ(b.TryTake(1, t0), milliseconds(4100));  // pays back 41 tokens at 10/s
  EXPECT_EQ(b.TryTake(50, t0 + milliseconds(5000)), milliseconds(0));
}

}  // namespace
}  // namespace jq
