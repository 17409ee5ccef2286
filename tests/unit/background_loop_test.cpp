// The one loop shape: idempotent Start/Stop, Wake, run-again, and the gap that coalesces wakes.
#include "core/background_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace jq {
namespace {

using std::chrono::milliseconds;

// Counts passes and lets a test wait for the n-th one.
struct Passes {
  std::mutex mu;
  std::condition_variable cv;
  int n = 0;
  void Add() {
    std::lock_guard lock(mu);
    ++n;
    cv.notify_all();
  }
  bool WaitFor(int want) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return n >= want; });
  }
  int count() {
    std::lock_guard lock(mu);
    return n;
  }
};

TEST(BackgroundLoopTest, StopWithoutStartAndRepeatedStartStopAreFine) {
  Passes p;
  BackgroundLoop loop({.name = "t", .interval = std::chrono::hours(1)}, [&] {
    p.Add();
    return BackgroundLoop::Next();
  });
  loop.Stop();
  loop.Start();
  loop.Start();               // no second thread
  ASSERT_TRUE(p.WaitFor(1));  // run_at_start
  loop.Stop();
  loop.Stop();
  EXPECT_EQ(p.count(), 1);
  EXPECT_TRUE(loop.stopping());
  loop.Start();  // a stopped loop starts again
  ASSERT_TRUE(p.WaitFor(2));
}

TEST(BackgroundLoopTest, WakeRunsThePassBeforeTheInterval) {
  Passes p;
  BackgroundLoop loop({.name = "t", .interval = std::chrono::hours(1), .run_at_start = false}, [&] {
    p.Add();
    return BackgroundLoop::Next();
  });
  loop.Start();
  EXPECT_EQ(p.count(), 0);
  loop.Wake();
  EXPECT_TRUE(p.WaitFor(1));
  loop.Wake();
  EXPECT_TRUE(p.WaitFor(2));
}

TEST(BackgroundLoopTest, AgainRunsAtOnceUntilThePassSaysWait) {
  Passes p;
  BackgroundLoop loop({.name = "t", .interval = std::chrono::hours(1)}, [&] {
    p.Add();
    return p.count() < 5 ? BackgroundLoop::Next(BackgroundLoop::kAgain) : std::nullopt;
  });
  loop.Start();
  EXPECT_TRUE(p.WaitFor(5));
  loop.Stop();
  EXPECT_EQ(p.count(), 5);
}

TEST(BackgroundLoopTest, WakesDuringTheGapBecomeOnePass) {
  Passes p;
  std::atomic<bool> hold{true};
  BackgroundLoop loop({.name = "t",
                       .interval = std::chrono::hours(1),
                       .run_at_start = false,
                       .min_gap = milliseconds(200)},
                      [&] {
                        p.Add();
                        while (hold && p.count() == 1) std::this_thread::yield();
                        return BackgroundLoop::Next();
                      });
  loop.Start();
  loop.Wake();
  ASSERT_TRUE(p.WaitFor(1));
  for (int i = 0; i < 50; ++i) loop.Wake();  // during the first pass and the gap
  hold = false;
  ASSERT_TRUE(p.WaitFor(2));
  loop.Stop();
  EXPECT_EQ(p.count(), 2);
}

TEST(BackgroundLoopTest, StopEndsTheWaitAtOnce) {
  BackgroundLoop loop({.name = "t", .interval = std::chrono::hours(1), .threads = 3},
                      [] { return BackgroundLoop::Next(); });
  loop.Start();
  loop.Stop();  // would hang for an hour if the waits did not end
  SUCCEED();
}

}  // namespace
}  // namespace jq
