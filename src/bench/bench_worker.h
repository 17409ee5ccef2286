// Benchmark workers: in-process stand-ins for jq-worker that speak WorkerService exactly like
// it (register, stream, report started + result, heartbeat, deregister) but run nothing, so the
// server is measured rather than process start-up. Hundreds of them share a few channels and
// gRPC's callback threads: a worker is a stream reactor and some state, never a thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/clients.h"
#include "bench/stats.h"

namespace jq::bench {

enum class ReportMode {
  kBatch,  // ReportBatch calls, coalesced per worker
  kUnary,  // ReportStarted + ReportResult per job (servers without ReportBatch)
};

struct FleetConfig {
  std::string run_id;  // workers are "bench-<run_id>-<i>"
  std::string queue;   // the one queue every worker takes jobs from
  int workers = 4;
  int slots = 100;  // RegisterWorker.concurrency
  ReportMode report_mode = ReportMode::kBatch;
  bool report_started = true;
  // Payloads carry "t" (NowNs() at submit): record submit->start and submit->done.
  bool stamped = false;
  std::string hostname;
};

// A set of benchmark workers. Start() and Stop() are called from one thread; the accessors are
// thread-safe. Results are reported as successful (exit code 0) with the assignment's attempt.
// Control messages are ignored except CONTROL_SHUTDOWN, which ends that worker. Failed calls
// go to stats.errors; latency-mode histograms to stats.submit_to_start / submit_to_done.
class WorkerFleet {
 public:
  WorkerFleet(Clients& clients, FleetConfig config, RunStats& stats);
  ~WorkerFleet();  // Stop(); REQUIRES: idle() afterwards
  WorkerFleet(const WorkerFleet&) = delete;
  WorkerFleet& operator=(const WorkerFleet&) = delete;

  // Registers every worker and opens its stream (asynchronously); returns at once.
  void Start();
  // Cancels the streams, waits for calls in flight, deregisters every worker. Blocks (at most
  // some 35 s against a hung server). Idempotent.
  void Stop();
  // After Stop(): no call or stream is outstanding, so the fleet may be destroyed. When false
  // (a hung server), gRPC callbacks still point into it: leak it rather than destroy it.
  bool idle() const { return calls_in_flight_.load() == 0 && streams_open_.load() == 0; }

  // Results the server acknowledged OK.
  const std::atomic<std::uint64_t>& completed() const { return completed_; }
  // NowNs() of the latest acknowledgement (0 before the first).
  std::int64_t last_ack_ns() const { return last_ack_ns_.load(); }
  // Workers whose stream is open (registered and streaming).
  int streaming() const { return streams_open_.load(); }
  // Workers not ended by CONTROL_SHUTDOWN.
  int live() const { return live_.load(); }
  // The run cannot go on (e.g. the server lacks ReportBatch); failure() says why.
  bool failed() const { return failed_.load(); }
  std::string failure() const;

 private:
  class Worker;
  friend class Worker;

  void Fail(std::string message);
  void Acked(std::uint64_t n, std::int64_t now);
  void TickLoop();
  // A worker has a report to send in 1 ms: the ticker must recompute when it wakes.
  void WakeTicker();

  Clients& clients_;
  const FleetConfig config_;
  RunStats& stats_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread ticker_;
  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool tick_wake_ = false;  // guarded by tick_mu_
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::int64_t> last_ack_ns_{0};
  std::atomic<int> streams_open_{0};
  std::atomic<int> calls_in_flight_{0};
  std::atomic<int> live_{0};
  std::atomic<bool> failed_{false};
  mutable std::mutex failure_mu_;
  std::string failure_;  // guarded by failure_mu_
};

}  // namespace jq::bench
