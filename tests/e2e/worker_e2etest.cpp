// The job lifecycle end to end: jq-server + jq-worker processes on a private PostgreSQL.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "e2e/e2e_support.h"

namespace jq::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool ProcessAlive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string a, b, state;
  return static_cast<bool>(stat >> a >> b >> state) && state != "Z";
}

grpc::Status CreateQueue(Stack& stack, const std::string& name, int max_retries,
                         int backoff_ms = 200, int ttl = 0) {
  jq::CreateQueueRequest q;
  q.set_name(name);
  q.set_max_retries(max_retries);
  q.set_max_retries_set(true);
  q.set_backoff_base_ms(backoff_ms);
  q.set_backoff_max_ms(backoff_ms * 4);
  q.set_ttl_seconds(ttl);
  jq::CreateQueueResponse resp;
  grpc::ClientContext ctx;
  return stack.Admin()->CreateQueue(&ctx, q, &resp);
}

class WorkerE2E : public ::testing::Test {
 protected:
  void SetUp() override { stack_.StartServer(); }
  std::string File(const std::string& name) { return stack_.dir() + "/" + name; }
  Stack stack_;
};

// A payload above gRPC's default 4 MiB message limit, within jobs.max_payload_bytes, reaches
// the worker and runs (before, the worker refused the assignment and the job burnt its retries).
TEST_F(WorkerE2E, APayloadNearTheConfiguredLimitIsDelivered) {
  Stack big;
  const std::map<std::string, std::string> env = {{"JQ_JOBS_MAX_PAYLOAD_BYTES", "6291456"}};
  big.StartServer({.env = env});
  big.StartWorker({.id = "w-big", .env = env});
  jq::SubmitJobRequest req;
  req.set_queue_name("default");
  const std::string pad(5 << 20, 'x');  // 5 MiB; unknown payload keys are ignored
  req.set_payload(R"({"command":["true"],"pad":")" + pad + R"("})");
  jq::SubmitJobResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(big.Jobs()->SubmitJob(&ctx, req, &resp).ok());
  auto job = big.WaitFor(resp.job_id(), jq::DONE);
  EXPECT_EQ(job.attempt(), 1);
  EXPECT_EQ(job.worker_id(), "w-big");
}

TEST_F(WorkerE2E, AResultTheServerRefusesIsCutAndSparesItsBatch) {
  // The worker keeps 24 MiB of output, the server accepts 9 MiB messages: the big job's report
  // is refused. Its neighbours finish at the same moment, often in the same batch (the
  // deterministic version of that is worker_test's).
  auto& worker = stack_.StartWorker(
      {.id = "w1", .concurrency = 4, .env = {{"JQ_WORKER_OUTPUT_CAP_BYTES", "25165824"}}});
  const std::string big = stack_.Submit({"sh", "-c", "sleep 1; head -c 12582912 /dev/zero"});
  const std::string big_failing =
      stack_.Submit({"sh", "-c", "sleep 1; head -c 12582912 /dev/zero >&2; exit 3"}, "default",
                    [](jq::SubmitJobRequest& r) {
                      r.set_max_retries(0);
                      r.set_max_retries_set(true);
                    });
  std::vector<std::string> small;
  for (int i = 0; i < 3; ++i) small.push_back(stack_.Submit({"sh", "-c", "sleep 1; echo ok"}));
  for (const auto& id : small) {
    auto job = stack_.WaitFor(id, jq::DONE, std::chrono::seconds(10));
    EXPECT_EQ(job.attempt(), 1) << "a neighbour of the refused report was re-run";
    EXPECT_EQ(job.result(), "ok\n");
  }
  // It succeeded: it is done, once, with the tail of its output, flagged as cut.
  auto job = stack_.WaitFor(big, jq::DONE, std::chrono::seconds(10));
  EXPECT_EQ(job.attempt(), 1) << "a job that succeeded was run again";
  auto outputs = stack_.Outputs(big);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].stdout(), std::string(4096, '\0'));
  EXPECT_TRUE(outputs[0].stdout_truncated());
  // It failed: it fails as it did (exit status 3), and says why its output is short.
  job = stack_.WaitFor(big_failing, jq::DEAD_LETTERED, std::chrono::seconds(10));
  EXPECT_EQ(job.attempt(), 1);
  EXPECT_NE(job.error_message().find("the server refused this attempt's full report"),
            std::string::npos)
      << job.error_message();
  outputs = stack_.Outputs(big_failing);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].exit_code(), 3);
  EXPECT_EQ(outputs[0].stderr().size(), 4096u);
  EXPECT_TRUE(outputs[0].stderr_truncated());
  EXPECT_NE(worker.Log().find("refused its result"), std::string::npos);
}

