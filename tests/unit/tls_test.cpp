// rpc/tls.h: the checks that make a bad TLS file an error naming its setting at start, on
// certificates gen-certs.sh makes (no servers).
#include "rpc/tls.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/test_certs.h"

namespace jq::rpc {
namespace {

using jq::testing::TestCerts;

class TlsCheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TestCerts(std::filesystem::temp_directory_path().string() + "/jq-tls-test-" +
                           std::to_string(getpid()));
    certs_->Ca("ca");
    certs_->Ca("other");
    certs_->Server("server", "ca");
    certs_->Server("other_server", "other");
    certs_->Client("client", "ca");
    certs_->Client("old", "ca", -1);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(certs_->dir());
    delete certs_;
  }

  static ServerTls Server(const std::string& cert, const std::string& key,
                          const std::string& client_ca = "") {
    Config::Server::Tls c;
    c.cert = cert;
    c.key = key;
    c.client_ca = client_ca;
    return ServerTlsFrom(c);
  }
  static std::string Error(const Status& s) { return s.ok() ? "ok" : s.message(); }

  static TestCerts* certs_;
};

TestCerts* TlsCheckTest::certs_ = nullptr;

TEST_F(TlsCheckTest, GoodFilesPass) {
  const TestCerts& c = *certs_;
  EXPECT_TRUE(CheckServerTls(Server(c.pem("server"), c.key("server"))).ok());
  EXPECT_TRUE(CheckServerTls(Server(c.pem("server"), c.key("server"), c.pem("ca"))).ok());
  EXPECT_TRUE(CheckClientTls(ClientTlsFromFlags(c.pem("ca"), "", "")).ok());
  EXPECT_TRUE(
      CheckClientTls(ClientTlsFromFlags(c.pem("ca"), c.pem("client"), c.key("client"))).ok());
  EXPECT_TRUE(CheckServerTls(Server("", "")).ok());  // plaintext
  EXPECT_FALSE(Server("", "").enabled());
  EXPECT_FALSE(ClientTlsFromFlags("", "", "").enabled());
}

TEST_F(TlsCheckTest, AMissingFileIsNamedBySetting) {
  const TestCerts& c = *certs_;
  EXPECT_EQ(Error(CheckServerTls(Server("/nonexistent/cert.pem", c.key("server")))),
            "server.tls.cert: /nonexistent/cert.pem: cannot read: No such file or directory");
  EXPECT_EQ(Error(CheckServerTls(Server(c.pem("server"), c.key("server"), "/nonexistent/ca"))),
            "server.tls.client_ca: /nonexistent/ca: cannot read: No such file or directory");
  EXPECT_EQ(Error(CheckClientTls(ClientTlsFromFlags("/nonexistent/ca", "", ""))),
            "--tls-ca: /nonexistent/ca: cannot read: No such file or directory");
}

TEST_F(TlsCheckTest, ACertificateNeedsItsKeyAndTheOtherWayRound) {
  const TestCerts& c = *certs_;
  EXPECT_EQ(Error(CheckServerTls(Server(c.pem("server"), ""))),
            "server.tls.key: required when server.tls.cert is set");
  EXPECT_EQ(Error(CheckClientTls(ClientTlsFromFlags(c.pem("ca"), "", c.key("client")))),
            "--tls-cert: required when --tls-key is set");
  EXPECT_EQ(Error(CheckServerTls(Server("", "", c.pem("ca")))),
            "server.tls.client_ca: mTLS needs TLS: set server.tls.cert and server.tls.key too");
}

TEST_F(TlsCheckTest, AKeyOfAnotherCertificateIsRefused) {
  const TestCerts& c = *certs_;
  const std::string e = Error(CheckServerTls(Server(c.pem("server"), c.key("other_server"))));
  EXPECT_EQ(e, "server.tls.key: " + c.key("other_server") +
                   ": does not match the certificate in server.tls.cert (" + c.pem("server") + ")");
}

TEST_F(TlsCheckTest, FilesOfTheWrongKindAreRefused) {
  const TestCerts& c = *certs_;
  EXPECT_EQ(Error(CheckServerTls(Server(c.key("server"), c.key("server")))),
            "server.tls.cert: " + c.key("server") + ": no PEM certificate in it");
  EXPECT_EQ(Error(CheckServerTls(Server(c.pem("server"), c.pem("server")))),
            "server.tls.key: " + c.pem("server") + ": no unencrypted PEM private key in it");
  const std::string empty = c.dir() + "/empty.pem";
  std::ofstream(empty).close();
  EXPECT_EQ(Error(CheckClientTls(ClientTlsFromFlags(empty, "", ""))),
            "--tls-ca: " + empty + ": no PEM certificate in it");
}

TEST_F(TlsCheckTest, AnExpiredCertificateIsRefused) {
  const TestCerts& c = *certs_;
  const std::string e =
      Error(CheckClientTls(ClientTlsFromFlags(c.pem("ca"), c.pem("old"), c.key("old"))));
  EXPECT_EQ(
      e.rfind("--tls-cert: " + c.pem("old") + ": certificate /CN=jq client old expired on ", 0), 0u)
      << e;
}

TEST_F(TlsCheckTest, ConfigSettingsAreNamedByTheirKeys) {
  Config::Worker::Tls w;
  w.ca = "/nonexistent/ca";
  w.reload_seconds = 3;
  const ClientTls tls = ClientTlsFrom(w);
  EXPECT_EQ(tls.reload, std::chrono::seconds(3));
  EXPECT_EQ(Error(CheckClientTls(tls)),
            "worker.tls.ca: /nonexistent/ca: cannot read: No such file or directory");
}

}  // namespace
}  // namespace jq::rpc
