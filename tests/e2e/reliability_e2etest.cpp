// SPEC §15 reliability: a PostgreSQL restart and a worker cut off (frozen) mid-job. In each,
// every job ends DONE exactly once and nothing is lost. Own binary: it restarts the shared
// test PostgreSQL.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <thread>

#include "e2e/e2e_support.h"
#include "support/test_servers.h"

namespace jq::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int Successes(const std::string& conninfo, const std::string& job_id) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  return tx
      .exec_params1(
          "SELECT count(*) FROM job_events WHERE job_id = $1::uuid AND reason = "
          "'SUCCESS'",
          job_id)[0]
      .as<int>();
}

TEST(ReliabilityE2E, PostgresRestartLosesNothing) {
  Stack stack;
  stack.StartServer();
  stack.StartWorker({.id = "w1", .concurrency = 4});
  const std::string runs = stack.dir() + "/runs";
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(stack.Submit({"sh", "-c", "echo $JQ_JOB_ID >> " + runs + "; sleep 0.3"}));
  }
  std::this_thread::sleep_for(milliseconds(300));  // some running, some pending
  auto& servers = TestServers::Get();
  const std::string cmd = SourcePath("scripts/test-servers.sh") + " restart-pg " + servers.dir() +
                          " " + std::to_string(servers.pg_port()) + " 2";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  // Submits work again once it is back (the pool replaces its dead connections).
  for (int i = 0; i < 5; ++i) {
    ids.push_back(stack.Submit({"sh", "-c", "echo $JQ_JOB_ID >> " + runs}));
  }
  for (const auto& id : ids) stack.WaitFor(id, jq::DONE, seconds(40));
  std::map<std::string, int> executions;
  std::ifstream in(runs);
  for (std::string line; std::getline(in, line);) ++executions[line];
  for (const auto& id : ids) {
    EXPECT_GE(executions[id], 1) << id;
    EXPECT_EQ(Successes(stack.conninfo(), id), 1) << id << " completed more than once";
  }
  EXPECT_TRUE(stack.server(0).running());
}

// Longer than the lease (4 s) and the worker timeout (4 s): a managed database's failover.
TEST(ReliabilityE2E, ADatabaseOutageLongerThanTheLeaseRerunsNoJobOfAHealthyWorker) {
  Stack stack;
  stack.StartServer();
  stack.StartWorker({.id = "w1", .concurrency = 4});
  const std::string runs = stack.dir() + "/runs";
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(stack.Submit({"sh", "-c", "echo $JQ_JOB_ID >> " + runs + "; sleep 12"}, "default",
                               [](jq::SubmitJobRequest& r) {
                                 r.set_max_retries(0);  // a re-run would dead-letter it
                                 r.set_max_retries_set(true);
                               }));
  }
  for (const auto& id : ids) stack.WaitFor(id, jq::RUNNING);
  auto& servers = TestServers::Get();
  const std::string cmd = SourcePath("scripts/test-servers.sh") + " restart-pg " + servers.dir() +
                          " " + std::to_string(servers.pg_port()) + " 8";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  for (const auto& id : ids) {
    auto job = stack.WaitFor(id, jq::DONE, seconds(40));
    EXPECT_EQ(job.attempt(), 1) << id;
    const auto reasons = stack.Reasons(id);
    EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "STARTED"), 1) << id;
  }
  std::map<std::string, int> executions;
  std::ifstream in(runs);
  for (std::string line; std::getline(in, line);) ++executions[line];
  for (const auto& id : ids) EXPECT_EQ(executions[id], 1) << id << " ran more than once";
  EXPECT_NE(stack.server(0).Log().find("the store is reachable again"), std::string::npos);
}

TEST(ReliabilityE2E, FrozenWorkersJobIsTakenOverAndItsLateReportRefused) {
  Stack stack;
  stack.StartServer();
  auto& frozen = stack.StartWorker({.id = "frozen", .concurrency = 1});
  const std::string id = stack.Submit({"sleep", "1"});
  stack.WaitFor(id, jq::RUNNING);
  // Cut off: no heartbeats, no reports. (Its job runs on, in its own process group.)
  ::kill(frozen.pid(), SIGSTOP);
  stack.StartWorker({.id = "healthy", .concurrency = 1});
  auto job = stack.WaitFor(id, jq::DONE, seconds(20));
  EXPECT_EQ(job.worker_id(), "healthy");
  EXPECT_EQ(job.attempt(), 2);
  ::kill(frozen.pid(), SIGCONT);  // back: its report for attempt 1 is stale
  std::this_thread::sleep_for(seconds(3));
  job = stack.Get(id);
  EXPECT_EQ(job.status(), jq::DONE);
  EXPECT_EQ(job.worker_id(), "healthy");
  EXPECT_EQ(Successes(stack.conninfo(), id), 1);
  EXPECT_NE(stack.server(0).Log().find("stale lease for job " + id), std::string::npos)
      << "the frozen worker's late report was not seen and refused";
}

}  // namespace
}  // namespace jq::testing
