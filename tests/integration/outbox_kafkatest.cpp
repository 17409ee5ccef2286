// The outbox relay (SPEC §3, §8) against a private PostgreSQL and an in-process librdkafka
// mock cluster over TCP, read back with a real consumer, as jq's type and as the seed system's
// consumers decode it; and the producers' logging while Kafka is unreachable. (The relay's pure
// decisions are tested in unit/outbox_logic_test.cpp.) Long by nature: one suite for the relay,
// one test per failure it must survive.
#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common.pb.h"
#include "events/heartbeat_publisher.h"
#include "events/kafka_producer.h"
#include "events/outbox_logic.h"
#include "events/outbox_relay.h"
#include "integration/store_fixture.h"
#include "seed_job_event.pb.h"
#include "store/pg_outbox.h"
#include "store/pg_rows.h"
#include "telemetry/log.h"

// Sanitizer builds (JQ_SANITIZE): libpqxx 6.4 leaks libpq's error result (216 bytes) when the
// server terminates a session, as LeaderThatLosesItsSessionIsReplaced... makes it do.
extern "C" const char* __lsan_default_suppressions() {  // NOLINT(bugprone-reserved-identifier)
  return "leak:libpq.so\n";
}

namespace jq::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

TEST(OutboxConfig, RejectsBadSettingsWithoutConnecting) {
  events::OutboxRelayConfig c;
  EXPECT_EQ(events::OutboxRelay::Create("host=/nonexistent", c).status().code(),
            StatusCode::kInvalidArgument);  // no brokers
  c.brokers = "127.0.0.1:1";
  EXPECT_TRUE(events::OutboxRelay::Create("host=/nonexistent", c).ok());
  auto bad = c;
  bad.batch_size = 0;
  EXPECT_FALSE(bad.Validate().ok());
  bad = c;
  bad.stall_after = milliseconds(0);
  EXPECT_EQ(bad.Validate().message(), "outbox stall_after: must be positive");
  bad = c;
  bad.sasl_username = "jq";
  EXPECT_EQ(bad.Validate().message(), "kafka password: required with a username");
  bad = c;
  bad.producer_properties["no.such.property"] = "1";
  auto r = events::OutboxRelay::Create("host=/nonexistent", bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no.such.property"), std::string::npos);
}

// ------------------------------------------------------------------------- with servers

// An in-process mock cluster with jq's topics; lives as long as this object.
class MockKafka {
 public:
  explicit MockKafka(int partitions = 3) {
    std::array<char, 256> err{};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "4", err.data(), err.size());  // no bootstrap: fine
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
    cluster_ = rd_kafka_mock_cluster_new(rk_, 1);
    // In parallel: the mock thread often notices each request only at its 1 s poll timeout.
    std::vector<std::thread> creators;
    for (const auto& t : events::AllTopics()) {
      creators.emplace_back([this, t, partitions] {
        EXPECT_EQ(rd_kafka_mock_topic_create(cluster_, t.c_str(), partitions, 1), 0) << t;
      });
    }
    for (auto& c : creators) c.join();
  }
  ~MockKafka() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }
  std::string brokers() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void SetDown() { ASSERT_EQ(rd_kafka_mock_broker_set_down(cluster_, 1), 0); }
  void SetUp() { ASSERT_EQ(rd_kafka_mock_broker_set_up(cluster_, 1), 0); }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

struct Received {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  jq::JobEvent msg;           // as jq's consumers decode it
  seedcompat::JobEvent seed;  // as the seed system's consumers decode it
};

// Reads every partition of the given topics (default: every jq topic) from the beginning (no
// group, no commits).
class Consumer {
 public:
  Consumer(const std::string& brokers, int partitions,
           const std::vector<std::string>& topics = events::AllTopics()) {
    std::array<char, 256> err{};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    for (const auto& [k, v] : std::map<std::string, std::string>{
             {"bootstrap.servers", brokers},
             {"group.id", "outbox-test"},
             {"enable.auto.commit", "false"},
             {"auto.offset.reset", "earliest"},
             {"reconnect.backoff.max.ms", "500"},
             {"log_level", "2"}}) {  // the outage test's connection errors are expected
      rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err.data(), err.size());
    }
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err.data(), err.size());
    rd_kafka_poll_set_consumer(rk_);
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(32);
    for (const auto& t : topics) {
      for (int p = 0; p < partitions; ++p) {
        rd_kafka_topic_partition_list_add(parts, t.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
      }
    }
    rd_kafka_assign(rk_, parts);
    rd_kafka_topic_partition_list_destroy(parts);
  }
  ~Consumer() {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }

  // Consumes until done(all messages so far) or the timeout; returns whether done held.
  bool PollUntil(const std::function<bool(const std::vector<Received>&)>& done,
                 Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      if (done(messages_)) return true;
      if (Clock::now() >= deadline) return false;
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        Received r;
        r.topic = rd_kafka_topic_name(m->rkt);
        r.partition = m->partition;
        r.offset = m->offset;
        r.key.assign(static_cast<const char*>(m->key), m->key_len);
        EXPECT_TRUE(r.msg.ParseFromArray(m->payload, static_cast<int>(m->len)));
        EXPECT_TRUE(r.seed.ParseFromArray(m->payload, static_cast<int>(m->len)));
        messages_.push_back(std::move(r));
      }
      rd_kafka_message_destroy(m);
    }
  }
  // Drains what arrives within d.
  void PollFor(Clock::duration d) {
    PollUntil([](const auto&) { return false; }, d);
  }
  const std::vector<Received>& messages() const { return messages_; }

 private:
  rd_kafka_t* rk_ = nullptr;
  std::vector<Received> messages_;
};

std::set<std::int64_t> EventIds(const std::vector<Received>& msgs) {
  std::set<std::int64_t> out;
  for (const auto& m : msgs) out.insert(m.msg.id());
  return out;
}

// How many Kafka messages these events make: one per topic of each.
std::size_t MessageCount(const std::vector<JobEventRecord>& events) {
  std::size_t n = 0;
  for (const auto& e : events) n += events::EventTopics(e).size();
  return n;
}

