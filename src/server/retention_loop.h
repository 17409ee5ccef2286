// The retention cleaner (SPEC §11): deletes finished jobs, with their outputs and events, once
// they are older than the configured age, so that the tables stay the size of the recent
// history instead of growing (and bloating) forever.
//
// A run deletes DONE jobs, then DEAD_LETTERED ones (each status has its own age), oldest first,
// one batch per transaction (JobStore::JobDeleteFinished), pausing between batches at least as
// long as the last batch took, so that the hot path keeps most of the database, until a batch
// finds fewer jobs than it asked for; then the loop sleeps for the interval. Each batch
// carries on from where the previous one stopped.
//
// Events that Kafka has not yet received are never deleted. A job whose events are not all
// published stays whole — row, outputs and events — rather than going without them:
// - GetJobLogs and the job row then never disagree, and no second pass has to find orphaned
//   events later;
// - if Kafka is down for days, finished jobs past their age accumulate (the tables grow by the
//   outage's jobs) and are deleted in batches once the relay has caught up. Such jobs come in
//   completion order, so the first batch that has to keep one ends that status's run: a
//   run costs one batch while publishing is behind, not a scan of everything it must keep.
//   The last run's count is the jq_retention_held_back_jobs gauge, and a warning is logged.
// Without Kafka (keep_unpublished false) events go with their job.
//
// Every replica runs one; a batch takes a transaction advisory lock, so one batch runs at a
// time across replicas, and a replica that finds another's batch under way ends its run until
// the next interval. Runs that take turns anyway are harmless: deleted rows are gone, and a
// batch locks its rows with SKIP LOCKED.
//
// Start/Stop idempotent (core/background_loop.h); Stop waits for the batch under way (at most
// the store's statement timeout). RunBatch is one batch and RunOnce a whole run, for tests;
// both on one thread at a time (the loop's, or a test's).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/background_loop.h"
#include "core/clock.h"
#include "core/job_store.h"

namespace jq::server {

struct RetentionConfig {
  std::chrono::seconds done_age{std::chrono::hours(24 * 7)};            // 0: keep forever
  std::chrono::seconds dead_lettered_age{std::chrono::hours(24 * 30)};  // 0: keep forever
  int batch_size = 1000;
  std::chrono::milliseconds interval{std::chrono::minutes(1)};  // between runs
  // Between a run's batches: at least this, and at least as long as the last batch took, so
  // that a run takes at most about half of the database's time, less when it is busy.
  std::chrono::milliseconds batch_pause{10};
  bool keep_unpublished = true;  // a Kafka relay is configured
};

// What a run did, in all.
struct RetentionRunTotals {
  int batches = 0;
  std::int64_t jobs = 0, outputs = 0, events = 0;
  int held_back = 0;  // jobs kept because their events are not yet published
  bool busy = false;  // ended early: another replica's batch was under way
  double seconds = 0;
};

class RetentionLoop {
 public:
  struct Hooks {
    // After every batch that deleted rows (for the per-table counters).
    std::function<void(const JobDeleteFinishedResult&)> on_batch;
    // After every run that reached its end (not after an error).
    std::function<void(const RetentionRunTotals&)> on_run;
  };

  RetentionLoop(JobStore& store, RetentionConfig config, Hooks hooks = {},
                const Clock& clock = SystemClock());
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }

  // One batch of the run under way, starting a run if none is. Returns the batch's result;
  // *run_over is set when the run has ended (caught up, busy, or an error). With both ages 0
  // there is nothing to do: the run ends at once.
  Result<JobDeleteFinishedResult> RunBatch(bool* run_over);
  // Batches until the run ends, without pausing; the run's totals.
  Result<RetentionRunTotals> RunOnce();
  // How long the loop waits after a batch: the interval (nullopt) once the run is over, else
  // the pause.
  BackgroundLoop::Next NextWait(bool run_over) const;

 private:
  struct Phase {
    JobState status;
    std::chrono::seconds age;
  };
  void EndRun();

  JobStore& store_;
  const RetentionConfig config_;
  const Hooks hooks_;
  const Clock& clock_;
  std::vector<Phase> phases_;  // the statuses with an age, DONE first
  // The run under way (RunBatch's thread only).
  bool running_ = false;
  std::size_t phase_ = 0;
  std::optional<TimePoint> after_completed_at_;
  std::string after_id_;
  RetentionRunTotals totals_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::milliseconds last_batch_{0};
  BackgroundLoop loop_;  // last: stopped before the members its passes use go away
};

}  // namespace jq::server
