// TLS and mTLS between the real binaries (issue 9, docs/security.md): jq-server's listener,
// jq-worker's and jq-ctl's channels, the metrics port, rotation without restart; on
// certificates the test makes with openssl (scripts/gen-certs.sh).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "e2e/e2e_support.h"
#include "rpc/bearer_channel.h"
#include "support/test_certs.h"
#include "support/test_servers.h"

namespace jq::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces `to` by a copy of `from` the way a rotation should: a rename, never a half file.
void Install(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to + ".new", std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(to + ".new", to);
}

class TlsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    // jq-ctl runs with this environment: a developer's stack.env must not decide the test.
    for (const char* v : {"JQ_TLS_CA", "JQ_TLS_CERT", "JQ_TLS_KEY"}) unsetenv(v);
    certs_.Ca("ca");
    certs_.Ca("other");
    certs_.Server("server", "ca");
    certs_.Client("client", "ca");
  }

  // The server's settings: TLS with certs_'s "server", and mTLS against "ca" when asked.
  std::map<std::string, std::string> ServerTls(bool mtls = false) {
    std::map<std::string, std::string> env = {{"JQ_SERVER_TLS_CERT", certs_.pem("server")},
                                              {"JQ_SERVER_TLS_KEY", certs_.key("server")}};
    if (mtls) env["JQ_SERVER_TLS_CLIENT_CA"] = certs_.pem("ca");
    return env;
  }
  // jq-ctl's flags: trust `ca`, and present `client` when given.
  std::vector<std::string> Tls(const std::string& ca, const std::string& client = "") {
    std::vector<std::string> flags = {"--tls-ca", certs_.pem(ca)};
    if (!client.empty()) {
      flags.insert(flags.end(),
                   {"--tls-cert", certs_.pem(client), "--tls-key", certs_.key(client)});
    }
    return flags;
  }
  // Auth is on (e2e_support): jq-ctl sends the stack's admin key unless given another ("" none).
  CtlResult Ctl(std::vector<std::string> flags, const std::vector<std::string>& args,
                const std::string& api_key = kTestAdminKey) {
    flags.insert(flags.end(), args.begin(), args.end());
    return stack_.Ctl(flags, 0, api_key);
  }
  // A job through jq-ctl with these flags, waited for: the worker ran it.
  CtlResult SubmitAndWait(const std::vector<std::string>& flags) {
    return Ctl(flags, {"job", "submit", "--queue", "default", "--payload",
                       R"({"command":["echo","over tls"]})", "--wait"});
  }
  // A raw client: whatever credentials the test builds, past jq-ctl's own checks; with the
  // stack's admin key, so that a call the TLS layer lets through is answered.
  grpc::Status Probe(const std::shared_ptr<grpc::ChannelCredentials>& creds) {
    auto stub = jq::JobService::NewStub(rpc::CreateChannelWithKey(
        stack_.server_addr(0), creds, grpc::ChannelArguments(), kTestAdminKey));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    jq::GetJobStatusRequest req;
    req.set_job_id("00000000-0000-4000-8000-000000000000");
    jq::GetJobStatusResponse resp;
    return stub->GetJobStatus(&ctx, req, &resp);
  }
  grpc::SslCredentialsOptions Ssl(const std::string& ca, const std::string& client = "") {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Slurp(certs_.pem(ca));
    if (!client.empty()) {
      o.pem_cert_chain = Slurp(certs_.pem(client));
      o.pem_private_key = Slurp(certs_.key(client));
    }
    return o;
  }
  // Polls jq-ctl status with these flags until its exit code is `want`.
  bool CtlEventually(const std::vector<std::string>& flags, int want,
                     std::chrono::seconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Ctl(flags, {"--timeout", "5", "queue", "list"}).exit_code == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }
  Stack stack_;
  TestCerts certs_{stack_.dir() + "/certs"};
};

