// jq-ctl against a real jq-server and jq-worker: the operator's view (SPEC §10).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "e2e/e2e_support.h"
#include "support/test_servers.h"

namespace jq::testing {
namespace {

using std::chrono::seconds;

const std::regex kUuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

std::string FirstUuid(const std::string& text) {
  std::smatch m;
  EXPECT_TRUE(std::regex_search(text, m, kUuid)) << text;
  return m.empty() ? "" : m.str();
}

class CtlE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_.StartServer();
    worker_ = &stack_.StartWorker({.id = "w1"});
  }
  // The STATUS column of w1's row in `jq-ctl worker list`.
  std::string WorkerStatus() {
    auto list = stack_.Ctl({"--output", "json", "worker", "list"});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    const auto doc = nlohmann::json::parse(list.out);
    for (const auto& w : doc["workers"]) {
      if (w["worker_id"] == "w1") return w["status"];
    }
    ADD_FAILURE() << list.out;
    return "";
  }
  Stack stack_;
  Process* worker_ = nullptr;
};

TEST_F(CtlE2E, SubmitWaitThenInspectTheJob) {
  auto sub = stack_.Ctl({"job", "submit", "--queue", "default", "--payload",
                         R"({"command":["echo","hello"]})", "--wait"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  const std::string id = FirstUuid(sub.out);
  EXPECT_EQ(stack_.Get(id).status(), jq::DONE);

  // jq-ctl starts a trace per invocation (or continues TRACEPARENT): the job saw one.
  auto traced = stack_.Ctl({"job", "submit", "--queue", "default", "--payload",
                            R"({"command":["sh","-c","echo $TRACEPARENT"]})", "--wait"});
  ASSERT_EQ(traced.exit_code, 0) << traced.err;
  EXPECT_EQ(stack_.Get(FirstUuid(traced.out)).result().rfind("00-", 0), 0u);

  auto status = stack_.Ctl({"--output", "json", "job", "status", id});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto doc = nlohmann::json::parse(status.out);
  EXPECT_NE(status.out.find("DONE"), std::string::npos) << status.out;
  EXPECT_NE(doc.dump().find(id), std::string::npos);

  auto list = stack_.Ctl({"job", "list", "--status", "DONE"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;

  auto logs = stack_.Ctl({"job", "logs", id});
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("SUCCESS"), std::string::npos) << logs.out;

  auto output = stack_.Ctl({"job", "output", id});
  ASSERT_EQ(output.exit_code, 0) << output.err;
  EXPECT_NE(output.out.find("hello"), std::string::npos) << output.out;

  auto yaml = stack_.Ctl({"--output", "yaml", "job", "status", id});
  ASSERT_EQ(yaml.exit_code, 0) << yaml.err;
  EXPECT_NE(yaml.out.find(id), std::string::npos);
}

TEST_F(CtlE2E, FailingJobWithWaitExitsOneAndIsListedAsDeadLettered) {
  auto sub = stack_.Ctl({"job", "submit", "--queue", "default", "--payload",
                         R"({"command":["false"]})", "--max-retries", "0", "--wait"});
  EXPECT_EQ(sub.exit_code, 1) << sub.out << sub.err;
  const std::string id = FirstUuid(sub.out);
  auto list = stack_.Ctl({"job", "list", "--status", "DEAD_LETTERED"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
  auto retry = stack_.Ctl({"job", "retry", id});
  EXPECT_EQ(retry.exit_code, 0) << retry.err;
}

TEST_F(CtlE2E, ErrorsExitCodesAndMessages) {
  auto bad_id = stack_.Ctl({"job", "status", "not-a-uuid"});
  EXPECT_EQ(bad_id.exit_code, 1);
  EXPECT_NE(bad_id.err.find("not a valid UUID"), std::string::npos) << bad_id.err;
  EXPECT_TRUE(bad_id.out.empty());

  auto usage = stack_.Ctl({"job", "frobnicate"});
  EXPECT_EQ(usage.exit_code, 2) << usage.err;

  auto bad_json = stack_.Ctl({"job", "submit", "--queue", "default", "--payload", "{nope"});
  EXPECT_EQ(bad_json.exit_code, 2) << bad_json.err;
  EXPECT_NE(bad_json.err.find("payload"), std::string::npos) << bad_json.err;

  auto missing_queue =
      stack_.Ctl({"job", "submit", "--queue", "nope", "--payload", R"({"command":["true"]})"});
  EXPECT_EQ(missing_queue.exit_code, 1);
  EXPECT_NE(missing_queue.err.find("not found"), std::string::npos) << missing_queue.err;

  const int closed = FreePort();
  auto unreachable = stack_.Ctl(
      {"--server-addr", "127.0.0.1:" + std::to_string(closed), "--timeout", "2", "status"},
      /*server=*/-1);
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.err;
}

TEST_F(CtlE2E, QueuesAndWorkers) {
  auto create = stack_.Ctl({"queue", "create", "emails", "--max-retries", "2", "--ttl", "60"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  auto again = stack_.Ctl({"queue", "create", "emails"});
  EXPECT_EQ(again.exit_code, 1);
  auto list = stack_.Ctl({"queue", "list"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("emails"), std::string::npos);
  EXPECT_NE(list.out.find("default"), std::string::npos);

  ASSERT_EQ(stack_.Ctl({"queue", "pause", "emails"}).exit_code, 0);
  auto sub =
      stack_.Ctl({"job", "submit", "--queue", "emails", "--payload", R"({"command":["true"]})"});
  ASSERT_EQ(sub.exit_code, 0) << sub.err;
  auto refused = stack_.Ctl({"queue", "delete", "emails"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("unfinished"), std::string::npos) << refused.err;
  auto stats = stack_.Ctl({"--output", "json", "queue", "stats", "emails"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_NE(stats.out.find("pending"), std::string::npos) << stats.out;
  EXPECT_EQ(stack_.Ctl({"queue", "delete", "emails", "--force"}).exit_code, 0);

  auto workers = stack_.Ctl({"worker", "list"});
  ASSERT_EQ(workers.exit_code, 0);
  EXPECT_NE(workers.out.find("w1"), std::string::npos) << workers.out;
  auto status = stack_.Ctl({"status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("database"), std::string::npos) << status.out;
  auto version = stack_.Ctl({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("jq version ", 0), 0u) << version.out;
}

TEST_F(CtlE2E, WorkerDrainResumeAndShutdownNow) {
  stack_.WaitFor(stack_.Submit({"true"}), jq::DONE);  // w1 is registered
  auto drain = stack_.Ctl({"worker", "drain", "w1"});
  ASSERT_EQ(drain.exit_code, 0) << drain.err;
  EXPECT_EQ(drain.out, "w1: draining\n");
  EXPECT_EQ(WorkerStatus(), "DRAINING");
  auto sub = stack_.Ctl({"job", "submit", "--queue", "default", "--payload",
                         R"({"command":["sh","-c","sleep 300"]})"});
  ASSERT_EQ(sub.exit_code, 0) << sub.err;
  const std::string id = FirstUuid(sub.out);
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(stack_.Get(id).status(), jq::PENDING);
  EXPECT_EQ(WorkerStatus(), "DRAINING");
  EXPECT_TRUE(worker_->running());

  auto resume = stack_.Ctl({"worker", "resume", "w1"});
  ASSERT_EQ(resume.exit_code, 0) << resume.err;
  EXPECT_EQ(resume.out, "w1: resumed\n");
  stack_.WaitFor(id, jq::RUNNING, seconds(5));
  EXPECT_EQ(WorkerStatus(), "ONLINE");

  auto now = stack_.Ctl({"--output", "json", "worker", "shutdown", "w1", "--now"});
  ASSERT_EQ(now.exit_code, 0) << now.err;
  EXPECT_EQ(nlohmann::json::parse(now.out)["worker_id"], "w1");
  auto exit = worker_->Wait(seconds(10));
  ASSERT_TRUE(exit.has_value()) << worker_->Log();
  EXPECT_EQ(*exit, 0);
  auto job = stack_.WaitFor(id, jq::PENDING, seconds(5));
  EXPECT_EQ(job.retry_count(), 0);
  auto logs = stack_.Ctl({"job", "logs", id});
  EXPECT_NE(logs.out.find("WORKER_SHUTDOWN"), std::string::npos) << logs.out;
  EXPECT_EQ(WorkerStatus(), "OFFLINE");

  auto again = stack_.Ctl({"worker", "shutdown", "w1"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "jq-ctl: worker shutdown w1: FAILED_PRECONDITION: worker w1 is OFFLINE\n");
  auto nobody = stack_.Ctl({"worker", "resume", "nobody"});
  EXPECT_EQ(nobody.exit_code, 1);
  EXPECT_NE(nobody.err.find("NOT_FOUND"), std::string::npos) << nobody.err;
  auto help = stack_.Ctl({"worker", "shutdown", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--now"), std::string::npos) << help.out;
}

TEST_F(CtlE2E, AWorkerShuttingDownCannotBeResumed) {
  const std::string id = stack_.Submit({"sleep", "300"});
  stack_.WaitFor(id, jq::RUNNING);
  // Graceful: w1 waits for its job (worker.shutdown_grace_seconds), so it is still there.
  auto down = stack_.Ctl({"worker", "shutdown", "w1"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  auto resume = stack_.Ctl({"worker", "resume", "w1"});
  EXPECT_EQ(resume.exit_code, 1);
  EXPECT_EQ(resume.err,
            "jq-ctl: worker resume w1: FAILED_PRECONDITION: worker w1 is shutting down; it "
            "cannot be resumed\n");
  EXPECT_EQ(WorkerStatus(), "DRAINING");
  EXPECT_TRUE(worker_->running());
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

// `key` of a libpq "key=value ..." string.
std::string ConnField(const std::string& conninfo, const std::string& key) {
  std::istringstream in(conninfo);
  for (std::string kv; in >> kv;) {
    if (kv.rfind(key + "=", 0) == 0) return kv.substr(key.size() + 1);
  }
  return "";
}

// The seed's quick start (its README, steps 5-9) unchanged: one config file in the seed's
// layout, for jq-server and for jq-worker on the same host, then jq-ctl in the seed's
// spellings. The file is the seed's config.example.yaml with the test's ports and database.
class SeedQuickStart : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string& db = stack_.conninfo();
    kafka_ = {FreePort(), FreePort()};  // nothing listens there: the relay just waits
    std::ofstream(config_) << "grpc:\n  port: " << grpc_ << "\n  tls:\n    enabled: false\n"
                           << "db:\n  host: " << ConnField(db, "host")
                           << "\n  port: " << ConnField(db, "port")
                           << "\n  name: " << ConnField(db, "dbname")
                           << "\n  user: " << ConnField(db, "user")
                           << "\n  password: \"\"\n  pool_size: 5\n  connect_timeout_ms: 3000\n"
                           << "redis:\n  addr: " << TestServers::Get().redis_addr()
                           << "\n  password: \"\"\n  db: 0\n  connect_timeout_ms: 1000\n"
                           << "kafka:\n  brokers:\n    - 127.0.0.1:" << kafka_[0]
                           << "\n    - 127.0.0.1:" << kafka_[1]
                           << "\n  producer:\n    acks: all\n    compression: snappy\n"
                           << "  consumer:\n    group_id: jq-server\n"
                           << "    auto_offset_reset: earliest\n"
                           << "scheduler:\n  interval_ms: 500\n  batch_size: 100\n"
                           << "  assignment_timeout_s: 60\n  worker_heartbeat_timeout_s: 30\n"
                           << "metrics:\n  port: " << metrics_ << "\nhealth:\n  port: " << health_
                           << "\nlogging:\n  level: debug\n  format: json\n";
  }

  std::unique_ptr<Process> Run(std::vector<std::string> argv, const std::string& log,
                               std::map<std::string, std::string> env = {}) {
    // Auth is on as everywhere: the server takes the harness's admin key, workers send it.
    env.emplace("JQ_AUTH_BOOTSTRAP_KEY", kTestAdminKey);
    env.emplace("JQ_API_KEY", kTestAdminKey);
    return std::make_unique<Process>(std::move(argv), std::move(env), stack_.dir() + "/" + log);
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(grpc_); }
  CtlResult Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--server-addr", addr()});
    return stack_.Ctl(args, /*server=*/-1);
  }

  Stack stack_;  // the database; its servers are not used
  const std::string config_ = stack_.dir() + "/config.local.yaml";
  const int grpc_ = FreePort(), metrics_ = FreePort(), health_ = FreePort();
  std::vector<int> kafka_;
};

TEST_F(SeedQuickStart, DryRunShowsTheSeedsValuesLanded) {
  auto dry = Run({BinaryPath("jq-server"), "--config", config_, "--dry-run"}, "dry-run.log");
  ASSERT_EQ(dry->Wait(std::chrono::seconds(60)), 1) << dry->Log();  // Kafka is not there
  const std::string log = dry->Log();
  EXPECT_NE(log.find("grpc: would listen on 0.0.0.0:" + std::to_string(grpc_)), std::string::npos)
      << log;
  EXPECT_NE(log.find("redis: ok"), std::string::npos) << log;
  for (int port : kafka_) {  // kafka.brokers, a YAML list
    EXPECT_NE(log.find("kafka: 127.0.0.1:" + std::to_string(port) + " UNREACHABLE"),
              std::string::npos)
        << log;
  }
  // Each seed key: one JSON warning line naming the jq key.
  int warnings = 0;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("the seed's name, deprecated") == std::string::npos &&
        line.find("(a seed setting) has no effect") == std::string::npos) {
      continue;
    }
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["level"], "warning") << line;
    ++warnings;
    if (line.find("grpc.port") != std::string::npos) {
      EXPECT_NE(j["message"].get<std::string>().find("use server.addr"), std::string::npos);
    }
  }
  EXPECT_EQ(warnings, 17) << log;
}

// The seed's jq-server flags beat the file (as its Kubernetes manifests use them).
TEST_F(SeedQuickStart, ServerFlagsOverrideTheFile) {
  const int grpc = FreePort(), metrics = FreePort(), health = FreePort();
  auto server = Run({BinaryPath("jq-server"), "--config", config_, "--grpc-port",
                     std::to_string(grpc), "--metrics-port", std::to_string(metrics),
                     "--health-port", std::to_string(health), "--log-level", "info"},
                    "server-flags.log");
  ASSERT_TRUE(WaitForPort(grpc, std::chrono::seconds(30))) << server->Log();
  ASSERT_TRUE(WaitForPort(health, std::chrono::seconds(10))) << server->Log();
  EXPECT_NE(HttpGet("http://127.0.0.1:" + std::to_string(metrics) + "/metrics").find("jq_"),
            std::string::npos);
  EXPECT_EQ(HttpGet("http://127.0.0.1:" + std::to_string(health) + "/healthz"), "ok\n");
  EXPECT_FALSE(WaitForPort(grpc_, std::chrono::milliseconds(200)));  // the file's ports are free
  EXPECT_FALSE(WaitForPort(metrics_, std::chrono::milliseconds(200)));
  EXPECT_TRUE(server->running()) << server->Log();

  // --log-level beats the file's logging.level (debug): at error, the warnings go unlogged.
  auto quiet = Run({BinaryPath("jq-server"), "--config", config_, "--dry-run", "--log-level",
                    "error", "--grpc-port", std::to_string(grpc)},
                   "dry-run-quiet.log");
  ASSERT_EQ(quiet->Wait(std::chrono::seconds(60)), 1) << quiet->Log();
  EXPECT_NE(quiet->Log().find("grpc: would listen on 0.0.0.0:" + std::to_string(grpc)),
            std::string::npos)
      << quiet->Log();
  EXPECT_EQ(quiet->Log().find("\"level\":\"warning\""), std::string::npos) << quiet->Log();
}

TEST_F(SeedQuickStart, ServerAndWorkersOnOneHostWithOneConfigFile) {
  auto server = Run({BinaryPath("jq-server"), "--config", config_}, "server.log");
  ASSERT_TRUE(WaitForPort(grpc_, std::chrono::seconds(30))) << server->Log();
  const std::string server_http = "http://127.0.0.1:" + std::to_string(metrics_);
  const std::string server_health = "http://127.0.0.1:" + std::to_string(health_);
  const auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (HttpGet(server_health + "/readyz") != "ok\n" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(HttpGet(server_health + "/readyz"), "ok\n") << server->Log();  // health.port
  EXPECT_EQ(HttpGet(server_health + "/healthz"), "ok\n");
  EXPECT_NE(HttpGet(server_http + "/metrics").find("jq_"), std::string::npos);  // metrics.port

  // Step 7 as the seed's README has it. Its own environment moves its port off the default
  // only so that the test binds no fixed port; what matters is that the file's metrics.port
  // (the server's, in use) is not the worker's.
  const int worker_port = FreePort();
  auto worker =
      Run({BinaryPath("jq-worker"), "--config", config_, "--server-addr", addr(), "--queues",
           "default"},
          "worker-a.log", {{"JQ_WORKER_METRICS_ADDR", "127.0.0.1:" + std::to_string(worker_port)}});
  // The seed's Kubernetes worker: its own ports by flag.
  const int b_metrics = FreePort(), b_health = FreePort();
  auto worker_b =
      Run({BinaryPath("jq-worker"), "--config", config_, "--server-addr", addr(), "--worker-id",
           "seed-worker-b", "--concurrency", "2", "--metrics-port", std::to_string(b_metrics),
           "--health-port", std::to_string(b_health), "--log-level", "info"},
          "worker-b.log");
  ASSERT_TRUE(WaitForPort(worker_port, seconds(20))) << worker->Log();
  ASSERT_TRUE(WaitForPort(b_health, seconds(20))) << worker_b->Log();
  EXPECT_NE(HttpGet("http://127.0.0.1:" + std::to_string(worker_port) + "/metrics")
                .find("jq_worker_job_concurrency"),
            std::string::npos);
  EXPECT_NE(HttpGet("http://127.0.0.1:" + std::to_string(b_metrics) + "/metrics")
                .find("jq_worker_job_concurrency"),
            std::string::npos);
  EXPECT_EQ(HttpGet("http://127.0.0.1:" + std::to_string(b_health) + "/healthz"), "ok\n");

  // Step 8, with the payload in a file, and the seed's other spellings.
  const std::string payload = stack_.dir() + "/payload.json";
  std::ofstream(payload) << R"({"command":["echo","hello from a file"]})";
  auto sub = Ctl({"job", "submit", "--queue", "default", "--payload", "@" + payload, "--wait"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err << worker->Log();
  auto output = Ctl({"job", "output", FirstUuid(sub.out)});
  EXPECT_NE(output.out.find("hello from a file"), std::string::npos) << output.out;
  auto workers = Ctl({"-o", "json", "worker", "list"});
  ASSERT_EQ(workers.exit_code, 0) << workers.err;
  EXPECT_EQ(nlohmann::json::parse(workers.out)["workers"].size(), 2u) << workers.out;
  EXPECT_NE(workers.out.find("seed-worker-b"), std::string::npos);
  auto status = Ctl({"system", "status"});  // step 9, and the seed's `system status`
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(Ctl({"status"}).exit_code, 0);
  auto version = Ctl({"version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("jq version ", 0), 0u) << version.out;
  auto queue = Ctl({"queue", "create", "--name", "emails", "--max-retries", "1"});
  EXPECT_EQ(queue.exit_code, 0) << queue.err;

  // Nobody exited for a port taken by another.
  EXPECT_TRUE(server->running()) << server->Log();
  EXPECT_TRUE(worker->running()) << worker->Log();
  EXPECT_TRUE(worker_b->running()) << worker_b->Log();
}

}  // namespace
}  // namespace jq::testing
