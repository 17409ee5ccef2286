// Authentication, roles and tenants against real jq-servers (SPEC §6, §11; docs/security.md):
// every RPC refuses a caller without credentials, roles are enforced, keys are made, listed and
// revoked with jq-ctl (a revocation reaches another replica), tenants see only their own jobs,
// JWTs are verified, and no secret reaches a log line.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <jwt.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "e2e/e2e_support.h"
#include "support/test_servers.h"

namespace jq::testing {
namespace {

using std::chrono::seconds;

// Calls full_method ("/jq.JobService/SubmitJob") with an empty message (a valid message of
// every type) on a generic stub, so every method of a service can be tried without its types.
grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  auto call = stub.PrepareCall(&ctx, method, &cq);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  call->WriteLast(request, grpc::WriteOptions(), reinterpret_cast<void*>(2));
  cq.Next(&tag, &ok);
  grpc::ByteBuffer response;
  for (ok = true; ok;) {  // whatever it answers, to its end
    call->Read(&response, reinterpret_cast<void*>(4));
    cq.Next(&tag, &ok);
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(3));
  while (cq.Next(&tag, &ok) && tag != reinterpret_cast<void*>(3)) {
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

std::vector<std::string> Methods(const std::string& service) {
  const auto* d = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
  EXPECT_NE(d, nullptr) << service;
  std::vector<std::string> out;
  for (int i = 0; d != nullptr && i < d->method_count(); ++i) {
    out.push_back("/" + service + "/" + d->method(i)->name());
  }
  return out;
}

const std::vector<std::string> kServices = {"jq.JobService", "jq.WorkerService", "jq.AdminService"};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class AuthE2E : public ::testing::Test {
 protected:
  void SetUp() override { stack_.StartServer(); }

  // jq-ctl apikey create as the harness's admin: the printed key.
  std::string CreateKey(const std::string& tenant, const std::string& role) {
    auto r = stack_.Ctl({"apikey", "create", "--tenant", tenant, "--role", role});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Trim(r.out);
  }
  grpc::Status Status(const std::string& key, const std::string& job_id, int server = 0) {
    jq::GetJobStatusRequest req;
    req.set_job_id(job_id);
    jq::GetJobStatusResponse resp;
    grpc::ClientContext ctx;
    return jq::JobService::NewStub(TestChannel(stack_.server_addr(server), key))
        ->GetJobStatus(&ctx, req, &resp);
  }
  std::string SubmitAs(const std::string& key, const std::string& idempotency_key = "") {
    jq::SubmitJobRequest req;
    req.set_queue_name("default");
    req.set_payload(R"({"command":["true"]})");
    req.set_idempotency_key(idempotency_key);
    jq::SubmitJobResponse resp;
    grpc::ClientContext ctx;
    auto st = jq::JobService::NewStub(TestChannel(stack_.server_addr(0), key))
                  ->SubmitJob(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.job_id();
  }

  Stack stack_;
};

TEST_F(AuthE2E, EveryRpcRefusesACallerWithoutCredentials) {
  const auto bare = TestChannel(stack_.server_addr(0), "");
  int methods = 0;
  for (const auto& service : kServices) {
    for (const auto& m : Methods(service)) {
      auto st = CallRaw(bare, m);
      EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << m << ": " << st.error_message();
      EXPECT_NE(st.error_message().find("authorization: Bearer"), std::string::npos) << m;
      ++methods;
    }
  }
  EXPECT_GE(methods, 30);
  // A malformed header and an unknown key are refused the same way.
  for (const std::string& key :
       {std::string("not a key"), std::string("jq_0123456789abcdef_") + std::string(43, 'A')}) {
    auto st = CallRaw(TestChannel(stack_.server_addr(0), key), "/jq.JobService/ListJobs");
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << key;
  }
  // Probes need no key: gRPC health answers.
  const auto health = CallRaw(bare, "/grpc.health.v1.Health/Check");
  EXPECT_TRUE(health.ok()) << health.error_message();
}

TEST_F(AuthE2E, RolesAreEnforcedOnEveryService) {
  const std::string producer = CreateKey("acme", "producer");
  const std::string worker = CreateKey("acme", "worker");
  const std::string fleet = CreateKey("default", "fleet");
  for (const auto& service : kServices) {
    for (const auto& m : Methods(service)) {
      const auto p = CallRaw(TestChannel(stack_.server_addr(0), producer), m);
      const auto w = CallRaw(TestChannel(stack_.server_addr(0), worker), m);
      const auto f = CallRaw(TestChannel(stack_.server_addr(0), fleet), m);
      const auto as_producer = p.error_code(), as_worker = w.error_code(),
                 as_fleet = f.error_code();
      EXPECT_NE(as_producer, grpc::StatusCode::UNAUTHENTICATED) << m << ": " << p.error_message();
      EXPECT_NE(as_worker, grpc::StatusCode::UNAUTHENTICATED) << m << ": " << w.error_message();
      EXPECT_NE(as_fleet, grpc::StatusCode::UNAUTHENTICATED) << m << ": " << f.error_message();
      if (service == "jq.JobService") {
        EXPECT_NE(as_producer, grpc::StatusCode::PERMISSION_DENIED) << m;
        EXPECT_EQ(as_worker, grpc::StatusCode::PERMISSION_DENIED) << m;  // a worker submits nothing
        EXPECT_EQ(as_fleet, grpc::StatusCode::PERMISSION_DENIED) << m;
      } else if (service == "jq.WorkerService") {
        EXPECT_EQ(as_producer, grpc::StatusCode::PERMISSION_DENIED) << m;
        EXPECT_NE(as_worker, grpc::StatusCode::PERMISSION_DENIED) << m;
        EXPECT_NE(as_fleet, grpc::StatusCode::PERMISSION_DENIED) << m;
      } else {
        EXPECT_EQ(as_producer, grpc::StatusCode::PERMISSION_DENIED) << m;
        EXPECT_EQ(as_worker, grpc::StatusCode::PERMISSION_DENIED) << m;
        EXPECT_EQ(as_fleet, grpc::StatusCode::PERMISSION_DENIED) << m;  // not even worker drain
      }
    }
  }
  // As an operator sees it.
  auto denied = stack_.Ctl({"queue", "list"}, 0, producer);
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("PERMISSION_DENIED"), std::string::npos) << denied.err;
  EXPECT_NE(denied.err.find("a producer key may not use the AdminService"), std::string::npos)
      << denied.err;
  auto unauthenticated = stack_.Ctl({"job", "list"}, 0, "");
  EXPECT_EQ(unauthenticated.exit_code, 1);
  EXPECT_NE(unauthenticated.err.find("UNAUTHENTICATED"), std::string::npos) << unauthenticated.err;
}

TEST_F(AuthE2E, KeysAreCreatedListedWithoutSecretsAndRevokedOnEveryReplica) {
  stack_.StartServer();  // a second replica on the same database
  auto created = stack_.Ctl({"-o", "json", "apikey", "create", "--tenant", "acme", "--role",
                             "producer", "--description", "ci"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::smatch none;
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(created.out, m, std::regex("\"key\": \"(jq_([0-9a-f]{16})_[^\"]+)\"")))
      << created.out;
  const std::string key = m[1], id = m[2], secret = key.substr(20);
  SubmitAs(key);

  auto list = stack_.Ctl({"apikey", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("acme"), std::string::npos);
  EXPECT_EQ(list.out.find(secret), std::string::npos) << "apikey list shows a secret";
  auto json = stack_.Ctl({"-o", "json", "apikey", "list", "--tenant", "acme"});
  EXPECT_EQ(json.out.find(secret), std::string::npos);

  // A wrong secret for a real id.
  std::string wrong = key;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(Status(wrong, "0190a3c4-1b2c-7d3e-8f40-123456789abc").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // Works on the other replica, then is revoked on the first and refused on the other.
  const std::string job = SubmitAs(key);
  ASSERT_TRUE(Status(key, job, 1).ok());
  auto revoked = stack_.Ctl({"apikey", "revoke", id});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  grpc::Status st;
  while (std::chrono::steady_clock::now() < deadline) {
    st = Status(key, job, 1);
    if (st.error_code() == grpc::StatusCode::UNAUTHENTICATED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  EXPECT_NE(st.error_message().find("unknown or revoked"), std::string::npos);
  list = stack_.Ctl({"apikey", "list"});
  EXPECT_NE(list.out.find(id), std::string::npos);  // still listed, with its revocation time

  // No secret in any server's log.
  for (int i : {0, 1}) {
    const std::string log = stack_.server(i).Log();
    EXPECT_EQ(log.find(secret), std::string::npos) << "server " << i << " logged a key";
    EXPECT_EQ(log.find(kTestAdminKey), std::string::npos) << "server " << i << " logged a key";
  }
}

TEST_F(AuthE2E, ATenantSeesOnlyItsOwnJobs) {
  const std::string acme = CreateKey("acme", "producer");
  const std::string globex = CreateKey("globex", "producer");
  const std::string job = SubmitAs(acme, "order-1");
  ASSERT_FALSE(job.empty());
  ASSERT_TRUE(Status(acme, job).ok());

  // Another tenant's job does not exist for it, whatever it asks.
  const std::string not_found = "job " + job + " not found";
  for (const std::vector<std::string>& cmd : {std::vector<std::string>{"job", "status", job},
                                              {"job", "logs", job},
                                              {"job", "output", job},
                                              {"job", "cancel", job},
                                              {"job", "retry", job},
                                              {"job", "watch", job}}) {
    auto r = stack_.Ctl(cmd, 0, globex);
    EXPECT_EQ(r.exit_code, 1) << cmd[1];
    EXPECT_NE(r.err.find("NOT_FOUND"), std::string::npos) << cmd[1] << ": " << r.err;
    EXPECT_NE(r.err.find(not_found), std::string::npos) << cmd[1] << ": " << r.err;
  }
  EXPECT_EQ(stack_.Ctl({"job", "list"}, 0, globex).out.find(job), std::string::npos);
  EXPECT_EQ(stack_.Ctl({"job", "list", "--tenant", "acme"}, 0, globex).out.find(job),
            std::string::npos);
  EXPECT_NE(stack_.Ctl({"job", "list"}, 0, acme).out.find(job), std::string::npos);
  // The job is acme's, and acme can still cancel it; the admin retries it. Both are in the
  // audit trail, by key id.
  EXPECT_EQ(stack_.Ctl({"job", "cancel", job}, 0, acme).exit_code, 0);
  EXPECT_EQ(stack_.Ctl({"job", "retry", job}).exit_code, 0);
  auto logs = stack_.Ctl({"job", "logs", job}, 0, acme);
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  const std::string acme_id = acme.substr(3, 16);
  EXPECT_NE(logs.out.find("ACTOR"), std::string::npos) << logs.out;
  EXPECT_TRUE(std::regex_search(logs.out, std::regex("CANCELLED.*" + acme_id))) << logs.out;
  EXPECT_TRUE(std::regex_search(logs.out, std::regex("MANUAL_RETRY.*bootstrap"))) << logs.out;
  EXPECT_EQ(stack_.Ctl({"job", "cancel", job}, 0, acme).exit_code, 0);

  // Idempotency keys are per tenant: the same key in globex is another job.
  const std::string other = SubmitAs(globex, "order-1");
  EXPECT_NE(other, job);
  EXPECT_EQ(SubmitAs(acme, "order-1"), job);

  // An admin sees both, and can filter by tenant.
  auto all = stack_.Ctl({"-o", "json", "job", "list"});
  EXPECT_NE(all.out.find(job), std::string::npos);
  EXPECT_NE(all.out.find(other), std::string::npos);
  auto only = stack_.Ctl({"-o", "json", "job", "list", "--tenant", "globex"});
  EXPECT_EQ(only.out.find(job), std::string::npos);
  EXPECT_NE(only.out.find(other), std::string::npos);
}

TEST_F(AuthE2E, ATenantsWorkerRunsOnlyThatTenantsJobsAFleetKeyServesAll) {
  const std::string acme = CreateKey("acme", "producer");
  const std::string globex = CreateKey("globex", "producer");
  stack_.StartWorker({.id = "acme-worker", .env = {{"JQ_API_KEY", CreateKey("acme", "worker")}}});
  const std::string theirs = SubmitAs(globex);
  const std::string first = SubmitAs(acme);
  stack_.WaitFor(first, jq::DONE);
  // Dispatched after globex's job was ready, and still only acme's runs.
  const std::string second = SubmitAs(acme);
  stack_.WaitFor(second, jq::DONE);
  EXPECT_EQ(stack_.Get(theirs).status(), jq::PENDING);
  // Queues are global: a worker with a fleet key takes every tenant's jobs from them.
  stack_.StartWorker(
      {.id = "fleet-worker", .env = {{"JQ_API_KEY", CreateKey("default", "fleet")}}});
  stack_.WaitFor(theirs, jq::DONE);
  EXPECT_EQ(stack_.Get(theirs).worker_id(), "fleet-worker");
  const std::string acmes = SubmitAs(acme);
  stack_.WaitFor(acmes, jq::DONE);
}

TEST_F(AuthE2E, ATenantsOwnSubmitRateIsEnforcedWithARetryAfterTrailer) {
  const std::string acme = CreateKey("acme", "producer");
  const std::string globex = CreateKey("globex", "producer");
  auto created = stack_.Ctl({"tenant", "create", "acme", "--submit-rate", "1", "--submit-burst",
                             "1", "--max-running-jobs", "5"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_NE(created.out.find("submit_rate"), std::string::npos) << created.out;
  auto listed = stack_.Ctl({"tenant", "list"});
  EXPECT_NE(listed.out.find("acme"), std::string::npos) << listed.out;
  EXPECT_EQ(stack_.Ctl({"tenant", "create", "acme"}).exit_code, 1);  // ALREADY_EXISTS
  EXPECT_EQ(stack_.Ctl({"tenant", "update", "nobody", "--submit-rate", "3"}).exit_code, 1);

  const auto submit = [&](const std::string& key, grpc::ClientContext* ctx) {
    jq::SubmitJobRequest req;
    req.set_queue_name("default");
    req.set_payload(R"({"command":["true"]})");
    jq::SubmitJobResponse resp;
    return jq::JobService::NewStub(TestChannel(stack_.server_addr(0), key))
        ->SubmitJob(ctx, req, &resp);
  };
  // Within a reload (about a second) the limit applies: 1 a second, so one of two is refused.
  const auto deadline = std::chrono::steady_clock::now() + seconds(15);
  bool refused = false;
  while (!refused && std::chrono::steady_clock::now() < deadline) {
    grpc::ClientContext ctx;
    auto st = submit(acme, &ctx);
    if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      refused = true;
      EXPECT_NE(st.error_message().find("tenant 'acme'"), std::string::npos) << st.error_message();
      auto trailer = ctx.GetServerTrailingMetadata().find("retry-after-ms");
      ASSERT_NE(trailer, ctx.GetServerTrailingMetadata().end());
      EXPECT_GT(std::stol(std::string(trailer->second.data(), trailer->second.size())), 0);
    } else {
      ASSERT_TRUE(st.ok()) << st.error_message();
    }
  }
  EXPECT_TRUE(refused);
  // Another tenant has the default (unlimited).
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    EXPECT_TRUE(submit(globex, &ctx).ok());
  }

  // Back to the default: the rate is unset (so unlimited here) and acme submits freely again.
  for (const char* bad : {"-1", "abc", "1.5", ""}) {
    auto r = stack_.Ctl({"tenant", "update", "acme", "--submit-rate", bad});
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_NE(r.err.find("--submit-rate"), std::string::npos) << bad << ": " << r.err;
  }
  {
    jq::UpdateTenantRequest req;
    req.mutable_tenant()->set_name("acme");
    req.mutable_tenant()->set_submit_rate(5);
    req.set_reset_submit_rate(true);
    jq::UpdateTenantResponse resp;
    grpc::ClientContext ctx;
    auto st = jq::AdminService::NewStub(TestChannel(stack_.server_addr(0)))
                  ->UpdateTenant(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(st.error_message().find("tenant.submit_rate is both given and reset"),
              std::string::npos)
        << st.error_message();
  }
  auto reset = stack_.Ctl(
      {"tenant", "update", "acme", "--submit-rate", "default", "--submit-burst", "default"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_TRUE(std::regex_search(reset.out, std::regex(R"(submit_rate:\s+default)"))) << reset.out;
  EXPECT_TRUE(std::regex_search(reset.out, std::regex(R"(submit_burst:\s+default)"))) << reset.out;
  EXPECT_TRUE(std::regex_search(reset.out, std::regex(R"(max_running_jobs:\s+5)")))
      << reset.out;                         // not reset: kept
  std::this_thread::sleep_for(seconds(3));  // a reload and a refill
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext ctx;
    auto st = submit(acme, &ctx);
    EXPECT_TRUE(st.ok()) << i << ": " << st.error_message();
  }
}

// ---------------------------------------------------------------------------- JWT

constexpr const char* kHsSecret = "e2e-jwt-hs256-secret-0123456789abcdef";

// A token with these claims, signed with alg and key (HS256 secret or RS256 private PEM).
std::string Token(jwt_alg_t alg, const std::string& key, const std::string& claims_json) {
  jwt_t* jwt = nullptr;
  EXPECT_EQ(jwt_new(&jwt), 0);
  EXPECT_EQ(jwt_add_grants_json(jwt, claims_json.c_str()), 0);
  EXPECT_EQ(jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(key.data()),
                        static_cast<int>(key.size())),
            0);
  char* out = jwt_encode_str(jwt);
  std::string token = out != nullptr ? out : "";
  free(out);  // NOLINT: libjwt's allocation
  jwt_free(jwt);
  return token;
}

std::string Claims(long exp_from_now, const std::string& aud = "jq",
                   const std::string& role = "producer") {
  const long now = static_cast<long>(
      std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  return R"({"iss":"e2e-issuer","aud":")" + aud + R"(","sub":"alice","tenant":"acme","role":")" +
         role + R"(","exp":)" + std::to_string(now + exp_from_now) + "}";
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(AuthJwtE2E, ValidTokensAreAcceptedExpiredForgedAndConfusedOnesRefused) {
  Stack stack;
  const std::string priv = stack.dir() + "/jwt.key", pub = stack.dir() + "/jwt.pub";
  ASSERT_EQ(std::system(("openssl genrsa -out " + priv + " 2048 2>/dev/null && openssl rsa -in " +
                         priv + " -pubout -out " + pub + " 2>/dev/null")
                            .c_str()),
            0);
  Stack::ServerOptions o;
  o.env = {{"JQ_AUTH_JWT_HS256_SECRET", kHsSecret},
           {"JQ_AUTH_JWT_RS256_PUBLIC_KEY_FILE", pub},
           {"JQ_AUTH_JWT_ISSUER", "e2e-issuer"},
           {"JQ_AUTH_JWT_AUDIENCE", "jq"}};
  stack.StartServer(o);
  const auto call = [&](const std::string& token) {
    return CallRaw(TestChannel(stack.server_addr(0), token), "/jq.JobService/ListJobs");
  };
  const std::string hs = Token(JWT_ALG_HS256, kHsSecret, Claims(300));
  const std::string rs = Token(JWT_ALG_RS256, ReadText(priv), Claims(300));
  EXPECT_TRUE(call(hs).ok()) << call(hs).error_message();
  EXPECT_TRUE(call(rs).ok()) << call(rs).error_message();
  // The claims' role is enforced like a key's.
  EXPECT_EQ(
      CallRaw(TestChannel(stack.server_addr(0), hs), "/jq.AdminService/ListQueues").error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  struct Bad {
    std::string name, token, why;
  };
  const std::vector<Bad> bad = {
      {"expired", Token(JWT_ALG_HS256, kHsSecret, Claims(-3600)), "expired"},
      {"forged", Token(JWT_ALG_HS256, "another-secret-0123456789abcdef", Claims(300)),
       "bad signature"},
      {"wrong audience", Token(JWT_ALG_HS256, kHsSecret, Claims(300, "someone-else")), "aud"},
      {"bad role", Token(JWT_ALG_HS256, kHsSecret, Claims(300, "jq", "root")), "role"},
      // The RS256 public key used as an HS256 secret: the key is chosen by algorithm.
      {"algorithm confusion", Token(JWT_ALG_HS256, ReadText(pub), Claims(300)), "bad signature"},
      {"tampered", hs.substr(0, hs.rfind('.') - 2) + "xx" + hs.substr(hs.rfind('.')), ""},
  };
  for (const auto& b : bad) {
    auto st = call(b.token);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << b.name;
    EXPECT_NE(st.error_message().find(b.why), std::string::npos)
        << b.name << ": " << st.error_message();
  }
  // A token never reaches the log.
  const std::string log = stack.server(0).Log();
  EXPECT_EQ(log.find(hs.substr(hs.rfind('.') + 1)), std::string::npos);
  EXPECT_EQ(log.find(kHsSecret), std::string::npos);
}

TEST(AuthJwtE2E, ARevokedSubjectIsRefusedOnEveryReplicaUntilItsNextToken) {
  Stack stack;
  Stack::ServerOptions o;
  o.env = {{"JQ_AUTH_JWT_HS256_SECRET", kHsSecret}};
  stack.StartServer(o);
  stack.StartServer(o);
  const auto now = [] {
    return static_cast<long>(
        std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
  };
  const auto token = [&](long iat) {
    return Token(JWT_ALG_HS256, kHsSecret,
                 R"({"sub":"alice","tenant":"acme","role":"producer","iat":)" +
                     std::to_string(iat) + R"(,"exp":)" + std::to_string(now() + 600) + "}");
  };
  const std::string old = token(now() - 5);
  const auto call = [&](const std::string& t, int server) {
    return CallRaw(TestChannel(stack.server_addr(server), t), "/jq.JobService/ListJobs");
  };
  ASSERT_TRUE(call(old, 1).ok()) << call(old, 1).error_message();

  auto revoked = stack.Ctl({"jwt", "revoke", "alice"}, 0);
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_NE(revoked.out.find("alice"), std::string::npos) << revoked.out;
  EXPECT_NE(revoked.out.find("bootstrap"), std::string::npos) << revoked.out;  // who did it
  EXPECT_EQ(call(old, 0).error_code(), grpc::StatusCode::UNAUTHENTICATED);     // at once here
  // On the other replica within a reload (auth.key_refresh_ms, 1 s).
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  grpc::Status there;
  while ((there = call(old, 1)).ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(there.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(there.error_message().find("are revoked"), std::string::npos) << there.error_message();
  std::this_thread::sleep_for(seconds(1));  // iat has whole seconds
  const std::string fresh = token(now());
  EXPECT_TRUE(call(fresh, 1).ok()) << call(fresh, 1).error_message();

  auto listed = stack.Ctl({"jwt", "list"});
  EXPECT_NE(listed.out.find("alice"), std::string::npos) << listed.out;
  for (const std::string& bad : {std::string(""), std::string(129, 'x'), std::string("a\tb")}) {
    auto r = stack.Ctl({"jwt", "revoke", bad});
    EXPECT_EQ(r.exit_code, 1) << bad;
    EXPECT_NE(r.err.find("INVALID_ARGUMENT: subject"), std::string::npos) << r.err;
  }
  // Not for a producer: an admin's power.
  EXPECT_EQ(CallRaw(TestChannel(stack.server_addr(0), fresh), "/jq.AdminService/RevokeJwtSubject")
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST(AuthOffE2E, AuthOffOnlyByAnExplicitSettingAndSaidSo) {
  Stack stack;
  Stack::ServerOptions o;
  o.env = {{"JQ_AUTH_ENABLED", "false"}};
  stack.StartServer(o);
  EXPECT_TRUE(CallRaw(TestChannel(stack.server_addr(0), ""), "/jq.AdminService/ListQueues").ok());
  EXPECT_NE(stack.server(0).Log().find("auth.enabled is false"), std::string::npos);
}

}  // namespace
}  // namespace jq::testing
