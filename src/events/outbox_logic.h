// The outbox relay's decisions, kept free of I/O so they can be tested on their own: which
// Kafka topic an event goes to, how it is encoded, and how far the relay may publish.
// Everything here is pure and thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/model.h"

namespace jq::events {

// Topics (SPEC §8). Every transition is published, so each to_status has a topic; some
// events also go to the topic the seed system published them on, so that a consumer written
// for the seed still receives every event it used to:
//
//   to_status       reason                       topics (jq's own first)
//   PENDING         SUBMITTED (no from_status)   job.submitted
//   PENDING         RETRY, MANUAL_RETRY, ...     job.retried
//   ASSIGNED        ASSIGNED                     job.assigned, job.submitted (seed)
//   RUNNING         STARTED                      job.started
//   DONE            SUCCESS                      job.completed
//   FAILED          any                          job.failed
//   DEAD_LETTERED   CANCELLED                    job.cancelled, job.dead-lettered (seed)
//   DEAD_LETTERED   any other                    job.dead-lettered
//   anything else (a status this build does not know)   job.unknown
//
// The seed put submissions and assignments on job.submitted, successes on job.completed, and
// every dead-lettering (cancelled, TTL expired, retries exhausted) on job.dead-lettered; it
// published nothing on job.started, job.failed or worker.heartbeat. job.assigned is not named
// in SPEC §8; it is there so that no transition is lost.
//
// Key: the job id, so one job's events land on one partition, in order. Value: a serialized
// jq.JobEvent (proto/common.proto: the seed's message, fields 1-7, plus attempt, queue_name and
// tenant). An event on two topics is the same message twice; consumers de-duplicate on its id.
inline constexpr std::string_view kTopicSubmitted = "job.submitted";
inline constexpr std::string_view kTopicRetried = "job.retried";
inline constexpr std::string_view kTopicAssigned = "job.assigned";
inline constexpr std::string_view kTopicStarted = "job.started";
inline constexpr std::string_view kTopicCompleted = "job.completed";
inline constexpr std::string_view kTopicFailed = "job.failed";
inline constexpr std::string_view kTopicCancelled = "job.cancelled";
inline constexpr std::string_view kTopicDeadLettered = "job.dead-lettered";
inline constexpr std::string_view kTopicUnknown = "job.unknown";
// Not written by the outbox relay (worker heartbeats are not job_events rows).
inline constexpr std::string_view kTopicWorkerHeartbeat = "worker.heartbeat";

// The topics of the table above, one or two, jq's own first. The views are static.
std::span<const std::string_view> EventTopics(JobState from, JobState to, std::string_view reason);
inline std::span<const std::string_view> EventTopics(const JobEventRecord& e) {
  return EventTopics(e.from_status, e.to_status, e.reason);
}

// Every topic jq publishes to, worker.heartbeat included (job.unknown is not): what a cluster
// should have created before jq runs (jq-kafka-mock creates these).
const std::vector<std::string>& AllTopics();

// The Kafka message value for an event: jq.JobEvent in protobuf binary form.
std::string SerializeJobEvent(const JobEventRecord& e);

// Gap handling. Event ids come from a sequence, so a transaction may commit id 12 while id 11
// is still in an open transaction; 11 may then commit, roll back, or never have been used.
// Publishing 12 and moving the cursor past 11 could lose 11, so the relay stops at the first
// missing id until it is either visible or provably never will be.
//
// The proof: when a gap is seen in snapshot S1, the relay takes a transaction id X (a
// GapHorizon) after S1. Every id at or below S1's max id was taken before S1 by a transaction
// that already had its transaction id (migration 0002 assigns it before the nextval), so that
// transaction's id is below X. In a later snapshot S2 whose xmin is >= X, all of those
// transactions have ended; an id at or below the horizon's max that S2 still does not show is
// permanent (rolled back or never used) and is skipped.
struct GapHorizon {
  std::uint64_t xid = 0;               // a transaction id taken after the gap was seen
  std::int64_t covers_through_id = 0;  // the max event id visible before xid was taken
};

struct BatchDecision {
  // events[0, publish_count) may be published now, in this order.
  std::size_t publish_count = 0;
  // The last id published or skipped once those are delivered: the cursor's next value.
  std::int64_t end_position = 0;
  // Missing ids that are permanent and skipped, as inclusive ranges (for the log).
  std::vector<std::pair<std::int64_t, std::int64_t>> skipped;
  // The first missing id still holding the relay back, if any.
  std::optional<std::int64_t> blocked_at;
  // Blocked, and the current horizon (if any) does not cover the gap: take a new one
  // (GapHorizon{fresh xid, max event id of this read}).
  bool need_horizon = false;
};

// position: the last id published or skipped. ids: the visible event ids > position, in
// ascending order (one read). snapshot_xmin: that read's pg_snapshot_xmin. horizon: the one
// taken most recently, if any. REQUIRES: ids ascending, all > position.
BatchDecision DecideOutboxBatch(std::int64_t position, std::span<const std::int64_t> ids,
                                std::uint64_t snapshot_xmin,
                                const std::optional<GapHorizon>& horizon);

// Stalls. A gap holds the relay back until every transaction older than its horizon has ended
// (above), so one long transaction that took a transaction id — an idle-in-transaction session,
// a forgotten prepared transaction, a long migration or report — stops publishing entirely
// while jobs go on. The relay reports that as a stall, naming the transaction, so that an
// operator can end it.

// An open transaction the relay waits for, as far as PostgreSQL shows it to the relay's role.
struct BlockingTransaction {
  std::uint64_t xid = 0;  // as pg_stat_activity.backend_xid shows it
  int pid = 0;            // 0 for a prepared transaction
  std::string prepared_gid;
  std::string user, database, application;
  std::string state;  // empty when hidden (the role lacks pg_read_all_stats)
  std::optional<std::chrono::system_clock::time_point> started_at;  // empty when hidden
  int older_than_gap = 0;  // open transactions older than the gap's horizon (0: not counted)
};

struct OutboxStall {
  std::int64_t waiting_events = 0;  // the lag
  double waiting_seconds = 0;       // age of the oldest waiting event
  // Set when the relay is held at a gap: who it waits for (xid alone when nothing more shows).
  std::optional<BlockingTransaction> blocker;
  std::string cause;     // otherwise why, if known (e.g. "kafka unreachable: ...")
  bool standby = false;  // this replica does not publish; another one does
};

// Publishing has stalled when events wait and, for at least stall_after, the oldest of them has
// waited and the cursor has not moved. (Either alone is not a stall: a cursor is idle whenever
// nothing happens, and a busy relay keeps old events in flight while it moves.)
bool OutboxStalled(bool events_waiting, double oldest_waiting_seconds, double cursor_idle_seconds,
                   std::chrono::milliseconds stall_after);

// The status line: "stalled: 12 events waiting for 95 s behind transaction 7311 (pid 4242,
// user app, database jq, application psql, idle in transaction, started at 2026-12-01
// 10:00:00 UTC); publishing resumes when it ends". Times in UTC, seconds rounded down.
// PostgreSQL hides a session's state and start time from roles without pg_read_all_stats; the
// line then says so instead.
std::string DescribeStall(const OutboxStall& stall);

}  // namespace jq::events
