// A job's payload as jq-worker parses it (worker/exec/payload.h). SubmitJob stores a payload
// unparsed, checking only its size (core/validation.h), so any bytes a producer sends reach
// ParseJobPayload on a worker. Invariants: it never throws or crashes; what it accepts can be
// run (argv[0] non-empty, no NUL anywhere, env names without '=', timeout in range); what it
// refuses is INVALID_ARGUMENT with a short valid-UTF-8 message (the message goes into the
// job's error_message, a proto string, and the log) that quotes no payload bytes beyond an
// env variable's name: the payload may hold secrets.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/utf8.h"
#include "core/validation.h"
#include "fuzz/fuzz_check.h"
#include "worker/exec/payload.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  if (!jq::ValidatePayloadSize(payload.size(), jq::kDefaultMaxPayloadBytes).ok()) return 0;
  const auto spec = jq::exec::ParseJobPayload(payload);
  if (!spec.ok()) {
    const std::string& m = spec.status().message();
    JQ_FUZZ_CHECK(spec.status().code() == jq::StatusCode::kInvalidArgument, m);
    JQ_FUZZ_CHECK(!m.empty(), m);
    JQ_FUZZ_CHECK(jq::fuzz::IsValidUtf8(m), m);
    JQ_FUZZ_CHECK(m.size() <= 300 || m.rfind("\"env\"", 0) == 0, m);
    return 0;
  }
  const auto no_nul = [](const std::string& s) { return s.find('\0') == std::string::npos; };
  JQ_FUZZ_CHECK(!spec->argv.empty() && !spec->argv[0].empty(), payload);
  for (const auto& a : spec->argv) JQ_FUZZ_CHECK(no_nul(a), payload);
  for (const auto& [k, v] : spec->env) {
    JQ_FUZZ_CHECK(!k.empty() && k.find('=') == std::string::npos && no_nul(k) && no_nul(v),
                  payload);
  }
  JQ_FUZZ_CHECK(no_nul(spec->cwd), payload);
  JQ_FUZZ_CHECK(spec->timeout_seconds >= 0 && spec->timeout_seconds <= jq::exec::kMaxTimeoutSeconds,
                payload);
  return 0;
}