TEST_F(TlsE2E, AJobRunsOverTlsAndAPlaintextClientIsTurnedAway) {
  stack_.StartServer({.env = ServerTls()});
  stack_.StartWorker({.id = "w-tls", .env = {{"JQ_TLS_CA", certs_.pem("ca")}}});
  auto done = SubmitAndWait(Tls("ca"));
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_NE(done.out.find("DONE"), std::string::npos) << done.out;

  auto plain = Ctl({}, {"queue", "list"});
  EXPECT_EQ(plain.exit_code, 3) << plain.out << plain.err;
  EXPECT_NE(plain.err.find("UNAVAILABLE"), std::string::npos) << plain.err;
  EXPECT_NE(plain.err.find("does the server use TLS? pass --tls-ca"), std::string::npos)
      << plain.err;
}

TEST_F(TlsE2E, ATlsClientOfAPlaintextServerIsToldSo) {
  stack_.StartServer();
  auto tls = Ctl(Tls("ca"), {"queue", "list"});
  EXPECT_EQ(tls.exit_code, 3) << tls.out << tls.err;
  EXPECT_NE(tls.err.find("; the server does not use TLS"), std::string::npos) << tls.err;
}

TEST_F(TlsE2E, AClientTrustingAnotherCaIsRefused) {
  stack_.StartServer({.env = ServerTls()});
  auto wrong = Ctl(Tls("other"), {"queue", "list"});
  EXPECT_EQ(wrong.exit_code, 3) << wrong.out << wrong.err;
  EXPECT_NE(wrong.err.find("certificate verify failed"), std::string::npos) << wrong.err;
  EXPECT_NE(wrong.err.find("not signed by the CA of --tls-ca"), std::string::npos) << wrong.err;
  EXPECT_EQ(Ctl(Tls("ca"), {"queue", "list"}).exit_code, 0);
}

// A certificate from the right CA, for another host: refused (it would let any holder of a
// certificate from that CA pose as jq-server).
TEST_F(TlsE2E, AServerCertificateForAnotherHostIsRefused) {
  certs_.Server("elsewhere", "ca", 30, "DNS:elsewhere.example");
  auto env = ServerTls();
  env["JQ_SERVER_TLS_CERT"] = certs_.pem("elsewhere");
  env["JQ_SERVER_TLS_KEY"] = certs_.key("elsewhere");
  stack_.StartServer({.env = env});
  auto wrong = Ctl(Tls("ca"), {"queue", "list"});
  EXPECT_EQ(wrong.exit_code, 3) << wrong.out << wrong.err;
  EXPECT_NE(wrong.err.find("does not name the host of --server-addr"), std::string::npos)
      << wrong.err;
}

TEST_F(TlsE2E, MtlsRefusesClientsWithoutACertificateFromItsCa) {
  certs_.Client("stranger", "other");
  stack_.StartServer({.env = ServerTls(/*mtls=*/true)});

  auto none = Ctl(Tls("ca"), {"queue", "list"});
  EXPECT_EQ(none.exit_code, 3) << none.out << none.err;
  EXPECT_NE(none.err.find("it may require a client certificate signed by its CA"),
            std::string::npos)
      << none.err;
  auto stranger = Ctl(Tls("ca", "stranger"), {"queue", "list"});
  EXPECT_EQ(stranger.exit_code, 3) << stranger.out << stranger.err;
  EXPECT_NE(stranger.err.find("it may require a client certificate"), std::string::npos)
      << stranger.err;
  // The same, without jq-ctl: the server itself refuses both.
  EXPECT_EQ(Probe(grpc::SslCredentials(Ssl("ca"))).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Probe(grpc::SslCredentials(Ssl("ca", "stranger"))).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Probe(grpc::SslCredentials(Ssl("ca", "client"))).error_code(),
            grpc::StatusCode::NOT_FOUND);  // answered: the job does not exist

  // A worker with the client certificate, from JQ_TLS_*, as dev-stack.sh starts one.
  stack_.StartWorker({.id = "w-mtls",
                      .env = {{"JQ_TLS_CA", certs_.pem("ca")},
                              {"JQ_TLS_CERT", certs_.pem("client")},
                              {"JQ_TLS_KEY", certs_.key("client")}}});
  auto done = SubmitAndWait(Tls("ca", "client"));
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_NE(done.out.find("DONE"), std::string::npos) << done.out;

  // A client certificate admits the connection, not the caller: without an API key the
  // server still refuses every RPC (docs/security.md).
  auto keyless = Ctl(Tls("ca", "client"), {"queue", "list"}, "");
  EXPECT_EQ(keyless.exit_code, 1) << keyless.out << keyless.err;
  EXPECT_NE(keyless.err.find("UNAUTHENTICATED"), std::string::npos) << keyless.err;
}