TEST_F(WorkerE2E, AWorkerGivenSeveralServersFailsOverToOneThatAnswers) {
  const std::string dead = "127.0.0.1:" + std::to_string(FreePort());  // nothing listens
  auto& worker =
      stack_.StartWorker({.id = "w1", .server_addr = dead + ", " + stack_.server_addr(0)});
  const std::string id = stack_.Submit({"echo", "hi"});
  EXPECT_EQ(stack_.WaitFor(id, jq::DONE).worker_id(), "w1");
  EXPECT_NE(worker.Log().find("registered as w1 with " + stack_.server_addr(0)), std::string::npos);
}

TEST_F(WorkerE2E, EchoHelloRunsToDoneWithItsOutput) {
  stack_.StartWorker({.id = "w1"});
  const std::string id = stack_.Submit({"echo", "hello"});
  auto job = stack_.WaitFor(id, jq::DONE);
  EXPECT_EQ(job.result(), "hello\n");
  EXPECT_EQ(job.worker_id(), "w1");
  EXPECT_EQ(stack_.Reasons(id),
            (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
  const auto outputs = stack_.Outputs(id);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].stdout(), "hello\n");
  EXPECT_EQ(outputs[0].exit_code(), 0);
  EXPECT_EQ(outputs[0].attempt(), 1);
}

TEST_F(WorkerE2E, TraceparentReachesTheJobAndTheLogs) {
  auto& worker = stack_.StartWorker({.id = "w1"});
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  jq::SubmitJobRequest req;
  req.set_queue_name("default");
  req.set_payload(R"({"command":["sh","-c","echo $TRACEPARENT"]})");
  jq::SubmitJobResponse resp;
  grpc::ClientContext ctx;
  ctx.AddMetadata("traceparent", "00-" + trace_id + "-00f067aa0ba902b7-01");
  ctx.AddMetadata("x-request-id", "req-42");
  ASSERT_TRUE(stack_.Jobs()->SubmitJob(&ctx, req, &resp).ok());
  auto it = ctx.GetServerInitialMetadata().find("x-request-id");
  ASSERT_NE(it, ctx.GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), "req-42");
  auto job = stack_.WaitFor(resp.job_id(), jq::DONE);
  // Same trace, the worker's own span.
  EXPECT_EQ(job.result().substr(0, 36), "00-" + trace_id + "-");
  EXPECT_EQ(job.result().size(), 56u) << job.result();
  EXPECT_EQ(job.result().find("00f067aa0ba902b7"), std::string::npos);
  // The worker's log lines about the job carry its id and the trace id as JSON fields.
  const std::string log = worker.Log();
  EXPECT_NE(log.find("\"trace_id\":\"" + trace_id + "\",\"job_id\":\"" + resp.job_id() + "\""),
            std::string::npos)
      << log;
}

TEST_F(WorkerE2E, HugeOutputOnBothStreamsIsCappedAndReported) {
  stack_.StartWorker({.id = "w1"});
  // 2 MiB on stdout and on stderr: the report carries each 1 MiB tail once.
  const std::string id = stack_.Submit(
      {"sh", "-c",
       "head -c 2097152 /dev/zero | tr '\\0' o; head -c 2097152 /dev/zero | tr '\\0' e >&2"});
  auto job = stack_.WaitFor(id, jq::DONE);
  EXPECT_EQ(job.result().size(), 1u << 20);
  const auto outputs = stack_.Outputs(id);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_TRUE(outputs[0].stdout_truncated());
  EXPECT_TRUE(outputs[0].stderr_truncated());
  EXPECT_EQ(outputs[0].stderr().size(), 1u << 20);
  EXPECT_EQ(job.attempt(), 1);
}

