// jq_exec: the payload parser and the process runner, with real processes (no servers).
// Long by nature: one file per component under test, one test per behaviour a user sees.
#include <dirent.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "worker/exec/payload.h"
#include "worker/exec/process_runner.h"

namespace jq::exec {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

JobSpec Spec(std::vector<std::string> argv) {
  JobSpec spec;
  spec.argv = std::move(argv);
  return spec;
}

RunResult RunArgv(std::vector<std::string> argv, const RunOptions& options = {}) {
  return RunJob(Spec(std::move(argv)), options);
}

RunOptions Fast() {
  RunOptions o;
  o.default_timeout = milliseconds(500);
  o.kill_grace = milliseconds(300);
  return o;
}

int OpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n;
}

// Running (not a zombie: pid 1 in a container may not reap orphans).
bool Alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return false;
  const char state = line[paren + 2];
  return state != 'Z' && state != 'X';
}

// SIGKILL is delivered asynchronously; give the kernel a moment.
bool GoneSoon(pid_t pid) {
  for (int i = 0; i < 100 && Alive(pid); ++i) std::this_thread::sleep_for(milliseconds(10));
  return !Alive(pid);
}

pid_t FirstLineAsPid(const std::string& out) {
  std::istringstream in(out);
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "jq-exec-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string WriteFile(const std::string& name, const std::string& content, int mode) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << content;
    chmod(p.c_str(), static_cast<mode_t>(mode));
    return p;
  }

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// ParseJobPayload