bool WaitUntil(const std::function<bool()>& pred, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

class OutboxTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    kafka_ = std::make_unique<MockKafka>(kPartitions);
    consumer_ = std::make_unique<Consumer>(kafka_->brokers(), kPartitions);
  }
  void TearDown() override {
    consumer_.reset();
    kafka_.reset();
  }

  events::OutboxRelayConfig Config() const {
    events::OutboxRelayConfig c;
    c.brokers = kafka_->brokers();
    c.poll_interval = milliseconds(50);
    c.leader_retry_interval = milliseconds(200);
    c.unhealthy_after = milliseconds(1000);
    return c;
  }
  std::unique_ptr<events::OutboxRelay> NewRelay() {
    auto r = events::OutboxRelay::Create(conninfo_, Config());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(r).value();
  }

  // Every event in the database, read with the store's own column list and reader.
  std::vector<JobEventRecord> DbEvents() {
    std::vector<JobEventRecord> out;
    for (const auto& r :
         Sql(std::string("SELECT ") + store::kEventCols + " FROM job_events ORDER BY id")) {
      out.push_back(store::EventFromRow(r));
    }
    return out;
  }
  std::int64_t MaxEventId() {
    return Sql("SELECT coalesce(max(id), 0) FROM job_events")[0][0].as<std::int64_t>();
  }
  std::int64_t Cursor() {
    return Sql("SELECT last_event_id FROM outbox_cursors WHERE name = 'kafka'")[0][0]
        .as<std::int64_t>();
  }
  // Consumes until every event in the database arrived at least once on each of its topics.
  bool AllArrive(Clock::duration timeout = seconds(30)) {
    std::set<std::pair<std::int64_t, std::string>> want;
    for (const auto& e : DbEvents()) {
      for (std::string_view t : events::EventTopics(e)) want.emplace(e.id, t);
    }
    return consumer_->PollUntil(
        [&](const std::vector<Received>& got) {
          std::set<std::pair<std::int64_t, std::string>> have;
          for (const auto& m : got) have.emplace(m.msg.id(), m.topic);
          return std::includes(have.begin(), have.end(), want.begin(), want.end());
        },
        timeout);
  }

  // Submits n jobs and takes each through claim and start; the first `succeed` complete.
  std::vector<std::string> RunJobs(int n, const std::string& worker) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) ids.push_back(Submit());
    for (const auto& c : Claim(worker, n)) {
      EXPECT_TRUE(store_->JobSetRunning({c.id, worker, c.attempt}).ok());
      JobCompleteParams p;
      p.lease = {c.id, worker, c.attempt};
      p.success = true;
      EXPECT_TRUE(store_->JobComplete(p).ok());
    }
    return ids;
  }

  static constexpr int kPartitions = 3;
  std::unique_ptr<MockKafka> kafka_;
  std::unique_ptr<Consumer> consumer_;
};

