// The group-commit batcher: every item is flushed once, batches grow while a flush is busy,
// and Stop flushes what is queued.
#include "server/batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <set>

namespace jq::server {
namespace {

TEST(BatcherTest, FlushesEveryItemExactlyOnce) {
  std::mutex mu;
  std::multiset<int> seen;
  Batcher<int> b({.max_batch = 7, .flushers = 3}, [&](std::vector<int>& batch) {
    EXPECT_LE(batch.size(), 7u);
    std::lock_guard lock(mu);
    seen.insert(batch.begin(), batch.end());
  });
  b.Start();
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) EXPECT_TRUE(b.Add(t * 1000 + i));
    });
  }
  for (auto& p : producers) p.join();
  b.Stop();
  ASSERT_EQ(seen.size(), 4000u);
  for (int i = 0; i < 4000; ++i) EXPECT_EQ(seen.count(i), 1u) << i;
}

TEST(BatcherTest, ItemsGatherWhileTheFlusherIsBusy) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> flushes{0};
  std::vector<std::size_t> sizes;
  Batcher<int> b({.max_batch = 100, .flushers = 1}, [&](std::vector<int>& batch) {
    sizes.push_back(batch.size());
    if (flushes++ == 0) released.wait();  // the first flush holds the only flusher
  });
  b.Start();
  b.Add(0);
  while (b.queued() != 0) std::this_thread::yield();  // the first flush has taken item 0
  for (int i = 1; i <= 50; ++i) b.Add(i);
  release.set_value();
  b.Stop();
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_EQ(sizes[0], 1u);   // an idle batcher flushes at once
  EXPECT_EQ(sizes[1], 50u);  // the rest went together
}

TEST(BatcherTest, StopFlushesQueuedItemsAndRefusesNewOnes) {
  std::atomic<int> flushed{0};
  Batcher<int> b({.max_batch = 10, .flushers = 1},
                 [&](std::vector<int>& batch) { flushed += static_cast<int>(batch.size()); });
  b.Start();
  for (int i = 0; i < 95; ++i) b.Add(i);
  b.Stop();
  EXPECT_EQ(flushed.load(), 95);
  EXPECT_FALSE(b.Add(1));
  b.Stop();  // idempotent
}

// A server opens its port a moment before its batchers run: a call in that moment must wait
// for them, not be refused as if the server were stopping (a CI run saw exactly that).
TEST(BatcherTest, ItemsAddedBeforeStartAreFlushedOnceStarted) {
  std::promise<int> first;
  Batcher<int> b({.max_batch = 10, .flushers = 1},
                 [&](std::vector<int>& batch) { first.set_value(batch.at(0)); });
  EXPECT_TRUE(b.Add(7));
  b.Start();
  EXPECT_EQ(first.get_future().get(), 7);
  b.Stop();
}

TEST(BatcherTest, StopWithoutStartStillFlushesWhatWasQueued) {
  std::vector<std::size_t> sizes;
  Batcher<int> b({.max_batch = 10, .flushers = 1},
                 [&](std::vector<int>& batch) { sizes.push_back(batch.size()); });
  for (int i = 0; i < 25; ++i) EXPECT_TRUE(b.Add(i));
  b.Stop();
  EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 5}));
  EXPECT_FALSE(b.Add(1));
}

}  // namespace
}  // namespace jq::server
