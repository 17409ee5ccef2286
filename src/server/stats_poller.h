// Refreshes the gauges that describe the whole system — queue depth by status, workers
// online — from the database every interval. Unfinished depths come from the partial indexes
// every poll; the finished ones (DONE, DEAD_LETTERED) need every row of the history and are
// counted only every finished_every polls. Start/Stop idempotent (core/background_loop.h);
// PollOnce is one pass, for tests too.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "core/background_loop.h"
#include "core/job_store.h"
#include "server/server_metrics.h"

namespace jq::server {

class StatsPoller {
 public:
  // extra runs after each poll (e.g. to copy the outbox relay's figures into metrics).
  StatsPoller(JobStore& store, ServerMetrics& metrics, std::chrono::milliseconds interval,
              std::function<void()> extra = nullptr, int finished_every = 12);
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }
  void PollOnce();

 private:
  JobStore& store_;
  ServerMetrics& metrics_;
  const std::chrono::milliseconds interval_;
  std::function<void()> extra_;
  const int finished_every_;
  int polls_ = 0;  // poller thread only
  // The last finished counts, republished between the polls that recount them.
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> finished_;  // poller thread only
  BackgroundLoop loop_;  // last: stopped before the members its passes use go away
};

}  // namespace jq::server
