// jq-server end to end over gRPC, with in-test workers written only against the seed's
// WorkerService (no jq extensions), so that seed clients keep working.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <thread>

#include "e2e/e2e_support.h"
#include "support/test_servers.h"

namespace jq::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A worker that uses only the seed's messages and fields: register, stream, report success
// (at once, or when the test says: hold). Destroying it is a crash: no Deregister.
class SeedWorker {
 public:
  SeedWorker(std::string addr, std::string id, int concurrency = 4, bool hold = false)
      : id_(std::move(id)), hold_(hold), stub_(jq::WorkerService::NewStub(TestChannel(addr))) {
    jq::RegisterWorkerRequest req;
    req.set_worker_id(id_);
    req.set_hostname("test");
    req.set_concurrency(concurrency);
    jq::RegisterWorkerResponse resp;
    grpc::ClientContext ctx;
    auto st = stub_->RegisterWorker(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    thread_ = std::thread([this] { Run(); });
    // Seed heartbeats (worker_id, active_job_count only) keep it ONLINE and its leases
    // renewed, however slowly a loaded machine runs the test.
    heartbeat_ = std::thread([this] {
      while (!stop_) {
        jq::HeartbeatRequest hb;
        hb.set_worker_id(id_);
        jq::HeartbeatResponse resp;
        grpc::ClientContext ctx;
        stub_->Heartbeat(&ctx, hb, &resp);
        for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(milliseconds(100));
      }
    });
  }
  ~SeedWorker() {
    stop_ = true;
    stream_ctx_.TryCancel();
    thread_.join();
    heartbeat_.join();
  }
  std::vector<std::string> done() {
    std::lock_guard lock(mu_);
    return done_;
  }
  // hold: the jobs received and not yet reported.
  std::vector<std::string> held() {
    std::lock_guard lock(mu_);
    return held_;
  }
  grpc::Status Report(const std::string& job_id) {
    jq::ReportResultRequest r;
    r.set_worker_id(id_);
    r.set_job_id(job_id);
    r.set_success(true);
    r.set_result("ran by " + id_);
    jq::ReportResultResponse resp;
    grpc::ClientContext ctx;
    auto st = stub_->ReportResult(&ctx, r, &resp);
    std::lock_guard lock(mu_);
    std::erase(held_, job_id);
    if (st.ok()) {
      done_.push_back(job_id);
    } else {
      ++refused_;
    }
    return st;
  }
  int refused() const { return refused_.load(); }

 private:
  void Run() {
    jq::StreamJobsRequest req;
    req.set_worker_id(id_);
    auto reader = stub_->StreamJobs(&stream_ctx_, req);
    jq::JobAssignment a;
    while (reader->Read(&a)) {
      if (hold_) {
        std::lock_guard lock(mu_);
        held_.push_back(a.job_id());
      } else {
        Report(a.job_id());
      }
    }
    reader->Finish();
  }

  std::string id_;
  const bool hold_;
  std::unique_ptr<jq::WorkerService::Stub> stub_;
  grpc::ClientContext stream_ctx_;
  std::mutex mu_;
  std::vector<std::string> done_;
  std::vector<std::string> held_;
  std::atomic<int> refused_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::thread heartbeat_;
};

template <typename Call>
grpc::Status Invoke(Call&& call) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  return call(&ctx);
}

