// BackgroundLoop: the one shape of every background loop in jq (River's startstop). A service
// owns a loop and gives it a pass function: its RunOnce. Start and Stop are idempotent, Stop on
// a loop that never started is fine, and Stop returns after the pass in progress has ended.
// Wake runs the next pass at once. Services keep RunOnce public, so unit tests call it
// directly with a fake store and a ManualClock instead of starting threads and sleeping.
// Thread-safe. No I/O of its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace jq {

class BackgroundLoop {
 public:
  // What a pass asks for next: nullopt waits for the interval (or a Wake); a duration waits
  // that long instead (zero: run again at once, e.g. a claim that filled every slot).
  using Next = std::optional<std::chrono::milliseconds>;
  static constexpr std::chrono::milliseconds kAgain{0};

  struct Options {
    std::string name;  // for the thread's name in logs and debuggers
    std::chrono::milliseconds interval{1000};
    int threads = 1;           // passes that may run at once
    bool run_at_start = true;  // false: the first pass waits for the interval
    // The least time between the end of one pass and the start of the next, even when woken
    // (coalesces bursts of Wake into one pass per gap).
    std::chrono::milliseconds min_gap{0};
  };

  BackgroundLoop(Options options, std::function<Next()> pass);
  ~BackgroundLoop();  // Stop()
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  void Start();
  void Stop();
  void Wake();
  // For a pass that blocks (waiting on a socket, say): true once Stop has been called.
  bool stopping() const;

 private:
  void Run();
  // Waits up to d, or until woken (unless ignore_wake) or stopped. REQUIRES: lock holds mu_.
  void WaitFor(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds d, bool ignore_wake);

  const Options options_;
  const std::function<Next()> pass_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;                 // GUARDED_BY(mu_)
  bool stop_ = false;                 // GUARDED_BY(mu_)
  std::mutex life_mu_;                // serialises Start and Stop
  std::vector<std::thread> threads_;  // GUARDED_BY(life_mu_)
};

}  // namespace jq
