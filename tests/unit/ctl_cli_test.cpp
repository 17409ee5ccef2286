// jq-ctl end to end against an in-process fake jq-server on a free port: flags become the right
// requests, replies the right output, failures the right exit codes. Also the pure parsing of
// flag values (ctl/args.h).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "admin_service.grpc.pb.h"
#include "ctl/args.h"
#include "ctl/cli.h"
#include "job_service.grpc.pb.h"

namespace {

using nlohmann::json;

// Records what it was sent and answers from scripted state. Thread-safe.
class FakeJobService : public jq::JobService::Service {
 public:
  std::mutex mu;
  jq::SubmitJobRequest last_submit;        // GUARDED_BY(mu)
  jq::ListJobsRequest last_list;           // GUARDED_BY(mu)
  std::string last_authorization;          // GUARDED_BY(mu)
  std::deque<jq::JobStatus> statuses;      // GetJobStatus answers in turn; the last one repeats
  std::vector<jq::JobEvent> watch_events;  // WatchJob sends these, then ends
  bool watch_implemented = true;
  int get_status_calls = 0;
  std::chrono::milliseconds delay{0};  // before answering GetJobStatus

  grpc::Status SubmitJob(grpc::ServerContext* ctx, const jq::SubmitJobRequest* req,
                         jq::SubmitJobResponse* resp) override {
    std::lock_guard lock(mu);
    last_submit = *req;
    auto auth = ctx->client_metadata().find("authorization");
    if (auth != ctx->client_metadata().end()) {
      last_authorization.assign(auth->second.data(), auth->second.size());
    }
    resp->set_job_id("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    return grpc::Status::OK;
  }

  grpc::Status GetJobStatus(grpc::ServerContext*, const jq::GetJobStatusRequest* req,
                            jq::GetJobStatusResponse* resp) override {
    std::this_thread::sleep_for(delay);
    if (req->job_id() == "123") {
      return {grpc::StatusCode::INVALID_ARGUMENT, "job_id '123' is not a valid UUID"};
    }
    std::lock_guard lock(mu);
    ++get_status_calls;
    jq::JobStatus status = statuses.empty() ? jq::PENDING : statuses.front();
    if (statuses.size() > 1) statuses.pop_front();
    resp->mutable_job()->set_job_id(req->job_id());
    resp->mutable_job()->set_queue_name("default");
    resp->mutable_job()->set_status(status);
    if (status == jq::DEAD_LETTERED) resp->mutable_job()->set_error_message("exit code 1");
    return grpc::Status::OK;
  }

  grpc::Status WatchJob(grpc::ServerContext*, const jq::WatchJobRequest*,
                        grpc::ServerWriter<jq::JobEvent>* writer) override {
    std::vector<jq::JobEvent> events;
    {
      std::lock_guard lock(mu);
      if (!watch_implemented) return {grpc::StatusCode::UNIMPLEMENTED, "no WatchJob"};
      events = watch_events;
    }
    for (const auto& e : events) writer->Write(e);
    return grpc::Status::OK;
  }

  grpc::Status GetJobLogs(grpc::ServerContext*, const jq::GetJobLogsRequest*,
                          jq::GetJobLogsResponse* resp) override {
    std::lock_guard lock(mu);
    for (const auto& e : watch_events) *resp->add_events() = e;
    return grpc::Status::OK;
  }

  grpc::Status ListJobs(grpc::ServerContext*, const jq::ListJobsRequest* req,
                        jq::ListJobsResponse* resp) override {
    std::lock_guard lock(mu);
    last_list = *req;
    resp->add_jobs()->set_job_id("j1");
    resp->set_next_page_token("next");
    return grpc::Status::OK;
  }
};

class FakeAdminService : public jq::AdminService::Service {
 public:
  std::mutex mu;
  jq::CreateQueueRequest last_create;  // GUARDED_BY(mu)
  std::atomic<bool> healthy{true};     // what GetSystemStatus reports

  grpc::Status CreateQueue(grpc::ServerContext*, const jq::CreateQueueRequest* req,
                           jq::CreateQueueResponse* resp) override {
    std::lock_guard lock(mu);
    last_create = *req;
    resp->mutable_queue()->set_name(req->name());
    return grpc::Status::OK;
  }

  grpc::Status DeleteQueue(grpc::ServerContext*, const jq::DeleteQueueRequest* req,
                           jq::DeleteQueueResponse*) override {
    if (!req->force()) return {grpc::StatusCode::FAILED_PRECONDITION, "queue has 3 pending jobs"};
    return grpc::Status::OK;
  }

