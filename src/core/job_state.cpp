#include "core/job_state.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace jq {

std::string_view JobStatusName(JobState s) {
  switch (s) {
    case JobState::kPending: return "PENDING";
    case JobState::kAssigned: return "ASSIGNED";
    case JobState::kRunning: return "RUNNING";
    case JobState::kDone: return "DONE";
    case JobState::kFailed: return "FAILED";
    case JobState::kDeadLettered: return "DEAD_LETTERED";
    case JobState::kUnspecified: break;
  }
  return "UNSPECIFIED";
}

std::optional<JobState> ParseJobStatus(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  std::replace(upper.begin(), upper.end(), '-', '_');
  for (int i = 1; i <= 6; ++i) {
    auto s = static_cast<JobState>(i);
    if (upper == JobStatusName(s)) return s;
  }
  if (upper == "DEAD_LETTER" || upper == "DLQ") return JobState::kDeadLettered;
  return std::nullopt;
}

bool IsTerminal(JobState s) {
  return s == JobState::kDone || s == JobState::kDeadLettered;
}

bool IsTransitionAllowed(JobState from, JobState to) {
  using S = JobState;
  switch (from) {
    case S::kPending: return to == S::kAssigned || to == S::kDeadLettered;
    case S::kAssigned: return to == S::kRunning || to == S::kFailed || to == S::kDeadLettered;
    case S::kRunning: return to == S::kDone || to == S::kFailed || to == S::kDeadLettered;
    case S::kFailed: return to == S::kPending || to == S::kDeadLettered;
    case S::kDeadLettered: return to == S::kPending;
    case S::kDone:
    case S::kUnspecified: return false;
  }
  return false;
}

bool IsWorkerFailureReason(std::string_view r) {
  return r == reason::kFailedExitCode || r == reason::kTimeout || r == reason::kInvalidPayload ||
         r == reason::kCancelled;
}

}  // namespace jq