TEST_F(OutboxTest, PublishesEveryTransitionOnceInOrderPerJob) {
  // Some history before the relay starts, the rest while it runs.
  const auto done_early = RunJobs(4, "w1");
  auto relay = NewRelay();
  relay->Start();
  const auto done_late = RunJobs(4, "w1");

  // Failures: without retries left -> DEAD_LETTERED; with retries -> PENDING (retried).
  std::vector<std::string> dead, retried;
  for (int i = 0; i < 3; ++i) dead.push_back(Submit("default", 0, 0));
  for (int i = 0; i < 3; ++i) retried.push_back(Submit("default", 0, 2));
  for (const auto& c : Claim("w2", 6)) {
    ASSERT_TRUE(store_->JobSetRunning({c.id, "w2", c.attempt}).ok());
    JobCompleteParams p;
    p.lease = {c.id, "w2", c.attempt};
    p.success = false;
    ASSERT_TRUE(store_->JobComplete(p).ok());
  }
  // One of the retried jobs runs and fails once more: a second event on the same topics.
  Sql("UPDATE jobs SET not_before = now() WHERE id = '" + retried[0] + "'");
  const auto again = Claim("w3", 1);
  ASSERT_EQ(again.size(), 1u);
  ASSERT_EQ(again[0].id, retried[0]);
  ASSERT_TRUE(store_->JobSetRunning({again[0].id, "w3", again[0].attempt}).ok());
  JobCompleteParams fail_again;
  fail_again.lease = {again[0].id, "w3", again[0].attempt};
  ASSERT_TRUE(store_->JobComplete(fail_again).ok());

  // Cancelled while pending, and one of those retried by hand.
  const std::string cancelled = Submit();
  const std::string cancelled_then_retried = Submit();
  ASSERT_TRUE(store_->JobCancel(cancelled, "").ok());
  ASSERT_TRUE(store_->JobCancel(cancelled_then_retried, "").ok());
  ASSERT_TRUE(store_->JobRetry(cancelled_then_retried, "").ok());

  const auto db = DbEvents();
  ASSERT_GT(db.size(), 40u);
  ASSERT_TRUE(AllArrive()) << consumer_->messages().size() << " of " << db.size();
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == db.back().id; }, seconds(10)));
  consumer_->PollFor(milliseconds(500));  // anything extra would be a duplicate

  const auto& got = consumer_->messages();
  EXPECT_EQ(got.size(), MessageCount(db)) << "no faults, so no duplicates";
  std::map<std::int64_t, std::vector<const Received*>> by_id;
  for (const auto& m : got) by_id[m.msg.id()].push_back(&m);
  for (const auto& e : db) {
    ASSERT_TRUE(by_id.contains(e.id)) << "event " << e.id;
    std::multiset<std::string> want_topics, got_topics;
    for (std::string_view t : events::EventTopics(e)) want_topics.emplace(t);
    for (const Received* m : by_id[e.id]) {
      got_topics.insert(m->topic);
      EXPECT_EQ(m->key, e.job_id);
      EXPECT_EQ(m->msg.job_id(), e.job_id);
      EXPECT_EQ(m->msg.tenant(), e.tenant);
      EXPECT_EQ(m->msg.queue_name(), e.queue);
      EXPECT_EQ(static_cast<int>(m->msg.from_status()), static_cast<int>(e.from_status));
      EXPECT_EQ(static_cast<int>(m->msg.to_status()), static_cast<int>(e.to_status));
      EXPECT_EQ(m->msg.reason(), e.reason);
      EXPECT_EQ(m->msg.worker_id(), e.worker_id);
      EXPECT_EQ(m->msg.attempt(), e.attempt);
      const auto us =
          std::chrono::duration_cast<std::chrono::microseconds>(e.occurred_at.time_since_epoch())
              .count();
      EXPECT_EQ(m->msg.occurred_at().seconds() * 1'000'000 + m->msg.occurred_at().nanos() / 1000,
                us);
      // The same bytes through the seed's definition of the message.
      EXPECT_EQ(m->seed.id(), e.id);
      EXPECT_EQ(m->seed.job_id(), e.job_id);
      EXPECT_EQ(static_cast<int>(m->seed.from_status()), static_cast<int>(e.from_status));
      EXPECT_EQ(static_cast<int>(m->seed.to_status()), static_cast<int>(e.to_status));
      EXPECT_EQ(m->seed.worker_id(), e.worker_id);
      EXPECT_EQ(m->seed.reason(), e.reason);
      EXPECT_EQ(m->seed.occurred_at().seconds(), m->msg.occurred_at().seconds());
      EXPECT_EQ(m->seed.occurred_at().nanos(), m->msg.occurred_at().nanos());
    }
    EXPECT_EQ(got_topics, want_topics) << "event " << e.id;
  }

  // Per job: the key puts all of a job's events on the same partition number of every topic,
  // and within a topic they are in event order. (Across topics Kafka has no order; a consumer
  // of several topics orders one job's events by event_id.)
  std::map<std::string, std::vector<const Received*>> per_job;
  for (const auto& m : got) per_job[m.key].push_back(&m);
  int same_topic_pairs = 0;
  for (auto& [job, msgs] : per_job) {
    std::sort(msgs.begin(), msgs.end(), [](auto* a, auto* b) {
      return std::pair(a->msg.id(), a->topic) < std::pair(b->msg.id(), b->topic);
    });
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      EXPECT_EQ(msgs[i]->partition, msgs[0]->partition) << job;
      for (std::size_t j = 0; j < i; ++j) {
        if (msgs[j]->topic != msgs[i]->topic) continue;
        ++same_topic_pairs;
        EXPECT_GT(msgs[i]->offset, msgs[j]->offset) << job << " " << msgs[i]->topic;
      }
    }
  }
  EXPECT_GE(same_topic_pairs, 4);  // the twice-failed job: assigned, started, failed, retried

  // A job's events in order, each as the topics it went to ("a+b" for two).
  auto topics = [&](const std::string& job) {
    std::vector<std::string> out;
    std::int64_t last = -1;
    for (const auto* m : per_job[job]) {
      if (m->msg.id() == last) {
        out.back() += "+" + m->topic;
      } else {
        out.push_back(m->topic);
      }
      last = m->msg.id();
    }
    return out;
  };
  using V = std::vector<std::string>;
  const std::string assigned = "job.assigned+job.submitted";
  const std::string cancel = "job.cancelled+job.dead-lettered";
  EXPECT_EQ(topics(done_early[0]), (V{"job.submitted", assigned, "job.started", "job.completed"}));
  EXPECT_EQ(topics(done_late[3]), (V{"job.submitted", assigned, "job.started", "job.completed"}));
  EXPECT_EQ(topics(dead[0]),
            (V{"job.submitted", assigned, "job.started", "job.failed", "job.dead-lettered"}));
  EXPECT_EQ(topics(retried[1]),
            (V{"job.submitted", assigned, "job.started", "job.failed", "job.retried"}));
  EXPECT_EQ(topics(retried[0]),
            (V{"job.submitted", assigned, "job.started", "job.failed", "job.retried", assigned,
               "job.started", "job.failed", "job.retried"}));
  EXPECT_EQ(topics(cancelled), (V{"job.submitted", cancel}));
  EXPECT_EQ(topics(cancelled_then_retried), (V{"job.submitted", cancel, "job.retried"}));

  ASSERT_TRUE(WaitUntil([&] { return relay->outbox_lag_events() == 0; }, seconds(5)));
  const auto stats = relay->Stats();
  EXPECT_TRUE(stats.leader);
  EXPECT_TRUE(stats.healthy) << stats.message;
  EXPECT_EQ(stats.message, "publishing, lag 0");
  EXPECT_EQ(stats.published_total, MessageCount(db));
  EXPECT_TRUE(stats.publish_errors_total.empty());
  relay->Stop();
  relay->Stop();  // idempotent
  EXPECT_FALSE(relay->is_leader());
}

