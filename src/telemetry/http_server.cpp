#include "telemetry/http_server.h"

#include <CivetServer.h>
#include <openssl/ssl.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <sstream>

#include "telemetry/openssl_compat.h"

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

// What one HTTPS listener presents, re-read when its files change. Rotation is done in
// OpenSSL's certificate callback, per handshake, rather than by restarting civetweb: a restart
// would close the port for a moment (failing scrapes and probes) and drop connections in
// flight, while the callback costs one clock read per handshake and a re-read of three small
// files every `reload`. Thread-safe: civetweb's worker threads call Current() concurrently.
class TlsFiles {
 public:
  explicit TlsFiles(HttpTls tls) : tls_(std::move(tls)) {}

  // The first load, at Start; errors name the setting and the file.
  Status Load() {
    auto contents = Contents();
    if (!contents.ok()) return contents.status();
    auto loaded = Parse();
    if (!loaded.ok()) return loaded.status();
    std::lock_guard lock(mu_);
    current_ = std::move(*loaded);
    seen_ = std::move(*contents);
    next_check_ = std::chrono::steady_clock::now() + tls_.reload;
    return Status::Ok();
  }

  const HttpTls& settings() const { return tls_; }

  // SSL_CTX_set_cert_cb's callback: puts the current certificate, key and client CA on ssl.
  static int OnHandshake(SSL* ssl, void* arg) {
    const auto loaded = static_cast<TlsFiles*>(arg)->Current();
    if (!loaded) return 0;
    X509* leaf = loaded->identity.chain.front().get();
    if (SSL_use_cert_and_key(ssl, leaf, loaded->identity.key.get(), loaded->chain.get(), 1) != 1) {
      return 0;
    }
    if (loaded->client_ca && SSL_set1_verify_cert_store(ssl, loaded->client_ca.get()) != 1) {
      return 0;
    }
    return 1;
  }

 private:
  struct ChainFree {
    void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
  };
  struct StoreFree {
    void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  };
  struct Loaded {
    pem::Identity identity;
    std::unique_ptr<STACK_OF(X509), ChainFree> chain;  // the intermediates: identity.chain[1..]
    std::unique_ptr<X509_STORE, StoreFree> client_ca;  // null without mTLS
  };

  // The files' bytes, to notice a change without parsing.
  Result<std::string> Contents() const {
    std::string all;
    for (const pem::PemFile* f : {&tls_.cert, &tls_.key, &tls_.client_ca}) {
      if (f->path.empty()) continue;
      auto bytes = pem::ReadFile(*f);
      if (!bytes.ok()) return bytes.status();
      all += std::to_string(bytes->size()) + ":" + *bytes;
    }
    return all;
  }

  Result<std::shared_ptr<const Loaded>> Parse() const {
    auto identity = pem::LoadIdentity(tls_.cert, tls_.key);
    if (!identity.ok()) return identity.status();
    auto loaded = std::make_shared<Loaded>();
    loaded->identity = std::move(*identity);
    loaded->chain.reset(sk_X509_new_null());
    for (std::size_t i = 1; i < loaded->identity.chain.size(); ++i) {
      X509* c = loaded->identity.chain[i].get();
      X509_up_ref(c);
      sk_X509_push(loaded->chain.get(), c);
    }
    if (!tls_.client_ca.path.empty()) {
      auto cas = pem::LoadCertificates(tls_.client_ca);
      if (!cas.ok()) return cas.status();
      loaded->client_ca.reset(X509_STORE_new());
      for (const auto& ca : *cas) X509_STORE_add_cert(loaded->client_ca.get(), ca.get());
    }
    return std::shared_ptr<const Loaded>(std::move(loaded));
  }

