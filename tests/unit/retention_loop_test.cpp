// The retention cleaner on the fake store with a manual clock: what a run deletes, in which
// batches, what it keeps (recent, unfinished, unpublished, ages of 0), and what it reports.
#include <gtest/gtest.h>

#include "core/clock.h"
#include "server/retention_loop.h"
#include "support/fake_job_store.h"

namespace jq::server {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

constexpr auto kDay = hours(24);

class RetentionLoopTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  std::chrono::milliseconds store_latency_{0};  // how long each store call takes
  testing::FakeJobStore store_{[this] {
    clock_.Advance(store_latency_);
    return clock_.Now();
  }};

  std::string Submit() {
    JobInsertParams p;
    p.queue = "default";
    p.payload = R"({"command":["true"]})";
    auto r = store_.JobInsertMany({p});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)[0].job_id : "";
  }
  std::string Done() {
    const std::string id = Submit();
    auto c = store_.JobClaimAvailable({"w1", {}, 1, seconds(30)});
    EXPECT_TRUE(c.ok() && c->size() == 1u && (*c)[0].id == id);
    JobCompleteParams p;
    p.lease = {id, "w1", 1};
    p.success = true;
    p.output = JobOutputRecord{.exit_code = 0, .stdout_data = "ok"};
    EXPECT_TRUE(store_.JobComplete(p).ok());
    return id;
  }
  std::string DeadLettered() {
    const std::string id = Submit();
    EXPECT_TRUE(store_.JobCancel(id, "").ok());
    return id;
  }
  bool Exists(const std::string& id) { return store_.JobGet(id, "").ok(); }

  RetentionConfig Config(int batch_size = 2) {
    RetentionConfig c;
    c.done_age = 7 * kDay;
    c.dead_lettered_age = 30 * kDay;
    c.batch_size = batch_size;
    c.keep_unpublished = false;
    return c;
  }
};

TEST_F(RetentionLoopTest, ARunDeletesEachStatusPastItsAgeInBatchesUntilCaughtUp) {
  std::vector<std::string> old_done, old_dead;
  for (int i = 0; i < 5; ++i) old_done.push_back(Done());
  for (int i = 0; i < 3; ++i) old_dead.push_back(DeadLettered());
  clock_.Advance(31 * kDay);
  const std::string dead_young = DeadLettered();  // dead-lettered 10 days ago at the end
  clock_.Advance(10 * kDay);
  const std::string done_recent = Done();
  const std::string pending = Submit();

  int batches_with_rows = 0;
  std::int64_t outputs = 0;
  int runs = 0;
  RetentionLoop loop(store_, Config(2),
                     {.on_batch =
                          [&](const JobDeleteFinishedResult& r) {
                            ++batches_with_rows;
                            outputs += r.outputs;
                          },
                      .on_run = [&](const RetentionRunTotals&) { ++runs; }},
                     clock_);
  auto t = loop.RunOnce();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->jobs, 8);
  EXPECT_EQ(t->outputs, 5);
  EXPECT_EQ(t->events, 5 * 4 + 3 * 2);
  EXPECT_EQ(t->batches, 3 + 2);  // DONE 2+2+1, DEAD_LETTERED 2+1
  EXPECT_EQ(t->held_back, 0);
  EXPECT_FALSE(t->busy);
  EXPECT_EQ(batches_with_rows, 5);
  EXPECT_EQ(outputs, 5);
  EXPECT_EQ(runs, 1);
  for (const auto& id : old_done) EXPECT_FALSE(Exists(id));
  for (const auto& id : old_dead) EXPECT_FALSE(Exists(id));
  EXPECT_TRUE(Exists(dead_young));  // 10 days: DONE's age, not DEAD_LETTERED's
  EXPECT_TRUE(Exists(done_recent));
  EXPECT_TRUE(Exists(pending));
  // Caught up: the next run finds nothing.
  t = loop.RunOnce();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->jobs, 0);
  EXPECT_EQ(t->batches, 2);
}

