// jq-bench's settings, one struct per run, filled by the command line (main.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "bench/bench_worker.h"

namespace jq::bench {

struct Options {
  std::string mode;  // submit, batch, e2e, latency, subprocess

  // Every mode.
  std::string server = "127.0.0.1:50051";
  std::string tls_ca, tls_cert, tls_key;  // PEM files; any set = TLS (as jq-ctl's flags)
  std::string api_key;  // sent as a bearer token by every call, and given to its jq-workers
  int channels = 4;
  bool json = false;
  std::string timeline;  // CSV path; empty = none
  int server_pid = 0;    // 0 = do not sample
  std::string label;
  std::string queue;  // empty = the mode's default
  int payload_bytes = 100;
  std::uint64_t prefill_pending = 0;
  std::string prefill_queue = "bench-backlog";
  int stall_seconds = 60;  // worker modes: give up after this long without a completion (a
                           // lost report costs a lease, 30 s by default)

  // submit, batch, latency.
  int concurrency = 200;
  std::uint64_t total = 0;  // 0 = run for the duration
  double duration = 10;
  bool duration_set = false;
  double rate = 0;  // open loop; 0 = closed loop
  int batch_size = 1000;

  // e2e, latency, subprocess.
  std::uint64_t jobs = 100000;
  int workers = 4;
  int slots = 100;
  std::string report_mode = "batch";
  bool no_started = false;
  std::string jq_worker;  // empty = jq-worker next to jq-bench
};

}  // namespace jq::bench
