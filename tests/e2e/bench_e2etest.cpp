// jq-bench against a real jq-server: its reports agree with what the server recorded (SPEC §14).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e/e2e_support.h"
#include "support/test_servers.h"

namespace jq::testing {
namespace {

struct BenchRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class BenchE2E : public ::testing::Test {
 protected:
  void SetUp() override { stack_.StartServer(); }

  // Runs jq-bench args... against the stack's server (or `server` when given).
  BenchRun Bench(const std::vector<std::string>& args, const std::string& server = "") {
    static int n = 0;
    const std::string out = stack_.dir() + "/bench-" + std::to_string(++n) + ".out";
    const std::string err = stack_.dir() + "/bench-" + std::to_string(n) + ".err";
    std::string cmd = "env -u JQ_SERVER_ADDR JQ_API_KEY=" + std::string(kTestAdminKey) + " " +
                      BinaryPath("jq-bench");
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " --server " + (server.empty() ? stack_.server_addr(0) : server);
    cmd += " >" + out + " 2>" + err;
    const int st = std::system(cmd.c_str());
    BenchRun r{WIFEXITED(st) ? WEXITSTATUS(st) : -1, ReadAll(out), ReadAll(err)};
    std::filesystem::remove(out);
    std::filesystem::remove(err);
    return r;
  }

  jq::QueueStats Stats(const std::string& queue) {
    jq::GetQueueStatsRequest req;
    req.set_name(queue);
    jq::GetQueueStatsResponse resp;
    grpc::ClientContext ctx;
    const grpc::Status s = stack_.Admin()->GetQueueStats(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.stats();
  }

  Stack stack_;
};

TEST_F(BenchE2E, BurnDownWithUnaryReportsRunsEveryJobOnce) {
  auto run = Bench({"e2e", "--jobs", "300", "--workers", "3", "--slots", "10", "--report-mode",
                    "unary", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto report = nlohmann::json::parse(run.out);  // exactly one JSON object
  EXPECT_EQ(report["mode"], "e2e");
  EXPECT_EQ(report["jobs"], 300);
  EXPECT_EQ(report["errors"], 0) << report.dump();
  EXPECT_TRUE(report["errors_by_code"].empty());
  EXPECT_EQ(report["workers"], 3);
  EXPECT_EQ(report["slots"], 10);
  EXPECT_EQ(report["report_mode"], "unary");
  EXPECT_GT(report["jobs_per_second"].get<double>(), 0);

  const auto stats = Stats(report["queue"].get<std::string>());
  EXPECT_EQ(stats.done_count(), 300);
  EXPECT_EQ(stats.pending_count() + stats.assigned_count() + stats.running_count(), 0);
  EXPECT_EQ(stats.failed_count() + stats.dead_letter_count(), 0);

  // The bench workers said goodbye: none is left connected.
  jq::ListWorkersRequest lreq;
  jq::ListWorkersResponse workers;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stack_.Admin()->ListWorkers(&ctx, lreq, &workers).ok());
  for (const auto& w : workers.workers()) {
    EXPECT_NE(w.status(), jq::ONLINE) << w.worker_id();
  }
}

TEST_F(BenchE2E, SubmitTotalIsAcceptedExactly) {
  auto run = Bench(
      {"submit", "--total", "500", "--queue", "bench-submit", "--json", "--label", "e2e test"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto report = nlohmann::json::parse(run.out);
  EXPECT_EQ(report["mode"], "submit");
  EXPECT_EQ(report["label"], "e2e test");
  EXPECT_EQ(report["jobs"], 500);
  EXPECT_EQ(report["calls"], 500);
  EXPECT_EQ(report["errors"], 0) << report.dump();
  EXPECT_EQ(report["concurrency"], 200);
  for (const char* q : {"p50", "p90", "p99", "max"}) {
    EXPECT_GT(report["latency_ms"][q].get<double>(), 0) << q;
  }
  EXPECT_LE(report["latency_ms"]["p50"].get<double>(), report["latency_ms"]["max"].get<double>());
  // No worker runs: every job waits, durably stored.
  EXPECT_EQ(Stats("bench-submit").pending_count(), 500);
}

TEST_F(BenchE2E, BadFlagsAndAnAbsentServerHaveTheirExitCodes) {
  auto bad = Bench({"submit", "--concurrency", "0"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--concurrency"), std::string::npos) << bad.err;
  EXPECT_EQ(Bench({"launch"}).exit_code, 2);

  auto absent = Bench({"submit", "--total", "1"}, "127.0.0.1:" + std::to_string(FreePort()));
  EXPECT_EQ(absent.exit_code, 3);
  EXPECT_NE(absent.err.find("cannot reach jq-server"), std::string::npos) << absent.err;
  EXPECT_TRUE(absent.out.empty()) << absent.out;
}

}  // namespace
}  // namespace jq::testing
