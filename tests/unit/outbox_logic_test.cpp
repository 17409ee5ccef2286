// The outbox relay's pure decisions (events/outbox_logic.h): how far it may publish, which
// topics an event goes to, and the message a consumer reads, decoded both with jq's type and
// with the seed system's definition of it.
#include "events/outbox_logic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "common.pb.h"
#include "seed_job_event.pb.h"

namespace jq::testing {
namespace {

// ------------------------------------------------------------------------- how far to publish

TEST(OutboxDecide, ContiguousIdsArePublishedInFull) {
  const std::vector<std::int64_t> ids = {11, 12, 13};
  auto d = events::DecideOutboxBatch(10, ids, 100, std::nullopt);
  EXPECT_EQ(d.publish_count, 3u);
  EXPECT_EQ(d.end_position, 13);
  EXPECT_FALSE(d.blocked_at.has_value());
  EXPECT_FALSE(d.need_horizon);
  EXPECT_TRUE(d.skipped.empty());
}

TEST(OutboxDecide, NothingVisibleIsNotAGap) {
  auto d = events::DecideOutboxBatch(10, {}, 100, std::nullopt);
  EXPECT_EQ(d.publish_count, 0u);
  EXPECT_EQ(d.end_position, 10);
  EXPECT_FALSE(d.blocked_at.has_value());
  EXPECT_FALSE(d.need_horizon);
}

TEST(OutboxDecide, GapWithoutHorizonBlocksAndAsksForOne) {
  const std::vector<std::int64_t> ids = {11, 13, 14};
  auto d = events::DecideOutboxBatch(10, ids, 100, std::nullopt);
  EXPECT_EQ(d.publish_count, 1u);
  EXPECT_EQ(d.end_position, 11);
  EXPECT_EQ(d.blocked_at, 12);
  EXPECT_TRUE(d.need_horizon);

  const std::vector<std::int64_t> at_start = {12};
  d = events::DecideOutboxBatch(10, at_start, 100, std::nullopt);
  EXPECT_EQ(d.publish_count, 0u);
  EXPECT_EQ(d.end_position, 10);
  EXPECT_EQ(d.blocked_at, 11);
  EXPECT_TRUE(d.need_horizon);
}

TEST(OutboxDecide, CoveredGapWaitsUntilEveryOlderTransactionEnded) {
  const std::vector<std::int64_t> ids = {11, 13};
  const events::GapHorizon h{.xid = 500, .covers_through_id = 13};
  // A transaction older than the horizon may still commit id 12.
  auto d = events::DecideOutboxBatch(10, ids, 499, h);
  EXPECT_EQ(d.publish_count, 1u);
  EXPECT_EQ(d.blocked_at, 12);
  EXPECT_FALSE(d.need_horizon);
  // All of them ended (xmin == xid counts) and 12 is still missing: it never will appear.
  for (std::uint64_t xmin : {500u, 501u, 9000u}) {
    d = events::DecideOutboxBatch(10, ids, xmin, h);
    EXPECT_EQ(d.publish_count, 2u);
    EXPECT_EQ(d.end_position, 13);
    EXPECT_FALSE(d.blocked_at.has_value());
    ASSERT_EQ(d.skipped.size(), 1u);
    EXPECT_EQ(d.skipped[0], std::make_pair(std::int64_t{12}, std::int64_t{12}));
  }
}

TEST(OutboxDecide, HorizonTakenBeforeTheMissingIdsExistedDoesNotCoverThem) {
  // Horizon taken when the max id was 11; 12..14 may have been taken by transactions that
  // got their transaction ids after it.
  const events::GapHorizon h{.xid = 500, .covers_through_id = 11};
  const std::vector<std::int64_t> ids = {15};
  auto d = events::DecideOutboxBatch(11, ids, 10'000, h);
  EXPECT_EQ(d.publish_count, 0u);
  EXPECT_EQ(d.blocked_at, 12);
  EXPECT_TRUE(d.need_horizon);
}

TEST(OutboxDecide, SkipsCoveredGapsAndStopsAtTheFirstUncoveredOne) {
  const events::GapHorizon h{.xid = 500, .covers_through_id = 20};
  const std::vector<std::int64_t> ids = {13, 14, 18, 25, 26};
  auto d = events::DecideOutboxBatch(10, ids, 600, h);
  EXPECT_EQ(d.publish_count, 3u);  // 13, 14, 18
  EXPECT_EQ(d.end_position, 18);
  EXPECT_EQ(d.blocked_at, 19);  // 19..24: 24 > 20, not covered
  EXPECT_TRUE(d.need_horizon);
  const std::vector<std::pair<std::int64_t, std::int64_t>> want = {{11, 12}, {15, 17}};
  EXPECT_EQ(d.skipped, want);
}

TEST(OutboxDecide, OutOfOrderInputPublishesNothingOutOfOrder) {
  const std::vector<std::int64_t> ids = {11, 11, 12};
  auto d = events::DecideOutboxBatch(10, ids, 100, std::nullopt);
  EXPECT_EQ(d.publish_count, 1u);
  EXPECT_EQ(d.end_position, 11);
}

// ------------------------------------------------------------------------- topics

std::vector<std::string> Topics(JobState from, JobState to, std::string_view reason) {
  std::vector<std::string> out;
  for (std::string_view t : events::EventTopics(from, to, reason)) out.emplace_back(t);
  return out;
}

TEST(OutboxTopics, EveryTransitionHasItsTopic) {
  using S = JobState;
  using V = std::vector<std::string>;
  EXPECT_EQ(Topics(S::kUnspecified, S::kPending, "SUBMITTED"), V{"job.submitted"});
  EXPECT_EQ(Topics(S::kFailed, S::kPending, "RETRY"), V{"job.retried"});
  EXPECT_EQ(Topics(S::kDeadLettered, S::kPending, "MANUAL_RETRY"), V{"job.retried"});
  EXPECT_EQ(Topics(S::kFailed, S::kPending, "MANUAL_RETRY"), V{"job.retried"});
  EXPECT_EQ(Topics(S::kAssigned, S::kRunning, "STARTED"), V{"job.started"});
  EXPECT_EQ(Topics(S::kRunning, S::kDone, "SUCCESS"), V{"job.completed"});
  EXPECT_EQ(Topics(S::kRunning, S::kFailed, "FAILED_EXIT_CODE"), V{"job.failed"});
  EXPECT_EQ(Topics(S::kAssigned, S::kFailed, "LEASE_EXPIRED"), V{"job.failed"});
  EXPECT_EQ(Topics(S::kAssigned, S::kFailed, "UNDELIVERED"), V{"job.failed"});
  EXPECT_EQ(Topics(S::kRunning, static_cast<S>(42), "X"), V{"job.unknown"});
  // Every topic the relay can pick (but job.unknown) exists in jq-kafka-mock's list.
  const auto& all = events::AllTopics();
  for (auto to : {S::kPending, S::kAssigned, S::kRunning, S::kDone, S::kFailed, S::kDeadLettered}) {
    for (const char* why : {"SUBMITTED", "RETRY", "CANCELLED"}) {
      for (const auto& t : Topics(S::kRunning, to, why)) {
        EXPECT_NE(std::find(all.begin(), all.end(), t), all.end()) << t;
      }
    }
  }
}

// The seed system put submissions and assignments on job.submitted and every dead-lettering on
// job.dead-lettered; jq's own topics (job.assigned, job.cancelled) get them as well.
TEST(OutboxTopics, SeedTopicsGetEverythingTheSeedSentThere) {
  using S = JobState;
  using V = std::vector<std::string>;
  EXPECT_EQ(Topics(S::kPending, S::kAssigned, "ASSIGNED"), (V{"job.assigned", "job.submitted"}));
  EXPECT_EQ(Topics(S::kPending, S::kDeadLettered, "CANCELLED"),
            (V{"job.cancelled", "job.dead-lettered"}));
  EXPECT_EQ(Topics(S::kAssigned, S::kDeadLettered, "CANCELLED"),
            (V{"job.cancelled", "job.dead-lettered"}));
  EXPECT_EQ(Topics(S::kRunning, S::kDeadLettered, "CANCELLED"),
            (V{"job.cancelled", "job.dead-lettered"}));
  // Whatever the reason, a job that ends dead-lettered is on job.dead-lettered.
  for (const char* why : {"TTL_EXPIRED", "MAX_RETRIES_EXCEEDED", "CANCELLED", "INVALID_PAYLOAD",
                          "QUEUE_DELETED", "SOMETHING_NEW"}) {
    for (auto from : {S::kPending, S::kAssigned, S::kRunning, S::kFailed}) {
      const auto t = Topics(from, S::kDeadLettered, why);
      EXPECT_NE(std::find(t.begin(), t.end(), "job.dead-lettered"), t.end()) << why;
    }
  }
}

// ------------------------------------------------------------------------- the message

JobEventRecord SampleEvent() {
  JobEventRecord e;
  e.id = 77;
  e.job_id = "0190a0a0-0000-7000-8000-000000000001";
  e.tenant = "acme";
  e.queue = "reports";
  e.from_status = JobState::kRunning;
  e.to_status = JobState::kFailed;
  e.reason = "TIMEOUT";
  e.worker_id = "w-1";
  e.attempt = 3;
  e.occurred_at = TimePoint(std::chrono::microseconds(1'700'000'000'123'456));
  return e;
}

TEST(OutboxMessage, IsJqJobEventWithEveryField) {
  const JobEventRecord e = SampleEvent();
  jq::JobEvent m;
  ASSERT_TRUE(m.ParseFromString(events::SerializeJobEvent(e)));
  EXPECT_EQ(m.id(), 77);
  EXPECT_EQ(m.job_id(), e.job_id);
  EXPECT_EQ(m.tenant(), "acme");
  EXPECT_EQ(m.queue_name(), "reports");
  EXPECT_EQ(m.from_status(), jq::RUNNING);
  EXPECT_EQ(m.to_status(), jq::FAILED);
  EXPECT_EQ(m.reason(), "TIMEOUT");
  EXPECT_EQ(m.worker_id(), "w-1");
  EXPECT_EQ(m.attempt(), 3);
  EXPECT_EQ(m.occurred_at().seconds(), 1'700'000'000);
  EXPECT_EQ(m.occurred_at().nanos(), 123'456'000);
}

TEST(OutboxMessage, SeedConsumerReadsItsFieldsAndSkipsJqsExtensions) {
  JobEventRecord e = SampleEvent();
  seedcompat::JobEvent m;
  ASSERT_TRUE(m.ParseFromString(events::SerializeJobEvent(e)));
  EXPECT_EQ(m.id(), 77);
  EXPECT_EQ(m.job_id(), e.job_id);
  EXPECT_EQ(m.from_status(), seedcompat::RUNNING);
  EXPECT_EQ(m.to_status(), seedcompat::FAILED);
  EXPECT_EQ(m.worker_id(), "w-1");
  EXPECT_EQ(m.reason(), "TIMEOUT");
  EXPECT_EQ(m.occurred_at().seconds(), 1'700'000'000);
  EXPECT_EQ(m.occurred_at().nanos(), 123'456'000);
  // attempt, queue_name and tenant are fields the seed does not know: kept as unknown fields,
  // not an error.
  EXPECT_FALSE(m.GetReflection()->GetUnknownFields(m).empty());

  // A submission has no from_status, as the seed sent it.
  e.from_status = JobState::kUnspecified;
  e.to_status = JobState::kPending;
  e.reason = "SUBMITTED";
  e.worker_id.clear();
  ASSERT_TRUE(m.ParseFromString(events::SerializeJobEvent(e)));
  EXPECT_EQ(m.from_status(), seedcompat::JOB_STATUS_UNSPECIFIED);
  EXPECT_EQ(m.to_status(), seedcompat::PENDING);
  EXPECT_EQ(m.reason(), "SUBMITTED");
}

// ------------------------------------------------------------------------- stalls

TEST(OutboxStall, NeedsWaitingEventsAnOldOneAndAStillCursor) {
  using std::chrono::milliseconds;
  const milliseconds after(60000);
  EXPECT_TRUE(events::OutboxStalled(true, 61, 61, after));
  EXPECT_TRUE(events::OutboxStalled(true, 60, 3600, after));
  // Nothing waits: an idle system's cursor stands still for hours.
  EXPECT_FALSE(events::OutboxStalled(false, 0, 3600, after));
  // A burst just arrived after an idle hour.
  EXPECT_FALSE(events::OutboxStalled(true, 2, 3600, after));
  // Old events waiting while the cursor moves: behind, not stalled.
  EXPECT_FALSE(events::OutboxStalled(true, 300, 0.5, after));
  EXPECT_TRUE(events::OutboxStalled(true, 1.5, 1.5, milliseconds(1500)));
}

events::BlockingTransaction Session() {
  events::BlockingTransaction b;
  b.xid = 7311;
  b.pid = 4242;
  b.user = "app";
  b.database = "jq";
  b.application = "psql";
  b.state = "idle in transaction";
  b.started_at = std::chrono::system_clock::time_point(std::chrono::seconds(1'764'583'200));
  return b;
}

TEST(OutboxStall, NamesTheTransactionItWaitsFor) {
  events::OutboxStall s{.waiting_events = 12, .waiting_seconds = 95.9, .blocker = Session()};
  EXPECT_EQ(events::DescribeStall(s),
            "stalled: 12 events waiting for 95 s behind transaction 7311 (pid 4242, user app, "
            "database jq, application psql, idle in transaction, started at 2025-12-01 10:00:00 "
            "UTC); publishing resumes when it ends");
  s.blocker->older_than_gap = 3;
  s.waiting_events = 1;
  EXPECT_EQ(events::DescribeStall(s),
            "stalled: 1 event waiting for 95 s behind transaction 7311 (pid 4242, user app, "
            "database jq, application psql, idle in transaction, started at 2025-12-01 10:00:00 "
            "UTC) and 2 other open transactions; publishing resumes when they end");
}

TEST(OutboxStall, SaysWhatTheRoleCannotSee) {
  auto b = Session();
  b.state.clear();
  b.started_at.reset();
  events::OutboxStall s{.waiting_events = 3, .waiting_seconds = 70, .blocker = b};
  EXPECT_EQ(events::DescribeStall(s),
            "stalled: 3 events waiting for 70 s behind transaction 7311 (pid 4242, user app, "
            "database jq, application psql; its start time needs pg_read_all_stats); "
            "publishing resumes when it ends");
  s.blocker = events::BlockingTransaction{.xid = 99};  // only the snapshot's xmin is known
  EXPECT_EQ(events::DescribeStall(s),
            "stalled: 3 events waiting for 70 s behind transaction 99; publishing resumes when "
            "it ends");
}

TEST(OutboxStall, PreparedTransactionsSayHowToEndThem) {
  events::BlockingTransaction b;
  b.xid = 500;
  b.prepared_gid = "tx-42";
  b.user = "app";
  b.database = "jq";
  b.state = "prepared";
  b.started_at = std::chrono::system_clock::time_point(std::chrono::seconds(1'764'583'200));
  events::OutboxStall s{.waiting_events = 2, .waiting_seconds = 61, .blocker = b};
  EXPECT_EQ(events::DescribeStall(s),
            "stalled: 2 events waiting for 61 s behind prepared transaction 500 (gid 'tx-42', "
            "user app, database jq, prepared at 2025-12-01 10:00:00 UTC); publishing resumes "
            "after COMMIT PREPARED or ROLLBACK PREPARED");
}

TEST(OutboxStall, OtherCausesAndStandbys) {
  events::OutboxStall s{
      .waiting_events = 40, .waiting_seconds = 120, .cause = "kafka unreachable: timed out"};
  EXPECT_EQ(events::DescribeStall(s),
            "stalled: 40 events waiting for 120 s; kafka unreachable: timed out");
  s.cause.clear();
  s.standby = true;
  EXPECT_EQ(events::DescribeStall(s),
            "stalled: 40 events waiting for 120 s; another replica publishes (its status says "
            "why)");
  s.blocker = events::BlockingTransaction{.xid = 99};
  EXPECT_EQ(events::DescribeStall(s),
            "stalled: 40 events waiting for 120 s behind transaction 99; publishing resumes "
            "when it ends (another replica publishes)");
}

}  // namespace
}  // namespace jq::testing