// A consumer written for the seed system, on the seed's topics and decoding the seed's message,
// gets every event the seed published there: submissions and assignments on job.submitted,
// successes on job.completed, and every dead-lettering (cancelled, TTL expired, out of
// retries) on job.dead-lettered. The seed published nothing else, so neither does jq there.
TEST_F(OutboxTest, SeedConsumersGetWhatTheSeedPublishedOnEachOfItsTopics) {
  Consumer seed(kafka_->brokers(), kPartitions,
                {"job.submitted", "job.completed", "job.dead-lettered"});
  auto relay = NewRelay();
  relay->Start();

  const std::string done = RunJobs(1, "w1")[0];
  const std::string cancelled_pending = Submit();
  ASSERT_TRUE(store_->JobCancel(cancelled_pending, "").ok());
  const std::string cancelled_assigned = Submit();
  ASSERT_EQ(Claim("w1", 1).size(), 1u);
  ASSERT_TRUE(store_->JobCancel(cancelled_assigned, "").ok());
  const std::string expired = Submit();
  Sql("UPDATE jobs SET expires_at = now() - interval '1 second' WHERE id = '" + expired + "'");
  ASSERT_TRUE(store_->Reap(seconds(30), 0).ok());
  const std::string out_of_retries = Submit("default", 0, 0);
  const auto claimed = Claim("w2", 1);
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_TRUE(store_->JobSetRunning({out_of_retries, "w2", claimed[0].attempt}).ok());
  JobCompleteParams fail;
  fail.lease = {out_of_retries, "w2", claimed[0].attempt};
  ASSERT_TRUE(store_->JobComplete(fail).ok());

  // topic, key (= job_id), from_status, to_status, reason
  using Seen = std::tuple<std::string, std::string, int, int, std::string>;
  const int kNone = seedcompat::JOB_STATUS_UNSPECIFIED, kPending = seedcompat::PENDING,
            kAssigned = seedcompat::ASSIGNED, kRunning = seedcompat::RUNNING,
            kDone = seedcompat::DONE, kFailed = seedcompat::FAILED,
            kDead = seedcompat::DEAD_LETTERED;
  const std::string kSubmitted = "job.submitted", kCompleted = "job.completed",
                    kDeadLettered = "job.dead-lettered";
  const std::set<Seen> want = {
      {kSubmitted, done, kNone, kPending, "SUBMITTED"},
      {kSubmitted, done, kPending, kAssigned, "ASSIGNED"},
      {kCompleted, done, kRunning, kDone, "SUCCESS"},
      {kSubmitted, cancelled_pending, kNone, kPending, "SUBMITTED"},
      {kDeadLettered, cancelled_pending, kPending, kDead, "CANCELLED"},
      {kSubmitted, cancelled_assigned, kNone, kPending, "SUBMITTED"},
      {kSubmitted, cancelled_assigned, kPending, kAssigned, "ASSIGNED"},
      {kDeadLettered, cancelled_assigned, kAssigned, kDead, "CANCELLED"},
      {kSubmitted, expired, kNone, kPending, "SUBMITTED"},
      {kDeadLettered, expired, kPending, kDead, "TTL_EXPIRED"},
      {kSubmitted, out_of_retries, kNone, kPending, "SUBMITTED"},
      {kSubmitted, out_of_retries, kPending, kAssigned, "ASSIGNED"},
      {kDeadLettered, out_of_retries, kFailed, kDead, "MAX_RETRIES_EXCEEDED"},
  };
  auto seen = [](const std::vector<Received>& got) {
    std::set<Seen> out;
    for (const auto& m : got) {
      out.emplace(m.topic, m.key, m.seed.from_status(), m.seed.to_status(), m.seed.reason());
    }
    return out;
  };
  ASSERT_TRUE(seed.PollUntil(
      [&](const std::vector<Received>& got) {
        auto have = seen(got);
        return std::includes(have.begin(), have.end(), want.begin(), want.end());
      },
      seconds(30)))
      << seed.messages().size() << " messages";
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  seed.PollFor(milliseconds(500));
  EXPECT_EQ(seen(seed.messages()), want);
  EXPECT_EQ(seed.messages().size(), want.size());
  for (const auto& m : seed.messages()) {
    EXPECT_EQ(m.seed.job_id(), m.key);
    EXPECT_GT(m.seed.id(), 0);  // the seed left id and occurred_at empty on Kafka; jq fills them
    EXPECT_GT(m.seed.occurred_at().seconds(), 0);
    if (m.seed.reason() == "SUCCESS" || m.seed.reason() == "MAX_RETRIES_EXCEEDED") {
      EXPECT_FALSE(m.seed.worker_id().empty()) << m.seed.reason();
    }
  }
}

TEST_F(OutboxTest, KafkaDownDelaysEventsButLosesNoneAndNeverBlocksJobs) {
  auto relay = NewRelay();
  relay->Start();
  RunJobs(3, "w1");
  ASSERT_TRUE(AllArrive());
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  const std::int64_t delivered = Cursor();
  const std::size_t before = consumer_->messages().size();

  kafka_->SetDown();
  // Jobs keep flowing while Kafka is away.
  const auto t0 = Clock::now();
  RunJobs(10, "w1");
  EXPECT_LT(Clock::now() - t0, seconds(5));
  ASSERT_GT(MaxEventId(), delivered);

  ASSERT_TRUE(WaitUntil([&] { return !relay->healthy(); }, seconds(10))) << relay->health_message();
  EXPECT_NE(relay->health_message().find("kafka unreachable"), std::string::npos)
      << relay->health_message();
  EXPECT_TRUE(relay->is_leader());
  // The cursor stays at what Kafka acknowledged.
  EXPECT_EQ(Cursor(), delivered);
  EXPECT_GT(relay->outbox_lag_events(), 0);
  consumer_->PollFor(milliseconds(500));
  EXPECT_EQ(consumer_->messages().size(), before);

  kafka_->SetUp();
  ASSERT_TRUE(AllArrive(seconds(60))) << relay->health_message();
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  ASSERT_TRUE(WaitUntil([&] { return relay->healthy(); }, seconds(10))) << relay->health_message();
  const auto ids = EventIds(consumer_->messages());
  for (const auto& e : DbEvents()) EXPECT_TRUE(ids.contains(e.id)) << e.id;
  std::cout << "[ info     ] " << consumer_->messages().size() << " messages for "
            << DbEvents().size() << " events after the outage\n";
}

TEST_F(OutboxTest, UndeliveredBatchIsCountedAndSentAgain) {
  auto config = Config();
  config.delivery_timeout = milliseconds(1500);  // librdkafka gives up on the batch quickly
  auto relay = std::move(events::OutboxRelay::Create(conninfo_, config)).value();
  relay->Start();
  RunJobs(2, "w1");
  ASSERT_TRUE(AllArrive());
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  const std::int64_t delivered = Cursor();

  kafka_->SetDown();
  RunJobs(3, "w1");
  ASSERT_TRUE(WaitUntil([&] { return !relay->publish_errors_total().empty(); }, seconds(15)));
  const auto errors = relay->publish_errors_total();
  EXPECT_TRUE(errors.contains("job.submitted")) << errors.begin()->first;
  std::this_thread::sleep_for(milliseconds(2000));  // at least one more failed round
  EXPECT_EQ(Cursor(), delivered);

  kafka_->SetUp();
  ASSERT_TRUE(AllArrive()) << relay->health_message();
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  ASSERT_TRUE(WaitUntil([&] { return relay->healthy(); }, seconds(10))) << relay->health_message();
}

