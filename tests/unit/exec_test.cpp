// The process runner and payload parser, with real processes (no servers).
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "worker/exec/payload.h"
#include "worker/exec/process_runner.h"

namespace jq::exec {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

RunResult RunArgv(std::vector<std::string> argv, RunOptions options = {}) {
  JobSpec spec;
  spec.argv = std::move(argv);
  return RunningProcess::Start(spec, options)->Wait();
}

int OpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n;
}

// Running, not a zombie waiting for a reaper (pid 1 here may not reap orphans).
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state)) return false;
  return state != "Z" && state != "X";
}

TEST(PayloadTest, ParsesEveryField) {
  auto r = ParseJobPayload(
      R"({"command":["echo","hi"],"env":{"A":"1"},"cwd":"/tmp","timeout_seconds":7})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->argv, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(r->env.at("A"), "1");
  EXPECT_EQ(r->cwd, "/tmp");
  EXPECT_EQ(r->timeout_seconds, 7);
}

TEST(PayloadTest, EveryMalformedPayloadNamesItsProblem) {
  const std::pair<std::string, std::string> cases[] = {
      {"not json", "not JSON"},
      {"[1,2]", "must be a JSON object"},
      {"{}", "no \"command\""},
      {R"({"command":[]})", "non-empty array"},
      {R"({"command":"echo hi"})", "non-empty array"},
      {R"({"command":["echo",1]})", "non-empty array of strings"},
      {R"({"command":[""]})", "\"command\"[0] is empty"},
      {R"({"command":["x"],"env":[1]})", "\"env\" must be an object"},
      {R"({"command":["x"],"env":{"A":1}})", "\"env\".A must be a string"},
      {R"({"command":["x"],"cwd":5})", "\"cwd\" must be a string"},
      {R"({"command":["x"],"timeout_seconds":-1})", "timeout_seconds"},
      {R"({"command":["x"],"timeout_seconds":"5"})", "timeout_seconds"},
      {"", "not JSON"},
  };
  for (const auto& [payload, needle] : cases) {
    auto r = ParseJobPayload(payload);
    ASSERT_FALSE(r.ok()) << payload;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos)
        << payload << " -> " << r.status().message();
  }
}

TEST(ProcessRunnerTest, CapturesStdoutStderrAndExitCode) {
  auto r = RunArgv({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.stdout_tail, "out\n");
  EXPECT_EQ(r.stderr_tail, "err\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(r.spawn_error.empty());
}

TEST(ProcessRunnerTest, KeepsTheTailOfLargeOutput) {
  RunOptions o;
  o.output_cap_bytes = 1000;
  auto r = RunArgv({"sh", "-c", "seq 1 100000"}, o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_EQ(r.stdout_tail.size(), 1000u);
  EXPECT_EQ(r.stdout_tail.substr(r.stdout_tail.size() - 7), "100000\n");
}

TEST(ProcessRunnerTest, TimeoutKillsTheWholeGroupIncludingGrandchildren) {
  RunOptions o;
  o.default_timeout = seconds(1);
  o.kill_grace = seconds(1);
  const auto start = std::chrono::steady_clock::now();
  auto r = RunArgv({"sh", "-c", "sleep 100 & echo $!; sleep 100"}, o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  const pid_t grandchild = std::stoi(r.stdout_tail);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_FALSE(Alive(grandchild)) << "grandchild " << grandchild << " survived";
}

TEST(ProcessRunnerTest, IgnoringSigtermEarnsSigkill) {
  RunOptions o;
  o.default_timeout = seconds(1);
  o.kill_grace = seconds(1);
  auto r = RunArgv({"sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"}, o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.term_signal, SIGKILL);
}

TEST(ProcessRunnerTest, CancelStopsTheJobWithinASecond) {
  JobSpec spec;
  spec.argv = {"sleep", "100"};
  auto p = RunningProcess::Start(spec, {});
  ASSERT_TRUE(p->started());
  const auto start = std::chrono::steady_clock::now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(200));
    p->Cancel();
    p->Cancel();  // idempotent
  });
  auto r = p->Wait();
  canceller.join();
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.term_signal, SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1200));
}

TEST(ProcessRunnerTest, CommandNotFoundIsASpawnError) {
  auto r = RunArgv({"definitely-not-a-command-jq"});
  EXPECT_EQ(r.spawn_error, "command not found: definitely-not-a-command-jq");
  JobSpec spec;
  spec.argv = {"true"};
  spec.cwd = "/nonexistent-dir-jq";
  auto c = RunningProcess::Start(spec, {})->Wait();
  EXPECT_NE(c.spawn_error.find("cwd /nonexistent-dir-jq"), std::string::npos) << c.spawn_error;
}

TEST(ProcessRunnerTest, AppliesEnvCwdAndHidesWorkerSettings) {
  setenv("JQ_DB_PASSWORD", "secret", 1);
  JobSpec spec;
  spec.argv = {"sh", "-c", "pwd; echo $A; echo ${JQ_DB_PASSWORD:-hidden}; echo $JQ_JOB_ID"};
  spec.env = {{"A", "from-payload"}};
  spec.cwd = "/tmp";
  RunOptions o;
  o.extra_env = {{"JQ_JOB_ID", "j-1"}};
  auto r = RunningProcess::Start(spec, o)->Wait();
  EXPECT_EQ(r.stdout_tail, "/tmp\nfrom-payload\nhidden\nj-1\n");
  unsetenv("JQ_DB_PASSWORD");
}

TEST(ProcessRunnerTest, NoDescriptorLeaks) {
  const int before = OpenFds();
  for (int i = 0; i < 200; ++i) RunArgv({"true"});
  for (int i = 0; i < 20; ++i) RunArgv({"no-such-command-jq"});
  EXPECT_EQ(OpenFds(), before);
}

}  // namespace
}  // namespace jq::exec
