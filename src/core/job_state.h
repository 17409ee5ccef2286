// Job states, the transitions between them and the reasons recorded on events (SPEC §4).
// Pure: no I/O. Numeric values are the wire values of jq.JobState.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace jq {

enum class JobState : int {
  kUnspecified = 0,
  kPending = 1,
  kAssigned = 2,
  kRunning = 3,
  kDone = 4,
  kFailed = 5,
  kDeadLettered = 6,
};

// Upper-case wire names: "PENDING", "DEAD_LETTERED", ...
std::string_view JobStatusName(JobState s);
// Accepts the wire names case-insensitively, and "DEAD_LETTER" / "DLQ" as aliases.
std::optional<JobState> ParseJobStatus(std::string_view name);

// DONE and DEAD_LETTERED are final unless an operator retries the job.
bool IsTerminal(JobState s);
// Whether SPEC §4 allows from -> to.
bool IsTransitionAllowed(JobState from, JobState to);

// Reasons recorded on job_events rows. The strings are stable: consumers match on them.
namespace reason {
inline constexpr std::string_view kSubmitted = "SUBMITTED";
inline constexpr std::string_view kAssigned = "ASSIGNED";
inline constexpr std::string_view kStarted = "STARTED";
inline constexpr std::string_view kSuccess = "SUCCESS";
inline constexpr std::string_view kFailedExitCode = "FAILED_EXIT_CODE";
inline constexpr std::string_view kTimeout = "TIMEOUT";
inline constexpr std::string_view kRetry = "RETRY";
inline constexpr std::string_view kMaxRetriesExceeded = "MAX_RETRIES_EXCEEDED";
inline constexpr std::string_view kCancelled = "CANCELLED";
inline constexpr std::string_view kTtlExpired = "TTL_EXPIRED";
inline constexpr std::string_view kWorkerLost = "WORKER_LOST";
inline constexpr std::string_view kLeaseExpired = "LEASE_EXPIRED";
inline constexpr std::string_view kManualRetry = "MANUAL_RETRY";
inline constexpr std::string_view kInvalidPayload = "INVALID_PAYLOAD";
inline constexpr std::string_view kQueueDeleted = "QUEUE_DELETED";
// Claimed for a worker whose stream closed before the assignment was written to it.
inline constexpr std::string_view kUndelivered = "UNDELIVERED";
// Stopped by `jq-ctl worker shutdown` (killed at once with --now, or still running when the
// graceful shutdown's grace ran out): back to PENDING without using a retry.
inline constexpr std::string_view kWorkerShutdown = "WORKER_SHUTDOWN";
}  // namespace reason

// Whether a worker may report this failure reason (the others are the server's to record).
bool IsWorkerFailureReason(std::string_view r);

}  // namespace jq