TEST_F(OutboxTest, OneRelayPublishesAtATimeAndAnotherTakesOverWithoutGaps) {
  auto a = NewRelay();
  a->Start();
  ASSERT_TRUE(WaitUntil([&] { return a->is_leader(); }, seconds(10)));
  auto b = NewRelay();
  b->Start();
  RunJobs(10, "w1");
  ASSERT_TRUE(AllArrive());
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  EXPECT_TRUE(a->is_leader());
  EXPECT_FALSE(b->is_leader());
  EXPECT_TRUE(b->healthy()) << b->health_message();
  EXPECT_NE(b->health_message().find("standby"), std::string::npos) << b->health_message();
  EXPECT_EQ(b->Stats().published_total, 0u);
  const auto a_published = a->Stats().published_total;
  EXPECT_EQ(a_published, MessageCount(DbEvents()));

  // The leader goes away in the middle of a stream of transitions.
  std::thread load([&] { RunJobs(20, "w2"); });
  std::this_thread::sleep_for(milliseconds(100));
  a.reset();
  load.join();
  RunJobs(5, "w3");
  ASSERT_TRUE(WaitUntil([&] { return b->is_leader(); }, seconds(10)));
  ASSERT_TRUE(AllArrive()) << b->health_message();
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  EXPECT_GT(b->Stats().published_total, 0u);

  std::map<std::pair<std::int64_t, std::string>, int> copies;  // (event, topic)
  for (const auto& m : consumer_->messages()) ++copies[{m.msg.id(), m.topic}];
  int duplicates = 0;
  for (const auto& [message, n] : copies) duplicates += n - 1;
  for (const auto& e : DbEvents()) {
    for (std::string_view t : events::EventTopics(e)) {
      EXPECT_GE((copies[{e.id, std::string(t)}]), 1) << e.id << " " << t;
    }
  }
  std::cout << "[ info     ] " << DbEvents().size() << " events, " << duplicates
            << " duplicates after the takeover\n";
}

TEST_F(OutboxTest, LeaderThatLosesItsSessionIsReplacedAndNothingIsLost) {
  auto a = NewRelay();
  a->Start();
  ASSERT_TRUE(WaitUntil([&] { return a->is_leader(); }, seconds(10)));
  auto b = NewRelay();
  b->Start();
  RunJobs(5, "w1");
  ASSERT_TRUE(AllArrive());
  // What happens to a replica whose database connection dies: its session lock goes with it.
  const auto killed =
      Sql("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
          "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
          "AND ((classid::bigint << 32) | objid::bigint) = " +
          std::to_string(store::kOutboxRelayLockKey));
  ASSERT_EQ(killed.size(), 1u);
  RunJobs(5, "w2");
  ASSERT_TRUE(AllArrive()) << a->health_message() << " / " << b->health_message();
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  // Exactly one publisher again (whichever won the lock).
  ASSERT_TRUE(WaitUntil([&] { return a->is_leader() != b->is_leader(); }, seconds(10)));
  EXPECT_TRUE(a->healthy()) << a->health_message();
  EXPECT_TRUE(b->healthy()) << b->health_message();
}

// jq-kafka-mock as a child process on a fixed port, so "Kafka" can be stopped and started
// again at the same address (empty: the mock keeps nothing).
class MockKafkaProcess {
 public:
  explicit MockKafkaProcess(int port) {
    const std::string bin = BinaryPath("jq-kafka-mock");
    const std::string port_arg = std::to_string(port);
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    std::vector<char*> argv = {const_cast<char*>(bin.c_str()), const_cast<char*>("--port"),
                               const_cast<char*>(port_arg.c_str()), nullptr};
    EXPECT_EQ(posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), environ), 0) << bin;
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    // The first line names the brokers once the cluster and its topics exist.
    FILE* f = fdopen(out[0], "r");
    std::array<char, 256> line{};
    EXPECT_NE(fgets(line.data(), line.size(), f), nullptr);
    fclose(f);
    EXPECT_EQ(std::string(line.data()), "JQ_KAFKA_BROKERS=127.0.0.1:" + port_arg + "\n");
  }
  ~MockKafkaProcess() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }

 private:
  pid_t pid_ = -1;
};

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

TEST_F(StoreTest, KafkaRestartedEmptyAtTheSameAddressGetsEverythingNotYetDelivered) {
  const int port = FreePort();
  auto kafka = std::make_unique<MockKafkaProcess>(port);
  events::OutboxRelayConfig config;
  config.brokers = "127.0.0.1:" + std::to_string(port);
  config.poll_interval = milliseconds(50);
  auto relay = std::move(events::OutboxRelay::Create(conninfo_, config)).value();
  relay->Start();
  auto cursor = [&] {
    return Sql("SELECT last_event_id FROM outbox_cursors")[0][0].as<std::int64_t>();
  };
  auto max_id = [&] { return Sql("SELECT max(id) FROM job_events")[0][0].as<std::int64_t>(); };
  Submit();
  Submit();
  ASSERT_TRUE(WaitUntil([&] { return cursor() == max_id(); }, seconds(15)));

  kafka.reset();  // Kafka stops; jobs go on
  const std::int64_t delivered = cursor();
  for (int i = 0; i < 5; ++i) Submit();
  ASSERT_EQ(Claim("w1", 7).size(), 7u);
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(cursor(), delivered);

  kafka = std::make_unique<MockKafkaProcess>(port);
  Consumer consumer(config.brokers, 3);
  std::set<std::int64_t> want;
  for (const auto& row : Sql("SELECT id FROM job_events WHERE id > " + std::to_string(delivered)))
    want.insert(row[0].as<std::int64_t>());
  ASSERT_TRUE(consumer.PollUntil(
      [&](const std::vector<Received>& got) {
        auto have = EventIds(got);
        return std::includes(have.begin(), have.end(), want.begin(), want.end());
      },
      seconds(60)))
      << relay->health_message();
  ASSERT_TRUE(WaitUntil([&] { return cursor() == max_id(); }, seconds(10)));
}

// ------------------------------------------------------------------------- logging

