#include "events/outbox_logic.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include "common.pb.h"

namespace jq::events {

std::span<const std::string_view> EventTopics(JobState from, JobState to, std::string_view reason) {
  static constexpr std::string_view kSubmitted[] = {kTopicSubmitted};
  static constexpr std::string_view kRetried[] = {kTopicRetried};
  static constexpr std::string_view kAssigned[] = {kTopicAssigned, kTopicSubmitted};
  static constexpr std::string_view kStarted[] = {kTopicStarted};
  static constexpr std::string_view kCompleted[] = {kTopicCompleted};
  static constexpr std::string_view kFailed[] = {kTopicFailed};
  static constexpr std::string_view kCancelled[] = {kTopicCancelled, kTopicDeadLettered};
  static constexpr std::string_view kDeadLettered[] = {kTopicDeadLettered};
  static constexpr std::string_view kUnknown[] = {kTopicUnknown};
  switch (to) {
    case JobState::kPending:
      if (from == JobState::kUnspecified || reason == reason::kSubmitted) return kSubmitted;
      return kRetried;
    case JobState::kAssigned: return kAssigned;
    case JobState::kRunning: return kStarted;
    case JobState::kDone: return kCompleted;
    case JobState::kFailed: return kFailed;
    case JobState::kDeadLettered:
      if (reason == reason::kCancelled) return kCancelled;
      return kDeadLettered;
    case JobState::kUnspecified: break;
  }
  return kUnknown;
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
  // Fields 1-7 are the seed's message (a seed consumer reads those), 8-10 jq's extensions.
  JobEvent m;
  m.set_id(e.id);
  m.set_job_id(e.job_id);
  m.set_from_status(static_cast<JobStatus>(static_cast<int>(e.from_status)));
  m.set_to_status(static_cast<JobStatus>(static_cast<int>(e.to_status)));
  m.set_worker_id(e.worker_id);
  m.set_reason(e.reason);
  m.set_attempt(e.attempt);
  m.set_queue_name(e.queue);
  m.set_tenant(e.tenant);
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

bool OutboxStalled(bool events_waiting, double oldest_waiting_seconds, double cursor_idle_seconds,
                   std::chrono::milliseconds stall_after) {
  const double after = std::chrono::duration<double>(stall_after).count();
  return events_waiting && oldest_waiting_seconds >= after && cursor_idle_seconds >= after;
}

namespace {

std::string Utc(std::chrono::system_clock::time_point t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  if (gmtime_r(&s, &tm) == nullptr) return "?";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string Blocker(const BlockingTransaction& b) {
  std::vector<std::string> facts;
  if (b.pid != 0) facts.push_back("pid " + std::to_string(b.pid));
  if (!b.prepared_gid.empty()) facts.push_back("gid '" + b.prepared_gid + "'");
  if (!b.user.empty()) facts.push_back("user " + b.user);
  if (!b.database.empty()) facts.push_back("database " + b.database);
  if (!b.application.empty()) facts.push_back("application " + b.application);
  if (!b.state.empty() && b.prepared_gid.empty()) facts.push_back(b.state);
  if (b.started_at) {
    facts.push_back((b.prepared_gid.empty() ? "started at " : "prepared at ") + Utc(*b.started_at));
  }
  std::string out =
      (b.prepared_gid.empty() ? "transaction " : "prepared transaction ") + std::to_string(b.xid);
  if (!facts.empty()) {
    out += " (";
    for (std::size_t i = 0; i < facts.size(); ++i) out += (i ? ", " : "") + facts[i];
    // A session's state and start are hidden from roles without the privilege: say so, rather
    // than leave the operator to wonder.
    if (b.pid != 0 && !b.started_at) out += "; its start time needs pg_read_all_stats";
    out += ")";
  }
  if (b.older_than_gap > 1) {
    const int others = b.older_than_gap - 1;
    out += " and " + std::to_string(others) + " other open transaction" + (others > 1 ? "s" : "");
  }
  return out;
}

}  // namespace

std::string DescribeStall(const OutboxStall& stall) {
  const auto secs = static_cast<long long>(std::floor(std::max(0.0, stall.waiting_seconds)));
  std::string out = "stalled: " + std::to_string(stall.waiting_events) + " event" +
                    (stall.waiting_events == 1 ? "" : "s") + " waiting for " +
                    std::to_string(secs) + " s";
  if (stall.blocker) {
    const BlockingTransaction& b = *stall.blocker;
    out += " behind " + Blocker(b);
    if (!b.prepared_gid.empty()) {
      out += "; publishing resumes after COMMIT PREPARED or ROLLBACK PREPARED";
    } else {
      out += b.older_than_gap > 1 ? "; publishing resumes when they end"
                                  : "; publishing resumes when it ends";
    }
  } else if (!stall.cause.empty()) {
    out += "; " + stall.cause;
  }
  if (stall.standby) {
    out += stall.blocker || !stall.cause.empty()
               ? " (another replica publishes)"
               : "; another replica publishes (its status says why)";
  }
  return out;
}

}  // namespace jq::events
