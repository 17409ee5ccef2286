// The reaper: every interval, returns jobs with expired leases and jobs of silent workers
// through FAILED to the retry logic, and dead-letters jobs whose TTL passed (SPEC §4, §5).
// Every replica runs one; the store's SKIP LOCKED claims keep them from colliding.
// An outage of the store is nobody's fault: once passes could not reach it for a while (at
// least two intervals and a tenth of the lease), the next pass that can first gives every lease
// a fresh term (RenewAllAfterOutage), so a database failover longer than the lease re-runs no
// job whose worker kept heartbeating. A single failed pass (a deadlock, a statement timeout)
// renews nothing: were it to, a store that fails now and then would keep a dead worker's leases
// alive for ever. A reaper's first pass does
// the same: a replica started after an outage (or after every replica was down for longer than a
// lease, while workers kept running and could not heartbeat) cannot know what it missed. The
// price is that a worker which died meanwhile loses its jobs one lease term later.
// Start/Stop idempotent (core/background_loop.h); RunOnce is one pass, for tests too.
#pragma once

#include <chrono>
#include <functional>

#include "core/background_loop.h"
#include "core/clock.h"
#include "core/jitter.h"
#include "core/job_store.h"

namespace jq::server {

struct ReaperConfig {
  std::chrono::milliseconds interval{1000};
  std::chrono::seconds worker_timeout{30};
  std::chrono::seconds lease{30};  // the term every lease gets once the store is back
  // OFFLINE workers' rows are deleted after this (0 = kept), checked about once a minute.
  std::chrono::seconds offline_worker_retention{24 * 3600};
  JitterSource jitter01 = UniformJitter();  // the retry backoff's jitter in [0, 1)
};

class Reaper {
 public:
  // on_reap runs after every successful pass (to wake the dispatcher, count expiries).
  Reaper(JobStore& store, ReaperConfig config, std::function<void(const ReapResult&)> on_reap,
         const Clock& clock = SystemClock());
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }
  Result<ReapResult> RunOnce();

 private:
  JobStore& store_;
  const ReaperConfig config_;
  std::function<void(const ReapResult&)> on_reap_;
  const Clock& clock_;
  // RunOnce's thread only (the loop's, or a test's); see above.
  bool renew_first_ = true;
  bool store_failed_ = false;  // since the last renewal: says why the next renewal happens
  std::chrono::steady_clock::time_point last_reached_{};  // the last pass that reached the store
  long long passes_ = 0;                                  // RunOnce's thread only
  BackgroundLoop loop_;  // last: stopped before the members its passes use go away
};

}  // namespace jq::server