// Issue 7 item 3: a seed worker sends no ReportStarted and lists no jobs in its heartbeats.
TEST(ServerE2E, ASeedWorkersJobRunsFromDeliveryAndOutlivesItsTtl) {
  Stack stack;
  stack.StartServer();
  SeedWorker worker(stack.server_addr(0), "seed-1", 1, /*hold=*/true);
  const std::string id =
      stack.Submit({"true"}, "default", [](jq::SubmitJobRequest& r) { r.set_ttl_seconds(2); });
  stack.WaitFor(id, jq::RUNNING, seconds(10));
  std::this_thread::sleep_for(seconds(3));  // past its TTL, which is about starting
  EXPECT_EQ(stack.Get(id).status(), jq::RUNNING);
  ASSERT_TRUE(worker.Report(id).ok());
  EXPECT_EQ(stack.WaitFor(id, jq::DONE).attempt(), 1);
  EXPECT_EQ(stack.Reasons(id),
            (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
}

TEST(ServerE2E, ASeedWorkerThatRegistersAgainGetsItsEarlierRunsJobBack) {
  Stack stack;
  stack.StartServer();
  const std::string id = stack.Submit({"true"});
  {
    SeedWorker crashed(stack.server_addr(0), "seed-1", 1, /*hold=*/true);
    stack.WaitFor(id, jq::RUNNING, seconds(10));
  }  // gone without a Deregister; it restarts at once, under the same id
  SeedWorker restarted(stack.server_addr(0), "seed-1", 1, /*hold=*/true);
  // Its heartbeats keep the id alive, so only the registration can end the earlier lease.
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (restarted.held().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_EQ(restarted.held(), std::vector<std::string>{id})
      << "the restarted worker's slot is still taken by its earlier run's job";
  auto job = stack.Get(id);
  EXPECT_EQ(job.attempt(), 2);
  EXPECT_EQ(job.status(), jq::RUNNING);
  const auto reasons = stack.Reasons(id);
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "WORKER_LOST"), reasons.end());
  ASSERT_TRUE(restarted.Report(id).ok());
  stack.WaitFor(id, jq::DONE);
}

// Issue 7 item 6: WatchJob streams share one events query a tick (JobWatchHub).
TEST(ServerE2E, ManyWatchersOfAJobEachSeeItsWholeHistoryToTheEnd) {
  Stack stack;
  stack.StartServer();
  const std::string id = stack.Submit({"true"});
  const std::string other = stack.Submit({"true"});
  auto jobs = stack.Jobs();
  const auto watch = [&](const std::string& job) {
    return std::async(std::launch::async, [&, job] {
      jq::WatchJobRequest req;
      req.set_job_id(job);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + seconds(20));
      auto reader = jobs->WatchJob(&ctx, req);
      std::vector<std::string> reasons;
      for (jq::JobEvent e; reader->Read(&e);) reasons.push_back(e.reason());
      EXPECT_TRUE(reader->Finish().ok());
      return reasons;
    });
  };
  std::vector<std::future<std::vector<std::string>>> watchers;
  for (int i = 0; i < 8; ++i) watchers.push_back(watch(i % 4 == 3 ? other : id));
  std::this_thread::sleep_for(milliseconds(300));  // watching before anything runs
  SeedWorker worker(stack.server_addr(0), "seed-1");
  const std::vector<std::string> full{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"};
  for (auto& w : watchers) EXPECT_EQ(w.get(), full);
  EXPECT_EQ(watch(id).get(), full);  // a watcher of a finished job gets it all and ends
}

TEST(ServerE2E, CancellingASeedWorkersRunningJobIsRefusedAndItFinishes) {
  Stack stack;
  stack.StartServer();
  SeedWorker worker(stack.server_addr(0), "seed-1", 1, /*hold=*/true);
  const std::string id = stack.Submit({"true"});
  stack.WaitFor(id, jq::RUNNING, seconds(10));
  jq::CancelJobRequest req;
  req.set_job_id(id);
  jq::CancelJobResponse resp;
  grpc::ClientContext ctx;
  const grpc::Status st = stack.Jobs()->CancelJob(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("cannot be told to stop"), std::string::npos)
      << st.error_message();
  EXPECT_EQ(stack.Get(id).status(), jq::RUNNING);
  ASSERT_TRUE(worker.Report(id).ok());
  EXPECT_EQ(stack.WaitFor(id, jq::DONE).result(), "ran by seed-1");
}

TEST(ServerE2E, SeedClientSubmitsPollsListsCancelsRetriesAndReadsEvents) {
  Stack stack;
  stack.StartServer();
  auto jobs = stack.Jobs();
  // A pending job to cancel before any worker exists.
  const std::string cancelled = stack.Submit({"true"});
  ASSERT_TRUE(Invoke([&](grpc::ClientContext* c) {
                jq::CancelJobRequest r;
                r.set_job_id(cancelled);
                jq::CancelJobResponse resp;
                return jobs->CancelJob(c, r, &resp);
              }).ok());
  EXPECT_EQ(stack.Get(cancelled).status(), jq::DEAD_LETTERED);

  SeedWorker worker(stack.server_addr(0), "seed-1");
  const std::string id = stack.Submit({"echo", "hello"});
  auto done = stack.WaitFor(id, jq::DONE);
  EXPECT_EQ(done.result(), "ran by seed-1");
  EXPECT_EQ(done.worker_id(), "seed-1");
  EXPECT_EQ(done.max_retries(), 3);  // the default queue's
  EXPECT_TRUE(done.has_started_at());
  EXPECT_TRUE(done.has_completed_at());
  EXPECT_EQ(stack.Reasons(id),
            (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));

  jq::ListJobsRequest lr;
  lr.set_status(jq::DONE);
  jq::ListJobsResponse list;
  ASSERT_TRUE(Invoke([&](grpc::ClientContext* c) { return jobs->ListJobs(c, lr, &list); }).ok());
  ASSERT_EQ(list.jobs_size(), 1);
  EXPECT_EQ(list.jobs(0).job_id(), id);

  jq::RetryJobRequest rr;
  rr.set_job_id(cancelled);
  jq::RetryJobResponse rresp;
  ASSERT_TRUE(Invoke([&](grpc::ClientContext* c) { return jobs->RetryJob(c, rr, &rresp); }).ok());
  stack.WaitFor(cancelled, jq::DONE);
  auto reasons = stack.Reasons(cancelled);
  EXPECT_EQ(reasons[1], "CANCELLED");
  EXPECT_EQ(reasons[2], "MANUAL_RETRY");
}

TEST(ServerE2E, EveryBadInputGetsItsCodeAndTheServerStaysHealthy) {
  Stack stack;
  stack.StartServer();
  auto jobs = stack.Jobs();
  auto admin = stack.Admin();
  auto submit = [&](std::function<void(jq::SubmitJobRequest&)> f) {
    jq::SubmitJobRequest r;
    r.set_queue_name("default");
    r.set_payload("{}");
    f(r);
    jq::SubmitJobResponse resp;
    return Invoke([&](grpc::ClientContext* c) { return jobs->SubmitJob(c, r, &resp); });
  };
  auto status = [&](const std::string& id) {
    jq::GetJobStatusRequest r;
    r.set_job_id(id);
    jq::GetJobStatusResponse resp;
    return Invoke([&](grpc::ClientContext* c) { return jobs->GetJobStatus(c, r, &resp); });
  };
  struct Case {
    std::string what;
    grpc::Status got;
    grpc::StatusCode code;
    std::string needle;
  };
  const std::string big(1024 * 1024 + 1, 'x');
  std::vector<Case> cases = {
      {"empty id", status(""), grpc::INVALID_ARGUMENT, "job_id is required"},
      {"malformed id", status("xyz"), grpc::INVALID_ARGUMENT, "not a valid UUID"},
      {"unknown id", status("0190a3c4-1b2c-7d3e-8f40-123456789abc"), grpc::NOT_FOUND, "not found"},
      {"oversized payload", submit([&](auto& r) { r.set_payload(big); }), grpc::INVALID_ARGUMENT,
       "over the limit"},
      {"priority", submit([](auto& r) { r.set_priority(10); }), grpc::INVALID_ARGUMENT,
       "priority 10"},
      {"bad queue name", submit([](auto& r) { r.set_queue_name("Bad Name"); }),
       grpc::INVALID_ARGUMENT, "queue_name"},
      {"missing queue", submit([](auto& r) { r.set_queue_name("nope"); }), grpc::NOT_FOUND,
       "queue 'nope' not found"},
      {"negative ttl", submit([](auto& r) { r.set_ttl_seconds(-1); }), grpc::INVALID_ARGUMENT,
       "ttl_seconds"},
      {"run_at beyond 2255",
       submit([](auto& r) { r.mutable_run_at()->set_seconds(10'000'000'000LL); }),
       grpc::INVALID_ARGUMENT, "run_at is out of range"},
  };
  {
    jq::CreateQueueRequest q;
    q.set_name("default");
    jq::CreateQueueResponse resp;
    cases.push_back({"existing queue", Invoke([&](grpc::ClientContext* c) {
                       return admin->CreateQueue(c, q, &resp);
                     }),
                     grpc::ALREADY_EXISTS, "already exists"});
    q.set_name("UPPER");
    cases.push_back({"bad queue create", Invoke([&](grpc::ClientContext* c) {
                       return admin->CreateQueue(c, q, &resp);
                     }),
                     grpc::INVALID_ARGUMENT, "name"});
  }
  {
    const std::string id = stack.Submit({"true"});
    jq::DeleteQueueRequest d;
    d.set_name("default");
    jq::DeleteQueueResponse resp;
    cases.push_back({"delete default", Invoke([&](grpc::ClientContext* c) {
                       return admin->DeleteQueue(c, d, &resp);
                     }),
                     grpc::FAILED_PRECONDITION, "cannot be deleted"});
    jq::CancelJobRequest cr;
    cr.set_job_id(id);
    jq::CancelJobResponse cresp;
    ASSERT_TRUE(
        Invoke([&](grpc::ClientContext* c) { return jobs->CancelJob(c, cr, &cresp); }).ok());
    cases.push_back({"cancel finished",
                     Invoke([&](grpc::ClientContext* c) { return jobs->CancelJob(c, cr, &cresp); }),
                     grpc::FAILED_PRECONDITION, "is DEAD_LETTERED"});
    jq::ListJobsRequest lr;
    lr.set_page_token("garbage");
    jq::ListJobsResponse lresp;
    cases.push_back({"bad page token",
                     Invoke([&](grpc::ClientContext* c) { return jobs->ListJobs(c, lr, &lresp); }),
                     grpc::INVALID_ARGUMENT, "page_token"});
  }
  for (const auto& c : cases) {
    EXPECT_EQ(c.got.error_code(), c.code) << c.what << ": " << c.got.error_message();
    EXPECT_NE(c.got.error_message().find(c.needle), std::string::npos)
        << c.what << ": " << c.got.error_message();
  }
  // Garbage bytes on the gRPC port: the connection is dropped, the server carries on.
  {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(stack.server_addr(0).substr(10))));
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const char junk[] = "GET / HTTP/1.1\r\n\r\n\x00\xff\xfe garbage garbage";
    (void)!write(fd, junk, sizeof junk);
    close(fd);
  }
  EXPECT_TRUE(stack.server(0).running());
  EXPECT_FALSE(stack.Submit({"true"}).empty());
}

TEST(ServerE2E, ThreeReplicasNeverHandOneJobToTwoWorkers) {
  Stack stack;
  for (int i = 0; i < 3; ++i) stack.StartServer();
  std::vector<std::unique_ptr<SeedWorker>> workers;
  for (int i = 0; i < 3; ++i) {
    workers.push_back(
        std::make_unique<SeedWorker>(stack.server_addr(i), "seed-" + std::to_string(i), 8));
  }
  constexpr int kJobs = 1500;
  std::set<std::string> ids;
  for (int b = 0; b < kJobs / 100; ++b) {
    jq::SubmitJobsRequest req;
    for (int i = 0; i < 100; ++i) {
      auto* j = req.add_jobs();
      j->set_queue_name("default");
      j->set_payload(R"({"command":["true"]})");
    }
    jq::SubmitJobsResponse resp;
    // Spread submissions over the replicas.
    auto stub = stack.Jobs(b % 3);
    ASSERT_TRUE(
        Invoke([&](grpc::ClientContext* c) { return stub->SubmitJobs(c, req, &resp); }).ok());
    for (const auto& r : resp.results()) ids.insert(r.job_id());
  }
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kJobs));
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  std::size_t total = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    total = 0;
    for (auto& w : workers) total += w->done().size();
    if (total >= static_cast<std::size_t>(kJobs)) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::map<std::string, int> runs;
  for (auto& w : workers) {
    for (const auto& id : w->done()) ++runs[id];
    EXPECT_EQ(w->refused(), 0);
    EXPECT_GT(w->done().size(), 0u) << "every replica's worker got work";
  }
  EXPECT_EQ(runs.size(), static_cast<std::size_t>(kJobs));
  for (const auto& [id, n] : runs) ASSERT_EQ(n, 1) << id << " completed " << n << " times";
  jq::ListJobsRequest lr;
  lr.set_status(jq::DONE);
  lr.set_limit(100);
  jq::ListJobsResponse list;
  auto jobs = stack.Jobs();
  ASSERT_TRUE(Invoke([&](grpc::ClientContext* c) { return jobs->ListJobs(c, lr, &list); }).ok());
  EXPECT_EQ(list.jobs_size(), 100);
  EXPECT_FALSE(list.next_page_token().empty());
}

