// Runs one job as a subprocess (SPEC §4).
//
// The job is started with posix_spawnp in a process group of its own (its pid is the group
// id), stdin from /dev/null, stdout and stderr through pipes read with poll(); the last
// output_cap_bytes of each stream are kept. On timeout or Cancel() the whole group gets
// SIGTERM, then SIGKILL after kill_grace. When the job's main process exits, whatever it left
// running in its group is killed before Wait() returns, so nothing of a job outlives it
// (except a process that deliberately left the group with setsid/setpgid).
//
// REQUIRES: SIGCHLD is not ignored (SIG_IGN) in the worker, or exit statuses are lost; and no
// other code in the process reaps arbitrary children (waitpid(-1, ...)).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "worker/exec/payload.h"

namespace jq::exec {

struct RunOptions {
  // Per stream; the tail is kept and the *_truncated flag set when output exceeds it.
  std::size_t output_cap_bytes = 1 << 20;
  // Used when the spec's timeout_seconds is 0; 0 here too means no timeout.
  std::chrono::milliseconds default_timeout{0};
  // SIGTERM to the group on timeout / cancel, SIGKILL this much later if anything is left.
  std::chrono::milliseconds kill_grace{5000};
  // After the main process exits, how long processes it left in its group may keep the
  // output pipes open before the group is SIGKILLed (leftovers_killed is then set).
  std::chrono::milliseconds drain_after_exit{200};
  // Non-empty: run the job as this user (the worker must be root), via
  // `setpriv --reuid=<uid> --regid=<primary gid> --init-groups --`. HOME, USER and LOGNAME
  // are set for that user (the spec's env may still override them).
  std::string run_as_user;
  // Added last, over the spec's env (JQ_JOB_ID, TRACEPARENT, ...). The job's environment is:
  // the worker's own minus its JQ_* settings (they may hold credentials), then the run-as
  // user's HOME/USER/LOGNAME, then the spec's env, then these.
  std::map<std::string, std::string> extra_env;
};

struct RunResult {
  int exit_code = -1;   // the main process's exit status; -1 if it did not exit normally
  int term_signal = 0;  // the signal that ended the main process, 0 if none
  bool timed_out = false;
  bool cancelled = false;  // Cancel() took effect before the main process exited
  std::string stdout_tail;
  std::string stderr_tail;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  // Processes left in the group still held the output pipes drain_after_exit after the main
  // process exited, and were killed.
  bool leftovers_killed = false;
  // Non-empty when the process never started: "command not found: foo",
  // "cwd /nope: No such file or directory", "run-as user bob: no such user", ...
  std::string spawn_error;
  std::chrono::milliseconds duration{0};  // from Start() to the end of Wait()
};

// One started (or failed-to-start) job process.
//
// Thread-safety: Cancel() may be called from any thread, at any time (also before or after
// Wait()), any number of times. Wait() must be called from one thread; later calls return the
// first result at once. started() and pid() are immutable after Start().
// Ownership: the object owns the child and its pipes; destroying it without Wait() kills the
// group and reaps the child (blocking briefly).
class RunningProcess {
 public:
  // Spawns the process and returns without waiting for it. Never throws for a bad spec or a
  // failed spawn: started() is then false and Wait() reports spawn_error. Reads the process
  // environment (do not race it with setenv()).
  static std::shared_ptr<RunningProcess> Start(const JobSpec& spec, const RunOptions& options);

  ~RunningProcess();
  RunningProcess(const RunningProcess&) = delete;
  RunningProcess& operator=(const RunningProcess&) = delete;

  bool started() const { return pid_ > 0; }
  // The main process's pid, which is also the job's process group id; -1 if not started.
  int pid() const { return pid_; }

  // Asks the running job to stop: Wait() sends SIGTERM to the group within milliseconds and
  // SIGKILL after kill_grace. Non-blocking; a no-op once the main process has exited.
  void Cancel();

  // Blocks until the main process has exited, its output pipes are drained (or given up on)
  // and its group is killed and the child reaped. Enforces the timeout and Cancel().
  RunResult Wait();

 private:
  RunningProcess() = default;

  int pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int cancel_fd_ = -1;  // eventfd: readable once Cancel() has written it; fd fixed until ~
  std::atomic<bool> cancel_requested_{false};
  bool waited_ = false;
  std::chrono::steady_clock::time_point started_at_;
  std::chrono::milliseconds timeout_{0};
  std::chrono::milliseconds kill_grace_{0};
  std::chrono::milliseconds drain_after_exit_{0};
  std::size_t cap_ = 0;
  RunResult result_;
};

// Start(spec, options)->Wait(): runs the job to completion on the calling thread.
RunResult RunJob(const JobSpec& spec, const RunOptions& options);

}  // namespace jq::exec
