// SPEC §15 reliability: a PostgreSQL restart and a worker cut off (frozen) mid-job. In each,
// every job ends DONE exactly once and nothing is lost. Own binary: it restarts the shared
// test PostgreSQL.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

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

// A network namespace joined to this host by a veth pair. Cut() takes the host's end down:
// packets are dropped, nothing is reset, so every TCP connection across it is half-open.
class CutNetwork {
 public:
  CutNetwork() : ns_("jqcut" + std::to_string(::getpid())), host_if_(ns_ + "h") {
    for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"}) {
      if (::access(p, X_OK) == 0) ip_ = p;
    }
    const int net = 10 + ::getpid() % 200;
    host_ip_ = "10.213." + std::to_string(net) + ".1";
    const std::string ns_ip = "10.213." + std::to_string(net) + ".2";
    ok_ = !ip_.empty() && Run("netns add " + ns_) &&
          Run("link add " + host_if_ + " type veth peer name " + ns_ + "w") &&
          Run("link set " + ns_ + "w netns " + ns_) &&
          Run("addr add " + host_ip_ + "/24 dev " + host_if_) &&
          Run("link set " + host_if_ + " up") &&
          Run("netns exec " + ns_ + " " + ip_ + " addr add " + ns_ip + "/24 dev " + ns_ + "w") &&
          Run("netns exec " + ns_ + " " + ip_ + " link set " + ns_ + "w up") &&
          Run("netns exec " + ns_ + " " + ip_ + " link set lo up");
  }
  ~CutNetwork() {
    Run("link del " + host_if_);
    Run("netns del " + ns_);
  }
  bool ok() const { return ok_; }
  const std::string& host_ip() const { return host_ip_; }
  std::vector<std::string> Exec() const { return {ip_, "netns", "exec", ns_}; }
  bool Cut() { return Run("link set " + host_if_ + " down"); }
  bool Restore() { return Run("link set " + host_if_ + " up"); }

 private:
  bool Run(const std::string& args) {
    return !ip_.empty() && std::system((ip_ + " " + args + " 2>/dev/null").c_str()) == 0;
  }
  const std::string ns_, host_if_;
  std::string ip_, host_ip_;
  bool ok_ = false;
};

// Issue 7 item 4: keepalive on both sides notices the cut; the leases move the jobs.
TEST(ReliabilityE2E, AWorkerCutOffByTheNetworkLosesItsJobsToAnotherAndComesBack) {
  CutNetwork net;
  if (!net.ok()) GTEST_SKIP() << "needs root and ip netns (iproute2) to cut a network";
  Stack stack;
  stack.StartServer({.env = {{"JQ_SERVER_KEEPALIVE_SECONDS", "1"}}, .listen_host = "0.0.0.0"});
  auto& cut = stack.StartWorker(
      {.id = "w-cut",
       .concurrency = 2,
       .env = {{"JQ_WORKER_KEEPALIVE_SECONDS", "1"}},
       .wrapper = net.Exec(),
       .server_addr = net.host_ip() + ":" + std::to_string(stack.server_port(0))});
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) ids.push_back(stack.Submit({"sleep", "20"}));
  for (const auto& id : ids) ASSERT_EQ(stack.WaitFor(id, jq::RUNNING).worker_id(), "w-cut");
  stack.StartWorker({.id = "w-ok", .concurrency = 2});
  ASSERT_TRUE(net.Cut());
  const auto cut_at = std::chrono::steady_clock::now();
  // Re-run elsewhere within lease (4 s) + 5 s.
  for (const auto& id : ids) {
    const auto deadline = cut_at + seconds(9);
    jq::Job job;
    do {
      std::this_thread::sleep_for(milliseconds(100));
      job = stack.Get(id);
    } while (!(job.worker_id() == "w-ok" && job.status() == jq::RUNNING) &&
             std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(job.worker_id(), "w-ok") << id << " not re-run elsewhere within lease + 5 s";
    EXPECT_EQ(job.attempt(), 2);
  }
  // Polls a process's log for a line, for up to 5 s.
  const auto logged = [](Process& p, const std::string& what) {
    for (auto t = std::chrono::steady_clock::now();
         std::chrono::steady_clock::now() - t < seconds(5);
         std::this_thread::sleep_for(milliseconds(100))) {
      if (p.Log().find(what) != std::string::npos) return true;
    }
    return false;
  };
  // The server's keepalive ended the half-open stream (no FIN or RST ever came).
  EXPECT_TRUE(logged(stack.server(0), "worker w-cut stream closed"))
      << "the cut worker's stream is still open on the server";
  ASSERT_TRUE(net.Restore());
  // w-ok's slots are full: the next job can only run on the cut worker, back at work.
  const std::string after = stack.Submit({"echo", "back"});
  auto job = stack.WaitFor(after, jq::DONE, seconds(30));
  EXPECT_EQ(job.worker_id(), "w-cut");
  EXPECT_TRUE(logged(cut, "lease no longer held"))
      << "the cut worker did not stop the jobs it lost";
  EXPECT_TRUE(cut.running());
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