  grpc::Status GetSystemStatus(grpc::ServerContext*, const jq::GetSystemStatusRequest*,
                               jq::GetSystemStatusResponse* resp) override {
    resp->set_healthy(healthy);
    resp->set_active_workers(2);
    auto* c = resp->add_components();
    c->set_name("postgres");
    c->set_healthy(healthy);
    if (!healthy) c->set_message("connection refused");
    auto* redis = resp->add_components();
    redis->set_name("redis");
    redis->set_healthy(true);
    resp->add_queue_stats()->set_queue_name("default");
    return grpc::Status::OK;
  }
};

class CtlCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&jobs_);
    builder.RegisterService(&admin_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    addr_ = "127.0.0.1:" + std::to_string(port);
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now()); }

  // Runs jq-ctl against the fake; out_ and err_ hold what it printed.
  int Ctl(std::vector<std::string> args, bool with_addr = true) {
    if (with_addr) args.insert(args.begin(), {"--server-addr", addr_});
    args.insert(args.begin(), "jq-ctl");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    std::ostringstream out, err;
    int rc = jq::ctl::Run(static_cast<int>(argv.size()), argv.data(), out, err);
    out_ = out.str();
    err_ = err.str();
    return rc;
  }

  static jq::JobEvent Event(std::int64_t id, jq::JobStatus from, jq::JobStatus to) {
    jq::JobEvent e;
    e.set_id(id);
    e.set_from_status(from);
    e.set_to_status(to);
    return e;
  }

  FakeJobService jobs_;
  FakeAdminService admin_;
  std::unique_ptr<grpc::Server> server_;
  std::string addr_;
  std::string out_, err_;
};

