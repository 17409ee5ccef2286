// Control messages between jq-server replicas (server/control_message.h): the payload of a
// NOTIFY on jq_control, which anyone who can reach the database may send. Invariants: what
// ParseControl accepts encodes back to exactly the same text, with non-empty ids that hold
// no space (so the next replica parses it the same way).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "server/control_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using jq::server::ControlMessage;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  const auto m = jq::server::ParseControl(payload);
  if (!m) return 0;
  JQ_FUZZ_CHECK(jq::server::EncodeControl(*m) == payload, payload);
  const auto no_space = [](const std::string& s) {
    return !s.empty() && s.find(' ') == std::string::npos;
  };
  JQ_FUZZ_CHECK(no_space(m->worker_id), payload);
  JQ_FUZZ_CHECK(m->kind != ControlMessage::Kind::kCancel || no_space(m->job_id), payload);
  JQ_FUZZ_CHECK(m->kind == ControlMessage::Kind::kCancel || m->job_id.empty(), payload);
  JQ_FUZZ_CHECK(!m->now || m->kind == ControlMessage::Kind::kShutdown, payload);
  return 0;
}