// What this process writes on stdout and stderr (file descriptors 1 and 2) from construction
// to Stop(). Assert nothing in between: gtest would print into the capture.
class CapturedOutput {
 public:
  CapturedOutput() {
    std::fflush(stdout);
    std::fflush(stderr);
    for (int i = 0; i < 2; ++i) {
      std::string path = ::testing::TempDir() + "jq-captured-XXXXXX";
      const int fd = mkstemp(path.data());
      paths_[i] = path;
      saved_[i] = dup(i + 1);
      dup2(fd, i + 1);
      close(fd);
    }
  }
  ~CapturedOutput() {
    Stop();
    for (const auto& p : paths_) std::remove(p.c_str());
  }
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    std::fflush(stdout);
    std::fflush(stderr);
    for (int i = 0; i < 2; ++i) {
      dup2(saved_[i], i + 1);
      close(saved_[i]);
    }
  }
  std::string out() const { return Read(paths_[0]); }
  std::string err() const { return Read(paths_[1]); }

 private:
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::array<std::string, 2> paths_;
  std::array<int, 2> saved_{};
  bool stopped_ = false;
};

// A producer against an address where no broker listens, with jq's JSON logger installed as
// the binaries install it: every line printed must be JSON on stdout, librdkafka's reports of
// the refused connection included (SPEC §11), and nothing may go to stderr.
class KafkaLoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    brokers_ = "127.0.0.1:" + std::to_string(FreePort());
  }
  void TearDown() override {
    spdlog::set_default_logger(previous_);
    spdlog::drop("jq");
  }

  // start() makes the producer; what it returns keeps the producer alive (null: it failed, and
  // says why in start_error_). Runs it until the output names the broker (librdkafka reported
  // the refused connection) or 15 s pass.
  void RunUnreachable(const std::function<std::shared_ptr<void>()>& start) {
    CapturedOutput captured;
    telemetry::InitLogging("jq-server", "info");
    {
      auto producer = start();
      if (producer == nullptr) return;
      WaitUntil(
          [&] {
            return captured.out().find(brokers_) != std::string::npos ||
                   captured.err().find(brokers_) != std::string::npos;
          },
          seconds(15));
    }
    captured.Stop();
    out_ = captured.out();
    err_ = captured.err();
  }

  void ExpectOnlyJsonLinesThatNameTheBroker() {
    ASSERT_EQ(start_error_, "");
    EXPECT_EQ(err_, "") << "stderr";
    int naming_broker = 0;
    std::istringstream lines(out_);
    for (std::string line; std::getline(lines, line);) {
      const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      ASSERT_TRUE(j.is_object()) << "not a JSON line: " << line;
      EXPECT_EQ(j.value("service", ""), "jq-server") << line;
      EXPECT_TRUE(j.contains("level")) << line;
      const std::string message = j.value("message", "");
      if (message.starts_with("kafka: ") && message.find(brokers_) != std::string::npos) {
        ++naming_broker;
      }
    }
    EXPECT_GT(naming_broker, 0) << "librdkafka's report of the refused connection is missing:\n"
                                << out_;
  }

  std::shared_ptr<spdlog::logger> previous_;
  std::string brokers_;
  std::string out_, err_;
  std::string start_error_;
};

// The shared construction installs the log callback: a producer of a role that sets no
// callbacks of its own still logs through jq's logger.
TEST_F(KafkaLoggingTest, EveryProducerLogsThroughJqsLogger) {
  RunUnreachable([&]() -> std::shared_ptr<void> {
    auto conf = events::BuildProducerConf({.brokers = brokers_}, "jq-test", {});
    if (!conf.ok()) {
      start_error_ = conf.status().ToString();
      return nullptr;
    }
    auto producer = events::NewProducer(conf->get(), [](rd_kafka_conf_t*) {});
    if (!producer.ok()) {
      start_error_ = producer.status().ToString();
      return nullptr;
    }
    return std::make_shared<events::ProducerPtr>(std::move(producer).value());
  });
  ExpectOnlyJsonLinesThatNameTheBroker();
}

TEST_F(KafkaLoggingTest, HeartbeatPublisherLogsOnlyJsonWhileKafkaIsDown) {
  RunUnreachable([&]() -> std::shared_ptr<void> {
    auto hb = events::HeartbeatPublisher::Create({.brokers = brokers_});
    if (!hb.ok()) {
      start_error_ = hb.status().ToString();
      return nullptr;
    }
    (*hb)->Publish("w1", "server-1", 1, {"0190a0a0-0000-7000-8000-000000000001"});
    return std::shared_ptr<events::HeartbeatPublisher>(std::move(hb).value());
  });
  ExpectOnlyJsonLinesThatNameTheBroker();
}

// A raw transaction that takes an event id and stays open until the test decides.
class OpenEventTransaction {
 public:
  explicit OpenEventTransaction(const std::string& conninfo) : conn_(conninfo), tx_(conn_) {
    id_ = tx_.exec1(
                 "INSERT INTO job_events (job_id, tenant, queue, to_status, reason) "
                 "VALUES (gen_random_uuid(), 'default', 'default', 1, 'SUBMITTED') RETURNING id")[0]
              .as<std::int64_t>();
  }
  std::int64_t id() const { return id_; }
  void Commit() { tx_.commit(); }
  void Abort() { tx_.abort(); }

 private:
  pqxx::connection conn_;
  pqxx::work tx_;
  std::int64_t id_ = 0;
};

TEST_F(OutboxTest, GapFromAnOpenTransactionHoldsTheRelayUntilItCommits) {
  auto relay = NewRelay();
  relay->Start();
  RunJobs(1, "w1");
  ASSERT_TRUE(AllArrive());
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));

  OpenEventTransaction open(conninfo_);
  const std::string later = Submit();  // commits an id above the open one
  ASSERT_GT(MaxEventId(), open.id());
  consumer_->PollFor(seconds(2));
  for (const auto& m : consumer_->messages()) EXPECT_LT(m.msg.id(), open.id());
  EXPECT_EQ(Cursor(), open.id() - 1);
  EXPECT_TRUE(relay->healthy());
  EXPECT_NE(relay->health_message().find("waiting for the transaction of event " +
                                         std::to_string(open.id())),
            std::string::npos)
      << relay->health_message();

  open.Commit();
  ASSERT_TRUE(AllArrive());
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  EXPECT_TRUE(EventIds(consumer_->messages()).contains(open.id()));
  EXPECT_EQ(relay->Stats().skipped_ids_total, 0u);
}

