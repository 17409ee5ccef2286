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
  // The sweep at 1024 kept every bucket, so the next comes at twice that: the map may grow to
  // 2048, then holds only the buckets still in use (the new ones).
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter.Take("default", "new-" + std::to_string(i), 1, &retry).ok());
  }
  EXPECT_EQ(limiter.local_buckets(), 1000u);  // of 2100 created
}

// One sweep per doubling: with more keys in use than kSweepAt, a new key must not walk them
// all each time (that made each submit O(keys) once 1024 queues were busy).
TEST(RateLimiterTest, ManyBucketsInUseAreNotSweptOnEveryNewKey) {
  RateLimiter limiter({.tenant = {}, .queue = {.rate = 1, .burst = 1}}, nullptr);
  long long retry = 0;
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(limiter.Take("default", "q" + std::to_string(i), 1, &retry).ok());
  }
  EXPECT_EQ(limiter.sweeps(), 2u);  // at 1024 and at 2048 keys
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
