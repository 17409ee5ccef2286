#include "worker/stream_message.h"

namespace jq::worker {
namespace {

StreamAction Ignore(std::string why, std::string job_id = {}) {
  return {StreamAction::Kind::kIgnore, std::move(job_id), std::move(why)};
}

StreamAction DecideControl(const StreamMessage& m) {
  using K = StreamAction::Kind;
  switch (static_cast<ControlType>(m.control_type)) {
    case ControlType::kCancelJob:
      if (m.control_job_id.empty()) return Ignore("a cancel without a job id");
      return {K::kCancel, m.control_job_id, {}};
    case ControlType::kDrain: return {K::kDrain, {}, {}};
    case ControlType::kResume: return {K::kResume, {}, {}};
    case ControlType::kShutdown: return {K::kShutdown, {}, {}};
    case ControlType::kShutdownNow: return {K::kShutdownNow, {}, {}};
    case ControlType::kUnspecified: break;
  }
  return Ignore("unknown control message " + std::to_string(m.control_type));
}

}  // namespace

StreamAction DecideStreamMessage(const StreamMessage& m, std::optional<int> held_attempt,
                                 bool killing_jobs) {
  using K = StreamAction::Kind;
  if (m.job_id.empty()) {
    if (m.has_control) return DecideControl(m);
    return Ignore("an assignment without a job id");
  }
  if (held_attempt) {
    if (*held_attempt >= m.attempt) {
      return Ignore("a repeated delivery of a running attempt", m.job_id);
    }
    return {K::kReplace, m.job_id, {}};
  }
  if (killing_jobs) {
    return Ignore("shutting down now: not started; the deregistration requeues it", m.job_id);
  }
  return {K::kStart, m.job_id, {}};
}

}  // namespace jq::worker