  // The set to present now; first re-reads the files if `reload` has passed since the last
  // look. A set that does not load (a rotation caught half-way) keeps the previous one.
  std::shared_ptr<const Loaded> Current() {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now < next_check_) return current_;
    next_check_ = now + tls_.reload;
    auto contents = Contents();
    if (contents.ok() && *contents == seen_) return current_;
    auto loaded =
        contents.ok() ? Parse() : Result<std::shared_ptr<const Loaded>>(contents.status());
    if (!loaded.ok()) {
      spdlog::warn("HTTPS: keeping the previous certificate: {}", loaded.status().message());
      return current_;
    }
    current_ = std::move(*loaded);
    seen_ = std::move(*contents);
    spdlog::info("HTTPS: reloaded {} ({})", tls_.cert.path, tls_.cert.setting);
    return current_;
  }

  const HttpTls tls_;
  std::mutex mu_;
  std::shared_ptr<const Loaded> current_;  // GUARDED_BY(mu_)
  std::string seen_;                       // GUARDED_BY(mu_): what current_ was read from
  std::chrono::steady_clock::time_point next_check_;  // GUARDED_BY(mu_)
};

// civetweb's init_ssl callback: civetweb made the SSL_CTX (and frees it); jq fills it. Returns 1:
// civetweb loads no certificate of its own.
int InitSsl(void* ssl_ctx, void* user_data) {
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  // The TlsFiles Start gave CivetServer as its user context (not const: Current() caches).
  auto* files = static_cast<TlsFiles*>(
      const_cast<void*>(static_cast<CivetServer*>(user_data)->getUserContext()));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_cert_cb(ctx, &TlsFiles::OnHandshake, files);
  if (!files->settings().client_ca.path.empty()) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    // Needed for session resumption once client certificates are verified.
    static constexpr unsigned char kSessionContext[] = "jq-http";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  }
  return 1;
}

// civetweb's messages: collected while Start constructs the server (so that its error can say
// why), logged at debug level afterwards (e.g. a plaintext client on the HTTPS port).
thread_local std::string* start_errors = nullptr;

int LogMessage(const mg_connection*, const char* message) {
  if (start_errors != nullptr) {
    *start_errors += (start_errors->empty() ? "" : "; ") + std::string(message);
  } else {
    spdlog::debug("civetweb: {}", message);
  }
  return 1;
}

}  // namespace

HttpTls HttpTlsFrom(const Config::HttpTls& tls, std::string_view prefix) {
  const std::string p(prefix);
  return {.cert = {tls.cert, p + ".cert"},
          .key = {tls.key, p + ".key"},
          .client_ca = {tls.client_ca, p + ".client_ca"},
          .reload = std::chrono::seconds(tls.reload_seconds)};
}

Status CheckHttpTls(const HttpTls& tls) {
  return pem::CheckServerFiles(tls);
}

struct HttpServer::Impl {
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  std::function<Status()> ready;
  std::unique_ptr<TlsFiles> tls;  // outlives server, whose SSL_CTX points at it
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

Status HttpServer::Start(const std::string& addr, const HttpTls& tls) {
  if (impl_->server) return Status::Ok();
  CivetCallbacks callbacks;
  callbacks.log_message = LogMessage;
  if (Status s = CheckHttpTls(tls); !s.ok()) return s;
  if (tls.enabled()) {
    if (Status s = LoadCivetwebOpenSslCompat(); !s.ok()) return s;
    impl_->tls = std::make_unique<TlsFiles>(tls);
    if (Status s = impl_->tls->Load(); !s.ok()) return s;
    callbacks.init_ssl = InitSsl;
  }
  std::string errors;
  start_errors = &errors;
  try {
    // civetweb takes "HOST:PORT" for a listening port bound to HOST; a trailing "s" makes it
    // TLS only.
    std::vector<std::string> options = {"listening_ports", addr + (tls.enabled() ? "s" : ""),
                                        "num_threads", "4"};
    impl_->server = std::make_unique<CivetServer>(options, &callbacks, impl_->tls.get());
  } catch (const std::exception& e) {
    start_errors = nullptr;
    return Status::Unavailable("cannot listen on " + addr + ": " +
                               (errors.empty() ? e.what() : errors));
  }
  start_errors = nullptr;
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

int HttpServer::port() const {
  if (!impl_->server) return 0;
  const std::vector<int> ports = impl_->server->getListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace jq::telemetry
