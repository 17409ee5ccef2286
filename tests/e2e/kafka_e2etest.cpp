// Events through real processes: jq-server replicas publishing to jq-kafka-mock (SPEC §8),
// read as a consumer written for the seed system reads them; and jq-server's output while
// Kafka is unreachable.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "e2e/e2e_support.h"
#include "events.pb.h"
#include "seed_job_event.pb.h"
#include "support/test_servers.h"

namespace jq::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const char* const kTopics[] = {"job.submitted", "job.assigned",      "job.started",
                               "job.completed", "job.failed",        "job.retried",
                               "job.cancelled", "job.dead-lettered", "worker.heartbeat"};

// Reads every partition of jq's topics from the beginning.
class Consumer {
 public:
  explicit Consumer(const std::string& brokers) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "e2e", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    rd_kafka_poll_set_consumer(rk_);
    auto* parts = rd_kafka_topic_partition_list_new(32);
    for (const char* t : kTopics) {
      for (int p = 0; p < 3; ++p) {
        rd_kafka_topic_partition_list_add(parts, t, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
      }
    }
    rd_kafka_assign(rk_, parts);
    rd_kafka_topic_partition_list_destroy(parts);
  }
  ~Consumer() {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }
  // Polls until every id in `want` has arrived or the timeout passes.
  std::set<std::int64_t> CollectUntil(const std::set<std::int64_t>& want,
                                      std::chrono::milliseconds timeout,
                                      const std::string& heartbeat_from = "") {
    PollUntil(
        [&] {
          bool all = heartbeat_from.empty() || heartbeat_workers_.contains(heartbeat_from);
          for (auto id : want) all = all && seen_.contains(id);
          return all;
        },
        timeout);
    return seen_;
  }
  // Polls until done() holds or the timeout passes; returns done().
  bool PollUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
          std::string(rd_kafka_topic_name(m->rkt)) == "worker.heartbeat") {
        jq::WorkerHeartbeatMessage hb;
        if (hb.ParseFromArray(m->payload, static_cast<int>(m->len))) {
          heartbeat_workers_.insert(hb.worker_id());
        }
      } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        // Decoded with the seed's definition of the message, as its consumers do.
        seedcompat::JobEvent msg;
        if (msg.ParseFromArray(m->payload, static_cast<int>(m->len))) {
          seen_.insert(msg.id());
          by_topic_[rd_kafka_topic_name(m->rkt)].emplace(msg.job_id(), msg.reason());
          EXPECT_EQ(std::string(static_cast<const char*>(m->key), m->key_len), msg.job_id());
        } else {
          ADD_FAILURE() << "not a JobEvent on " << rd_kafka_topic_name(m->rkt);
        }
      }
      rd_kafka_message_destroy(m);
    }
    return true;
  }
  const std::set<std::string>& heartbeat_workers() const { return heartbeat_workers_; }
  // (job_id, reason) of the events each topic carried.
  const std::map<std::string, std::set<std::pair<std::string, std::string>>>& by_topic() const {
    return by_topic_;
  }

 private:
  std::set<std::string> heartbeat_workers_;
  rd_kafka_t* rk_ = nullptr;
  std::set<std::int64_t> seen_;
  std::map<std::string, std::set<std::pair<std::string, std::string>>> by_topic_;
};

std::string KafkaComponent(Stack& stack, int server) {
  jq::GetSystemStatusRequest req;
  jq::GetSystemStatusResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
  if (!stack.Admin(server)->GetSystemStatus(&ctx, req, &resp).ok()) return "";
  for (const auto& c : resp.components()) {
    if (c.name() == "kafka") return c.message();
  }
  return "";
}

// The Kafka stand-in, as make run starts it; returns its brokers (empty if it did not start).
std::string StartKafkaMock(Stack& stack, std::unique_ptr<Process>& mock) {
  mock =
      std::make_unique<Process>(std::vector<std::string>{BinaryPath("jq-kafka-mock")},
                                std::map<std::string, std::string>{}, stack.dir() + "/kafka.out");
  std::string brokers;
  for (int i = 0; i < 100 && brokers.empty(); ++i) {
    std::ifstream in(stack.dir() + "/kafka.out");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("JQ_KAFKA_BROKERS=", 0) == 0) brokers = line.substr(17);
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  return brokers;
}

