// telemetry/http_server.h over HTTPS: /metrics fetched with the test CA, plaintext refused,
// client certificates required with a client CA, and rotated certificate files presented
// without a restart (certificates from gen-certs.sh; a loopback port, no servers).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "support/test_certs.h"
#include "telemetry/http_server.h"

namespace jq::telemetry {
namespace {

using jq::testing::TestCerts;
namespace fs = std::filesystem;

std::string Hex(const unsigned char* p, unsigned n) {
  std::string out;
  char b[3];
  for (unsigned i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", p[i]);
    out += b;
  }
  return out;
}

std::string Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  return Hex(md, n);
}

std::string FileFingerprint(const std::string& pem) {
  FILE* f = std::fopen(pem.c_str(), "r");
  if (f == nullptr) return "cannot open " + pem;
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) return "no certificate in " + pem;
  std::string fp = Fingerprint(cert);
  X509_free(cert);
  return fp;
}

struct Response {
  std::string text;         // what the server sent back; empty when the handshake failed
  std::string fingerprint;  // SHA-256 of the certificate the server presented
  std::string error;        // the client's TLS error, if any
  bool ok() const { return text.rfind("HTTP/1.1 200", 0) == 0; }
};

// GET path over TLS from 127.0.0.1:port, verifying the server against ca (and its name,
// 127.0.0.1); with cert and key, presenting that client certificate.
Response HttpsGet(int port, const std::string& ca, const std::string& path,
                  const std::string& cert = "", const std::string& key = "") {
  Response r;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!cert.empty()) {
    SSL_CTX_use_certificate_chain_file(ctx, cert.c_str());
    SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM);
  }
  BIO* bio = BIO_new_ssl_connect(ctx);
  const std::string target = "127.0.0.1:" + std::to_string(port);
  BIO_set_conn_hostname(bio, target.c_str());
  SSL* ssl = nullptr;
  BIO_get_ssl(bio, &ssl);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
  if (BIO_do_handshake(bio) == 1) {
    if (X509* peer = SSL_get1_peer_certificate(ssl)) {
      r.fingerprint = Fingerprint(peer);
      X509_free(peer);
    }
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    BIO_write(bio, request.data(), static_cast<int>(request.size()));
    char buf[4096];
    for (int n; (n = BIO_read(bio, buf, sizeof buf)) > 0;) r.text.append(buf, n);
  }
  const unsigned long e = ERR_get_error();
  if (e != 0) r.error = ERR_error_string(e, nullptr);
  ERR_clear_error();
  BIO_free_all(bio);
  SSL_CTX_free(ctx);
  return r;
}

// GET path in plaintext; what came back, if anything.
std::string PlainGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  std::string out;
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) > 0) {
      char buf[4096];
      for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, n);
    }
  }
  close(fd);
  return out;
}

// Replaces to with a copy of from the way a rotation does: written beside it, renamed over it.
void Install(const std::string& from, const std::string& to) {
  fs::copy_file(from, to + ".new", fs::copy_options::overwrite_existing);
  fs::rename(to + ".new", to);
}

class HttpTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TestCerts(fs::temp_directory_path().string() + "/jq-http-tls-test-" +
                           std::to_string(getpid()));
    certs_->Ca("ca");
    certs_->Ca("other");
    certs_->Server("server", "ca");
    certs_->Server("rotated", "ca");
    certs_->Client("client", "ca");
    certs_->Client("stranger", "other");
  }
  static void TearDownTestSuite() {
    fs::remove_all(certs_->dir());
    delete certs_;
  }

  void SetUp() override {
    auto& counter = prometheus::BuildCounter().Name("jq_test_total").Help("t").Register(*registry_);
    counter.Add({}).Increment();
  }

  static HttpTls Tls(const std::string& cert, const std::string& key,
                     const std::string& client_ca = "") {
    Config::HttpTls c;
    c.cert = cert;
    c.key = key;
    c.client_ca = client_ca;
    c.reload_seconds = 1;
    return HttpTlsFrom(c, "metrics.tls");
  }
  std::unique_ptr<HttpServer> Server() {
    return std::make_unique<HttpServer>(
        std::vector<std::shared_ptr<prometheus::Collectable>>{registry_}, nullptr);
  }

  static TestCerts* certs_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
};

TestCerts* HttpTlsTest::certs_ = nullptr;

