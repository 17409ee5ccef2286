// The job payload jq-worker runs (SPEC §4):
//   {"command": ["argv0", ...], "env": {"K": "V"}, "cwd": "/path", "timeout_seconds": N}
// Only "command" is required. Parsing is pure (no I/O), thread-safe and never throws.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace jq::exec {

// What to run for one job, as the payload describes it.
struct JobSpec {
  std::vector<std::string> argv;           // argv[0] is looked up in PATH unless it has a '/'
  std::map<std::string, std::string> env;  // over the worker's environment
  std::string cwd;                         // empty: the worker's working directory
  int timeout_seconds = 0;                 // 0: none given; the caller's default applies
};

// The largest timeout_seconds accepted (one year); larger values are almost surely mistakes.
inline constexpr long long kMaxTimeoutSeconds = 365LL * 24 * 3600;

// Parses and validates a payload. Every malformed payload gives INVALID_ARGUMENT with a
// message naming the offending field (or the byte offset of a JSON syntax error). Unknown
// fields are ignored so producers may carry their own metadata; a null field counts as absent.
Result<JobSpec> ParseJobPayload(std::string_view payload);

}  // namespace jq::exec
