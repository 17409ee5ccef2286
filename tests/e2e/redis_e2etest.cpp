// jq with Redis (SPEC §9): shared submit limits across replicas, presence, the final-job
// cache, and Redis going away and coming back without losing anything.
#include <gtest/gtest.h>

#include <thread>

#include "e2e/e2e_support.h"
#include "redis/fleet_cache.h"

namespace jq::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A redis-server of this test's own, so that it can be killed and restarted.
class OwnRedis {
 public:
  explicit OwnRedis(const std::string& dir) : dir_(dir), port_(FreePort()) { Start(); }
  void Start() {
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir_},
        std::map<std::string, std::string>{}, dir_ + "/redis.log");
    ASSERT_TRUE(WaitForPort(port_, seconds(10)));
  }
  void Kill() { process_->Kill(); }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Cli(const std::string& args) {
    std::string out;
    FILE* p = popen(("redis-cli -p " + std::to_string(port_) + " " + args).c_str(), "r");
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    return out;
  }

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

grpc::Status SubmitTo(Stack& stack, int server, std::string* retry_after) {
  jq::SubmitJobRequest req;
  req.set_queue_name("default");
  req.set_payload(R"({"command":["true"]})");
  jq::SubmitJobResponse resp;
  grpc::ClientContext ctx;
  auto st = stack.Jobs(server)->SubmitJob(&ctx, req, &resp);
  if (retry_after != nullptr) {
    auto it = ctx.GetServerTrailingMetadata().find("retry-after-ms");
    *retry_after = it == ctx.GetServerTrailingMetadata().end()
                       ? ""
                       : std::string(it->second.data(), it->second.size());
  }
  return st;
}

jq::GetSystemStatusResponse SystemStatus(Stack& stack) {
  jq::GetSystemStatusRequest req;
  jq::GetSystemStatusResponse resp;
  grpc::ClientContext ctx;
  EXPECT_TRUE(stack.Admin()->GetSystemStatus(&ctx, req, &resp).ok());
  return resp;
}

bool RedisHealthy(Stack& stack) {
  const auto status = SystemStatus(stack);
  for (const auto& c : status.components()) {
    if (c.name() == "redis") return c.healthy();
  }
  return false;
}

