#include "telemetry/http_server.h"

#include <CivetServer.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace jq::telemetry {
namespace {

void Respond(mg_connection* conn, int code, const char* reason, const std::string& content_type,
             const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Connection: close\r\n\r\n",
            code, reason, content_type.c_str(), body.size());
  mg_write(conn, body.data(), body.size());
}

class MetricsHandler final : public CivetHandler {
 public:
  explicit MetricsHandler(std::vector<std::shared_ptr<prometheus::Collectable>> collectables)
      : collectables_(std::move(collectables)) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    std::vector<prometheus::MetricFamily> families;
    for (const auto& c : collectables_) {
      auto f = c->Collect();
      families.insert(families.end(), std::make_move_iterator(f.begin()),
                      std::make_move_iterator(f.end()));
    }
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    Respond(conn, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", out.str());
    return true;
  }

 private:
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
};

class HealthHandler final : public CivetHandler {
 public:
  explicit HealthHandler(std::function<Status()> check) : check_(std::move(check)) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    const Status s = check_ ? check_() : Status::Ok();
    if (s.ok()) {
      Respond(conn, 200, "OK", "text/plain", "ok\n");
    } else {
      Respond(conn, 503, "Service Unavailable", "text/plain", s.message() + "\n");
    }
    return true;
  }

 private:
  std::function<Status()> check_;
};

}  // namespace

struct HttpServer::Impl {
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  std::function<Status()> ready;
  std::unique_ptr<CivetServer> server;
  std::unique_ptr<MetricsHandler> metrics;
  std::unique_ptr<HealthHandler> healthz, readyz;
};

HttpServer::HttpServer(std::vector<std::shared_ptr<prometheus::Collectable>> collectables,
                       std::function<Status()> ready)
    : impl_(std::make_unique<Impl>()) {
  impl_->collectables = std::move(collectables);
  impl_->ready = std::move(ready);
}

HttpServer::~HttpServer() {
  Stop();
}

Status HttpServer::Start(const std::string& addr) {
  if (impl_->server) return Status::Ok();
  try {
    // civetweb takes "HOST:PORT" for a listening port bound to HOST.
    std::vector<std::string> options = {"listening_ports", addr, "num_threads", "4"};
    impl_->server = std::make_unique<CivetServer>(options);
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot listen on " + addr + ": " + e.what());
  }
  impl_->metrics = std::make_unique<MetricsHandler>(impl_->collectables);
  impl_->healthz = std::make_unique<HealthHandler>(nullptr);
  impl_->readyz = std::make_unique<HealthHandler>(impl_->ready);
  impl_->server->addHandler("/metrics", impl_->metrics.get());
  impl_->server->addHandler("/healthz", impl_->healthz.get());
  impl_->server->addHandler("/readyz", impl_->readyz.get());
  return Status::Ok();
}

void HttpServer::Stop() {
  if (impl_ && impl_->server) {
    impl_->server->close();
    impl_->server.reset();
  }
}

}  // namespace jq::telemetry
