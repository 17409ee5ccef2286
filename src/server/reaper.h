// The reaper: every interval, returns jobs with expired leases and jobs of silent workers
// through FAILED to the retry logic, and dead-letters jobs whose TTL passed (SPEC §4, §5).
// Every replica runs one; the store's SKIP LOCKED claims keep them from colliding.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "core/job_store.h"

namespace jq::server {

struct ReaperConfig {
  std::chrono::milliseconds interval{1000};
  std::chrono::seconds worker_timeout{30};
};

class Reaper {
 public:
  // on_reap runs after every successful pass (to wake the dispatcher, count expiries).
  Reaper(JobStore& store, ReaperConfig config, std::function<void(const ReapResult&)> on_reap);
  ~Reaper();
  void Start();
  void Stop();

 private:
  void Run();
  JobStore& store_;
  const ReaperConfig config_;
  std::function<void(const ReapResult&)> on_reap_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace jq::server