TEST(RedisE2E, RateLimitIsSharedByTwoReplicas) {
  Stack stack;
  OwnRedis redis(stack.dir());
  std::map<std::string, std::string> env = {{"JQ_REDIS_ADDR", redis.addr()},
                                            {"JQ_LIMITS_TENANT_SUBMIT_RATE", "2"},
                                            {"JQ_LIMITS_TENANT_SUBMIT_BURST", "6"}};
  stack.StartServer({.env = env});
  stack.StartServer({.env = env});
  const auto start = std::chrono::steady_clock::now();
  int accepted = 0, refused = 0;
  for (int i = 0; i < 24; ++i) {
    std::string retry_after;
    auto st = SubmitTo(stack, i % 2, &retry_after);
    if (st.ok()) {
      ++accepted;
    } else {
      ++refused;
      EXPECT_EQ(st.error_code(), grpc::RESOURCE_EXHAUSTED) << st.error_message();
      EXPECT_NE(st.error_message().find("rate limit of tenant 'default'"), std::string::npos);
      ASSERT_FALSE(retry_after.empty()) << "no retry-after-ms trailer";
      EXPECT_GT(std::stoll(retry_after), 0);
    }
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // One bucket of 6 for both replicas (per-replica buckets would admit 12), plus refill.
  EXPECT_GE(accepted, 6);
  EXPECT_LE(accepted, 6 + static_cast<int>(elapsed * 2) + 1) << "elapsed " << elapsed;
  EXPECT_GT(refused, 0);
}

TEST(RedisE2E, RedisDownJobsContinueAndRecoveryIsAutomatic) {
  Stack stack;
  OwnRedis redis(stack.dir());
  stack.StartServer({.env = {{"JQ_REDIS_ADDR", redis.addr()},
                             {"JQ_REDIS_TIMEOUT_MS", "100"},
                             {"JQ_LIMITS_TENANT_SUBMIT_RATE", "1000"}}});
  stack.StartWorker({.id = "w1"});
  const std::string before = stack.Submit({"true"});
  stack.WaitFor(before, jq::DONE);
  EXPECT_TRUE(RedisHealthy(stack));
  std::this_thread::sleep_for(milliseconds(1500));  // a heartbeat (1 s here)
  EXPECT_NE(redis.Cli("GET jq:worker:w1"), "\n") << "no presence key";
  EXPECT_NE(redis.Cli("EXISTS jq:job:" + before), "0\n") << "final job not cached";

  redis.Kill();
  std::vector<std::string> during;
  for (int i = 0; i < 10; ++i) during.push_back(stack.Submit({"true"}));
  for (const auto& id : during) stack.WaitFor(id, jq::DONE);
  EXPECT_EQ(stack.Get(before).status(), jq::DONE);  // read from PostgreSQL
  {
    const auto status = SystemStatus(stack);
    for (const auto& c : status.components()) {
      if (c.name() == "redis") {
        EXPECT_FALSE(c.healthy()) << c.message();
      }
    }
  }
  EXPECT_TRUE(stack.server(0).running());

  redis.Start();  // same port
  const auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (!RedisHealthy(stack) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_TRUE(RedisHealthy(stack));
  const std::string after = stack.Submit({"true"});
  stack.WaitFor(after, jq::DONE);
  stack.Get(after);
  EXPECT_NE(redis.Cli("EXISTS jq:job:" + after), "0\n") << "cache did not resume";
}

TEST(RedisE2E, TenantInFlightCountsAreShared) {
  Stack stack;
  OwnRedis redis(stack.dir());
  stack.StartServer({.env = {{"JQ_REDIS_ADDR", redis.addr()}}});
  stack.StartWorker({.id = "w1"});
  const std::string id = stack.Submit({"sleep", "10"});
  stack.WaitFor(id, jq::RUNNING);
  const auto deadline = std::chrono::steady_clock::now() + seconds(8);
  std::string n;
  while (std::chrono::steady_clock::now() < deadline) {
    n = redis.Cli("HGET jq:inflight:tenants default");
    if (n == "1\n") break;
    std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_EQ(n, "1\n");
}

TEST(RedisE2E, RetryInvalidatesTheCachedFinalJob) {
  Stack stack;
  OwnRedis redis(stack.dir());
  stack.StartServer({.env = {{"JQ_REDIS_ADDR", redis.addr()}}});
  const std::string id = stack.Submit({"true"});
  jq::CancelJobRequest cancel;
  cancel.set_job_id(id);
  jq::CancelJobResponse cresp;
  grpc::ClientContext cctx;
  ASSERT_TRUE(stack.Jobs()->CancelJob(&cctx, cancel, &cresp).ok());
  EXPECT_EQ(stack.Get(id).status(), jq::DEAD_LETTERED);  // now cached
  EXPECT_EQ(redis.Cli("EXISTS jq:job:" + id), "1\n");
  jq::RetryJobRequest retry;
  retry.set_job_id(id);
  jq::RetryJobResponse rresp;
  grpc::ClientContext rctx;
  ASSERT_TRUE(stack.Jobs()->RetryJob(&rctx, retry, &rresp).ok());
  EXPECT_EQ(stack.Get(id).status(), jq::PENDING);
}

// A GetJobStatus that missed, read the final row, and puts it after a RetryJob invalidated
// the entry must not bring the old final row back (it would be served for the whole TTL).
TEST(RedisE2E, ACacheFillRacingARetryCannotBringTheOldRowBack) {
  Stack stack;
  OwnRedis redis(stack.dir());
  jq::redis::RedisClient client({redis.addr(), "", milliseconds(500)});
  jq::redis::RedisJobCache cache(client, seconds(60));
  const std::string id = "0190e8d0-0000-7000-8000-0000000000aa";

  auto reader = cache.Get(id);  // a miss: the reader goes to the database...
  ASSERT_FALSE(reader.hit.has_value());
  cache.Invalidate(id);  // ...while a retry commits and invalidates
  cache.Put(id, "DEAD_LETTERED row", reader.generation);  // the reader's late fill
  EXPECT_FALSE(cache.Get(id).hit.has_value()) << "the stale final row came back";

  // A fill that saw the current generation is kept, and served.
  auto fresh = cache.Get(id);
  cache.Put(id, "DONE row", fresh.generation);
  EXPECT_EQ(cache.Get(id).hit.value_or(""), "DONE row");
  cache.Invalidate(id);
  EXPECT_FALSE(cache.Get(id).hit.has_value());

  // Redis down: a lookup misses and a fill is dropped; nothing throws or hangs.
  redis.Kill();
  auto down = cache.Get(id);
  EXPECT_FALSE(down.hit.has_value());
  cache.Put(id, "row", down.generation);
  cache.Invalidate(id);
}

}  // namespace
}  // namespace jq::testing