TEST_F(HttpTlsTest, ServesMetricsOverHttpsAndRefusesPlaintext) {
  const TestCerts& c = *certs_;
  auto http = Server();
  ASSERT_TRUE(http->Start("127.0.0.1:0", Tls(c.pem("server"), c.key("server"))).ok());
  ASSERT_GT(http->port(), 0);

  const Response r = HttpsGet(http->port(), c.pem("ca"), "/metrics");
  EXPECT_TRUE(r.ok()) << r.text << r.error;
  EXPECT_NE(r.text.find("jq_test_total 1"), std::string::npos) << r.text;
  EXPECT_EQ(r.fingerprint, FileFingerprint(c.pem("server")));
  EXPECT_TRUE(HttpsGet(http->port(), c.pem("ca"), "/healthz").ok());

  const std::string plain = PlainGet(http->port(), "/metrics");
  EXPECT_EQ(plain.find("HTTP/1."), std::string::npos) << plain;
  EXPECT_EQ(plain.find("jq_test_total"), std::string::npos) << plain;

  // A client that trusts another CA does not accept the server.
  EXPECT_FALSE(HttpsGet(http->port(), c.pem("other"), "/metrics").ok());
  // And the server is still serving after all that.
  EXPECT_TRUE(HttpsGet(http->port(), c.pem("ca"), "/metrics").ok());
}

TEST_F(HttpTlsTest, WithAClientCaAClientCertificateSignedByItIsRequired) {
  const TestCerts& c = *certs_;
  auto http = Server();
  const HttpTls tls = Tls(c.pem("server"), c.key("server"), c.pem("ca"));
  EXPECT_STREQ(tls.mode(), "mTLS (client certificates required)");
  ASSERT_TRUE(http->Start("127.0.0.1:0", tls).ok());

  EXPECT_FALSE(HttpsGet(http->port(), c.pem("ca"), "/metrics").ok());
  EXPECT_FALSE(
      HttpsGet(http->port(), c.pem("ca"), "/metrics", c.pem("stranger"), c.key("stranger")).ok());
  const Response r =
      HttpsGet(http->port(), c.pem("ca"), "/metrics", c.pem("client"), c.key("client"));
  EXPECT_TRUE(r.ok()) << r.text << r.error;
}

TEST_F(HttpTlsTest, RotatedFilesArePresentedWithoutARestart) {
  const TestCerts& c = *certs_;
  const std::string cert = c.dir() + "/live.pem";
  const std::string key = c.dir() + "/live.key";
  Install(c.pem("server"), cert);
  Install(c.key("server"), key);
  auto http = Server();
  ASSERT_TRUE(http->Start("127.0.0.1:0", Tls(cert, key)).ok());
  const std::string before = FileFingerprint(c.pem("server"));
  const std::string after = FileFingerprint(c.pem("rotated"));
  ASSERT_NE(before, after);
  EXPECT_EQ(HttpsGet(http->port(), c.pem("ca"), "/metrics").fingerprint, before);

  // Half a rotation (the new certificate, the old key) is not loaded: the old pair stays.
  Install(c.pem("rotated"), cert);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  Response r = HttpsGet(http->port(), c.pem("ca"), "/metrics");
  EXPECT_TRUE(r.ok()) << r.text << r.error;
  EXPECT_EQ(r.fingerprint, before);

  // The key follows: the next handshake after the reload interval presents the new pair.
  Install(c.key("rotated"), key);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  r = HttpsGet(http->port(), c.pem("ca"), "/metrics");
  EXPECT_TRUE(r.ok()) << r.text << r.error;
  EXPECT_EQ(r.fingerprint, after);
}

TEST_F(HttpTlsTest, BadFilesAreStartErrorsNamingTheSetting) {
  const TestCerts& c = *certs_;
  auto http = Server();
  Status s = http->Start("127.0.0.1:0", Tls("/nonexistent/cert.pem", c.key("server")));
  EXPECT_EQ(s.message(),
            "metrics.tls.cert: /nonexistent/cert.pem: cannot read: No such file or directory");
  s = http->Start("127.0.0.1:0", Tls(c.pem("server"), c.key("rotated")));
  EXPECT_EQ(s.message(), "metrics.tls.key: " + c.key("rotated") +
                             ": does not match the certificate in metrics.tls.cert (" +
                             c.pem("server") + ")");
  s = http->Start("127.0.0.1:0", Tls("", "", c.pem("ca")));
  EXPECT_EQ(s.message(),
            "metrics.tls.client_ca: mTLS needs TLS: set metrics.tls.cert and metrics.tls.key too");
  EXPECT_EQ(http->port(), 0);
}

TEST_F(HttpTlsTest, WorkerSettingsAreNamedByTheirKeys) {
  Config::HttpTls w;
  w.key = "/k";
  w.reload_seconds = 7;
  const HttpTls tls = HttpTlsFrom(w, "worker.metrics_tls");
  EXPECT_EQ(tls.reload, std::chrono::seconds(7));
  EXPECT_FALSE(tls.enabled());
  EXPECT_EQ(CheckHttpTls(tls).message(),
            "worker.metrics_tls.cert: required when worker.metrics_tls.key is set");
}

}  // namespace
}  // namespace jq::telemetry
