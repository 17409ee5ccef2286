// The per-replica side of the submit rate limiter (no Redis): its buckets stay bounded however
// many queue names clients send.
#include "redis/rate_limiter.h"

#include <gtest/gtest.h>

#include <thread>

namespace jq::redis {
namespace {

TEST(RateLimiterTest, LocalBucketsOfRandomQueueNamesDoNotAccumulate) {
  // One token a second: none refills while the loop runs (well under a second, even under
  // a sanitizer), so none is swept before the wait.
  RateLimiter limiter({.tenant = {}, .queue = {.rate = 1, .burst = 1}}, nullptr);
  long long retry = 0;
  for (int i = 0; i < 1100; ++i) {
    ASSERT_TRUE(limiter.Take("default", "no-such-queue-" + std::to_string(i), 1, &retry).ok());
  }
  EXPECT_EQ(limiter.local_buckets(), 1100u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // every bucket refills
  ASSERT_TRUE(limiter.Take("default", "one-more", 1, &retry).ok());
  EXPECT_EQ(limiter.local_buckets(), 1u);
}

TEST(RateLimiterTest, ABucketInUseIsKeptAcrossASweep) {
  RateLimiter limiter({.tenant = {}, .queue = {.rate = 1, .burst = 2}}, nullptr);
  long long retry = 0;
  ASSERT_TRUE(limiter.Take("default", "busy", 2, &retry).ok());
  for (std::size_t i = 0; i < RateLimiter::kSweepAt; ++i) {
    ASSERT_TRUE(limiter.Take("default", "q" + std::to_string(i), 1, &retry).ok());
  }
  // The busy queue's bucket survived the sweep: it is still empty.
  EXPECT_EQ(limiter.Take("default", "busy", 1, &retry).code(), StatusCode::kResourceExhausted);
  EXPECT_GT(retry, 0);
}

}  // namespace
}  // namespace jq::redis
