// The benchmark modes (SPEC §14): submit, batch, e2e, latency, subprocess.
#pragma once

#include <atomic>

#include "bench/options.h"

namespace jq::bench {

// Exit codes.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;       // the run could not finish (see stderr / "error")
constexpr int kExitUsage = 2;        // bad flags
constexpr int kExitUnreachable = 3;  // no jq-server at --server
constexpr int kExitInterrupted = 130;

// Connects, creates the queues, prefills, runs options.mode and prints the report (JSON or a
// table) on stdout; progress and errors go to stderr. `abort` (set by a signal) ends the run
// early. Returns the exit code. Sets *hard_exit when gRPC callbacks may still be pending
// (a hung server), so the caller must leave with _Exit rather than run destructors.
int RunBench(const Options& options, const std::atomic<bool>& abort, bool* hard_exit);

}  // namespace jq::bench
