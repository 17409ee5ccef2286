// The job rules (SPEC §4): what a worker's report, a cancel, a manual retry or a failure the
// server detects (lease expired, worker lost, assignment undelivered) does to a job. Pure and
// thread-safe: each Decide* function reads the facts of the job's locked row and returns the
// transitions to write, in order; the store only executes them, each as one guarded
// statement plus its job_events row, in the transaction that holds the row lock.
//
// Why this is safe:
// - Fencing. Every decision that acts for a worker first checks its lease: the job is
//   ASSIGNED or RUNNING, held by that worker, for that attempt (attempt 0, from a seed worker,
//   means "the attempt this worker holds"). A report from an earlier attempt, or from a worker
//   whose lease was reclaimed and given to another, is refused and writes nothing, so a job
//   that runs twice across a lost lease is still finished at most once per attempt.
// - One lock, one decision. The facts come from the row locked FOR UPDATE and the store
//   writes every step under that lock, each statement guarded on the step's `from` state: a
//   decision cannot act on a state that changed after it was read.
// - Every step is a transition SPEC §4 allows (IsTransitionAllowed; the tests check every
//   decision's chain), and every step becomes exactly one job_events row.
// - Nothing is lost. A failure always ends in PENDING (a retry is left) or DEAD_LETTERED;
//   FAILED is held only inside the transaction. A cancel of a RUNNING job is a request the
//   worker answers; the job is never finished behind a running process's back.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/backoff.h"
#include "core/job_state.h"
#include "core/status.h"

namespace jq {

// What the rules need to know of a job: its locked row, and its queue's backoff.
struct JobFacts {
  std::string id;
  JobState status = JobState::kUnspecified;
  std::string worker_id;  // the lease holder; empty when none
  int attempt = 0;
  int retry_count = 0;
  int max_retries = 0;
  bool cancel_requested = false;
  BackoffPolicy backoff;
};

// One transition to write: the job row from `from` to `to`, and its job_events row.
struct Transition {
  JobState from = JobState::kUnspecified;
  JobState to = JobState::kUnspecified;
  std::string_view reason;
  // to PENDING after a failure: when the next attempt is due, and whether it uses a retry
  // (an assignment that never reached its worker does not).
  std::chrono::milliseconds delay{0};
  bool uses_retry = false;
  // Replaces the job's error message when set.
  std::optional<std::string> error_message;
};

struct Decision {
  Status refusal;  // not OK: write nothing and answer this
  std::vector<Transition> steps;
  bool request_cancel = false;  // a RUNNING job: mark it, and its worker stops it

  // The state the job is left in (`current` when nothing is written).
  JobState FinalState(JobState current) const { return steps.empty() ? current : steps.back().to; }
};

// The caller's claim on a job: the worker and the attempt it was leased.
struct LeaseClaim {
  std::string_view worker_id;
  int attempt = 0;  // 0: whatever attempt this worker holds (seed workers)
};

// OK if `claim` holds the job's current lease; else FAILED_PRECONDITION naming both sides.
Status CheckLease(const JobFacts& j, LeaseClaim claim);

// ReportStarted: ASSIGNED -> RUNNING. A repeat, or a start that arrives after the same
// attempt's result (reports travel in parallel batches), writes nothing and is OK.
Decision DecideStart(const JobFacts& j, LeaseClaim claim);

struct WorkerReport {
  LeaseClaim lease;
  bool success = false;
  std::string_view reason;  // the worker's failure reason; FAILED_EXIT_CODE when empty
  std::string_view error_message;
};

// ReportResult. A seed worker that never reported the start gets the STARTED step it implies.
// Success: -> DONE. CANCELLED for a job whose cancel was requested: RUNNING -> DEAD_LETTERED
// at once (SPEC §4); CANCELLED otherwise counts as an ordinary failure. Any other failure:
// -> FAILED, then as DecideFailure.
Decision DecideReport(const JobFacts& j, const WorkerReport& r, double jitter01);

// A failure of the current attempt (`why`), reported or detected: ASSIGNED/RUNNING -> FAILED,
// then FAILED -> PENDING (a retry left; due at once when the worker or its lease was lost,
// after the queue's backoff otherwise) or -> DEAD_LETTERED (no retry left, a payload the
// worker cannot run, a cancel requested). UNDELIVERED, and WORKER_SHUTDOWN unless a cancel
// was requested, requeue at once without using a retry.
// REQUIRES: j is ASSIGNED or RUNNING (the caller checked the lease or selected it as leased).
Decision DecideFailure(const JobFacts& j, std::string_view why, std::string_view error_message,
                       double jitter01);

// A job its worker still held when it deregistered: WORKER_SHUTDOWN, without using a retry,
// when the worker was asked to shut down (the operator stopped the job, not the job itself);
// WORKER_LOST otherwise. Then as DecideFailure.
Decision DecideDeregistered(const JobFacts& j, bool shutdown_requested, double jitter01);

// An assignment that never reached its worker (its stream closed first): the lease must be
// current and the job still ASSIGNED; then -> FAILED (UNDELIVERED) -> PENDING at once.
Decision DecideUndelivered(const JobFacts& j, LeaseClaim claim);

// Cancel: PENDING/ASSIGNED -> DEAD_LETTERED now; RUNNING: request_cancel; other states are
// refused with FAILED_PRECONDITION.
// holder_takes_control: the lease holder can be told to stop (a jq-worker; a seed worker
// cannot, so cancelling its RUNNING job is refused rather than answered OK and ignored).
Decision DecideCancel(const JobFacts& j, bool holder_takes_control = true);

// Manual retry: FAILED/DEAD_LETTERED -> PENDING with its retries reset; else refused.
Decision DecideManualRetry(const JobFacts& j);

}  // namespace jq
