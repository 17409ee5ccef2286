#include "rpc/tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

namespace jq::rpc {

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

Status CheckServerTls(const ServerTls& tls) {
  return pem::CheckServerFiles(tls);
}

Status CheckClientTls(const ClientTls& tls) {
  if (Status s = pem::CheckCa(tls.ca); !s.ok()) return s;
  return pem::CheckIdentity(tls.cert, tls.key);
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