TEST_F(TlsE2E, ExpiredCertificatesAreRefused) {
  certs_.Server("old_server", "ca", -1);
  certs_.Client("old_client", "ca", -1);

  // jq-server will not start with one, and says which file.
  auto env = ServerTls();
  env["JQ_SERVER_TLS_CERT"] = certs_.pem("old_server");
  env["JQ_SERVER_TLS_KEY"] = certs_.key("old_server");
  env["JQ_DB_URL"] = stack_.conninfo();
  env["JQ_SERVER_ADDR"] = "127.0.0.1:" + std::to_string(FreePort());
  Process refused({BinaryPath("jq-server")}, env, stack_.dir() + "/refused.log");
  EXPECT_EQ(refused.Wait(std::chrono::seconds(30)), 1);
  EXPECT_NE(refused.Log().find("jq-server: server.tls.cert: " + certs_.pem("old_server") +
                               ": certificate /CN=jq server old_server expired on "),
            std::string::npos)
      << refused.Log();

  // Nor jq-ctl with an expired client certificate, and the server refuses one regardless.
  stack_.StartServer({.env = ServerTls(/*mtls=*/true)});
  auto old = Ctl(Tls("ca", "old_client"), {"queue", "list"});
  EXPECT_EQ(old.exit_code, 2) << old.out << old.err;
  EXPECT_NE(old.err.find("--tls-cert: " + certs_.pem("old_client") + ": certificate"),
            std::string::npos)
      << old.err;
  EXPECT_NE(old.err.find("expired on"), std::string::npos) << old.err;
  EXPECT_EQ(Probe(grpc::SslCredentials(Ssl("ca", "old_client"))).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Probe(grpc::SslCredentials(Ssl("ca", "client"))).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(TlsE2E, ARotatedServerCertificateIsUsedWithoutARestart) {
  auto env = ServerTls();
  env["JQ_SERVER_TLS_RELOAD_SECONDS"] = "1";
  stack_.StartServer({.env = env});
  ASSERT_EQ(Ctl(Tls("ca"), {"queue", "list"}).exit_code, 0);

  // The new certificate comes from another CA, so that which one is served shows.
  certs_.Server("next", "other");
  Install(certs_.key("next"), certs_.key("server"));
  Install(certs_.pem("next"), certs_.pem("server"));
  EXPECT_TRUE(CtlEventually(Tls("other"), 0)) << "the new certificate was never served";
  EXPECT_EQ(Ctl(Tls("ca"), {"queue", "list"}).exit_code, 3);
  EXPECT_TRUE(stack_.server(0).running());
}

TEST_F(TlsE2E, TheSeedsTlsSettingsTurnTlsOn) {
  stack_.StartServer({.env = {{"JQ_GRPC_TLS_ENABLED", "true"},
                              {"JQ_GRPC_TLS_CERT_PATH", certs_.pem("server")},
                              {"JQ_GRPC_TLS_KEY_PATH", certs_.key("server")}}});
  EXPECT_EQ(Ctl(Tls("ca"), {"queue", "list"}).exit_code, 0);
  EXPECT_EQ(Ctl({}, {"queue", "list"}).exit_code, 3);
}

}  // namespace
}  // namespace jq::testing