TEST(PayloadTest, ParsesEveryField) {
  auto r = ParseJobPayload(
      R"({"command":["echo","hi"],"env":{"A":"1","B":""},"cwd":"/tmp","timeout_seconds":7})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->argv, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(r->env, (std::map<std::string, std::string>{{"A", "1"}, {"B", ""}}));
  EXPECT_EQ(r->cwd, "/tmp");
  EXPECT_EQ(r->timeout_seconds, 7);
}

TEST(PayloadTest, OnlyCommandIsRequiredAndNullsAndUnknownFieldsAreIgnored) {
  auto r = ParseJobPayload(R"({"command":["true"]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->argv, std::vector<std::string>{"true"});
  EXPECT_TRUE(r->env.empty());
  EXPECT_TRUE(r->cwd.empty());
  EXPECT_EQ(r->timeout_seconds, 0);

  r = ParseJobPayload(
      R"({"command":["true"],"env":null,"cwd":null,"timeout_seconds":null,"x":{"y":1}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->timeout_seconds, 0);

  r = ParseJobPayload(R"({"command":["true"],"timeout_seconds":0})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->timeout_seconds, 0);
}

TEST(PayloadTest, EveryMalformedPayloadNamesItsProblem) {
  const std::pair<std::string, std::string> cases[] = {
      // Not JSON: the message gives the offset.
      {"", "payload is not JSON: syntax error at byte 1"},
      {"not json", "payload is not JSON: syntax error at byte 2"},
      {R"({"command":["a"],})", "payload is not JSON: syntax error at byte 18"},
      {R"({"command":["a"]} trailing)", "payload is not JSON"},
      // Not an object.
      {"[1,2]", "payload must be a JSON object, got array"},
      {"\"str\"", "payload must be a JSON object, got string"},
      {"null", "payload must be a JSON object, got null"},
      // command.
      {"{}", "payload has no \"command\""},
      {R"({"command":null})", "payload has no \"command\""},
      {R"({"command":[]})", "\"command\" must be a non-empty array of strings, got []"},
      {R"({"command":"echo hi"})", "\"command\" must be a non-empty array of strings, got string"},
      {R"({"command":{"a":"b"}})", "\"command\" must be a non-empty array of strings, got object"},
      {R"({"command":["echo",1]})", "element 1 is number"},
      {R"({"command":["echo",null]})", "element 1 is null"},
      {R"({"command":[["echo"]]})", "element 0 is array"},
      {R"({"command":[""]})", "\"command\"[0] is empty"},
      {R"({"command":["a\u0000b"]})", "\"command\" element 0 contains a NUL character"},
      // env.
      {R"({"command":["x"],"env":[1]})", "\"env\" must be an object of strings, got array"},
      {R"({"command":["x"],"env":"A=1"})", "\"env\" must be an object of strings, got string"},
      {R"({"command":["x"],"env":{"A":1}})", "\"env\".A must be a string, got number"},
      {R"({"command":["x"],"env":{"A":null}})", "\"env\".A must be a string, got null"},
      {R"({"command":["x"],"env":{"A=B":"1"}})", "\"env\" has an invalid variable name \"A=B\""},
      {R"({"command":["x"],"env":{"":"1"}})", "\"env\" has an invalid variable name \"\""},
      {R"({"command":["x"],"env":{"A":"a\u0000"}})", "\"env\".A contains a NUL character"},
      // cwd.
      {R"({"command":["x"],"cwd":5})", "\"cwd\" must be a string, got number"},
      {R"({"command":["x"],"cwd":["/tmp"]})", "\"cwd\" must be a string, got array"},
      // timeout_seconds.
      {R"({"command":["x"],"timeout_seconds":-1})",
       "\"timeout_seconds\" must be a non-negative integer, got -1"},
      {R"({"command":["x"],"timeout_seconds":1.5})",
       "\"timeout_seconds\" must be a non-negative integer, got 1.5"},
      {R"({"command":["x"],"timeout_seconds":"5"})",
       "\"timeout_seconds\" must be a non-negative integer, got string"},
      {R"({"command":["x"],"timeout_seconds":true})",
       "\"timeout_seconds\" must be a non-negative integer, got boolean"},
      {R"({"command":["x"],"timeout_seconds":99999999999999999999})",
       "\"timeout_seconds\" must be a non-negative integer"},
      {R"({"command":["x"],"timeout_seconds":31536001})",
       "\"timeout_seconds\" must be at most 31536000, got 31536001"},
  };
  for (const auto& [payload, needle] : cases) {
    auto r = ParseJobPayload(payload);
    ASSERT_FALSE(r.ok()) << payload;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << payload;
    EXPECT_NE(r.status().message().find(needle), std::string::npos)
        << payload << "\n  got:  " << r.status().message() << "\n  want: " << needle;
  }
}

TEST(PayloadTest, HostileInputDoesNotCrash) {
  EXPECT_FALSE(ParseJobPayload(std::string(200000, '[')).ok());
  EXPECT_FALSE(ParseJobPayload(std::string(100000, '[') + std::string(100000, ']')).ok());
  EXPECT_FALSE(ParseJobPayload(std::string("{\"command\":[\"\xff\xfe\"]}")).ok());  // bad UTF-8
  EXPECT_FALSE(ParseJobPayload(std::string("\0\0\0", 3)).ok());
  std::string big = R"({"command":["echo")";
  for (int i = 0; i < 10000; ++i) big += R"(,"arg")";
  big += "]}";
  auto r = ParseJobPayload(big);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->argv.size(), 10001u);
}

// Found by fuzz/payload_fuzz.cpp: a number too large for a double made nlohmann throw
// out_of_range, whose message ("number overflow parsing '...'") the refusal quoted, payload
// bytes and all (up to the whole payload), though only the offset of a syntax error is given
// so that no payload bytes reach the job's error and the log.
TEST(PayloadTest, NumberOutOfRangeIsRefusedWithoutQuotingThePayload) {
  const std::string digits = "31415926535897932384626433832795028841971" + std::string(400, '7');
  const std::vector<std::string> payloads = {R"({"command":["x"],"timeout_seconds":1e400})",
                                             R"({"command":["x"],"n":)" + digits + "e999}",
                                             "-" + digits + "e999"};
  for (const std::string& payload : payloads) {
    auto r = ParseJobPayload(payload);
    ASSERT_FALSE(r.ok()) << payload;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "payload is not JSON jq can read: a number is out of range");
    EXPECT_EQ(r.status().message().find("31415926"), std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// RunningProcess: output and exit status

TEST(ProcessRunnerTest, CapturesStdoutStderrAndExitCode) {
  auto r = RunArgv({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_TRUE(r.spawn_error.empty()) << r.spawn_error;
  EXPECT_EQ(r.stdout_tail, "out\n");
  EXPECT_EQ(r.stderr_tail, "err\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.cancelled);
  EXPECT_FALSE(r.stdout_truncated);
  EXPECT_FALSE(r.leftovers_killed);
  EXPECT_LT(r.duration, seconds(2));
}

TEST(ProcessRunnerTest, EchoSucceeds) {
  auto r = RunArgv({"echo", "hello", "world"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_tail, "hello world\n");
  EXPECT_EQ(r.stderr_tail, "");
}

TEST(ProcessRunnerTest, ReportsTheSignalThatEndedTheProcess) {
  auto r = RunArgv({"sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.term_signal, SIGKILL);
}

TEST(ProcessRunnerTest, StdinIsDevNull) {
  auto r = RunArgv({"cat"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_tail, "");
}

TEST(ProcessRunnerTest, KeepsTheTailOfLargeOutputOnBothStreams) {
  RunOptions o;
  o.output_cap_bytes = 1000;
  auto r = RunArgv({"sh", "-c", "seq 1 100000; seq 1 200000 >&2"}, o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_TRUE(r.stderr_truncated);
  ASSERT_EQ(r.stdout_tail.size(), 1000u);
  ASSERT_EQ(r.stderr_tail.size(), 1000u);
  EXPECT_TRUE(r.stdout_tail.ends_with("\n99999\n100000\n"));
  EXPECT_TRUE(r.stderr_tail.ends_with("\n199999\n200000\n"));
}

TEST(ProcessRunnerTest, DefaultCapIsOneMebibyteAndBinarySafe) {
  auto r = RunArgv({"sh", "-c", "head -c 3000000 /dev/zero; printf 'end'"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.stdout_truncated);
  ASSERT_EQ(r.stdout_tail.size(), 1u << 20);
  EXPECT_EQ(r.stdout_tail[0], '\0');
  EXPECT_TRUE(r.stdout_tail.ends_with(std::string("\0\0end", 5)));
}

TEST(ProcessRunnerTest, OutputExactlyAtTheCapIsNotTruncated) {
  RunOptions o;
  o.output_cap_bytes = 6;
  auto r = RunArgv({"printf", "abcdef"}, o);
  EXPECT_EQ(r.stdout_tail, "abcdef");
  EXPECT_FALSE(r.stdout_truncated);
  r = RunArgv({"printf", "abcdefg"}, o);
  EXPECT_EQ(r.stdout_tail, "bcdefg");
  EXPECT_TRUE(r.stdout_truncated);
}

// ---------------------------------------------------------------------------------------------
// Timeout, cancel, and nothing left behind

TEST(ProcessRunnerTest, TimeoutKillsTheWholeGroupIncludingAGrandchild) {
  const auto start = Clock::now();
  auto r = RunArgv({"sh", "-c", "sleep 100 & echo $!; sleep 100"}, Fast());
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.cancelled);
  EXPECT_EQ(r.term_signal, SIGTERM);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_GE(r.duration, milliseconds(500));
  EXPECT_LT(Clock::now() - start, seconds(3));
  const pid_t grandchild = FirstLineAsPid(r.stdout_tail);
  ASSERT_GT(grandchild, 0) << r.stdout_tail;
  EXPECT_TRUE(GoneSoon(grandchild)) << "grandchild " << grandchild << " survived";
}

TEST(ProcessRunnerTest, TheSpecTimeoutOverridesTheDefault) {
  JobSpec spec = Spec({"sleep", "100"});
  spec.timeout_seconds = 1;
  RunOptions o;
  o.default_timeout = seconds(100);
  auto r = RunJob(spec, o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_GE(r.duration, milliseconds(1000));
  EXPECT_LT(r.duration, milliseconds(3000));
}

TEST(ProcessRunnerTest, IgnoringSigtermEarnsSigkillAfterTheGrace) {
  RunOptions o = Fast();
  auto r = RunArgv({"sh", "-c", "trap '' TERM; echo $$; while true; do sleep 0.05; done"}, o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_GE(r.duration, milliseconds(800));  // timeout + grace
  EXPECT_LT(r.duration, milliseconds(3000));
}

TEST(ProcessRunnerTest, CancelFromAnotherThreadEndsTheJobWithinASecond) {
  auto p = RunningProcess::Start(Spec({"sh", "-c", "sleep 100 & echo $!; sleep 100"}), {});
  ASSERT_TRUE(p->started());
  EXPECT_GT(p->pid(), 0);
  Clock::time_point cancelled_at;
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(200));
    cancelled_at = Clock::now();
    p->Cancel();
    p->Cancel();  // idempotent
  });
  auto r = p->Wait();
  const auto ended_at = Clock::now();
  canceller.join();
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.term_signal, SIGTERM);
  EXPECT_LT(ended_at - cancelled_at, seconds(1));
  const pid_t grandchild = FirstLineAsPid(r.stdout_tail);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(GoneSoon(grandchild));
  p->Cancel();                       // after Wait(): harmless
  EXPECT_TRUE(p->Wait().cancelled);  // a second Wait() returns the same result
}

TEST(ProcessRunnerTest, CancelOfASigtermIgnoringJobEscalatesToSigkill) {
  RunOptions o;
  o.kill_grace = milliseconds(300);
  auto p = RunningProcess::Start(Spec({"sh", "-c", "trap '' TERM; sleep 100"}), o);
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(100));
    p->Cancel();
  });
  auto r = p->Wait();
  canceller.join();
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_LT(r.duration, seconds(2));
}

TEST(ProcessRunnerTest, CancelBeforeWaitAndOnANotStartedJob) {
  auto p = RunningProcess::Start(Spec({"sleep", "100"}), {});
  p->Cancel();
  auto r = p->Wait();
  EXPECT_TRUE(r.cancelled);
  EXPECT_LT(r.duration, seconds(1));

  auto q = RunningProcess::Start(Spec({"no-such-command-jq"}), {});
  EXPECT_FALSE(q->started());
  q->Cancel();
  r = q->Wait();
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.spawn_error, "command not found: no-such-command-jq");
}

TEST(ProcessRunnerTest, CancelAfterTheJobExitedIsIgnored) {
  auto p = RunningProcess::Start(Spec({"true"}), {});
  std::this_thread::sleep_for(milliseconds(100));
  auto r = p->Wait();
  p->Cancel();
  EXPECT_FALSE(r.cancelled);
  EXPECT_EQ(r.exit_code, 0);
}

TEST(ProcessRunnerTest, ABackgroundChildThatClosedItsOutputIsKilledAtExit) {
  auto r = RunArgv({"sh", "-c", "sleep 100 >/dev/null 2>&1 & echo $!"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.leftovers_killed);
  EXPECT_LT(r.duration, seconds(1));
  const pid_t grandchild = FirstLineAsPid(r.stdout_tail);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(GoneSoon(grandchild));
}

TEST(ProcessRunnerTest, ABackgroundChildHoldingThePipesIsKilledAfterTheDrainPeriod) {
  RunOptions o;
  o.drain_after_exit = milliseconds(200);
  auto r = RunArgv({"sh", "-c", "sleep 100 & echo $!; echo bye >&2"}, o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.leftovers_killed);
  EXPECT_EQ(r.stderr_tail, "bye\n");
  EXPECT_GE(r.duration, milliseconds(200));
  EXPECT_LT(r.duration, seconds(2));
  const pid_t grandchild = FirstLineAsPid(r.stdout_tail);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(GoneSoon(grandchild));
}

TEST(ProcessRunnerTest, OutputWrittenDuringTheDrainPeriodIsKept) {
  RunOptions o;
  o.drain_after_exit = milliseconds(1000);
  auto r = RunArgv({"sh", "-c", "(sleep 0.2; echo late) & echo early"}, o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.leftovers_killed);
  EXPECT_EQ(r.stdout_tail, "early\nlate\n");
}

TEST(ProcessRunnerTest, DestroyingWithoutWaitKillsTheGroup) {
  TempDir dir;
  const std::string pid_file = dir.path() + "/pid";
  pid_t grandchild = 0;
  {
    auto p = RunningProcess::Start(Spec({"sh", "-c",
                                         "sleep 100 & echo $! > " + pid_file + ".tmp; mv " +
                                             pid_file + ".tmp " + pid_file + "; sleep 100"}),
                                   {});
    ASSERT_TRUE(p->started());
    for (int i = 0; i < 200 && !fs::exists(pid_file); ++i) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    std::ifstream(pid_file) >> grandchild;
    ASSERT_GT(grandchild, 0);
    ASSERT_TRUE(Alive(grandchild));
  }
  EXPECT_TRUE(GoneSoon(grandchild));
}

// ---------------------------------------------------------------------------------------------
// Spawn errors

TEST(ProcessRunnerTest, SpawnErrorsSayWhatWentWrong) {
  auto r = RunArgv({"definitely-not-a-command-jq", "arg"});
  EXPECT_EQ(r.spawn_error, "command not found: definitely-not-a-command-jq");
  EXPECT_EQ(r.exit_code, -1);

  r = RunArgv({"/nonexistent-jq/tool"});
  EXPECT_EQ(r.spawn_error, "command not found: /nonexistent-jq/tool");

  TempDir dir;
  const std::string script = dir.WriteFile("not-exec.sh", "#!/bin/sh\necho hi\n", 0644);
  r = RunArgv({script});
  EXPECT_EQ(r.spawn_error, "cannot run " + script + ": Permission denied");

  JobSpec spec = Spec({"true"});
  spec.cwd = "/nonexistent-dir-jq";
  r = RunJob(spec, {});
  EXPECT_EQ(r.spawn_error, "cwd /nonexistent-dir-jq: No such file or directory");

  spec.cwd = script;
  r = RunJob(spec, {});
  EXPECT_EQ(r.spawn_error, "cwd " + script + ": Not a directory");

  r = RunJob(JobSpec{}, {});
  EXPECT_EQ(r.spawn_error, "empty command");
  r = RunArgv({""});
  EXPECT_EQ(r.spawn_error, "empty command");

  RunOptions o;
  o.run_as_user = "no-such-user-jq";
  r = RunArgv({"true"}, o);
  EXPECT_EQ(r.spawn_error, "run-as user no-such-user-jq: no such user");
}

// ---------------------------------------------------------------------------------------------
// Environment, cwd, PATH, signals, user

TEST(ProcessRunnerTest, AppliesEnvAndCwdAndHidesTheWorkersSettings) {
  setenv("JQ_DB_PASSWORD", "secret", 1);
  setenv("JQ_EXEC_TEST_INHERITED", "x", 1);
  setenv("EXEC_TEST_INHERITED", "inherited", 1);
  TempDir dir;
  JobSpec spec = Spec({"sh", "-c",
                       "pwd; echo $A; echo ${JQ_DB_PASSWORD:-hidden}; echo $JQ_JOB_ID; "
                       "echo $EXEC_TEST_INHERITED; echo $OVERRIDDEN"});
  spec.env = {{"A", "from payload"}, {"OVERRIDDEN", "by payload"}};
  spec.cwd = dir.path();
  RunOptions o;
  o.extra_env = {{"JQ_JOB_ID", "j-1"}, {"OVERRIDDEN", "by worker"}};
  auto r = RunJob(spec, o);
  EXPECT_EQ(r.stdout_tail, fs::canonical(dir.path()).string() +
                               "\nfrom payload\nhidden\nj-1\ninherited\nby worker\n");
  unsetenv("JQ_DB_PASSWORD");
  unsetenv("JQ_EXEC_TEST_INHERITED");
  unsetenv("EXEC_TEST_INHERITED");
}

TEST(ProcessRunnerTest, LooksTheCommandUpInTheJobsPathAndRelativeToItsCwd) {
  TempDir dir;
  dir.WriteFile("jq-test-tool", "#!/bin/sh\necho tool \"$@\"\n", 0755);
  JobSpec spec = Spec({"jq-test-tool", "a b"});
  spec.env = {{"PATH", dir.path() + ":/usr/bin:/bin"}};
  auto r = RunJob(spec, {});
  EXPECT_TRUE(r.spawn_error.empty()) << r.spawn_error;
  EXPECT_EQ(r.stdout_tail, "tool a b\n");

  spec = Spec({"./jq-test-tool", "rel"});
  spec.cwd = dir.path();
  r = RunJob(spec, {});
  EXPECT_TRUE(r.spawn_error.empty()) << r.spawn_error;
  EXPECT_EQ(r.stdout_tail, "tool rel\n");
}

TEST(ProcessRunnerTest, TheJobGetsDefaultSignalHandlingWhateverTheWorkerDid) {
  // A worker typically blocks SIGTERM for a sigwait thread and ignores SIGPIPE; ignored
  // signals would survive exec and make the job unkillable by SIGTERM.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_term {};
  sigaction(SIGTERM, &ignore, &old_term);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &old_mask);

  auto r = RunArgv({"sh", "-c", "kill -TERM $$; sleep 5"});
  EXPECT_EQ(r.term_signal, SIGTERM);
  // Standard signals only: glibc's posix_spawn ignores its own internal signals (32, 33) in
  // the child, which no job uses.
  r = RunArgv({"sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status | cut -f2"});
  std::istringstream masks(r.stdout_tail);
  std::string blocked, ignored;
  masks >> blocked >> ignored;
  ASSERT_FALSE(ignored.empty()) << r.stdout_tail;
  EXPECT_EQ(std::stoull(blocked, nullptr, 16) & 0x7fffffffULL, 0u) << blocked;
  EXPECT_EQ(std::stoull(ignored, nullptr, 16) & 0x7fffffffULL, 0u) << ignored;

  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
}

TEST(ProcessRunnerTest, RunsAsAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  if (access("/usr/bin/setpriv", X_OK) != 0 && access("/bin/setpriv", X_OK) != 0) {
    GTEST_SKIP() << "no setpriv";
  }
  passwd* pw = getpwnam("nobody");
  if (pw == nullptr) GTEST_SKIP() << "no user nobody";
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  const std::string home = pw->pw_dir;
  RunOptions o;
  o.run_as_user = "nobody";
  auto r = RunArgv({"sh", "-c", "id -u; id -g; echo $HOME $USER"}, o);
  EXPECT_TRUE(r.spawn_error.empty()) << r.spawn_error;
  EXPECT_EQ(r.exit_code, 0) << r.stderr_tail;
  EXPECT_EQ(r.stdout_tail,
            std::to_string(uid) + "\n" + std::to_string(gid) + "\n" + home + " nobody\n");

  r = RunArgv({"no-such-command-jq"}, o);
  EXPECT_EQ(r.spawn_error, "command not found: no-such-command-jq");

  // The group kill reaches the job through setpriv (which execs, keeping the pid).
  o.default_timeout = milliseconds(300);
  o.kill_grace = milliseconds(300);
  r = RunArgv({"sh", "-c", "sleep 100 & echo $!; sleep 100"}, o);
  EXPECT_TRUE(r.timed_out);
  const pid_t grandchild = FirstLineAsPid(r.stdout_tail);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(GoneSoon(grandchild));
}

TEST(ProcessRunnerTest, DoesNotHangWhenTheWorkerIgnoresSigchld) {
  // Unsupported (exit statuses are lost: the kernel reaps the child), but must not hang.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_chld {};
  sigaction(SIGCHLD, &ignore, &old_chld);
  auto r = RunArgv({"sh", "-c", "echo hi; exit 3"});
  sigaction(SIGCHLD, &old_chld, nullptr);
  EXPECT_EQ(r.stdout_tail, "hi\n");
  EXPECT_LT(r.duration, seconds(2));
}

// ---------------------------------------------------------------------------------------------
// Concurrency and resources

TEST(ProcessRunnerTest, ConcurrentJobsDoNotMixOrHoldEachOthersPipes) {
  // Pipes are close-on-exec, so a job spawned on another thread cannot inherit this job's
  // pipe and delay its EOF (which would show up as leftovers_killed or a slow run).
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 15; ++i) {
        const std::string want = std::to_string(t) + "-" + std::to_string(i);
        auto r = RunArgv({"sh", "-c", "echo " + want + "; sleep 0.02"});
        if (r.stdout_tail != want + "\n" || r.exit_code != 0 || r.leftovers_killed) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ProcessRunnerTest, NoDescriptorLeaksAndNoZombies) {
  const int before = OpenFds();
  for (int i = 0; i < 200; ++i) {
    auto r = RunArgv({"true"});
    ASSERT_EQ(r.exit_code, 0);
  }
  for (int i = 0; i < 20; ++i) RunArgv({"no-such-command-jq"});
  JobSpec bad_cwd = Spec({"true"});
  bad_cwd.cwd = "/nonexistent-dir-jq";
  for (int i = 0; i < 20; ++i) RunJob(bad_cwd, {});
  RunOptions quick;
  quick.default_timeout = milliseconds(50);
  quick.kill_grace = milliseconds(50);
  for (int i = 0; i < 5; ++i) RunArgv({"sleep", "10"}, quick);
  for (int i = 0; i < 5; ++i) {
    auto p = RunningProcess::Start(Spec({"sleep", "10"}), {});
    p->Cancel();
    p->Wait();
  }
  for (int i = 0; i < 5; ++i) RunningProcess::Start(Spec({"sleep", "10"}), {});  // no Wait()
  EXPECT_EQ(OpenFds(), before);
  // Every child was reaped.
  errno = 0;
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace
}  // namespace jq::exec