TEST(ServerE2E, StaleReportIsRefusedWithFailedPrecondition) {
  Stack stack;
  stack.StartServer();
  auto workers = stack.Workers();
  jq::RegisterWorkerRequest reg;
  reg.set_worker_id("w-stale");
  reg.set_concurrency(1);
  reg.set_supports_control(true);  // a jq-worker: its job stays ASSIGNED until it says started
  jq::RegisterWorkerResponse rresp;
  ASSERT_TRUE(
      Invoke([&](grpc::ClientContext* c) { return workers->RegisterWorker(c, reg, &rresp); }).ok());
  const std::string id = stack.Submit({"true"});
  grpc::ClientContext sctx;
  jq::StreamJobsRequest sreq;
  sreq.set_worker_id("w-stale");
  auto reader = workers->StreamJobs(&sctx, sreq);
  jq::JobAssignment a;
  ASSERT_TRUE(reader->Read(&a));
  EXPECT_EQ(a.job_id(), id);
  EXPECT_EQ(a.attempt(), 1);
  jq::ReportResultRequest r;
  r.set_worker_id("w-stale");
  r.set_job_id(id);
  r.set_success(true);
  r.set_attempt(7);  // not the lease it holds
  jq::ReportResultResponse resp;
  auto st = Invoke([&](grpc::ClientContext* c) { return workers->ReportResult(c, r, &resp); });
  EXPECT_EQ(st.error_code(), grpc::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("stale lease"), std::string::npos);
  EXPECT_EQ(stack.Get(id).status(), jq::ASSIGNED);
  r.set_worker_id("someone-else");
  r.set_attempt(1);
  st = Invoke([&](grpc::ClientContext* c) { return workers->ReportResult(c, r, &resp); });
  EXPECT_EQ(st.error_code(), grpc::FAILED_PRECONDITION);
  r.set_worker_id("w-stale");
  st = Invoke([&](grpc::ClientContext* c) { return workers->ReportResult(c, r, &resp); });
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(stack.Get(id).status(), jq::DONE);
  sctx.TryCancel();
  reader->Finish();
}

