// Names and ids every RPC validates (core/validation.h), and the UTF-8 repair every text
// field of a report goes through (core/utf8.h). Invariants: each check accepts exactly what
// its rule says (written out again here); each refusal is INVALID_ARGUMENT with a one-line,
// printable, valid-UTF-8 message naming the field (it goes into a gRPC status, the log and
// jq-ctl's terminal as it is); ToValidUtf8 returns valid UTF-8, leaves valid text unchanged,
// and is idempotent.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/utf8.h"
#include "core/validation.h"
#include "fuzz/fuzz_check.h"

namespace {

bool QueueRule(std::string_view s) {
  const auto start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (s.empty() || s.size() > 64 || !start(s[0])) return false;
  for (char c : s) {
    if (!start(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

bool UuidRule(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (dash ? c != '-' : !hex) return false;
  }
  return true;
}

bool TokenRule(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

void CheckRefusal(const jq::Status& s, std::string_view field, std::string_view input) {
  JQ_FUZZ_CHECK(s.code() == jq::StatusCode::kInvalidArgument, s.message());
  JQ_FUZZ_CHECK(s.message().rfind(field, 0) == 0, s.message());
  JQ_FUZZ_CHECK(jq::fuzz::IsPrintableLine(s.message()), input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const jq::Status queue = jq::ValidateQueueName(in);
  JQ_FUZZ_CHECK(queue.ok() == QueueRule(in), in);
  if (!queue.ok()) CheckRefusal(queue, "queue_name", in);

  const jq::Status job = jq::ValidateJobId(in);
  JQ_FUZZ_CHECK(job.ok() == UuidRule(in) && jq::IsUuid(in) == UuidRule(in), in);
  if (!job.ok()) CheckRefusal(job, "job_id", in);

  const jq::Status token = jq::ValidateToken(in, "worker_id", 128);
  JQ_FUZZ_CHECK(token.ok() == TokenRule(in, 128), in);
  if (!token.ok()) CheckRefusal(token, "worker_id", in);

  const std::string fixed = jq::ToValidUtf8(in);
  JQ_FUZZ_CHECK(jq::fuzz::IsValidUtf8(fixed), in);
  JQ_FUZZ_CHECK(!jq::fuzz::IsValidUtf8(in) || fixed == in, in);
  JQ_FUZZ_CHECK(jq::ToValidUtf8(fixed) == fixed, in);
  JQ_FUZZ_CHECK(fixed.size() <= 3 * in.size(), in);
  return 0;
}