TEST_F(OutboxTest, GapFromARolledBackTransactionIsSkippedOnceItEnded) {
  auto relay = NewRelay();
  relay->Start();
  RunJobs(1, "w1");
  ASSERT_TRUE(AllArrive());

  auto open = std::make_unique<OpenEventTransaction>(conninfo_);
  const std::int64_t lost = open->id();
  Submit();
  consumer_->PollFor(seconds(1));
  EXPECT_EQ(Cursor(), lost - 1);  // held back while the transaction may still commit

  open->Abort();
  open.reset();
  ASSERT_TRUE(AllArrive());
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  EXPECT_FALSE(EventIds(consumer_->messages()).contains(lost));
  EXPECT_EQ(relay->Stats().skipped_ids_total, 1u);
}

TEST_F(OutboxTest, IdTakenButNeverUsedIsSkipped) {
  auto relay = NewRelay();
  relay->Start();
  RunJobs(1, "w1");
  ASSERT_TRUE(AllArrive());
  const auto burnt = Sql("SELECT nextval('job_events_id_seq')")[0][0].as<std::int64_t>();
  RunJobs(1, "w1");
  ASSERT_TRUE(AllArrive(seconds(10)));
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  EXPECT_FALSE(EventIds(consumer_->messages()).contains(burnt));
  EXPECT_EQ(relay->Stats().skipped_ids_total, 1u);
}

// ------------------------------------------------------------------------- stalls

// A transaction on a connection of its own that takes a transaction id (and, if asked, an event
// id) and then sits idle until the test ends it: what a forgotten session does to the relay.
class HeldTransaction {
 public:
  HeldTransaction(const std::string& conninfo, bool take_event)
      : conn_(conninfo + " application_name=jq-test-holder"), tx_(conn_) {
    xid_ = std::stoull(tx_.exec1("SELECT pg_current_xact_id()::text")[0].as<std::string>());
    pid_ = conn_.backendpid();
    dbname_ = conn_.dbname();
    if (take_event) {
      event_id_ = tx_.exec1(
                         "INSERT INTO job_events (job_id, tenant, queue, to_status, reason) "
                         "VALUES (gen_random_uuid(), 'default', 'default', 1, 'SUBMITTED') "
                         "RETURNING id")[0]
                      .as<std::int64_t>();
    }
  }
  std::uint64_t xid() const { return xid_; }  // a fresh cluster: no epoch, = backend_xid
  int pid() const { return pid_; }
  const std::string& dbname() const { return dbname_; }
  std::int64_t event_id() const { return event_id_; }
  void Commit() { tx_.commit(); }
  void Abort() { tx_.abort(); }

 private:
  pqxx::connection conn_;
  pqxx::work tx_;
  std::uint64_t xid_ = 0;
  int pid_ = 0;
  std::string dbname_;
  std::int64_t event_id_ = 0;
};

// The line a stall report names a transaction with, up to what the role may not see.
std::string Behind(const HeldTransaction& t) {
  return "behind transaction " + std::to_string(t.xid()) + " (pid " + std::to_string(t.pid()) +
         ", user postgres, database " + t.dbname() + ", application jq-test-holder";
}

// The stall: a long transaction that took an event id holds every later event back.
// For stall_after the status says the relay waits and stays healthy; then every replica's kafka
// status turns unhealthy, says it has stalled and names the transaction, and the age of the
// oldest waiting event keeps growing. Once the transaction ends, everything goes out and the
// status is healthy again.
TEST_F(OutboxTest, LongTransactionStallIsReportedByEveryReplicaUntilItEnds) {
  auto config = Config();
  config.stall_after = milliseconds(3000);
  auto leader = std::move(events::OutboxRelay::Create(conninfo_, config)).value();
  leader->Start();
  RunJobs(1, "w1");
  ASSERT_TRUE(AllArrive());
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  auto standby = std::move(events::OutboxRelay::Create(conninfo_, config)).value();
  standby->Start();
  ASSERT_TRUE(
      WaitUntil([&] { return standby->health_message().starts_with("standby"); }, seconds(10)))
      << standby->health_message();
  {
    const auto st = leader->Stats();
    EXPECT_FALSE(st.stalled);
    EXPECT_FALSE(st.waiting_for_transaction);
    EXPECT_EQ(st.oldest_unpublished_age_seconds, 0);
    EXPECT_EQ(st.blocking_xid, 0u);
  }

  HeldTransaction held(conninfo_, /*take_event=*/true);
  for (int i = 0; i < 3; ++i) Submit();
  ASSERT_TRUE(WaitUntil([&] { return leader->Stats().waiting_for_transaction; }, seconds(10)));
  {
    const auto st = leader->Stats();
    EXPECT_TRUE(st.healthy) << "not yet stall_after: " << st.message;
    EXPECT_NE(
        st.message.find("waiting for the transaction of event " + std::to_string(held.event_id())),
        std::string::npos)
        << st.message;
  }

  ASSERT_TRUE(
      WaitUntil([&] { return leader->Stats().stalled && standby->Stats().stalled; }, seconds(15)))
      << leader->health_message() << " / " << standby->health_message();
  const auto st = leader->Stats();
  EXPECT_FALSE(st.healthy);
  EXPECT_TRUE(st.leader);
  EXPECT_EQ(st.lag_events, MaxEventId() - Cursor());  // the held id counts too
  EXPECT_TRUE(
      st.message.starts_with("stalled: " + std::to_string(st.lag_events) + " events waiting for "))
      << st.message;
  EXPECT_NE(st.message.find(Behind(held) + ", idle in transaction, started at "), std::string::npos)
      << st.message;
  EXPECT_TRUE(st.message.ends_with(" UTC); publishing resumes when it ends")) << st.message;
  EXPECT_TRUE(st.waiting_for_transaction);
  EXPECT_EQ(st.blocking_xid, held.xid());
  EXPECT_GE(st.blocking_transaction_age_seconds, 3.0);
  EXPECT_GE(st.oldest_unpublished_age_seconds, 3.0);
  // The standby cannot see the publisher's horizon, but it sees the gap after the shared cursor
  // and the oldest transaction.
  const auto sb = standby->Stats();
  EXPECT_FALSE(sb.healthy);
  EXPECT_FALSE(sb.leader);
  EXPECT_NE(sb.message.find(Behind(held)), std::string::npos) << sb.message;
  EXPECT_TRUE(sb.message.ends_with("(another replica publishes)")) << sb.message;
  EXPECT_EQ(sb.blocking_xid, held.xid());
  EXPECT_GE(sb.oldest_unpublished_age_seconds, 3.0);

  const double before = leader->Stats().oldest_unpublished_age_seconds;
  consumer_->PollFor(milliseconds(1500));
  EXPECT_GE(leader->Stats().oldest_unpublished_age_seconds, before + 1.0);
  EXPECT_GE(standby->Stats().oldest_unpublished_age_seconds, before + 1.0);
  for (const auto& m : consumer_->messages()) EXPECT_LT(m.msg.id(), held.event_id());
  EXPECT_EQ(Cursor(), held.event_id() - 1);

  held.Commit();
  ASSERT_TRUE(AllArrive());
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  ASSERT_TRUE(WaitUntil(
      [&] {
        return leader->health_message() == "publishing, lag 0" &&
               standby->health_message() == "standby (another replica publishes), lag 0";
      },
      seconds(10)))
      << leader->health_message() << " / " << standby->health_message();
  for (const auto& r : {leader->Stats(), standby->Stats()}) {
    EXPECT_TRUE(r.healthy);
    EXPECT_FALSE(r.stalled);
    EXPECT_FALSE(r.waiting_for_transaction);
    EXPECT_EQ(r.blocking_xid, 0u);
    EXPECT_EQ(r.blocking_transaction_age_seconds, 0);
    EXPECT_EQ(r.oldest_unpublished_age_seconds, 0);
  }
  EXPECT_EQ(leader->Stats().skipped_ids_total, 0u);
}

