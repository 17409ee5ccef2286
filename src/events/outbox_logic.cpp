#include "events/outbox_logic.h"

#include <chrono>

#include "events.pb.h"

namespace jq::events {

std::string_view EventTopic(JobState from, JobState to, std::string_view reason) {
  switch (to) {
    case JobState::kPending:
      return from == JobState::kUnspecified || reason == reason::kSubmitted ? kTopicSubmitted
                                                                            : kTopicRetried;
    case JobState::kAssigned: return kTopicAssigned;
    case JobState::kRunning: return kTopicStarted;
    case JobState::kDone: return kTopicCompleted;
    case JobState::kFailed: return kTopicFailed;
    case JobState::kDeadLettered:
      return reason == reason::kCancelled ? kTopicCancelled : kTopicDeadLettered;
    case JobState::kUnspecified: break;
  }
  return kTopicUnknown;
}

const std::vector<std::string>& AllTopics() {
  static const std::vector<std::string> kTopics = [] {
    std::vector<std::string> out;
    for (std::string_view t :
         {kTopicSubmitted, kTopicRetried, kTopicAssigned, kTopicStarted, kTopicCompleted,
          kTopicFailed, kTopicCancelled, kTopicDeadLettered, kTopicWorkerHeartbeat}) {
      out.emplace_back(t);
    }
    return out;
  }();
  return kTopics;
}

std::string SerializeJobEvent(const JobEventRecord& e) {
  JobEventMessage m;
  m.set_event_id(e.id);
  m.set_job_id(e.job_id);
  m.set_queue(e.queue);
  m.set_tenant(e.tenant);
  m.set_from_status(static_cast<JobStatus>(static_cast<int>(e.from_status)));
  m.set_to_status(static_cast<JobStatus>(static_cast<int>(e.to_status)));
  m.set_reason(e.reason);
  m.set_worker_id(e.worker_id);
  m.set_attempt(e.attempt);
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(e.occurred_at.time_since_epoch())
          .count();
  // Floor division, so times before the epoch keep 0 <= nanos < 1e9 as Timestamp requires.
  std::int64_t seconds = us / 1'000'000;
  std::int64_t micros = us % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    seconds -= 1;
  }
  m.mutable_occurred_at()->set_seconds(seconds);
  m.mutable_occurred_at()->set_nanos(static_cast<std::int32_t>(micros * 1000));
  return m.SerializeAsString();
}

BatchDecision DecideOutboxBatch(std::int64_t position, std::span<const std::int64_t> ids,
                                std::uint64_t snapshot_xmin,
                                const std::optional<GapHorizon>& horizon) {
  BatchDecision d;
  d.end_position = position;
  std::int64_t next = position + 1;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::int64_t id = ids[i];
    if (id < next) break;  // violates REQUIRES; publish nothing out of order
    if (id > next) {
      // [next, id) is missing.
      const bool covered = horizon.has_value() && id - 1 <= horizon->covers_through_id;
      if (!covered || snapshot_xmin < horizon->xid) {
        d.blocked_at = next;
        d.need_horizon = !covered;
        break;
      }
      d.skipped.emplace_back(next, id - 1);
    }
    d.publish_count = i + 1;
    d.end_position = id;
    next = id + 1;
  }
  return d;
}

}  // namespace jq::events