TEST_F(CtlCliTest, SubmitSendsEveryFlagAndPrintsOnlyTheId) {
  ASSERT_EQ(Ctl({"--api-key",
                 "secret",
                 "job",
                 "submit",
                 "--queue",
                 "emails",
                 "--payload",
                 R"({"command": ["true"]})",
                 "--priority",
                 "7",
                 "--max-retries",
                 "0",
                 "--ttl",
                 "60",
                 "--timeout",
                 "30",
                 "--run-at",
                 "2024-05-01 12:00:00",
                 "--idempotency-key",
                 "k1"}),
            0)
      << err_;
  EXPECT_EQ(out_, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\n");
  std::lock_guard lock(jobs_.mu);
  const auto& r = jobs_.last_submit;
  EXPECT_EQ(r.queue_name(), "emails");
  EXPECT_EQ(r.payload(), R"({"command": ["true"]})");
  EXPECT_EQ(r.priority(), 7);
  EXPECT_EQ(r.max_retries(), 0);
  EXPECT_TRUE(r.max_retries_set());
  EXPECT_EQ(r.ttl_seconds(), 60);
  EXPECT_EQ(r.timeout_seconds(), 30);  // the job's timeout, not the global --timeout
  EXPECT_EQ(r.run_at().seconds(), 1714564800);
  EXPECT_EQ(r.idempotency_key(), "k1");
  EXPECT_EQ(jobs_.last_authorization, "Bearer secret");
}

TEST_F(CtlCliTest, SubmitWithoutMaxRetriesLeavesItUnset) {
  ASSERT_EQ(Ctl({"job", "submit", "--queue", "q", "--payload", "{}", "--delay", "5"}), 0) << err_;
  std::lock_guard lock(jobs_.mu);
  EXPECT_FALSE(jobs_.last_submit.max_retries_set());
  EXPECT_EQ(jobs_.last_submit.delay_seconds(), 5);
  EXPECT_TRUE(jobs_.last_authorization.empty());
}

TEST_F(CtlCliTest, SubmitRejectsInvalidPayloadBeforeCalling) {
  EXPECT_EQ(Ctl({"job", "submit", "--queue", "q", "--payload", "{nope"}), 2);
  EXPECT_NE(err_.find("--payload"), std::string::npos) << err_;
  std::lock_guard lock(jobs_.mu);
  EXPECT_TRUE(jobs_.last_submit.queue_name().empty());
}

TEST_F(CtlCliTest, WaitFollowsWatchJob) {
  {
    std::lock_guard lock(jobs_.mu);
    jobs_.watch_events = {Event(1, jq::JOB_STATUS_UNSPECIFIED, jq::PENDING),
                          Event(2, jq::RUNNING, jq::DONE)};
    jobs_.statuses = {jq::DONE};
  }
  EXPECT_EQ(Ctl({"job", "submit", "--queue", "q", "--payload", "{}", "--wait"}), 0) << err_;
  EXPECT_EQ(out_, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\nDONE\n");
}

TEST_F(CtlCliTest, WaitPollsWhenWatchJobIsUnimplemented) {
  {
    std::lock_guard lock(jobs_.mu);
    jobs_.watch_implemented = false;
    jobs_.statuses = {jq::PENDING, jq::RUNNING, jq::DEAD_LETTERED};
  }
  EXPECT_EQ(Ctl({"-o", "json", "job", "submit", "--queue", "q", "--payload", "{}", "--wait"}), 1);
  json j = json::parse(out_);
  EXPECT_EQ(j["status"], "DEAD_LETTERED");
  EXPECT_EQ(j["job_id"], "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
  EXPECT_NE(err_.find("DEAD_LETTERED: exit code 1"), std::string::npos) << err_;
  std::lock_guard lock(jobs_.mu);
  EXPECT_EQ(jobs_.get_status_calls, 3);
}

TEST_F(CtlCliTest, WatchPrintsEachEvent) {
  {
    std::lock_guard lock(jobs_.mu);
    jobs_.watch_events = {Event(1, jq::JOB_STATUS_UNSPECIFIED, jq::PENDING),
                          Event(2, jq::PENDING, jq::ASSIGNED), Event(3, jq::ASSIGNED, jq::DONE)};
    jobs_.statuses = {jq::DONE};
  }
  ASSERT_EQ(Ctl({"job", "watch", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "--output", "json"}), 0)
      << err_;
  std::istringstream lines(out_);
  std::vector<json> events;
  for (std::string line; std::getline(lines, line);) events.push_back(json::parse(line));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2]["to_status"], "DONE");
}

TEST_F(CtlCliTest, WatchFallsBackToPollingLogs) {
  {
    std::lock_guard lock(jobs_.mu);
    jobs_.watch_implemented = false;
    jobs_.watch_events = {Event(1, jq::JOB_STATUS_UNSPECIFIED, jq::PENDING),
                          Event(2, jq::PENDING, jq::DEAD_LETTERED)};
    jobs_.statuses = {jq::DEAD_LETTERED};
  }
  ASSERT_EQ(Ctl({"job", "watch", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}), 0) << err_;
  EXPECT_NE(out_.find("OCCURRED_AT"), std::string::npos) << out_;
  EXPECT_NE(out_.find("DEAD_LETTERED"), std::string::npos) << out_;
}

TEST_F(CtlCliTest, ServerErrorIsOneLineAndExitOne) {
  EXPECT_EQ(Ctl({"job", "status", "123"}), 1);
  EXPECT_EQ(err_, "jq-ctl: job status 123: INVALID_ARGUMENT: job_id '123' is not a valid UUID\n");
  EXPECT_EQ(Ctl({"queue", "delete", "q"}), 1);
  EXPECT_EQ(err_, "jq-ctl: queue delete q: FAILED_PRECONDITION: queue has 3 pending jobs\n");
  EXPECT_EQ(Ctl({"queue", "delete", "q", "--force"}), 0) << err_;
  EXPECT_EQ(out_, "q: deleted\n");
}

TEST_F(CtlCliTest, UnimplementedRpcIsExitOne) {
  EXPECT_EQ(Ctl({"worker", "list"}), 1);
  EXPECT_NE(err_.find("jq-ctl: worker list: UNIMPLEMENTED"), std::string::npos) << err_;
}

TEST_F(CtlCliTest, DeadlineExceededIsExitThree) {
  jobs_.delay = std::chrono::milliseconds(1000);
  EXPECT_EQ(Ctl({"--timeout", "0.2", "job", "status", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}), 3);
  EXPECT_NE(err_.find("DEADLINE_EXCEEDED"), std::string::npos) << err_;
}

TEST_F(CtlCliTest, UnreachableServerIsExitThree) {
  EXPECT_EQ(Ctl({"--server-addr", "127.0.0.1:1", "status"}, /*with_addr=*/false), 3);
  EXPECT_NE(err_.find("jq-ctl: status: UNAVAILABLE"), std::string::npos) << err_;
}

TEST_F(CtlCliTest, ListParsesStatusNames) {
  ASSERT_EQ(Ctl({"job", "list", "--status", "dead_lettered", "--queue", "q", "--limit", "5",
                 "--page-token", "t0"}),
            0)
      << err_;
  EXPECT_NE(out_.find("next_page_token: next"), std::string::npos) << out_;
  std::lock_guard lock(jobs_.mu);
  EXPECT_EQ(jobs_.last_list.status(), jq::DEAD_LETTERED);
  EXPECT_EQ(jobs_.last_list.queue_name(), "q");
  EXPECT_EQ(jobs_.last_list.limit(), 5);
  EXPECT_EQ(jobs_.last_list.page_token(), "t0");
}

TEST_F(CtlCliTest, QueueCreateSetsExtensions) {
  ASSERT_EQ(Ctl({"queue", "create", "emails", "--max-retries", "0", "--timeout", "30",
                 "--concurrency", "4", "--ttl", "600", "-o", "yaml"}),
            0)
      << err_;
  EXPECT_NE(out_.find("name: emails"), std::string::npos) << out_;
  std::lock_guard lock(admin_.mu);
  EXPECT_EQ(admin_.last_create.name(), "emails");
  EXPECT_TRUE(admin_.last_create.max_retries_set());
  EXPECT_EQ(admin_.last_create.timeout_seconds(), 30);
  EXPECT_EQ(admin_.last_create.concurrency_limit(), 4);
  EXPECT_EQ(admin_.last_create.ttl_seconds(), 600);
}

TEST_F(CtlCliTest, SystemStatus) {
  ASSERT_EQ(Ctl({"status", "--output", "json"}), 0) << err_;
  json j = json::parse(out_);
  EXPECT_EQ(j["healthy"], true);
  EXPECT_EQ(j["active_workers"], 2);
  EXPECT_EQ(j["components"][0]["name"], "postgres");
  EXPECT_EQ(j["queue_stats"][0]["queue_name"], "default");
}

TEST_F(CtlCliTest, UsageErrorsAreExitTwo) {
  EXPECT_EQ(Ctl({}), 2);
  EXPECT_EQ(Ctl({"frobnicate"}), 2);
  EXPECT_EQ(err_, "jq-ctl: unknown command 'frobnicate' (see jq-ctl --help)\n");
  EXPECT_EQ(Ctl({"job", "list", "--status", "nope"}), 2);
  EXPECT_EQ(Ctl({"job", "submit", "--queue", "q", "--payload", "{}", "--delay", "1", "--run-at",
                 "2024-05-01T12:00:00Z"}),
            2);
  EXPECT_EQ(Ctl({"--output", "xml", "status"}), 2);
  EXPECT_EQ(Ctl({"--timeout", "0", "status"}), 2);
}

TEST_F(CtlCliTest, VersionAndHelp) {
  EXPECT_EQ(Ctl({"--version"}, false), 0);
  EXPECT_EQ(out_.rfind("jq version ", 0), 0u) << out_;
  EXPECT_NE(out_.find("(build: "), std::string::npos);
  EXPECT_EQ(Ctl({"job", "submit", "--help"}, false), 0);
  EXPECT_NE(out_.find("--idempotency-key"), std::string::npos) << out_;
}

// ---- The seed's spellings and the status exit code ----

TEST_F(CtlCliTest, StatusExitsFourWhenTheSystemIsUnhealthy) {
  admin_.healthy = false;
  EXPECT_EQ(Ctl({"status"}), 4);
  EXPECT_NE(out_.find("postgres"), std::string::npos) << out_;  // the report is still printed
  EXPECT_EQ(err_, "jq-ctl: status: the system is unhealthy (postgres: connection refused)\n");
  EXPECT_EQ(Ctl({"-o", "json", "system", "status"}), 4);
  EXPECT_EQ(json::parse(out_)["healthy"], false);
  admin_.healthy = true;
  EXPECT_EQ(Ctl({"status"}), 0) << err_;
  EXPECT_TRUE(err_.empty()) << err_;
}

TEST_F(CtlCliTest, SystemStatusIsTheSeedsSpellingOfStatus) {
  ASSERT_EQ(Ctl({"system", "status", "--output", "json"}), 0) << err_;
  EXPECT_EQ(json::parse(out_)["active_workers"], 2);
  ASSERT_EQ(Ctl({"system"}), 0) << err_;  // the seed took the subcommand as optional
  EXPECT_NE(out_.find("active_workers"), std::string::npos) << out_;
  EXPECT_EQ(Ctl({"system", "frobnicate"}), 2);
}

TEST_F(CtlCliTest, VersionCommandPrintsWhatVersionFlagPrints) {
  ASSERT_EQ(Ctl({"--version"}, false), 0);
  const std::string flag = out_;
  // No server needed: the address points nowhere.
  ASSERT_EQ(Ctl({"--server-addr", "127.0.0.1:1", "version"}, false), 0) << err_;
  EXPECT_EQ(out_, flag);
  EXPECT_EQ(out_.rfind("jq version ", 0), 0u) << out_;
}

TEST_F(CtlCliTest, PayloadFromFile) {
  const std::string path = ::testing::TempDir() + "/jq-ctl-payload.json";
  const std::string payload = "{\"command\": [\"echo\", \"from a file\"]}\n";
  std::ofstream(path) << payload;
  ASSERT_EQ(Ctl({"job", "submit", "--queue", "q", "--payload", "@" + path}), 0) << err_;
  {
    std::lock_guard lock(jobs_.mu);
    EXPECT_EQ(jobs_.last_submit.payload(), payload);  // as the file holds it
  }
  EXPECT_EQ(Ctl({"job", "submit", "--queue", "q", "--payload", "@" + path + ".missing"}), 2);
  EXPECT_NE(err_.find("jq-ctl: job submit: --payload @" + path + ".missing: cannot read"),
            std::string::npos)
      << err_;
  std::ofstream(path) << "{not json";
  EXPECT_EQ(Ctl({"job", "submit", "--queue", "q", "--payload", "@" + path}), 2);
  EXPECT_NE(err_.find("--payload @" + path + " is not valid JSON"), std::string::npos) << err_;
  std::filesystem::remove(path);
}

TEST_F(CtlCliTest, QueueCreateTakesTheSeedsNameFlag) {
  ASSERT_EQ(Ctl({"queue", "create", "--name", "emails", "--max-retries", "2"}), 0) << err_;
  {
    std::lock_guard lock(admin_.mu);
    EXPECT_EQ(admin_.last_create.name(), "emails");
    EXPECT_EQ(admin_.last_create.max_retries(), 2);
  }
  EXPECT_EQ(Ctl({"queue", "create"}), 2);
  EXPECT_NE(err_.find("name is required"), std::string::npos) << err_;
}

TEST_F(CtlCliTest, SeedGlobalFlagsAreAcceptedAndSaySoOnStderr) {
  ASSERT_EQ(Ctl({"--config", "/etc/jq/config.yaml", "--log-level", "debug", "status"}), 0) << err_;
  EXPECT_NE(err_.find("jq-ctl: --config has no effect"), std::string::npos) << err_;
  EXPECT_NE(err_.find("jq-ctl: --log-level has no effect"), std::string::npos) << err_;
  EXPECT_NE(out_.find("active_workers"), std::string::npos) << out_;
}

TEST_F(CtlCliTest, HelpDocumentsTheExitCodes) {
  ASSERT_EQ(Ctl({"--help"}, false), 0);
  EXPECT_NE(out_.find("4 status: the system is unhealthy"), std::string::npos) << out_;
  EXPECT_NE(out_.find("system"), std::string::npos) << out_;
  EXPECT_NE(out_.find("version"), std::string::npos) << out_;
}

// 2024-05-01 12:00:00 UTC.
constexpr std::int64_t kMay1Noon = 1714564800;

TEST(CtlTime, ParsesRfc3339AndPlainUtc) {
  for (const char* text :
       {"2024-05-01T12:00:00Z", "2024-05-01 12:00:00", "2024-05-01T12:00:00",
        "2024-05-01t12:00:00z", "2024-05-01T14:00:00+02:00", "2024-05-01 12:00:00Z"}) {
    auto ts = jq::ctl::ParseTime(text);
    ASSERT_TRUE(ts.has_value()) << text;
    EXPECT_EQ(ts->seconds(), kMay1Noon) << text;
  }
  auto frac = jq::ctl::ParseTime("2024-05-01T12:00:00.25Z");
  ASSERT_TRUE(frac.has_value());
  EXPECT_EQ(frac->nanos(), 250000000);
}

TEST(CtlTime, RejectsNonTimes) {
  for (const char* text : {"", "tomorrow", "2024-05-01", "2024-13-01 12:00:00",
                           "2024-02-30 12:00:00", "2024-05-01 12:00:00 junk", "1714564800"}) {
    EXPECT_FALSE(jq::ctl::ParseTime(text).has_value()) << text;
  }
}

TEST(CtlOutputFormat, Parses) {
  using jq::ctl::OutputFormat;
  using jq::ctl::ParseOutputFormat;
  EXPECT_EQ(ParseOutputFormat("table"), OutputFormat::kTable);
  EXPECT_EQ(ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(ParseOutputFormat("yaml"), OutputFormat::kYaml);
  EXPECT_FALSE(ParseOutputFormat("xml").has_value());
}

TEST(CtlJson, ErrorSaysWhyWithoutPrefix) {
  EXPECT_FALSE(jq::ctl::JsonError(R"({"command": ["true"]})").has_value());
  auto error = jq::ctl::JsonError("{nope");
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->find("[json.exception"), std::string::npos) << *error;
  EXPECT_NE(error->find("syntax error"), std::string::npos) << *error;
}

}  // namespace
