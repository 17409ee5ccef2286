// jq-worker's handling of its job stream (worker/stream_message.h): a sequence of assignments
// and control messages, as a server (a newer one, a seed one, or a broken one) may send them,
// applied to a model of the agent's running jobs the way WorkerAgent::HandleMessage applies
// them. Invariants: a job starts only if it is not running and no shutdown --now is under way,
// never with an empty id; one job never runs two attempts, and its attempt only grows; a
// control message comes only from a message without a job id; every ignored message says why.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "fuzz/fuzz_check.h"
#include "worker/stream_message.h"

namespace {

using jq::worker::StreamAction;
using jq::worker::StreamMessage;
using K = StreamAction::Kind;

// Few ids, so that messages keep meeting jobs that run.
std::string JobId(FuzzedDataProvider& p) {
  switch (p.ConsumeIntegralInRange(0, 4)) {
    case 0: return "";
    case 1: return "0190b7a2-0000-7000-8000-000000000001";
    case 2: return "0190b7a2-0000-7000-8000-000000000002";
    case 3: return "j";
    default: return p.ConsumeRandomLengthString(40);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider p(data, size);
  std::map<std::string, int> running;  // job id -> attempt
  bool killing = false;                // after a shutdown --now
  while (p.remaining_bytes() > 0) {
    StreamMessage m;
    m.job_id = JobId(p);
    m.attempt = p.ConsumeIntegralInRange(-2, 6);
    m.has_control = p.ConsumeBool();
    m.control_type = p.ConsumeIntegralInRange(-1, 7);
    m.control_job_id = JobId(p);
    // Between messages a running job may end (its result reported).
    if (!running.empty() && p.ConsumeBool()) running.erase(running.begin());

    const auto it = running.find(m.job_id);
    const std::optional<int> held =
        it == running.end() ? std::nullopt : std::optional<int>(it->second);
    const StreamAction a = jq::worker::DecideStreamMessage(m, held, killing);
    switch (a.kind) {
      case K::kStart:
        JQ_FUZZ_CHECK(!held && !killing && !m.job_id.empty() && a.job_id == m.job_id, m.job_id);
        running[a.job_id] = m.attempt;
        break;
      case K::kReplace:
        JQ_FUZZ_CHECK(held && *held < m.attempt && a.job_id == m.job_id, m.job_id);
        running[a.job_id] = m.attempt;  // the old attempt is stopped, this one follows it
        break;
      case K::kIgnore: JQ_FUZZ_CHECK(!a.why.empty(), m.job_id); break;
      case K::kCancel:
        JQ_FUZZ_CHECK(
            m.job_id.empty() && m.has_control && !a.job_id.empty() && a.job_id == m.control_job_id,
            a.job_id);
        running.erase(a.job_id);
        break;
      case K::kDrain:
      case K::kResume: JQ_FUZZ_CHECK(m.job_id.empty() && m.has_control, m.job_id); break;
      case K::kShutdown: JQ_FUZZ_CHECK(m.job_id.empty() && m.has_control, m.job_id); break;
      case K::kShutdownNow:
        JQ_FUZZ_CHECK(m.job_id.empty() && m.has_control, m.job_id);
        killing = true;
        running.clear();
        break;
    }
    JQ_FUZZ_CHECK(running.count("") == 0, "a job with an empty id runs");
  }
  return 0;
}