// --- A seed system's database (issue 12) ----------------------------------------------------

void Sql(const std::string& db, const std::string& sql) {
  pqxx::connection c(db);
  pqxx::work tx(c);
  tx.exec(sql);
  tx.commit();
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

// jq-server with these arguments on the stack's database, to its exit.
std::pair<int, std::string> RunServer(Stack& stack, const std::vector<std::string>& args,
                                      const std::string& log_name) {
  std::vector<std::string> argv = {BinaryPath("jq-server")};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(argv,
            {{"JQ_DB_URL", stack.conninfo()},
             {"JQ_SERVER_ADDR", "127.0.0.1:" + std::to_string(FreePort())},
             {"JQ_METRICS_ADDR", "127.0.0.1:" + std::to_string(FreePort())}},
            stack.dir() + "/" + log_name + ".log");
  auto code = p.Wait(seconds(60));
  if (!code) p.Kill();
  return {code.value_or(-999), p.Log()};
}

TEST(ServerE2E, SeedDatabaseIsRefusedUntilMigrateFromSeedConvertsIt) {
  Stack stack;
  std::ifstream f(SourcePath("tests/integration/data/seed_schema_v1_v5.sql"));
  std::stringstream ddl;
  ddl << f.rdbuf();
  Sql(stack.conninfo(), ddl.str());
  const std::string done_id = "20000000-0000-4000-8000-000000000001";
  const std::string pending_id = "20000000-0000-4000-8000-000000000002";
  // As the seed leaves a finished job and a waiting one.
  Sql(stack.conninfo(),
      "INSERT INTO jobs (job_id, queue_name, payload, status, result, error_message,"
      " started_at, completed_at) VALUES ('" +
          done_id +
          "', 'default', 'x', 'DONE', 'seed output', '', now(), now()),"
          " ('" +
          pending_id +
          "', 'default', convert_to('{\"command\":[\"true\"]}', 'UTF8'), 'PENDING', NULL, NULL,"
          " NULL, NULL);"
          "INSERT INTO job_events (job_id, from_status, to_status, reason) VALUES"
          " ('" +
          done_id + "', NULL, 'PENDING', 'SUBMITTED'), ('" + done_id +
          "', 'PENDING', 'ASSIGNED', 'ASSIGNED'), ('" + done_id +
          "', 'ASSIGNED', 'RUNNING', 'STARTED'), ('" + done_id +
          "', 'RUNNING', 'DONE', 'SUCCESS'), ('" + pending_id + "', NULL, 'PENDING', 'SUBMITTED')");

  const std::string way_out = "jq-server migrate --from-seed";
  auto [dry_code, dry_log] = RunServer(stack, {"--dry-run"}, "dry-run-seed");
  EXPECT_NE(dry_code, 0) << dry_log;
  EXPECT_NE(dry_log.find("database: FAILED"), std::string::npos) << dry_log;
  EXPECT_NE(dry_log.find(way_out), std::string::npos) << dry_log;

  auto [start_code, start_log] = RunServer(stack, {}, "start-seed");
  EXPECT_NE(start_code, 0) << start_log;
  EXPECT_NE(start_log.find(way_out), std::string::npos) << start_log;

  auto [plain_code, plain_log] = RunServer(stack, {"migrate"}, "migrate-plain");
  EXPECT_NE(plain_code, 0) << plain_log;
  EXPECT_NE(plain_log.find(way_out), std::string::npos) << plain_log;

  auto [conv_code, conv_log] = RunServer(stack, {"migrate", "--from-seed"}, "migrate-from-seed");
  ASSERT_EQ(conv_code, 0) << conv_log;
  EXPECT_NE(conv_log.find("converted the seed database: 1 queues, 2 jobs, 5 events"),
            std::string::npos)
      << conv_log;

  auto [again_code, again_log] = RunServer(stack, {"--dry-run"}, "dry-run-converted");
  EXPECT_EQ(again_code, 0) << again_log;

  const int metrics_port = FreePort();
  stack.StartServer({.env = {{"JQ_METRICS_ADDR", "127.0.0.1:" + std::to_string(metrics_port)}}});
  const auto done = stack.Get(done_id);
  EXPECT_EQ(done.status(), jq::DONE);
  EXPECT_EQ(done.result(), "seed output");
  EXPECT_EQ(stack.Reasons(done_id),
            (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
  // Submits failed with INTERNAL before; the seed's waiting job runs too.
  const std::string fresh = stack.Submit({"true"});
  SeedWorker worker(stack.server_addr(0), "seed-after-upgrade");
  stack.WaitFor(pending_id, jq::DONE);
  stack.WaitFor(fresh, jq::DONE);
  EXPECT_EQ(HttpGet("http://127.0.0.1:" + std::to_string(metrics_port) + "/readyz"), "ok\n");
  jq::GetSystemStatusResponse status;
  auto admin = stack.Admin();
  ASSERT_TRUE(Invoke([&](grpc::ClientContext* c) {
                return admin->GetSystemStatus(c, jq::GetSystemStatusRequest(), &status);
              }).ok());
  EXPECT_TRUE(status.healthy());
}

TEST(ServerE2E, SchemaAheadOfTheBinaryFailsReadinessAndStatusWithTheReason) {
  Stack stack;
  const int metrics_port = FreePort();
  stack.StartServer({.env = {{"JQ_METRICS_ADDR", "127.0.0.1:" + std::to_string(metrics_port)}}});
  const std::string readyz = "http://127.0.0.1:" + std::to_string(metrics_port) + "/readyz";
  // The HTTP port opens just after the gRPC one.
  for (int i = 0; i < 40 && HttpGet(readyz) != "ok\n"; ++i) {
    std::this_thread::sleep_for(milliseconds(250));
  }
  ASSERT_EQ(HttpGet(readyz), "ok\n");
  // A newer jq-server migrated the database under this one.
  Sql(stack.conninfo(),
      "INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_a_newer_build')");
  std::string body;
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    body = HttpGet(readyz);
    if (body != "ok\n") break;
    std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_NE(body.find("schema version 9999 is newer than this jq-server's"), std::string::npos)
      << body;

  jq::GetSystemStatusResponse status;
  auto admin = stack.Admin();
  ASSERT_TRUE(Invoke([&](grpc::ClientContext* c) {
                return admin->GetSystemStatus(c, jq::GetSystemStatusRequest(), &status);
              }).ok());
  EXPECT_FALSE(status.healthy());
  bool found = false;
  for (const auto& c : status.components()) {
    if (c.name() != "schema") continue;
    found = true;
    EXPECT_FALSE(c.healthy());
    EXPECT_NE(c.message().find("9999"), std::string::npos) << c.message();
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace jq::testing
