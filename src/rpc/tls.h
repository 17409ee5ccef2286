// TLS and mTLS on jq's gRPC connections (docs/security.md): the credentials jq-server listens
// with and jq-worker, jq-ctl and jq-bench dial with, built from PEM file paths. The files are
// watched (gRPC's FileWatcherCertificateProvider re-reads them every `reload`): a rotated
// certificate is used by new connections without a restart; established ones keep theirs.
// Check* read the files once, at start, so that a bad file is an error naming its setting
// rather than a handshake that fails later. Thread-safe: the functions share no state.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <chrono>
#include <memory>
#include <string>

#include "core/config.h"
#include "core/status.h"
#include "pem/pem_files.h"

namespace jq::rpc {

using pem::PemFile;

using ServerTls = pem::ServerFiles;

struct ClientTls {
  PemFile ca;    // CA bundle the server's certificate must chain to; empty = the system's
  PemFile cert;  // client certificate, for mTLS; with key
  PemFile key;
  std::chrono::seconds reload{10};
  bool enabled() const { return !ca.path.empty() || !cert.path.empty() || !key.path.empty(); }
};

// The settings of jq's configuration, named by their keys.
ServerTls ServerTlsFrom(const Config::Server::Tls& tls);
ClientTls ClientTlsFrom(const Config::Worker::Tls& tls);
// jq-ctl's and jq-bench's --tls-ca, --tls-cert and --tls-key (also JQ_TLS_CA, _CERT, _KEY).
ClientTls ClientTlsFromFlags(const std::string& ca, const std::string& cert,
                             const std::string& key);

// Each given file is readable and holds what it should: certificates that are valid now, a
// private key that matches the certificate; a certificate needs its key and the other way
// round. Errors are InvalidArgument naming the setting and the path, e.g.
// "server.tls.key: /etc/jq/key.pem: cannot read: No such file or directory".
Status CheckServerTls(const ServerTls& tls);
Status CheckClientTls(const ClientTls& tls);

// Insecure credentials when TLS is not enabled. Call Check* first: a file that cannot be read
// here only makes every handshake fail (gRPC logs why and keeps retrying the file).
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const ServerTls& tls);
// The server's certificate must name the host dialled (subjectAltName DNS or IP).
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const ClientTls& tls);

}  // namespace jq::rpc
