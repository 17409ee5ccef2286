// jq-ctl against a real jq-server and jq-worker: the operator's view (SPEC §10).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "e2e/e2e_support.h"

namespace jq::testing {
namespace {

using std::chrono::seconds;

const std::regex kUuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

class CtlE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_.StartServer();
    stack_.StartWorker({.id = "w1"});
  }
  std::string FirstUuid(const std::string& text) {
    std::smatch m;
    EXPECT_TRUE(std::regex_search(text, m, kUuid)) << text;
    return m.empty() ? "" : m.str();
  }
  Stack stack_;
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

}  // namespace
}  // namespace jq::testing