std::string HttpGet(const std::string& url) {
  std::string out;
  FILE* p = popen(("curl -s --max-time 5 " + url).c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// The value of an unlabelled series in a /metrics page; -1 when it is missing.
double Metric(const std::string& page, const std::string& name) {
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return true;
}

TEST(KafkaE2E, EveryEventArrivesAcrossAKilledPublisher) {
  Stack stack;
  std::unique_ptr<Process> mock;
  const std::string brokers = StartKafkaMock(stack, mock);
  ASSERT_FALSE(brokers.empty()) << mock->Log();
  const std::map<std::string, std::string> env = {{"JQ_KAFKA_BROKERS", brokers}};
  stack.StartServer({.env = env});
  // Server 0 becomes the publisher before server 1 exists.
  const auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (KafkaComponent(stack, 0).find("publishing") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_NE(KafkaComponent(stack, 0).find("publishing"), std::string::npos)
      << KafkaComponent(stack, 0);
  stack.StartServer({.env = env});
  stack.StartWorker({.id = "w1", .server = 1});

  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(stack.Submit({"true"}, "default"));
  stack.server(0).Kill();  // kill -9 the publisher mid-stream
  for (int i = 0; i < 20; ++i) {
    jq::SubmitJobRequest req;
    req.set_queue_name("default");
    req.set_payload(R"({"command":["true"]})");
    jq::SubmitJobResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stack.Jobs(1)->SubmitJob(&ctx, req, &resp).ok());
    ids.push_back(resp.job_id());
  }
  for (const auto& id : ids) {
    jq::GetJobStatusRequest req;
    req.set_job_id(id);
    const auto until = std::chrono::steady_clock::now() + seconds(30);
    for (;;) {
      jq::GetJobStatusResponse resp;
      grpc::ClientContext ctx;
      ASSERT_TRUE(stack.Jobs(1)->GetJobStatus(&ctx, req, &resp).ok());
      if (resp.job().status() == jq::DONE) break;
      ASSERT_LT(std::chrono::steady_clock::now(), until) << id;
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  std::set<std::int64_t> want;
  {
    pqxx::connection c(stack.conninfo());
    pqxx::work tx(c);
    for (const auto& row : tx.exec("SELECT id FROM job_events")) want.insert(row[0].as<long>());
  }
  EXPECT_EQ(want.size(), ids.size() * 4);  // SUBMITTED, ASSIGNED, STARTED, SUCCESS
  Consumer consumer(brokers);
  auto seen = consumer.CollectUntil(want, seconds(30), "w1");
  std::vector<std::int64_t> missing;
  for (auto id : want) {
    if (!seen.contains(id)) missing.push_back(id);
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " events never reached Kafka";
  EXPECT_TRUE(consumer.heartbeat_workers().contains("w1")) << "no worker.heartbeat from w1";
  EXPECT_NE(KafkaComponent(stack, 1).find("publishing"), std::string::npos)
      << "server 1 did not take over: " << KafkaComponent(stack, 1);
  // Where the seed's consumers look for them: submissions and assignments on job.submitted,
  // successes on job.completed.
  auto on = [&](const std::string& topic, const std::string& id, const std::string& reason) {
    auto it = consumer.by_topic().find(topic);
    return it != consumer.by_topic().end() && it->second.contains({id, reason});
  };
  auto seed_view_complete = [&] {
    for (const auto& id : ids) {
      if (!on("job.submitted", id, "SUBMITTED") || !on("job.submitted", id, "ASSIGNED") ||
          !on("job.completed", id, "SUCCESS")) {
        return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(consumer.PollUntil(seed_view_complete, seconds(30)));
  for (const auto& id : ids) {
    EXPECT_TRUE(on("job.submitted", id, "SUBMITTED")) << id;
    EXPECT_TRUE(on("job.submitted", id, "ASSIGNED")) << id;
    EXPECT_TRUE(on("job.completed", id, "SUCCESS")) << id;
  }
}

// The issue's stall, as an operator meets it: a session sits idle in a transaction that took an
// event id, and nothing more reaches Kafka. `jq-ctl status` says the kafka component has stalled
// and names the transaction, /metrics shows it, while the system stays healthy and the replica
// ready (the stall is the database's; restarting the replica would not help). When the
// transaction ends, every event goes out and all of it clears.
TEST(KafkaE2E, StalledOutboxShowsInStatusAndMetricsButNotInReadiness) {
  Stack stack;
  std::unique_ptr<Process> mock;
  const std::string brokers = StartKafkaMock(stack, mock);
  ASSERT_FALSE(brokers.empty()) << mock->Log();
  const std::string metrics_addr = "127.0.0.1:" + std::to_string(FreePort());
  stack.StartServer({.env = {{"JQ_KAFKA_BROKERS", brokers},
                             {"JQ_KAFKA_OUTBOX_STALL_SECONDS", "2"},
                             {"JQ_METRICS_ADDR", metrics_addr}}});
  const std::string base = "http://" + metrics_addr;
  stack.Submit({"true"});  // no worker: one SUBMITTED event
  ASSERT_TRUE(
      WaitUntil([&] { return KafkaComponent(stack, 0) == "publishing, lag 0"; }, seconds(30)))
      << KafkaComponent(stack, 0);

  pqxx::connection holder(stack.conninfo());
  pqxx::work held(holder);
  const std::string xid = held.exec1("SELECT pg_current_xact_id()::text")[0].as<std::string>();
  held.exec(
      "INSERT INTO job_events (job_id, tenant, queue, to_status, reason) "
      "VALUES (gen_random_uuid(), 'default', 'default', 1, 'SUBMITTED')");
  for (int i = 0; i < 3; ++i) stack.Submit({"true"});

  ASSERT_TRUE(
      WaitUntil([&] { return KafkaComponent(stack, 0).starts_with("stalled: "); }, seconds(30)))
      << KafkaComponent(stack, 0);
  const CtlResult status = stack.Ctl({"status"});
  EXPECT_EQ(status.exit_code, 0) << "the system is healthy: no job is at risk\n" << status.out;
  EXPECT_NE(status.out.find("stalled: 4 events waiting for "), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("behind transaction " + xid + " (pid " +
                            std::to_string(holder.backendpid()) + ", user postgres"),
            std::string::npos)
      << status.out;
  EXPECT_EQ(HttpGet(base + "/readyz"), "ok\n");
  std::string page;
  ASSERT_TRUE(WaitUntil(  // the stats poller copies the relay's figures every 5 s
      [&] { return Metric(page = HttpGet(base + "/metrics"), "jq_outbox_stalled") == 1; },
      seconds(15)))
      << page;
  EXPECT_EQ(Metric(page, "jq_outbox_waiting_for_transaction"), 1);
  EXPECT_GE(Metric(page, "jq_outbox_oldest_unpublished_age_seconds"), 2);
  EXPECT_GE(Metric(page, "jq_outbox_blocking_transaction_age_seconds"), 2);
  EXPECT_EQ(Metric(page, "jq_outbox_lag_events"), 4);
  EXPECT_NE(page.find("jq_component_up{component=\"kafka\"} 0"), std::string::npos) << page;

  held.commit();
  ASSERT_TRUE(
      WaitUntil([&] { return KafkaComponent(stack, 0) == "publishing, lag 0"; }, seconds(30)))
      << KafkaComponent(stack, 0);
  ASSERT_TRUE(WaitUntil(
      [&] {
        page = HttpGet(base + "/metrics");
        return Metric(page, "jq_outbox_stalled") == 0 &&
               Metric(page, "jq_outbox_oldest_unpublished_age_seconds") == 0;
      },
      seconds(15)))
      << page;
  EXPECT_EQ(Metric(page, "jq_outbox_waiting_for_transaction"), 0);
  EXPECT_EQ(Metric(page, "jq_outbox_blocking_transaction_age_seconds"), 0);
  std::set<std::int64_t> want;
  {
    pqxx::connection c(stack.conninfo());
    pqxx::work tx(c);
    for (const auto& row : tx.exec("SELECT id FROM job_events")) want.insert(row[0].as<long>());
  }
  EXPECT_EQ(want.size(), 5u);
  Consumer consumer(brokers);
  const auto seen = consumer.CollectUntil(want, seconds(30));
  for (auto id : want) EXPECT_TRUE(seen.contains(id)) << id;
}

// Every line jq-server prints is JSON (SPEC §11), also while Kafka is unreachable: librdkafka's
// reports from the outbox relay and the heartbeat publisher go through jq's logger.
TEST(KafkaE2E, ServerPrintsOnlyJsonLinesWhileKafkaIsUnreachable) {
  Stack stack;
  const std::string brokers = "127.0.0.1:" + std::to_string(FreePort());  // nothing listens
  stack.StartServer({.env = {{"JQ_KAFKA_BROKERS", brokers}}});
  stack.StartWorker({.id = "w1"});
  const std::string id = stack.Submit({"true"});
  stack.WaitFor(id, jq::DONE);
  // Until both producers have reported the refused connection (the heartbeat publisher's
  // client id names it), or 20 s.
  const auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string log = stack.server(0).Log();
    if (log.find("jq-heartbeats") != std::string::npos && log.find(brokers) != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  const std::string log = stack.server(0).Log();
  int kafka_lines = 0;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << "not a JSON line: " << line;
    const std::string message = j.value("message", "");
    if (message.starts_with("kafka: ") && message.find(brokers) != std::string::npos) {
      ++kafka_lines;
    }
  }
  EXPECT_GT(kafka_lines, 0) << "no kafka report of the refused connection:\n" << log;
  EXPECT_NE(log.find("jq-heartbeats"), std::string::npos) << log;
}

}  // namespace
}  // namespace jq::testing
