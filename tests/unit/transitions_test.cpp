// The job rules (core/transitions.h): what each report, failure, cancel and retry writes.
#include "core/transitions.h"

#include <gtest/gtest.h>

namespace jq {
namespace {

using S = JobState;

JobFacts Leased(S status, int attempt = 1, int retry_count = 0, int max_retries = 3) {
  JobFacts j;
  j.id = "j1";
  j.status = status;
  j.worker_id = "w1";
  j.attempt = attempt;
  j.retry_count = retry_count;
  j.max_retries = max_retries;
  j.backoff = {std::chrono::milliseconds(100), std::chrono::milliseconds(1000)};
  return j;
}

// Every chain starts where the job is and every step is a transition SPEC §4 allows.
void ExpectValidChain(const JobFacts& j, const Decision& d) {
  ASSERT_TRUE(d.refusal.ok()) << d.refusal.ToString();
  S at = j.status;
  for (const auto& step : d.steps) {
    EXPECT_EQ(step.from, at);
    EXPECT_TRUE(IsTransitionAllowed(step.from, step.to))
        << JobStatusName(step.from) << " -> " << JobStatusName(step.to);
    EXPECT_FALSE(step.reason.empty());
    at = step.to;
  }
}

std::vector<std::string_view> Reasons(const Decision& d) {
  std::vector<std::string_view> out;
  for (const auto& s : d.steps) out.push_back(s.reason);
  return out;
}

TEST(TransitionsTest, StartOfTheCurrentLeaseRuns) {
  const auto j = Leased(S::kAssigned);
  const auto d = DecideStart(j, {"w1", 1});
  ExpectValidChain(j, d);
  EXPECT_EQ(Reasons(d), (std::vector<std::string_view>{reason::kStarted}));
  EXPECT_EQ(d.FinalState(j.status), S::kRunning);
}

TEST(TransitionsTest, RepeatedOrLateStartWritesNothing) {
  EXPECT_TRUE(DecideStart(Leased(S::kRunning), {"w1", 1}).steps.empty());
  const auto late = DecideStart(Leased(S::kDone), {"w1", 1});  // its result came first
  EXPECT_TRUE(late.refusal.ok());
  EXPECT_TRUE(late.steps.empty());
}

TEST(TransitionsTest, StaleLeasesAreRefusedWithBothSidesNamed) {
  for (LeaseClaim claim : {LeaseClaim{"w2", 1}, LeaseClaim{"w1", 2}}) {
    const auto d = DecideReport(Leased(S::kRunning), {.lease = claim, .success = true}, 0);
    EXPECT_EQ(d.refusal.code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(d.refusal.message().find("stale lease for job j1"), std::string::npos);
    EXPECT_NE(d.refusal.message().find("held by worker w1"), std::string::npos);
    EXPECT_TRUE(d.steps.empty());
  }
  EXPECT_FALSE(DecideStart(Leased(S::kPending), {"w1", 1}).refusal.ok());
  EXPECT_FALSE(DecideStart(Leased(S::kDone), {"w2", 1}).refusal.ok());
}

TEST(TransitionsTest, SeedWorkerAttemptZeroMeansItsCurrentLease) {
  const auto j = Leased(S::kAssigned, 4);
  const auto d = DecideReport(j, {.lease = {"w1", 0}, .success = true}, 0);
  ExpectValidChain(j, d);
  // It never reported the start: the start is implied.
  EXPECT_EQ(Reasons(d), (std::vector<std::string_view>{reason::kStarted, reason::kSuccess}));
  EXPECT_EQ(d.FinalState(j.status), S::kDone);
}

TEST(TransitionsTest, FailureWithRetriesLeftBacksOffPerQueue) {
  const auto j = Leased(S::kRunning, 1, 2, 3);
  const auto d = DecideReport(j, {.lease = {"w1", 1}, .error_message = "exit 1"}, 0);
  ExpectValidChain(j, d);
  EXPECT_EQ(Reasons(d), (std::vector<std::string_view>{reason::kFailedExitCode, reason::kRetry}));
  EXPECT_EQ(d.steps[0].error_message, "exit 1");
  EXPECT_EQ(d.steps[1].delay, std::chrono::milliseconds(400));  // 100 ms * 2^2
  EXPECT_TRUE(d.steps[1].uses_retry);
  EXPECT_EQ(d.FinalState(j.status), S::kPending);
}

TEST(TransitionsTest, FailureWithoutRetriesLeftDeadLetters) {
  const auto j = Leased(S::kRunning, 4, 3, 3);
  const auto d = DecideReport(j, {.lease = {"w1", 4}, .reason = reason::kTimeout}, 0);
  ExpectValidChain(j, d);
  EXPECT_EQ(Reasons(d),
            (std::vector<std::string_view>{reason::kTimeout, reason::kMaxRetriesExceeded}));
  EXPECT_EQ(d.FinalState(j.status), S::kDeadLettered);
}

TEST(TransitionsTest, InvalidPayloadIsNotRetried) {
  const auto j = Leased(S::kRunning);
  const auto d = DecideReport(j, {.lease = {"w1", 1}, .reason = reason::kInvalidPayload}, 0);
  ExpectValidChain(j, d);
  EXPECT_EQ(d.FinalState(j.status), S::kDeadLettered);
  EXPECT_EQ(d.steps.back().reason, reason::kInvalidPayload);
}

TEST(TransitionsTest, CancelledReportDeadLettersOnlyARequestedCancel) {
  auto j = Leased(S::kRunning);
  j.cancel_requested = true;
  const auto d = DecideReport(j, {.lease = {"w1", 1}, .reason = reason::kCancelled}, 0);
  ExpectValidChain(j, d);
  EXPECT_EQ(Reasons(d), (std::vector<std::string_view>{reason::kCancelled}));
  EXPECT_EQ(d.steps[0].error_message, "cancelled");
  EXPECT_EQ(d.FinalState(j.status), S::kDeadLettered);

  // Nobody asked: a worker's CANCELLED is an ordinary failure, retried.
  const auto plain = Leased(S::kRunning);
  const auto f = DecideReport(plain, {.lease = {"w1", 1}, .reason = reason::kCancelled}, 0);
  ExpectValidChain(plain, f);
  EXPECT_EQ(Reasons(f), (std::vector<std::string_view>{reason::kFailedExitCode, reason::kRetry}));
}

TEST(TransitionsTest, FailureOfACancelRequestedJobIsNotRetried) {
  auto j = Leased(S::kRunning);
  j.cancel_requested = true;
  const auto d = DecideFailure(j, reason::kLeaseExpired, "lease expired", 0);
  ExpectValidChain(j, d);
  EXPECT_EQ(Reasons(d), (std::vector<std::string_view>{reason::kLeaseExpired, reason::kCancelled}));
}

TEST(TransitionsTest, LostWorkerOrLeaseRetriesAtOnceButUsesARetry) {
  for (auto why : {reason::kWorkerLost, reason::kLeaseExpired}) {
    const auto j = Leased(S::kAssigned, 1, 1, 3);
    const auto d = DecideFailure(j, why, "lost", 0.5);
    ExpectValidChain(j, d);
    EXPECT_EQ(d.steps.back().to, S::kPending);
    EXPECT_EQ(d.steps.back().delay, std::chrono::milliseconds(0));
    EXPECT_TRUE(d.steps.back().uses_retry);
  }
  EXPECT_FALSE(DecideFailure(Leased(S::kDone), reason::kLeaseExpired, "", 0).refusal.ok());
}

TEST(TransitionsTest, UndeliveredRequeuesWithoutUsingARetry) {
  const auto j = Leased(S::kAssigned, 1, 3, 3);  // no retries left, and it still runs again
  const auto d = DecideUndelivered(j, {"w1", 1});
  ExpectValidChain(j, d);
  EXPECT_EQ(Reasons(d), (std::vector<std::string_view>{reason::kUndelivered, reason::kRetry}));
  EXPECT_FALSE(d.steps.back().uses_retry);
  EXPECT_EQ(d.FinalState(j.status), S::kPending);
  EXPECT_FALSE(DecideUndelivered(Leased(S::kRunning), {"w1", 1}).refusal.ok());
  EXPECT_FALSE(DecideUndelivered(j, {"w2", 1}).refusal.ok());
}

TEST(TransitionsTest, AJobStoppedByAWorkerShutdownKeepsItsRetries) {
  for (S s : {S::kAssigned, S::kRunning}) {
    const auto j = Leased(s, 1, 3, 3);  // no retries left, and it still runs again
    const auto d = DecideFailure(j, reason::kWorkerShutdown, "stopped", 0.5);
    ExpectValidChain(j, d);
    EXPECT_EQ(Reasons(d), (std::vector<std::string_view>{reason::kWorkerShutdown, reason::kRetry}));
    EXPECT_FALSE(d.steps.back().uses_retry);
    EXPECT_EQ(d.steps.back().delay, std::chrono::milliseconds(0));
    EXPECT_EQ(d.FinalState(j.status), S::kPending);
  }
  const auto last = Leased(S::kRunning, 1, 3, 3);
  EXPECT_EQ(Reasons(DecideDeregistered(last, /*shutdown_requested=*/true, 0)),
            (std::vector<std::string_view>{reason::kWorkerShutdown, reason::kRetry}));
  EXPECT_EQ(Reasons(DecideDeregistered(last, /*shutdown_requested=*/false, 0)),
            (std::vector<std::string_view>{reason::kWorkerLost, reason::kMaxRetriesExceeded}));
  // A cancel asked for before the shutdown still ends the job.
  auto cancelled = Leased(S::kRunning);
  cancelled.cancel_requested = true;
  EXPECT_EQ(DecideFailure(cancelled, reason::kWorkerShutdown, "stopped", 0).FinalState(S::kRunning),
            S::kDeadLettered);
}

TEST(TransitionsTest, CancelByState) {
  for (S s : {S::kPending, S::kAssigned}) {
    const auto j = Leased(s);
    const auto d = DecideCancel(j);
    ExpectValidChain(j, d);
    EXPECT_EQ(d.FinalState(s), S::kDeadLettered);
    EXPECT_FALSE(d.request_cancel);
  }
  const auto running = DecideCancel(Leased(S::kRunning));
  EXPECT_TRUE(running.refusal.ok());
  EXPECT_TRUE(running.steps.empty());  // the worker stops it and reports CANCELLED
  EXPECT_TRUE(running.request_cancel);
  for (S s : {S::kDone, S::kDeadLettered, S::kFailed}) {
    EXPECT_EQ(DecideCancel(Leased(s)).refusal.code(), StatusCode::kFailedPrecondition);
  }
}

TEST(TransitionsTest, CancelOfARunningJobIsRefusedWhenItsWorkerCannotBeToldToStop) {
  const auto seed = DecideCancel(Leased(S::kRunning), /*holder_takes_control=*/false);
  EXPECT_EQ(seed.refusal.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(seed.refusal.message().find("cannot be told to stop"), std::string::npos);
  EXPECT_FALSE(seed.request_cancel);
  // Not yet running: it never reaches the worker, whatever the worker.
  const auto assigned = DecideCancel(Leased(S::kAssigned), /*holder_takes_control=*/false);
  EXPECT_TRUE(assigned.refusal.ok());
  EXPECT_EQ(assigned.FinalState(S::kAssigned), S::kDeadLettered);
}

TEST(TransitionsTest, ManualRetryOnlyOfFailedOrDeadLettered) {
  for (S s : {S::kFailed, S::kDeadLettered}) {
    const auto j = Leased(s);
    const auto d = DecideManualRetry(j);
    ExpectValidChain(j, d);
    EXPECT_EQ(Reasons(d), (std::vector<std::string_view>{reason::kManualRetry}));
  }
  for (S s : {S::kPending, S::kAssigned, S::kRunning, S::kDone}) {
    const auto d = DecideManualRetry(Leased(s));
    EXPECT_EQ(d.refusal.code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(d.refusal.message().find("only FAILED or DEAD_LETTERED"), std::string::npos);
  }
}

}  // namespace
}  // namespace jq
