// Refreshes the gauges that describe the whole system — queue depth by status, workers
// online — from the database every interval. Start/Stop idempotent.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "core/job_store.h"
#include "server/server_metrics.h"

namespace jq::server {

class StatsPoller {
 public:
  // extra runs after each poll (e.g. to copy the outbox relay's figures into metrics).
  StatsPoller(JobStore& store, ServerMetrics& metrics, std::chrono::milliseconds interval,
              std::function<void()> extra = nullptr);
  ~StatsPoller();
  void Start();
  void Stop();
  void PollOnce();

 private:
  JobStore& store_;
  ServerMetrics& metrics_;
  const std::chrono::milliseconds interval_;
  std::function<void()> extra_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace jq::server