TEST_F(WorkerE2E, OutputThatIsNotUtf8IsKeptAsBytesAndTheFailureIsReportedOnce) {
  // A 7-byte cap cuts the two-byte 'é's of stderr in half; \xff\xfe is never text.
  stack_.StartWorker({.id = "w1", .env = {{"JQ_WORKER_OUTPUT_CAP_BYTES", "7"}}});
  const std::string id = stack_.Submit(
      {"sh", "-c",
       "printf 'out\\377\\376'; printf '\\303\\251\\303\\251\\303\\251\\303\\251' >&2; exit 3"},
      "default", [](jq::SubmitJobRequest& r) {
        r.set_max_retries(0);
        r.set_max_retries_set(true);
      });
  auto job = stack_.WaitFor(id, jq::DEAD_LETTERED, std::chrono::seconds(10));
  EXPECT_EQ(job.attempt(), 1) << "the report was refused and the job re-run";
  EXPECT_EQ(stack_.Reasons(id).back(), "MAX_RETRIES_EXCEEDED");
  EXPECT_NE(job.error_message().find("exit status 3"), std::string::npos) << job.error_message();
  const auto outputs = stack_.Outputs(id);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].stdout(), "out\xff\xfe");  // bytes, exactly as written
  EXPECT_EQ(outputs[0].stderr(), "\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
  EXPECT_TRUE(outputs[0].stderr_truncated());
}

TEST_F(WorkerE2E, FailingJobIsRetriedWithBackoffThenDeadLettered) {
  ASSERT_TRUE(CreateQueue(stack_, "flaky", 1, 500).ok());
  stack_.StartWorker({.id = "w1"});
  const std::string id = stack_.Submit({"sh", "-c", "echo boom >&2; exit 2"}, "flaky");
  auto job = stack_.WaitFor(id, jq::DEAD_LETTERED);
  EXPECT_EQ(job.retry_count(), 1);
  EXPECT_NE(job.error_message().find("exit status 2"), std::string::npos) << job.error_message();
  EXPECT_NE(job.error_message().find("boom"), std::string::npos);
  EXPECT_EQ(stack_.Reasons(id),
            (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "STARTED", "FAILED_EXIT_CODE",
                                      "RETRY", "ASSIGNED", "STARTED", "FAILED_EXIT_CODE",
                                      "MAX_RETRIES_EXCEEDED"}));
  // The retry waited for its backoff (base 500 ms).
  jq::GetJobLogsRequest lreq;
  lreq.set_job_id(id);
  jq::GetJobLogsResponse logs;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stack_.Jobs()->GetJobLogs(&ctx, lreq, &logs).ok());
  auto ms = [](const google::protobuf::Timestamp& t) {
    return t.seconds() * 1000 + t.nanos() / 1000000;
  };
  EXPECT_GE(ms(logs.events(5).occurred_at()) - ms(logs.events(4).occurred_at()), 450);
  // Both attempts' output is kept.
  jq::GetJobOutputRequest oreq;
  oreq.set_job_id(id);
  jq::GetJobOutputResponse out;
  grpc::ClientContext octx;
  ASSERT_TRUE(stack_.Jobs()->GetJobOutput(&octx, oreq, &out).ok());
  ASSERT_EQ(out.outputs_size(), 2);
  EXPECT_EQ(out.outputs(1).stderr(), "boom\n");
  EXPECT_EQ(out.outputs(1).exit_code(), 2);
}

