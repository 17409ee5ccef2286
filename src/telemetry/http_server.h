// The operations HTTP endpoint of jq-server and jq-worker (SPEC §11): /metrics (Prometheus
// text format), /healthz (the process is alive) and /readyz (ready() says so, e.g. the
// database is reachable with the schema applied). Serves from civetweb's own threads, over
// plain HTTP or, when HttpTls is enabled, HTTPS only (optionally requiring client certificates).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "pem/pem_files.h"

namespace prometheus {
class Collectable;
}

namespace jq::telemetry {

// HTTPS on one listener (docs/security.md): HTTPS is on when cert is set. The files are
// re-checked at most every `reload`, by the first handshake after that long: a rotated
// certificate (or client CA) is presented to new connections without a restart; a half-written
// or mismatched set is skipped with a warning and the previous one kept until the files are
// whole again.
using HttpTls = pem::ServerFiles;

// The settings under `prefix` ("metrics.tls", "worker.metrics_tls"), named by their keys.
HttpTls HttpTlsFrom(const Config::HttpTls& tls, std::string_view prefix);

// Each given file is readable and holds what it should (pem::CheckServerFiles); client_ca
// needs cert. Errors are InvalidArgument naming the setting and the path.
Status CheckHttpTls(const HttpTls& tls);

class HttpServer {
 public:
  // collectables: what /metrics serializes (registries, the process collector).
  // ready: returns OK, or a Status whose message /readyz shows with a 503.
  HttpServer(std::vector<std::shared_ptr<prometheus::Collectable>> collectables,
             std::function<Status()> ready);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // addr: HOST:PORT (port 0: any free one, see port()). With tls enabled, the port speaks only
  // TLS. Errors (port in use, bad address) name the address; a bad TLS file is an
  // InvalidArgument naming its setting (CheckHttpTls). Not thread-safe with Stop().
  Status Start(const std::string& addr, const HttpTls& tls = {});
  void Stop();
  // The port listened on; 0 before Start.
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jq::telemetry
