// Child processes for the subprocess mode: real jq-worker binaries started and stopped by
// jq-bench.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace jq::bench {

// The children jq-bench started. Not thread-safe, except KillAllChildren().
class ChildProcesses {
 public:
  ChildProcesses() = default;
  ~ChildProcesses() { StopAll(std::chrono::seconds(10)); }
  ChildProcesses(const ChildProcesses&) = delete;
  ChildProcesses& operator=(const ChildProcesses&) = delete;

  // Starts path with the environment minus every JQ_* variable plus env, stdin from
  // /dev/null and stdout onto our stderr (so that --json output stays clean).
  bool Spawn(const std::string& path, const std::map<std::string, std::string>& env,
             std::string* error);
  // A description of the first child that has exited; empty while all run.
  std::string Exited();
  // SIGTERM to every child, SIGKILL to those still running after grace; reaps them all.
  // Idempotent.
  void StopAll(std::chrono::milliseconds grace);
  std::size_t size() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
  std::vector<bool> reaped_;
};

// SIGTERM to every child any ChildProcesses started and has not reaped. Async-signal-safe.
void KillAllChildren();

// A loopback TCP port that was free a moment ago.
int FreePort();

// The directory of the running binary (from /proc/self/exe); "." when unknown.
std::string SelfDirectory();

// Threads and VmRSS (MiB) from /proc/<pid>/status; false when unreadable.
bool ReadProcStatus(int pid, int* threads, double* rss_mb);

}  // namespace jq::bench