TEST_F(WorkerE2E, TimeoutKillsTheProcessGroupChildrenToo) {
  ASSERT_TRUE(CreateQueue(stack_, "once", 0).ok());
  stack_.StartWorker({.id = "w1"});
  const std::string pidfile = File("grandchild.pid");
  const std::string id =
      stack_.Submit({"sh", "-c", "sleep 300 & echo $! > " + pidfile + "; sleep 300"}, "once",
                    [](jq::SubmitJobRequest& r) { r.set_timeout_seconds(1); });
  auto job = stack_.WaitFor(id, jq::DEAD_LETTERED, seconds(15));
  EXPECT_NE(job.error_message().find("timed out"), std::string::npos) << job.error_message();
  auto reasons = stack_.Reasons(id);
  EXPECT_EQ(reasons[reasons.size() - 2], "TIMEOUT");
  auto lines = Lines(pidfile);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_FALSE(ProcessAlive(std::stoi(lines[0]))) << "the job's child survived the timeout";
}

TEST_F(WorkerE2E, CancelRunningJobStopsItWithinASecond) {
  stack_.StartWorker({.id = "w1"});
  const std::string id = stack_.Submit({"sleep", "300"});
  stack_.WaitFor(id, jq::RUNNING);
  const auto start = std::chrono::steady_clock::now();
  jq::CancelJobRequest req;
  req.set_job_id(id);
  jq::CancelJobResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stack_.Jobs()->CancelJob(&ctx, req, &resp).ok());
  stack_.WaitFor(id, jq::DEAD_LETTERED, seconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
  EXPECT_EQ(stack_.Reasons(id).back(), "CANCELLED");
}

TEST_F(WorkerE2E, BadPayloadsFailWithAClearErrorAndTheWorkerLives) {
  ASSERT_TRUE(CreateQueue(stack_, "once", 0).ok());
  auto& worker = stack_.StartWorker({.id = "w1"});
  jq::SubmitJobRequest raw;
  auto submit_raw = [&](const std::string& payload) {
    jq::SubmitJobRequest r;
    r.set_queue_name("once");
    r.set_payload(payload);
    jq::SubmitJobResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stack_.Jobs()->SubmitJob(&ctx, r, &resp).ok());
    return resp.job_id();
  };
  const std::string not_json = submit_raw("not json at all");
  const std::string no_command = submit_raw(R"({"cmd":["echo"]})");
  const std::string missing = stack_.Submit({"no-such-command-anywhere"}, "once");
  EXPECT_NE(stack_.WaitFor(not_json, jq::DEAD_LETTERED).error_message().find("not JSON"),
            std::string::npos);
  EXPECT_NE(stack_.WaitFor(no_command, jq::DEAD_LETTERED).error_message().find("command"),
            std::string::npos);
  EXPECT_NE(stack_.WaitFor(missing, jq::DEAD_LETTERED)
                .error_message()
                .find("command not found: no-such-command-anywhere"),
            std::string::npos);
  EXPECT_EQ(stack_.Reasons(not_json).back(), "INVALID_PAYLOAD");
  EXPECT_TRUE(worker.running());
  stack_.WaitFor(stack_.Submit({"true"}), jq::DONE);
}

TEST_F(WorkerE2E, KilledWorkersJobIsRerunAndDone) {
  const std::string runs = File("runs");
  auto& doomed = stack_.StartWorker({.id = "doomed"});
  const std::string id = stack_.Submit({"sh", "-c", "echo run >> " + runs + "; sleep 1"});
  stack_.WaitFor(id, jq::RUNNING);
  doomed.Kill();  // kill -9 mid-job
  const auto killed_at = std::chrono::steady_clock::now();
  stack_.StartWorker({.id = "survivor"});
  // Lease (4 s in these tests) + 5 s.
  auto job = stack_.WaitFor(id, jq::DONE, seconds(9));
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, seconds(9));
  EXPECT_EQ(job.worker_id(), "survivor");
  EXPECT_EQ(job.attempt(), 2);
  EXPECT_EQ(Lines(runs).size(), 2u);  // at least once: the first run was cut off
  auto reasons = stack_.Reasons(id);
  EXPECT_TRUE(std::find(reasons.begin(), reasons.end(), "WORKER_LOST") != reasons.end() ||
              std::find(reasons.begin(), reasons.end(), "LEASE_EXPIRED") != reasons.end());
}

