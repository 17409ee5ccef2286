// W3C traceparent (core/trace.h): jq-server reads it from any caller's metadata and jq-worker
// from each assignment. Invariants: what ParseTraceParent accepts prints back exactly as it
// was given (version 00 has one form), and its child keeps the trace and flags with a new
// valid span id.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/trace.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view v(reinterpret_cast<const char*>(data), size);
  const auto t = jq::ParseTraceParent(v);
  if (!t) return 0;
  JQ_FUZZ_CHECK(t->ToString() == v, v);
  JQ_FUZZ_CHECK(t->trace_id.size() == 32 && t->parent_id.size() == 16 && t->flags.size() == 2, v);
  const jq::TraceParent child = jq::ChildOf(*t);
  JQ_FUZZ_CHECK(child.trace_id == t->trace_id && child.flags == t->flags, v);
  const auto reparsed = jq::ParseTraceParent(child.ToString());
  JQ_FUZZ_CHECK(reparsed && reparsed->ToString() == child.ToString(), child.ToString());
  return 0;
}
