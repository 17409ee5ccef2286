// A fleet on one database: three jq-server replicas, three jq-workers, thousands of jobs.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <thread>

#include "e2e/e2e_support.h"

namespace jq::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

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

TEST(FleetE2E, ThreeServersThreeWorkersEveryJobDoneExactlyOnce) {
  Stack stack;
  for (int i = 0; i < 3; ++i) stack.StartServer();
  for (int i = 0; i < 3; ++i) {
    stack.StartWorker({.id = "w" + std::to_string(i), .concurrency = 8, .server = i});
  }
  const std::string runs = stack.dir() + "/runs";
  constexpr int kJobs = 2000;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> ids;
  for (int b = 0; b < kJobs / 100; ++b) {
    jq::SubmitJobsRequest req;
    for (int i = 0; i < 100; ++i) {
      auto* j = req.add_jobs();
      j->set_queue_name("default");
      // Each execution appends its job id: duplicates would show as repeated lines.
      j->set_payload(R"({"command":["sh","-c","echo $JQ_JOB_ID >> )" + runs + R"("]})");
    }
    jq::SubmitJobsResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stack.Jobs(b % 3)->SubmitJobs(&ctx, req, &resp).ok());
    for (const auto& r : resp.results()) ids.push_back(r.job_id());
  }
  // Wait until every job is DONE, via the listing (pages of 100).
  const auto deadline = std::chrono::steady_clock::now() + seconds(120);
  int done = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    jq::GetQueueStatsRequest req;
    req.set_name("default");
    jq::GetQueueStatsResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stack.Admin()->GetQueueStats(&ctx, req, &resp).ok());
    done = static_cast<int>(resp.stats().done_count());
    if (done == kJobs) break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(done, kJobs);
  std::map<std::string, int> executions;
  std::ifstream in(runs);
  for (std::string line; std::getline(in, line);) ++executions[line];
  EXPECT_EQ(executions.size(), static_cast<std::size_t>(kJobs));
  int repeated = 0;
  for (const auto& [id, n] : executions) repeated += n > 1;
  EXPECT_EQ(repeated, 0) << "jobs executed more than once";
  for (const auto& id : ids) ASSERT_EQ(executions.count(id), 1u) << id;
  std::printf(
      "[ figures  ] %d subprocess jobs through 3 servers + 3 workers in %.2f s = %.0f jobs/s\n",
      kJobs, elapsed, kJobs / elapsed);
}

