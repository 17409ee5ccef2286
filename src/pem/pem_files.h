// The PEM files jq's TLS settings name (docs/security.md): certificate chains, private keys and
// CA bundles, read and checked with OpenSSL. Used by gRPC's TLS (rpc/tls.h), which hands the
// paths on to gRPC, and by the metrics port's HTTPS (telemetry/http_server.h), which loads the
// parsed objects into its own SSL_CTX. Errors are InvalidArgument naming the setting and the
// path, e.g. "server.tls.key: /etc/jq/key.pem: cannot read: No such file or directory".
// Thread-safe: the functions share no state; they block on reading the files.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace jq::pem {

// One PEM file, and the name the user set it by (a config key or a flag), for errors.
struct PemFile {
  std::string path;     // empty = not given
  std::string setting;  // e.g. "server.tls.cert", "--tls-ca"
};

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct KeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

// A certificate chain (leaf first) and the private key of its leaf.
struct Identity {
  std::vector<X509Ptr> chain;
  KeyPtr key;
};

// The file's bytes.
Result<std::string> ReadFile(const PemFile& f);
// Every certificate in the file, each valid now (a handshake would refuse it otherwise); at
// least one.
Result<std::vector<X509Ptr>> LoadCertificates(const PemFile& f);
// cert and key both given: the chain and an unencrypted key that matches its leaf.
Result<Identity> LoadIdentity(const PemFile& cert, const PemFile& key);

// The files a TLS server listens with: gRPC's (rpc::ServerTls) and the metrics port's
// (telemetry::HttpTls).
struct ServerFiles {
  PemFile cert;       // certificate chain; TLS is on when set
  PemFile key;        // its private key
  PemFile client_ca;  // set = mTLS: a client certificate signed by it is required and verified
  std::chrono::seconds reload{10};  // how often the files are re-read
  bool enabled() const { return !cert.path.empty(); }
  // For logs: "plaintext", "TLS" or "mTLS (client certificates required)".
  const char* mode() const;
};

// client_ca needs cert; then CheckIdentity and CheckCa.
Status CheckServerFiles(const ServerFiles& files);

// Both given (then LoadIdentity succeeds) or neither; a missing one is named.
Status CheckIdentity(const PemFile& cert, const PemFile& key);
// Not given, or LoadCertificates succeeds.
Status CheckCa(const PemFile& ca);

}  // namespace jq::pem