// The transaction need not have written an event: any open transaction that took a transaction
// id before a gap appeared (here a rolled-back event) keeps the relay from proving the gap
// permanent, and is the one named.
TEST_F(OutboxTest, OpenTransactionOlderThanARolledBackGapStallsItUntilItEnds) {
  auto config = Config();
  config.stall_after = milliseconds(1500);
  auto relay = std::move(events::OutboxRelay::Create(conninfo_, config)).value();
  relay->Start();
  RunJobs(1, "w1");
  ASSERT_TRUE(AllArrive());
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));

  HeldTransaction holder(conninfo_, /*take_event=*/false);
  std::int64_t lost = 0;
  {
    OpenEventTransaction gap(conninfo_);
    lost = gap.id();
    gap.Abort();
  }
  Submit();
  ASSERT_TRUE(WaitUntil([&] { return relay->Stats().stalled; }, seconds(15)))
      << relay->health_message();
  const auto st = relay->Stats();
  EXPECT_FALSE(st.healthy);
  EXPECT_NE(st.message.find(Behind(holder) + ", idle in transaction, started at "),
            std::string::npos)
      << st.message;
  EXPECT_EQ(st.blocking_xid, holder.xid());
  EXPECT_EQ(Cursor(), lost - 1);

  holder.Abort();
  ASSERT_TRUE(AllArrive());
  ASSERT_TRUE(WaitUntil([&] { return Cursor() == MaxEventId(); }, seconds(10)));
  ASSERT_TRUE(
      WaitUntil([&] { return relay->health_message() == "publishing, lag 0"; }, seconds(10)))
      << relay->health_message();
  EXPECT_FALSE(relay->Stats().stalled);
  EXPECT_EQ(relay->Stats().skipped_ids_total, 1u);
}

// PostgreSQL shows another role's session to a role without pg_read_all_stats without its state
// or start time: the status still names the transaction, its pid, user and application, and
// says what it cannot see.
TEST_F(OutboxTest, StallSeenByAnUnprivilegedRoleSaysWhatItCannotSee) {
  Sql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jq_relay_plain') THEN "
      "CREATE ROLE jq_relay_plain LOGIN; END IF; END $$");
  Sql("GRANT SELECT ON job_events TO jq_relay_plain; "
      "GRANT SELECT, INSERT, UPDATE ON outbox_cursors TO jq_relay_plain");
  auto config = Config();
  config.stall_after = milliseconds(1500);
  auto relay =
      std::move(events::OutboxRelay::Create(conninfo_ + " user=jq_relay_plain", config)).value();
  relay->Start();
  RunJobs(1, "w1");
  ASSERT_TRUE(AllArrive()) << relay->health_message();

  HeldTransaction held(conninfo_, /*take_event=*/true);
  Submit();
  ASSERT_TRUE(WaitUntil([&] { return relay->Stats().stalled; }, seconds(15)))
      << relay->health_message();
  const auto st = relay->Stats();
  EXPECT_NE(st.message.find(Behind(held) + "; its start time needs pg_read_all_stats); "),
            std::string::npos)
      << st.message;
  EXPECT_EQ(st.blocking_xid, held.xid());
  EXPECT_EQ(st.blocking_transaction_age_seconds, 0);  // hidden, not made up
  EXPECT_GE(st.oldest_unpublished_age_seconds, 1.5);

  held.Commit();
  ASSERT_TRUE(AllArrive());
  ASSERT_TRUE(
      WaitUntil([&] { return relay->health_message() == "publishing, lag 0"; }, seconds(10)))
      << relay->health_message();
}

TEST_F(OutboxTest, StandbyReportsLagWithoutPublishing) {
  // Another session holds the relay lock: this replica stands by.
  pqxx::connection holder(conninfo_);
  {
    pqxx::nontransaction tx(holder);
    tx.exec("SELECT pg_advisory_lock(" + std::to_string(store::kOutboxRelayLockKey) + ")");
  }
  auto relay = NewRelay();
  relay->Start();
  RunJobs(2, "w1");
  const auto n = static_cast<std::int64_t>(DbEvents().size());
  ASSERT_TRUE(WaitUntil([&] { return relay->outbox_lag_events() == n; }, seconds(10)))
      << relay->health_message();
  EXPECT_FALSE(relay->is_leader());
  EXPECT_EQ(Cursor(), 0);
  holder.disconnect();
  ASSERT_TRUE(AllArrive());
  ASSERT_TRUE(WaitUntil([&] { return relay->outbox_lag_events() == 0; }, seconds(10)));
  EXPECT_TRUE(relay->is_leader());
}

}  // namespace
}  // namespace jq::testing
