// RemoteWaker: tells the other jq-server replicas that jobs became runnable, at most once per
// window. A NOTIFY inside every submit transaction serialises commits on PostgreSQL's
// cluster-wide notify lock; one NOTIFY per window from its own transaction costs nothing on
// the hot path, and other replicas' dispatchers also have their tick as a safety net.
// Thread-safe; Poke() never blocks on I/O. Start/Stop idempotent (core/background_loop.h).
#pragma once

#include <atomic>
#include <chrono>

#include "core/background_loop.h"
#include "core/job_store.h"

namespace jq::server {

class RemoteWaker {
 public:
  RemoteWaker(JobStore& store, std::chrono::milliseconds window);
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }
  void Poke();
  // Sends the NOTIFY if a Poke is waiting; true if it sent one.
  bool RunOnce();

 private:
  JobStore& store_;
  std::atomic<bool> pending_{false};
  BackgroundLoop loop_;  // last: stopped before the members its passes use go away
};

}  // namespace jq::server