TEST_F(WorkerE2E, KilledServerLosesNothingAndWorkersReconnect) {
  auto& worker = stack_.StartWorker({.id = "w1", .concurrency = 4});
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(stack_.Submit({"sleep", "0.2"}));
  std::this_thread::sleep_for(milliseconds(400));
  stack_.server(0).Kill();  // kill -9 with the worker attached and jobs in flight
  std::this_thread::sleep_for(milliseconds(300));
  stack_.RestartServer(0);
  const auto restarted = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) ids.push_back(stack_.Submit({"true"}));
  for (const auto& id : ids) stack_.WaitFor(id, jq::DONE, seconds(30));
  // Jobs the dead server had claimed but not delivered wait for their lease (4 s here).
  EXPECT_LT(std::chrono::steady_clock::now() - restarted, seconds(7));
  EXPECT_TRUE(worker.running());
}

TEST_F(WorkerE2E, PriorityThenFifoWithOneSlot) {
  const std::string order = File("order");
  jq::PauseQueueRequest pause;
  pause.set_name("default");
  jq::PauseQueueResponse presp;
  grpc::ClientContext pctx;
  ASSERT_TRUE(stack_.Admin()->PauseQueue(&pctx, pause, &presp).ok());
  auto submit = [&](const std::string& name, int priority) {
    stack_.Submit({"sh", "-c", "echo " + name + " >> " + order}, "default",
                  [&](jq::SubmitJobRequest& r) { r.set_priority(priority); });
  };
  submit("low-1", 1);
  submit("high-1", 9);
  submit("low-2", 1);
  submit("mid", 5);
  submit("high-2", 9);
  stack_.StartWorker({.id = "w1", .concurrency = 1});
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(Lines(order).empty()) << "a paused queue was claimed from";
  jq::ResumeQueueRequest resume;
  resume.set_name("default");
  jq::ResumeQueueResponse rresp;
  grpc::ClientContext rctx;
  ASSERT_TRUE(stack_.Admin()->ResumeQueue(&rctx, resume, &rresp).ok());
  const auto deadline = std::chrono::steady_clock::now() + seconds(15);
  while (Lines(order).size() < 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(Lines(order), (std::vector<std::string>{"high-1", "high-2", "mid", "low-1", "low-2"}));
}

TEST_F(WorkerE2E, DelayedJobDoesNotRunEarly) {
  stack_.StartWorker({.id = "w1"});
  const std::string id =
      stack_.Submit({"true"}, "default", [](jq::SubmitJobRequest& r) { r.set_delay_seconds(2); });
  std::this_thread::sleep_for(milliseconds(1200));
  EXPECT_EQ(stack_.Get(id).status(), jq::PENDING);
  stack_.WaitFor(id, jq::DONE, seconds(5));
}

TEST_F(WorkerE2E, TtlDeadLettersJobsNotStartedInTime) {
  const std::string id =
      stack_.Submit({"true"}, "default", [](jq::SubmitJobRequest& r) { r.set_ttl_seconds(1); });
  stack_.WaitFor(id, jq::DEAD_LETTERED, seconds(5));
  EXPECT_EQ(stack_.Reasons(id).back(), "TTL_EXPIRED");
}

grpc::Status Drain(Stack& stack, const std::string& worker, int server = 0) {
  jq::DrainWorkerRequest req;
  req.set_worker_id(worker);
  jq::DrainWorkerResponse resp;
  grpc::ClientContext ctx;
  return stack.Admin(server)->DrainWorker(&ctx, req, &resp);
}

grpc::Status Resume(Stack& stack, const std::string& worker, int server = 0) {
  jq::ResumeWorkerRequest req;
  req.set_worker_id(worker);
  jq::ResumeWorkerResponse resp;
  grpc::ClientContext ctx;
  return stack.Admin(server)->ResumeWorker(&ctx, req, &resp);
}

grpc::Status Shutdown(Stack& stack, const std::string& worker, bool now) {
  jq::ShutdownWorkerRequest req;
  req.set_worker_id(worker);
  req.set_now(now);
  jq::ShutdownWorkerResponse resp;
  grpc::ClientContext ctx;
  return stack.Admin()->ShutdownWorker(&ctx, req, &resp);
}

// The worker's status as `jq-ctl worker list` shows it.
jq::WorkerStatus StatusOf(Stack& stack, const std::string& worker) {
  jq::ListWorkersResponse resp;
  grpc::ClientContext ctx;
  EXPECT_TRUE(stack.Admin()->ListWorkers(&ctx, {}, &resp).ok());
  for (const auto& w : resp.workers()) {
    if (w.worker_id() == worker) return w.status();
  }
  ADD_FAILURE() << "worker " << worker << " is not listed";
  return jq::WORKER_STATUS_UNSPECIFIED;
}

std::size_t Count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Waits until the process has logged `needle` at least n times.
bool WaitForLog(Process& p, const std::string& needle, std::size_t n = 1,
                milliseconds timeout = seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Count(p.Log(), needle) >= n) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return false;
}

