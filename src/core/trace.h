// W3C trace context (https://www.w3.org/TR/trace-context/): the `traceparent` value that
// follows a job from the client through jq-server and jq-worker into the job's environment.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace jq {

struct TraceParent {
  std::string trace_id;   // 32 lower-case hex digits, not all zero
  std::string parent_id;  // 16 lower-case hex digits, not all zero
  std::string flags = "01";

  std::string ToString() const;  // "00-<trace_id>-<parent_id>-<flags>"
};

// nullopt for anything that is not a valid version-00 traceparent.
std::optional<TraceParent> ParseTraceParent(std::string_view value);
// A new trace with a random id.
TraceParent NewTraceParent();
// The same trace, a new span id: what a hop passes on to the next.
TraceParent ChildOf(const TraceParent& parent);

}  // namespace jq
