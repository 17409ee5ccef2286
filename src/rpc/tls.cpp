#include "rpc/tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace jq::rpc {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

Status Bad(const PemFile& f, const std::string& why) {
  return Status::InvalidArgument(f.setting + ": " + f.path + ": " + why);
}

Result<std::string> Read(const PemFile& f) {
  std::ifstream in(f.path, std::ios::binary);
  if (!in) return Bad(f, std::string("cannot read: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) return Bad(f, "cannot read");
  return ss.str();
}

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string TimeText(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), t);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string Subject(X509* cert) {
  char buf[256] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf - 1);
  return buf;
}

// Every certificate in the file, each valid now (a handshake would refuse it otherwise).
Result<std::vector<X509Ptr>> Certificates(const PemFile& f) {
  auto pem = Read(f);
  if (!pem.ok()) return pem.status();
  std::vector<X509Ptr> certs;
  BioPtr bio = MemBio(*pem);
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(c);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (certs.empty()) return Bad(f, "no PEM certificate in it");
  for (const auto& c : certs) {
    if (X509_cmp_current_time(X509_get0_notAfter(c.get())) < 0) {
      return Bad(f, "certificate " + Subject(c.get()) + " expired on " +
                        TimeText(X509_get0_notAfter(c.get())));
    }
    if (X509_cmp_current_time(X509_get0_notBefore(c.get())) > 0) {
      return Bad(f, "certificate " + Subject(c.get()) + " is not valid before " +
                        TimeText(X509_get0_notBefore(c.get())));
    }
  }
  return certs;
}

// No password prompt on the terminal: an encrypted key is refused (gRPC cannot use one).
int NoPassword(char*, int, int, void*) {
  return 0;
}

// The certificate chain and its key: both given or neither, and the key matches.
Status CheckIdentity(const PemFile& cert, const PemFile& key) {
  if (cert.path.empty() != key.path.empty()) {
    const PemFile& missing = cert.path.empty() ? cert : key;
    const PemFile& given = cert.path.empty() ? key : cert;
    return Status::InvalidArgument(missing.setting + ": required when " + given.setting +
                                   " is set");
  }
  if (cert.path.empty()) return Status::Ok();
  auto certs = Certificates(cert);
  if (!certs.ok()) return certs.status();
  auto pem = Read(key);
  if (!pem.ok()) return pem.status();
  BioPtr bio = MemBio(*pem);
  KeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  ERR_clear_error();
  if (!pkey) return Bad(key, "no unencrypted PEM private key in it");
  if (X509_check_private_key(certs->front().get(), pkey.get()) != 1) {
    ERR_clear_error();
    return Bad(key, "does not match the certificate in " + cert.setting + " (" + cert.path + ")");
  }
  return Status::Ok();
}

Status CheckCa(const PemFile& ca) {
  if (ca.path.empty()) return Status::Ok();
  auto certs = Certificates(ca);
  return certs.ok() ? Status::Ok() : certs.status();
}

}  // namespace

ServerTls ServerTlsFrom(const Config::Server::Tls& tls) {
  return {.cert = {tls.cert, "server.tls.cert"},
          .key = {tls.key, "server.tls.key"},
          .client_ca = {tls.client_ca, "server.tls.client_ca"},
          .reload = std::chrono::seconds(tls.reload_seconds)};
}

ClientTls ClientTlsFrom(const Config::Worker::Tls& tls) {
  return {.ca = {tls.ca, "worker.tls.ca"},
          .cert = {tls.cert, "worker.tls.cert"},
          .key = {tls.key, "worker.tls.key"},
          .reload = std::chrono::seconds(tls.reload_seconds)};
}

ClientTls ClientTlsFromFlags(const std::string& ca, const std::string& cert,
                             const std::string& key) {
  return {.ca = {ca, "--tls-ca"}, .cert = {cert, "--tls-cert"}, .key = {key, "--tls-key"}};
}

const char* ServerTls::mode() const {
  if (!enabled()) return "plaintext";
  return client_ca.path.empty() ? "TLS" : "mTLS (client certificates required)";
}

Status CheckServerTls(const ServerTls& tls) {
  if (!tls.client_ca.path.empty() && tls.cert.path.empty()) {
    return Status::InvalidArgument(tls.client_ca.setting + ": mTLS needs TLS: set " +
                                   tls.cert.setting + " and " + tls.key.setting + " too");
  }
  if (Status s = CheckIdentity(tls.cert, tls.key); !s.ok()) return s;
  return CheckCa(tls.client_ca);
}

Status CheckClientTls(const ClientTls& tls) {
  if (Status s = CheckCa(tls.ca); !s.ok()) return s;
  return CheckIdentity(tls.cert, tls.key);
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const ServerTls& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  auto files = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls.key.path, tls.cert.path, tls.client_ca.path,
      static_cast<unsigned int>(tls.reload.count()));
  grpc::experimental::TlsServerCredentialsOptions options(files);
  options.watch_identity_key_cert_pairs();
  if (!tls.client_ca.path.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const ClientTls& tls) {
  if (!tls.enabled()) return grpc::InsecureChannelCredentials();
  grpc::experimental::TlsChannelCredentialsOptions options;
  if (!tls.ca.path.empty() || !tls.cert.path.empty()) {
    options.set_certificate_provider(
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            tls.key.path, tls.cert.path, tls.ca.path,
            static_cast<unsigned int>(tls.reload.count())));
  }
  if (!tls.ca.path.empty()) options.watch_root_certs();  // else the system's roots
  if (!tls.cert.path.empty()) options.watch_identity_key_cert_pairs();
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace jq::rpc