TEST_F(WorkerE2E, DrainFinishesRunningJobsAndKeepsTheWorkerIdleUntilResumed) {
  auto& worker = stack_.StartWorker({.id = "w1"});
  const std::string id = stack_.Submit({"sleep", "1"});
  stack_.WaitFor(id, jq::RUNNING);
  ASSERT_TRUE(Drain(stack_, "w1").ok());
  const std::string later = stack_.Submit({"true"});
  auto job = stack_.WaitFor(id, jq::DONE, seconds(10));
  EXPECT_EQ(job.attempt(), 1) << "the running job was not left to finish";
  // Idle, alive and DRAINING across heartbeats (1 s here); before, a drained worker exited.
  std::this_thread::sleep_for(milliseconds(2500));
  EXPECT_TRUE(worker.running()) << worker.Log();
  EXPECT_EQ(StatusOf(stack_, "w1"), jq::DRAINING);
  EXPECT_EQ(stack_.Get(later).status(), jq::PENDING) << "a draining worker took a new job";
  ASSERT_TRUE(Resume(stack_, "w1").ok());
  EXPECT_EQ(stack_.WaitFor(later, jq::DONE, seconds(5)).worker_id(), "w1");
  EXPECT_EQ(StatusOf(stack_, "w1"), jq::ONLINE);
  EXPECT_TRUE(worker.running());
  jq::ResumeWorkerRequest nobody;
  nobody.set_worker_id("nobody");
  jq::ResumeWorkerResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(stack_.Admin()->ResumeWorker(&ctx, nobody, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(WorkerE2E, ShutdownLetsRunningJobsFinishThenTheWorkerLeaves) {
  auto& worker = stack_.StartWorker({.id = "w1"});
  const std::string id = stack_.Submit({"sleep", "2"});
  stack_.WaitFor(id, jq::RUNNING);
  ASSERT_TRUE(Shutdown(stack_, "w1", /*now=*/false).ok());
  EXPECT_EQ(StatusOf(stack_, "w1"), jq::DRAINING);
  const std::string later = stack_.Submit({"true"});
  auto exit = worker.Wait(seconds(10));
  ASSERT_TRUE(exit.has_value()) << "worker did not shut down";
  EXPECT_EQ(*exit, 0);
  auto job = stack_.Get(id);
  EXPECT_EQ(job.status(), jq::DONE) << "shutdown killed the running job";
  EXPECT_EQ(job.attempt(), 1);
  EXPECT_EQ(job.retry_count(), 0);
  EXPECT_EQ(StatusOf(stack_, "w1"), jq::OFFLINE);
  EXPECT_EQ(stack_.Get(later).status(), jq::PENDING) << "a worker shutting down took a new job";
}

TEST_F(WorkerE2E, ShutdownNowRequeuesRunningJobsWithoutUsingARetry) {
  auto& worker = stack_.StartWorker({.id = "w1"});
  // Runs for ever on w1 only; no retries left, so a used retry would dead-letter it.
  const std::string id = stack_.Submit(
      {"sh", "-c", "if [ \"$JQ_WORKER_ID\" = w1 ]; then sleep 300; fi; echo ran on $JQ_WORKER_ID"},
      "default", [](jq::SubmitJobRequest& r) {
        r.set_max_retries(0);
        r.set_max_retries_set(true);
      });
  stack_.WaitFor(id, jq::RUNNING);
  stack_.StartWorker({.id = "w2"});
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_TRUE(Shutdown(stack_, "w1", /*now=*/true).ok());
  auto exit = worker.Wait(seconds(10));
  ASSERT_TRUE(exit.has_value()) << "worker did not shut down";
  EXPECT_EQ(*exit, 0);
  auto job = stack_.WaitFor(id, jq::DONE, seconds(10));
  // Well within the lease (4 s) + worker timeout: the deregistration returned it.
  EXPECT_LT(std::chrono::steady_clock::now() - asked, seconds(4));
  EXPECT_EQ(job.worker_id(), "w2");
  EXPECT_EQ(job.result(), "ran on w2\n");
  EXPECT_EQ(job.retry_count(), 0);
  EXPECT_EQ(job.attempt(), 2);
  EXPECT_EQ(stack_.Reasons(id),
            (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "STARTED", "WORKER_SHUTDOWN",
                                      "RETRY", "ASSIGNED", "STARTED", "SUCCESS"}));
  EXPECT_EQ(StatusOf(stack_, "w1"), jq::OFFLINE);
}

// The drain is in the worker's row: the replica it fails over to, and the worker after a
// restart by its supervisor, keep it.
TEST_F(WorkerE2E, ADrainOutlivesAFailOverToAnotherReplicaAndARestartOfTheWorker) {
  stack_.StartServer();  // 1: the worker's first replica
  const std::string both = "ipv4:" + stack_.server_addr(1) + "," + stack_.server_addr(0);
  auto& first = stack_.StartWorker({.id = "w1", .env = {{"JQ_SERVER_ADDR", both}}});
  stack_.WaitFor(stack_.Submit({"true"}), jq::DONE);
  ASSERT_NE(stack_.server(1).Log().find("worker w1 stream open"), std::string::npos);
  ASSERT_EQ(stack_.server(0).Log().find("worker w1 stream open"), std::string::npos);
  ASSERT_TRUE(Drain(stack_, "w1", /*server=*/0).ok());  // not the replica holding its stream
  ASSERT_TRUE(WaitForLog(first, "drained:")) << first.Log();
  const std::string later = stack_.Submit({"true"});

  stack_.server(1).Kill();
  ASSERT_TRUE(WaitForLog(stack_.server(0), "worker w1 stream open")) << first.Log();
  ASSERT_TRUE(WaitForLog(first, "drained:", 2)) << "the new replica did not tell it again";
  std::this_thread::sleep_for(milliseconds(2500));  // heartbeats and dispatch passes
  EXPECT_EQ(StatusOf(stack_, "w1"), jq::DRAINING);
  EXPECT_EQ(stack_.Get(later).status(), jq::PENDING)
      << "a drained worker took a job after failing over";

  first.Kill();  // kill -9; its supervisor starts it again
  auto& second = stack_.StartWorker({.id = "w1"});
  ASSERT_TRUE(WaitForLog(second, "drained:", 3)) << second.Log();
  std::this_thread::sleep_for(milliseconds(2500));
  EXPECT_EQ(StatusOf(stack_, "w1"), jq::DRAINING);
  EXPECT_EQ(stack_.Get(later).status(), jq::PENDING) << "a restarted drained worker took a job";
  EXPECT_TRUE(second.running());

  ASSERT_TRUE(Resume(stack_, "w1").ok());
  EXPECT_EQ(stack_.WaitFor(later, jq::DONE, seconds(5)).worker_id(), "w1");
  EXPECT_EQ(StatusOf(stack_, "w1"), jq::ONLINE);
}

TEST_F(WorkerE2E, SigtermLetsRunningJobsFinish) {
  auto& worker = stack_.StartWorker({.id = "w1"});
  const std::string id = stack_.Submit({"sleep", "1"});
  stack_.WaitFor(id, jq::RUNNING);
  worker.Signal(SIGTERM);
  auto exit = worker.Wait(seconds(10));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(*exit, 0);
  EXPECT_EQ(stack_.Get(id).status(), jq::DONE);
}

}  // namespace
}  // namespace jq::testing