TEST_F(RetentionLoopTest, AnAgeOfZeroKeepsThatStatusForever) {
  const std::string done = Done();
  const std::string dead = DeadLettered();
  clock_.Advance(3650 * kDay);
  RetentionConfig c = Config();
  c.done_age = seconds(0);
  RetentionLoop keep_done(store_, c, {}, clock_);
  auto t = keep_done.RunOnce();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->jobs, 1);
  EXPECT_TRUE(Exists(done));
  EXPECT_FALSE(Exists(dead));
  c.dead_lettered_age = seconds(0);
  RetentionLoop off(store_, c, {}, clock_);
  t = off.RunOnce();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->batches, 0);
  EXPECT_TRUE(Exists(done));
}

TEST_F(RetentionLoopTest, JobsWithUnpublishedEventsWaitForKafkaAndCostOneBatchARun) {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(Done());
  clock_.Advance(8 * kDay);
  RetentionConfig c = Config(2);
  c.keep_unpublished = true;
  double held_gauge = -1;
  RetentionLoop loop(store_, c,
                     {.on_run = [&](const RetentionRunTotals& t) { held_gauge = t.held_back; }},
                     clock_);
  // Kafka has received nothing: every job stays, and the run stops at its first batch.
  auto t = loop.RunOnce();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->jobs, 0);
  EXPECT_EQ(t->held_back, 2);
  EXPECT_EQ(t->batches, 2);  // one for DONE, one for DEAD_LETTERED (none)
  EXPECT_EQ(held_gauge, 2);
  for (const auto& id : ids) EXPECT_TRUE(Exists(id));
  // The relay has caught up with the first three jobs' events.
  const auto events = store_.JobEventList(ids[2], 0);
  ASSERT_TRUE(events.ok());
  store_.SetOutboxCursor(events->back().id);
  t = loop.RunOnce();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->jobs, 3);
  EXPECT_EQ(t->held_back, 1);
  EXPECT_FALSE(Exists(ids[2]));
  EXPECT_TRUE(Exists(ids[3]));
  store_.SetOutboxCursor(1 << 30);
  t = loop.RunOnce();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->jobs, 3);
  EXPECT_EQ(t->held_back, 0);
  EXPECT_EQ(held_gauge, 0);
}

TEST_F(RetentionLoopTest, RunBatchSaysWhenTheRunIsOver) {
  for (int i = 0; i < 3; ++i) Done();
  clock_.Advance(8 * kDay);
  RetentionLoop loop(store_, Config(2), {}, clock_);
  bool over = true;
  auto b = loop.RunBatch(&over);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->jobs, 2);
  EXPECT_FALSE(over);
  b = loop.RunBatch(&over);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->jobs, 1);
  EXPECT_FALSE(over);  // DEAD_LETTERED still to do
  b = loop.RunBatch(&over);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->examined, 0);
  EXPECT_TRUE(over);
}

TEST_F(RetentionLoopTest, BetweenBatchesItPausesAtLeastAsLongAsTheLastBatchTook) {
  for (int i = 0; i < 5; ++i) Done();
  clock_.Advance(8 * kDay);
  RetentionConfig c = Config(2);
  c.batch_pause = std::chrono::milliseconds(10);
  c.interval = std::chrono::seconds(60);
  RetentionLoop loop(store_, c, {}, clock_);
  bool over = false;
  ASSERT_TRUE(loop.RunBatch(&over).ok());
  ASSERT_FALSE(over);
  EXPECT_EQ(loop.NextWait(over), std::chrono::milliseconds(10));  // a fast batch
  store_latency_ = std::chrono::milliseconds(80);
  ASSERT_TRUE(loop.RunBatch(&over).ok());
  ASSERT_FALSE(over);
  EXPECT_EQ(loop.NextWait(over), std::chrono::milliseconds(80));  // a slow one: as long again
  EXPECT_EQ(loop.NextWait(true), std::nullopt);                   // caught up: the interval
}

}  // namespace
}  // namespace jq::server
