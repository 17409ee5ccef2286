// The operations HTTP endpoint of jq-server and jq-worker (SPEC §11): /metrics (Prometheus
// text format), /healthz (the process is alive) and /readyz (ready() says so, e.g. the
// database is reachable with the schema applied). Serves from civetweb's own threads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace prometheus {
class Collectable;
}

namespace jq::telemetry {

class HttpServer {
 public:
  // collectables: what /metrics serializes (registries, the process collector).
  // ready: returns OK, or a Status whose message /readyz shows with a 503.
  HttpServer(std::vector<std::shared_ptr<prometheus::Collectable>> collectables,
             std::function<Status()> ready);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // addr: HOST:PORT. Errors (port in use, bad address) name the address.
  Status Start(const std::string& addr);
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jq::telemetry
