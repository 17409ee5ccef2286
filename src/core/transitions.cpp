#include "core/transitions.h"

namespace jq {
namespace {

std::string Describe(const JobFacts& j) {
  return std::string(JobStatusName(j.status)) + ", attempt " + std::to_string(j.attempt) +
         (j.worker_id.empty() ? "" : " held by worker " + j.worker_id);
}

Decision Refuse(Status s) {
  Decision d;
  d.refusal = std::move(s);
  return d;
}

bool IsLeased(JobState s) {
  return s == JobState::kAssigned || s == JobState::kRunning;
}

// FAILED -> PENDING or DEAD_LETTERED, appended after the FAILED step.
void AfterFailure(const JobFacts& j, std::string_view why, double jitter01, Decision& d) {
  Transition next{.from = JobState::kFailed};
  if (why == reason::kUndelivered) {
    next.to = JobState::kPending;
    next.reason = reason::kRetry;
  } else if (why == reason::kInvalidPayload) {
    // A payload the worker cannot run will not run on a retry either.
    next.to = JobState::kDeadLettered;
    next.reason = reason::kInvalidPayload;
  } else if (j.cancel_requested) {
    next.to = JobState::kDeadLettered;
    next.reason = reason::kCancelled;
    next.error_message = "cancelled";
  } else if (why == reason::kWorkerShutdown) {
    // An operator stopped the job's worker: the job is not to blame, so it keeps its retries.
    next.to = JobState::kPending;
    next.reason = reason::kRetry;
  } else {
    const RetryDecision r =
        DecideAfterFailure(j.retry_count, j.max_retries, j.backoff, jitter01, why);
    next.to = r.next;
    next.reason = r.reason;
    next.delay = r.delay;
    next.uses_retry = r.next == JobState::kPending;
  }
  d.steps.push_back(std::move(next));
}

}  // namespace

Status CheckLease(const JobFacts& j, LeaseClaim claim) {
  if (!IsLeased(j.status) || j.worker_id != claim.worker_id ||
      (claim.attempt != 0 && claim.attempt != j.attempt)) {
    return Status::FailedPrecondition(
        "stale lease for job " + j.id + ": report from worker " + std::string(claim.worker_id) +
        " attempt " + std::to_string(claim.attempt) + ", but the job is " + Describe(j));
  }
  return Status::Ok();
}

Decision DecideStart(const JobFacts& j, LeaseClaim claim) {
  if (j.status == JobState::kDone && j.worker_id == claim.worker_id &&
      (claim.attempt == 0 || claim.attempt == j.attempt)) {
    return {};  // the same attempt's result came first: the job did start
  }
  if (Status s = CheckLease(j, claim); !s.ok()) return Refuse(std::move(s));
  if (j.status == JobState::kRunning) return {};  // a repeated report
  Decision d;
  d.steps.push_back(
      {.from = JobState::kAssigned, .to = JobState::kRunning, .reason = reason::kStarted});
  return d;
}

Decision DecideReport(const JobFacts& j, const WorkerReport& r, double jitter01) {
  if (Status s = CheckLease(j, r.lease); !s.ok()) return Refuse(std::move(s));
  Decision d;
  JobFacts now = j;
  if (now.status == JobState::kAssigned) {
    // A seed worker reports without ReportStarted: record the start it implies.
    d.steps.push_back(
        {.from = JobState::kAssigned, .to = JobState::kRunning, .reason = reason::kStarted});
    now.status = JobState::kRunning;
  }
  if (r.success) {
    d.steps.push_back(
        {.from = JobState::kRunning, .to = JobState::kDone, .reason = reason::kSuccess});
    return d;
  }
  std::string_view why = r.reason.empty() ? reason::kFailedExitCode : r.reason;
  if (why == reason::kCancelled && now.cancel_requested) {
    d.steps.push_back({.from = JobState::kRunning,
                       .to = JobState::kDeadLettered,
                       .reason = reason::kCancelled,
                       .error_message = r.error_message.empty() ? std::string("cancelled")
                                                                : std::string(r.error_message)});
    return d;
  }
  // A worker may not cancel a job nobody asked to cancel: that is an ordinary failure.
  if (why == reason::kCancelled) why = reason::kFailedExitCode;
  Decision rest = DecideFailure(now, why, r.error_message, jitter01);
  for (auto& step : rest.steps) d.steps.push_back(std::move(step));
  return d;
}

Decision DecideFailure(const JobFacts& j, std::string_view why, std::string_view error_message,
                       double jitter01) {
  if (!IsLeased(j.status)) {
    return Refuse(Status::FailedPrecondition("job " + j.id + " is " + Describe(j) +
                                             "; only a leased job can fail"));
  }
  Decision d;
  d.steps.push_back({.from = j.status,
                     .to = JobState::kFailed,
                     .reason = why,
                     .error_message = std::string(error_message)});
  AfterFailure(j, why, jitter01, d);
  return d;
}

Decision DecideDeregistered(const JobFacts& j, bool shutdown_requested, double jitter01) {
  if (shutdown_requested) {
    return DecideFailure(j, reason::kWorkerShutdown,
                         "stopped by a shutdown of its worker (jq-ctl worker shutdown)", jitter01);
  }
  return DecideFailure(j, reason::kWorkerLost, "worker deregistered", jitter01);
}

Decision DecideUndelivered(const JobFacts& j, LeaseClaim claim) {
  if (Status s = CheckLease(j, claim); !s.ok()) return Refuse(std::move(s));
  if (j.status != JobState::kAssigned) {
    return Refuse(Status::FailedPrecondition("job " + j.id + " is " + Describe(j)));
  }
  return DecideFailure(j, reason::kUndelivered, "assignment not delivered", 0);
}

Decision DecideCancel(const JobFacts& j, bool holder_takes_control) {
  switch (j.status) {
    case JobState::kPending:
    case JobState::kAssigned: {
      Decision d;
      d.steps.push_back({.from = j.status,
                         .to = JobState::kDeadLettered,
                         .reason = reason::kCancelled,
                         .error_message = "cancelled"});
      return d;
    }
    case JobState::kRunning: {
      if (!holder_takes_control) {
        return Refuse(Status::FailedPrecondition(
            "job " + j.id + " is RUNNING on worker " + j.worker_id +
            ", which cannot be told to stop (it takes no control messages, as the seed "
            "system's workers do not); it runs to its end"));
      }
      Decision d;
      d.request_cancel = true;  // the worker kills the process group and reports CANCELLED
      return d;
    }
    default:
      return Refuse(
          Status::FailedPrecondition("job " + j.id + " is " + std::string(JobStatusName(j.status)) +
                                     "; only PENDING, ASSIGNED or RUNNING jobs can be cancelled"));
  }
}

Decision DecideManualRetry(const JobFacts& j) {
  if (j.status != JobState::kFailed && j.status != JobState::kDeadLettered) {
    return Refuse(Status::FailedPrecondition("job " + j.id + " is " +
                                             std::string(JobStatusName(j.status)) +
                                             "; only FAILED or DEAD_LETTERED jobs can be retried"));
  }
  Decision d;
  d.steps.push_back({.from = j.status, .to = JobState::kPending, .reason = reason::kManualRetry});
  return d;
}

}  // namespace jq