// Per-tenant running limits hold for the whole fleet, not per replica: three replicas, each
// with a worker of 8 slots (24 in all), claim for two tenants whose limits are far below that.
// The database is sampled all along for each tenant's jobs ASSIGNED or RUNNING.
TEST(FleetE2E, TenantRunningLimitHoldsWithThreeReplicas) {
  Stack stack;
  Stack::ServerOptions limited;
  limited.env["JQ_LIMITS_TENANT_MAX_RUNNING_JOBS"] = "3";  // tenant default (the admin's)
  for (int i = 0; i < 3; ++i) stack.StartServer(limited);
  auto created = stack.Ctl({"tenant", "create", "acme", "--max-running-jobs", "5"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto key = stack.Ctl({"apikey", "create", "--tenant", "acme", "--role", "producer"});
  ASSERT_EQ(key.exit_code, 0) << key.err;
  const std::string acme_key = key.out.substr(0, key.out.find_first_of(" \n"));
  constexpr int kEach = 30;
  const std::string sleep = R"({"command":["sleep","0.3"]})";
  for (int server = 0; server < 3; ++server) {
    jq::SubmitJobsRequest req;
    for (int i = 0; i < kEach / 3; ++i) {
      auto* j = req.add_jobs();
      j->set_queue_name("default");
      j->set_payload(sleep);
    }
    jq::SubmitJobsResponse resp;
    grpc::ClientContext admin_ctx, acme_ctx;
    ASSERT_TRUE(stack.Jobs(server)->SubmitJobs(&admin_ctx, req, &resp).ok());
    auto st = jq::JobService::NewStub(TestChannel(stack.server_addr(server), acme_key))
                  ->SubmitJobs(&acme_ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  for (int i = 0; i < 3; ++i) {
    stack.StartWorker({.id = "w" + std::to_string(i), .concurrency = 8, .server = i});
  }
  pqxx::connection db(stack.conninfo());
  std::map<std::string, std::int64_t> most, done;
  bool both_at_once = false;
  const auto deadline = std::chrono::steady_clock::now() + seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    pqxx::work tx(db);
    std::map<std::string, std::int64_t> running;
    done.clear();
    for (const auto& row : tx.exec("SELECT tenant, status IN (2, 3), count(*) FROM jobs"
                                   " WHERE status IN (2, 3, 4) GROUP BY 1, 2")) {
      auto& m = row[1].as<bool>() ? running : done;
      m[row[0].as<std::string>()] = row[2].as<std::int64_t>();
    }
    tx.commit();
    for (const auto& [tenant, n] : running) most[tenant] = std::max(most[tenant], n);
    both_at_once |= running["default"] > 0 && running["acme"] > 0;
    if (done["default"] == kEach && done["acme"] == kEach) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(done["default"], kEach);
  EXPECT_EQ(done["acme"], kEach);
  // At most the limit, and the limit reached: the workers had room for far more.
  EXPECT_EQ(most["default"], 3) << "the default limit (limits.tenant_max_running_jobs)";
  EXPECT_EQ(most["acme"], 5) << "acme's own limit";
  EXPECT_TRUE(both_at_once) << "one tenant's backlog kept the other from running";
}

TEST(FleetE2E, IdempotentResubmitReturnsTheFirstJob) {
  Stack stack;
  stack.StartServer();
  stack.StartServer();
  auto submit = [&](int server) {
    jq::SubmitJobRequest req;
    req.set_queue_name("default");
    req.set_payload(R"({"command":["true"]})");
    req.set_idempotency_key("order-7");
    jq::SubmitJobResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(stack.Jobs(server)->SubmitJob(&ctx, req, &resp).ok());
    return resp;
  };
  auto first = submit(0);
  auto second = submit(1);
  EXPECT_FALSE(first.duplicate());
  EXPECT_TRUE(second.duplicate());
  EXPECT_EQ(first.job_id(), second.job_id());
}

TEST(FleetE2E, MetricsAndHealthEndpoints) {
  Stack stack;
  const int metrics_port = FreePort();
  // Finished depths are recounted every poll here (every minute by default).
  stack.StartServer({.env = {{"JQ_METRICS_ADDR", "127.0.0.1:" + std::to_string(metrics_port)},
                             {"JQ_METRICS_FINISHED_DEPTH_SECONDS", "5"}}});
  const int worker_port = FreePort();
  stack.StartWorker(
      {.id = "w1", .env = {{"JQ_METRICS_ADDR", "127.0.0.1:" + std::to_string(worker_port)}}});
  stack.WaitFor(stack.Submit({"true"}), jq::DONE);
  stack.WaitFor(stack.Submit({"false"}, "default",
                             [](jq::SubmitJobRequest& r) {
                               r.set_max_retries(0);
                               r.set_max_retries_set(true);
                             }),
                jq::DEAD_LETTERED);
  std::this_thread::sleep_for(seconds(6));  // one stats poll
  const std::string base = "http://127.0.0.1:" + std::to_string(metrics_port);
  EXPECT_EQ(HttpGet(base + "/healthz"), "ok\n");
  EXPECT_EQ(HttpGet(base + "/readyz"), "ok\n");
  const std::string m = HttpGet(base + "/metrics");
  for (const char* series :
       {"jq_job_queue_depth{queue=\"default\",status=\"DONE\"} 1",
        "jq_job_processing_duration_seconds_count{queue=\"default\"}",
        "jq_job_total{queue=\"default\",status=\"DONE\"} 1",
        "jq_job_total{queue=\"default\",status=\"DEAD_LETTERED\"} 1", "jq_worker_active_count 1",
        "jq_worker_job_concurrency{worker_id=\"w1\"}",
        "jq_grpc_request_duration_seconds_count{method=\"SubmitJob\",status_code=\"OK\"} 2",
        "jq_scheduler_cycle_duration_seconds_count",
        "jq_scheduler_jobs_assigned_total{queue=\"default\"} 2", "jq_outbox_lag_events",
        "jq_db_query_duration_seconds_count{query_name=\"JobClaimMany\"}",
        "jq_submit_to_start_seconds_count{queue=\"default\"} 2", "process_cpu_seconds_total",
        "process_resident_memory_bytes", "process_open_fds"}) {
    EXPECT_NE(m.find(series), std::string::npos) << series;
  }
  // Measured from when each job became runnable: small, not seconds since the epoch.
  const std::string sum_key = "jq_submit_to_start_seconds_sum{queue=\"default\"} ";
  const auto at = m.find(sum_key);
  ASSERT_NE(at, std::string::npos);
  EXPECT_LT(std::stod(m.substr(at + sum_key.size())), 10.0);
  const std::string wm = HttpGet("http://127.0.0.1:" + std::to_string(worker_port) + "/metrics");
  EXPECT_NE(wm.find("jq_worker_jobs_finished_total{worker_id=\"w1\"} 2"), std::string::npos) << wm;
  EXPECT_EQ(HttpGet("http://127.0.0.1:" + std::to_string(worker_port) + "/readyz"), "ok\n");
}

}  // namespace
}  // namespace jq::testing
