// RemoteWaker: tells the other jq-server replicas that jobs became runnable, at most once per
// window. A NOTIFY inside every submit transaction serialises commits on PostgreSQL's
// cluster-wide notify lock; one NOTIFY per window from its own transaction costs nothing on
// the hot path, and other replicas' dispatchers also have their tick as a safety net.
// Thread-safe; Poke() never blocks on I/O. Start/Stop idempotent.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/job_store.h"

namespace jq::server {

class RemoteWaker {
 public:
  RemoteWaker(JobStore& store, std::chrono::milliseconds window);
  ~RemoteWaker();
  RemoteWaker(const RemoteWaker&) = delete;
  RemoteWaker& operator=(const RemoteWaker&) = delete;

  void Start();
  void Stop();
  void Poke();

 private:
  void Run();

  JobStore& store_;
  const std::chrono::milliseconds window_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;  // GUARDED_BY(mu_)
  bool stop_ = false;     // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace jq::server
