// Producers: SubmitJob / SubmitJobs load over the callback API, closed or open loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bench/clients.h"
#include "bench/stats.h"

namespace jq::bench {

// {"command":<command>,"t":<stamp>,"pad":"xxx…"} padded with x to `bytes` (when it is longer
// than the payload without padding); "t" only when a stamp is given.
std::string MakePayload(std::string_view command_json, int bytes,
                        std::optional<std::int64_t> stamp = std::nullopt);
// The "t" of a payload made by MakePayload; 0 when there is none.
std::int64_t ParseStamp(std::string_view payload);

struct SubmitLoad {
  std::string queue;
  std::string command_json = R"(["true"])";
  int payload_bytes = 100;
  int concurrency = 200;        // closed loop: calls always in flight
  std::uint64_t total = 0;      // jobs to submit; 0 = until the duration ends
  double duration_seconds = 0;  // 0 = until total
  double rate = 0;              // open loop: SubmitJob calls per second; 0 = closed loop
  int batch_size = 0;           // 0 = SubmitJob; N = SubmitJobs of N jobs (closed loop only)
  bool stamp = false;           // open loop: put the send time ("t", NowNs()) in each payload
  const std::atomic<bool>* abort = nullptr;  // stop issuing when it becomes true
};

struct LoadResult {
  std::uint64_t jobs = 0;   // jobs acknowledged
  std::uint64_t calls = 0;  // calls answered OK
  double seconds = 0;       // first call sent -> last call answered
};

// Runs the load and blocks until every call has been answered. Per-call latency goes to
// stats.call_latency, accepted jobs to stats.jobs (live, for the timeline), failures to
// stats.errors.
LoadResult RunSubmitLoad(Clients& clients, const SubmitLoad& load, RunStats& stats);

// Submits `jobs` jobs to queue with SubmitJobs (1000 a call, 4 in flight), printing progress
// to stderr unless quiet. Returns the number accepted; errors go to `errors`.
std::uint64_t Prefill(Clients& clients, const std::string& queue, std::uint64_t jobs,
                      std::string_view command_json, int payload_bytes, ErrorCounter& errors,
                      const std::atomic<bool>* abort, bool quiet);

}  // namespace jq::bench
