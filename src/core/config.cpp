#include "core/config.h"

#include "core/auth.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <map>
#include <optional>
#include <tuple>

#include "core/validation.h"

namespace jq {
namespace {

// Binds each key to its field. Built per call so that it can point into a given Config.
struct Binding {
  std::string* str = nullptr;
  int* integer = nullptr;
  bool* boolean = nullptr;
  std::vector<std::string>* list = nullptr;
};

Binding Bind(Config& c, std::string_view key) {
  static const std::map<std::string_view, std::function<Binding(Config&)>> kBind = {
      {"server.addr", [](Config& c) { return Binding{.str = &c.server.addr}; }},
      {"server.id", [](Config& c) { return Binding{.str = &c.server.id}; }},
      {"server.shutdown_grace_seconds",
       [](Config& c) { return Binding{.integer = &c.server.shutdown_grace_seconds}; }},
      {"server.tls.cert", [](Config& c) { return Binding{.str = &c.server.tls.cert}; }},
      {"server.tls.key", [](Config& c) { return Binding{.str = &c.server.tls.key}; }},
      {"server.tls.client_ca", [](Config& c) { return Binding{.str = &c.server.tls.client_ca}; }},
      {"server.tls.reload_seconds",
       [](Config& c) { return Binding{.integer = &c.server.tls.reload_seconds}; }},
      {"metrics.addr", [](Config& c) { return Binding{.str = &c.metrics.addr}; }},
      {"metrics.finished_depth_seconds",
       [](Config& c) { return Binding{.integer = &c.metrics.finished_depth_seconds}; }},
      {"metrics.tls.cert", [](Config& c) { return Binding{.str = &c.metrics.tls.cert}; }},
      {"metrics.tls.key", [](Config& c) { return Binding{.str = &c.metrics.tls.key}; }},
      {"metrics.tls.client_ca", [](Config& c) { return Binding{.str = &c.metrics.tls.client_ca}; }},
      {"metrics.tls.reload_seconds",
       [](Config& c) { return Binding{.integer = &c.metrics.tls.reload_seconds}; }},
      {"health.addr", [](Config& c) { return Binding{.str = &c.health.addr}; }},
      {"db.url", [](Config& c) { return Binding{.str = &c.db.url}; }},
      {"db.host", [](Config& c) { return Binding{.str = &c.db.host}; }},
      {"db.port", [](Config& c) { return Binding{.integer = &c.db.port}; }},
      {"db.name", [](Config& c) { return Binding{.str = &c.db.name}; }},
      {"db.user", [](Config& c) { return Binding{.str = &c.db.user}; }},
      {"db.password", [](Config& c) { return Binding{.str = &c.db.password}; }},
      {"db.pool_size", [](Config& c) { return Binding{.integer = &c.db.pool_size}; }},
      {"db.connect_timeout_seconds",
       [](Config& c) { return Binding{.integer = &c.db.connect_timeout_seconds}; }},
      {"redis.addr", [](Config& c) { return Binding{.str = &c.redis.addr}; }},
      {"redis.password", [](Config& c) { return Binding{.str = &c.redis.password}; }},
      {"redis.timeout_ms", [](Config& c) { return Binding{.integer = &c.redis.timeout_ms}; }},
      {"kafka.brokers", [](Config& c) { return Binding{.str = &c.kafka.brokers}; }},
      {"kafka.username", [](Config& c) { return Binding{.str = &c.kafka.username}; }},
      {"kafka.password", [](Config& c) { return Binding{.str = &c.kafka.password}; }},
      {"kafka.outbox_stall_seconds",
       [](Config& c) { return Binding{.integer = &c.kafka.outbox_stall_seconds}; }},
      {"dispatch.tick_ms", [](Config& c) { return Binding{.integer = &c.dispatch.tick_ms}; }},
      {"dispatch.batch_size", [](Config& c) { return Binding{.integer = &c.dispatch.batch_size}; }},
      {"dispatch.lease_seconds",
       [](Config& c) { return Binding{.integer = &c.dispatch.lease_seconds}; }},
      {"reaper.interval_ms", [](Config& c) { return Binding{.integer = &c.reaper.interval_ms}; }},
      {"reaper.worker_timeout_seconds",
       [](Config& c) { return Binding{.integer = &c.reaper.worker_timeout_seconds}; }},
      {"reaper.offline_worker_retention_hours",
       [](Config& c) { return Binding{.integer = &c.reaper.offline_worker_retention_hours}; }},
      {"retention.done_jobs_days",
       [](Config& c) { return Binding{.integer = &c.retention.done_jobs_days}; }},
      {"retention.dead_lettered_jobs_days",
       [](Config& c) { return Binding{.integer = &c.retention.dead_lettered_jobs_days}; }},
      {"retention.batch_size",
       [](Config& c) { return Binding{.integer = &c.retention.batch_size}; }},
      {"retention.interval_seconds",
       [](Config& c) { return Binding{.integer = &c.retention.interval_seconds}; }},
      {"retention.batch_pause_ms",
       [](Config& c) { return Binding{.integer = &c.retention.batch_pause_ms}; }},
      {"jobs.max_payload_bytes",
       [](Config& c) { return Binding{.integer = &c.jobs.max_payload_bytes}; }},
      {"jobs.default_max_retries",
       [](Config& c) { return Binding{.integer = &c.jobs.default_max_retries}; }},
      {"worker.id", [](Config& c) { return Binding{.str = &c.worker.id}; }},
      {"worker.server_addr", [](Config& c) { return Binding{.str = &c.worker.server_addr}; }},
      {"worker.keepalive_seconds",
       [](Config& c) { return Binding{.integer = &c.worker.keepalive_seconds}; }},
      {"server.keepalive_seconds",
       [](Config& c) { return Binding{.integer = &c.server.keepalive_seconds}; }},
      {"worker.concurrency", [](Config& c) { return Binding{.integer = &c.worker.concurrency}; }},
      {"worker.queues", [](Config& c) { return Binding{.list = &c.worker.queues}; }},
      {"worker.heartbeat_seconds",
       [](Config& c) { return Binding{.integer = &c.worker.heartbeat_seconds}; }},
      {"worker.output_cap_bytes",
       [](Config& c) { return Binding{.integer = &c.worker.output_cap_bytes}; }},
      {"worker.run_as_user", [](Config& c) { return Binding{.str = &c.worker.run_as_user}; }},
      {"worker.shutdown_grace_seconds",
       [](Config& c) { return Binding{.integer = &c.worker.shutdown_grace_seconds}; }},
      {"worker.kill_grace_seconds",
       [](Config& c) { return Binding{.integer = &c.worker.kill_grace_seconds}; }},
      {"worker.metrics_addr", [](Config& c) { return Binding{.str = &c.worker.metrics_addr}; }},
      {"worker.health_addr", [](Config& c) { return Binding{.str = &c.worker.health_addr}; }},
      {"worker.metrics_tls.cert",
       [](Config& c) { return Binding{.str = &c.worker.metrics_tls.cert}; }},
      {"worker.metrics_tls.key",
       [](Config& c) { return Binding{.str = &c.worker.metrics_tls.key}; }},
      {"worker.metrics_tls.client_ca",
       [](Config& c) { return Binding{.str = &c.worker.metrics_tls.client_ca}; }},
      {"worker.metrics_tls.reload_seconds",
       [](Config& c) { return Binding{.integer = &c.worker.metrics_tls.reload_seconds}; }},
      {"worker.tls.ca", [](Config& c) { return Binding{.str = &c.worker.tls.ca}; }},
      {"worker.tls.cert", [](Config& c) { return Binding{.str = &c.worker.tls.cert}; }},
      {"worker.tls.key", [](Config& c) { return Binding{.str = &c.worker.tls.key}; }},
      {"worker.tls.reload_seconds",
       [](Config& c) { return Binding{.integer = &c.worker.tls.reload_seconds}; }},
      {"limits.tenant_submit_rate",
       [](Config& c) { return Binding{.integer = &c.limits.tenant_submit_rate}; }},
      {"limits.tenant_submit_burst",
       [](Config& c) { return Binding{.integer = &c.limits.tenant_submit_burst}; }},
      {"limits.queue_submit_rate",
       [](Config& c) { return Binding{.integer = &c.limits.queue_submit_rate}; }},
      {"limits.queue_submit_burst",
       [](Config& c) { return Binding{.integer = &c.limits.queue_submit_burst}; }},
      {"limits.tenant_max_running_jobs",
       [](Config& c) { return Binding{.integer = &c.limits.tenant_max_running_jobs}; }},
      {"auth.enabled", [](Config& c) { return Binding{.boolean = &c.auth.enabled}; }},
      {"auth.bootstrap_key", [](Config& c) { return Binding{.str = &c.auth.bootstrap_key}; }},
      {"auth.bootstrap_fleet_key",
       [](Config& c) { return Binding{.str = &c.auth.bootstrap_fleet_key}; }},
      {"auth.bootstrap_tenant", [](Config& c) { return Binding{.str = &c.auth.bootstrap_tenant}; }},
      {"auth.key_refresh_ms", [](Config& c) { return Binding{.integer = &c.auth.key_refresh_ms}; }},
      {"auth.jwt_hs256_secret", [](Config& c) { return Binding{.str = &c.auth.jwt_hs256_secret}; }},
      {"auth.jwt_rs256_public_key_file",
       [](Config& c) { return Binding{.str = &c.auth.jwt_rs256_public_key_file}; }},
      {"auth.jwt_issuer", [](Config& c) { return Binding{.str = &c.auth.jwt_issuer}; }},
      {"auth.jwt_audience", [](Config& c) { return Binding{.str = &c.auth.jwt_audience}; }},
      {"worker.api_key", [](Config& c) { return Binding{.str = &c.worker.api_key}; }},
      {"log.level", [](Config& c) { return Binding{.str = &c.log.level}; }},
  };
  auto it = kBind.find(key);
  return it == kBind.end() ? Binding{} : it->second(c);
}

// YAML 1.1's spellings too (True, on, off), which the seed's yaml-cpp accepted.
std::optional<bool> ParseBool(std::string_view value) {
  std::string v;
  for (char c : value) v.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return std::nullopt;
}

Status RangeCheck(std::string_view key, long long v, long long lo, long long hi) {
  if (v < lo || v > hi) {
    return Status::InvalidArgument(std::string(key) + ": " + std::to_string(v) +
                                   " is out of range " + std::to_string(lo) + ".." +
                                   std::to_string(hi));
  }
  return Status::Ok();
}

// A certificate is useless without its key and the other way round.
Status CheckPair(std::string_view cert_key, const std::string& cert, std::string_view key_key,
                 const std::string& key) {
  if (cert.empty() == key.empty()) return Status::Ok();
  const std::string missing(cert.empty() ? cert_key : key_key);
  const std::string given(cert.empty() ? key_key : cert_key);
  return Status::InvalidArgument(missing + ": required when " + given + " is set");
}

Status ValidateTls(const Config& c) {
  const auto& s = c.server.tls;
  for (auto [cert_key, cert, key_key, key] :
       {std::tuple<std::string_view, const std::string*, std::string_view, const std::string*>{
            "server.tls.cert", &s.cert, "server.tls.key", &s.key},
        {"worker.tls.cert", &c.worker.tls.cert, "worker.tls.key", &c.worker.tls.key},
        {"metrics.tls.cert", &c.metrics.tls.cert, "metrics.tls.key", &c.metrics.tls.key},
        {"worker.metrics_tls.cert", &c.worker.metrics_tls.cert, "worker.metrics_tls.key",
         &c.worker.metrics_tls.key}}) {
    if (Status st = CheckPair(cert_key, *cert, key_key, *key); !st.ok()) return st;
  }
  for (auto [prefix, ca, cert] :
       {std::tuple<std::string_view, const std::string*, const std::string*>{"server.tls",
                                                                             &s.client_ca, &s.cert},
        {"metrics.tls", &c.metrics.tls.client_ca, &c.metrics.tls.cert},
        {"worker.metrics_tls", &c.worker.metrics_tls.client_ca, &c.worker.metrics_tls.cert}}) {
    if (!ca->empty() && cert->empty()) {
      const std::string p(prefix);
      return Status::InvalidArgument(p + ".client_ca: mTLS needs TLS: set " + p + ".cert and " + p +
                                     ".key too");
    }
  }
  // The seed served TLS only with grpc.tls.enabled: true; jq whenever a certificate is set.
  // Either mismatch is refused rather than guessed at: plaintext where TLS was asked for is a
  // silent downgrade, and TLS where the seed served plaintext locks its clients out.
  if (s.seed_enabled == true && s.cert.empty()) {
    return Status::InvalidArgument(
        "grpc.tls.enabled: true needs a certificate: set grpc.tls.cert_path and "
        "grpc.tls.key_path (or server.tls.cert and server.tls.key)");
  }
  if (s.seed_enabled == false && !s.cert.empty()) {
    return Status::InvalidArgument(
        "grpc.tls.enabled: false, but a certificate is set (server.tls.cert), and jq serves TLS "
        "whenever one is: remove grpc.tls.enabled, or the certificate");
  }
  return Status::Ok();
}

}  // namespace

const std::vector<ConfigKey>& ConfigKeys() {
  using K = ConfigKind;
  static const std::vector<ConfigKey> kKeys = {
      {"server.addr", K::kString, false, "gRPC listen address of jq-server"},
      {"server.id", K::kString, false, "replica id (default hostname-pid)"},
      {"server.shutdown_grace_seconds", K::kInt, false, "max seconds to stop after SIGTERM"},
      {"server.tls.cert", K::kString, false,
       "PEM certificate chain; with server.tls.key the gRPC port speaks only TLS"},
      {"server.tls.key", K::kString, false, "PEM private key of server.tls.cert"},
      {"server.tls.client_ca", K::kString, false,
       "PEM CA bundle; set = mTLS: every client must present a certificate it signed"},
      {"server.tls.reload_seconds", K::kInt, false,
       "how often the TLS files are re-read (rotation without restart)"},
      {"metrics.addr", K::kString, false,
       "jq-server's HTTP listen address for /metrics /healthz /readyz"},
      {"metrics.finished_depth_seconds", K::kInt, false,
       "how often DONE/DEAD_LETTERED depths are recounted (reads every row)"},
      {"metrics.tls.cert", K::kString, false,
       "PEM certificate chain; with metrics.tls.key jq-server's HTTP listeners speak only HTTPS"},
      {"metrics.tls.key", K::kString, false, "PEM private key of metrics.tls.cert"},
      {"metrics.tls.client_ca", K::kString, false,
       "PEM CA bundle; set = mTLS: every scraper must present a certificate it signed"},
      {"metrics.tls.reload_seconds", K::kInt, false,
       "how often the metrics TLS files are re-checked (rotation without restart)"},
      {"health.addr", K::kString, false,
       "a second HTTP address of jq-server for the same endpoints (empty = none)"},
      {"db.url", K::kString, false, "PostgreSQL URL; overrides host/port/name/user"},
      {"db.host", K::kString, false, "PostgreSQL host"},
      {"db.port", K::kInt, false, "PostgreSQL port"},
      {"db.name", K::kString, false, "PostgreSQL database"},
      {"db.user", K::kString, false, "PostgreSQL user"},
      {"db.password", K::kString, true, "PostgreSQL password (environment only)"},
      {"db.pool_size", K::kInt, false, "connections per jq-server"},
      {"db.connect_timeout_seconds", K::kInt, false, "PostgreSQL connect timeout"},
      {"redis.addr", K::kString, false, "Redis host:port; empty disables Redis"},
      {"redis.password", K::kString, true, "Redis password (environment only)"},
      {"redis.timeout_ms", K::kInt, false, "timeout of every Redis call"},
      {"kafka.brokers", K::kCsv, false, "Kafka bootstrap brokers; empty disables the relay"},
      {"kafka.username", K::kString, true, "Kafka SASL user (environment only)"},
      {"kafka.password", K::kString, true, "Kafka SASL password (environment only)"},
      {"kafka.outbox_stall_seconds", K::kInt, false,
       "events unpublished this long with no progress: the kafka component reports a stall"},
      {"dispatch.tick_ms", K::kInt, false, "dispatcher safety-net tick"},
      {"dispatch.batch_size", K::kInt, false, "max jobs claimed per statement"},
      {"dispatch.lease_seconds", K::kInt, false, "lease of an assignment, renewed by heartbeats"},
      {"reaper.interval_ms", K::kInt, false, "how often leases, TTLs and workers are checked"},
      {"reaper.worker_timeout_seconds", K::kInt, false, "silence after which a worker is OFFLINE"},
      {"reaper.offline_worker_retention_hours", K::kInt, false,
       "how long an OFFLINE worker's row is kept (0 = forever)"},
      {"retention.done_jobs_days", K::kInt, false,
       "DONE jobs are deleted (with outputs and events) this many days after (0 = never)"},
      {"retention.dead_lettered_jobs_days", K::kInt, false,
       "DEAD_LETTERED jobs are deleted this many days after (0 = never)"},
      {"retention.batch_size", K::kInt, false, "jobs deleted per retention transaction"},
      {"retention.interval_seconds", K::kInt, false, "seconds between retention runs"},
      {"retention.batch_pause_ms", K::kInt, false,
       "least pause between retention batches (at least the last batch's time)"},
      {"jobs.max_payload_bytes", K::kInt, false, "largest accepted payload"},
      {"jobs.default_max_retries", K::kInt, false, "max_retries of queues created without one"},
      {"worker.id", K::kString, false, "worker id (default hostname-pid)"},
      {"worker.server_addr", K::kString, false,
       "jq-server address the worker dials; several, comma-separated, to fail over"},
      {"worker.keepalive_seconds", K::kInt, false, "gRPC keepalive ping interval of jq-worker"},
      {"server.keepalive_seconds", K::kInt, false, "gRPC keepalive ping interval of jq-server"},
      {"worker.concurrency", K::kInt, false, "jobs run at once"},
      {"worker.queues", K::kStringList, false, "queues to take jobs from (empty = all)"},
      {"worker.heartbeat_seconds", K::kInt, false, "heartbeat interval"},
      {"worker.output_cap_bytes", K::kInt, false, "stdout/stderr kept per job (the tail)"},
      {"worker.run_as_user", K::kString, false, "run jobs as this user (worker runs as root)"},
      {"worker.shutdown_grace_seconds", K::kInt, false, "SIGTERM: wait this long for jobs"},
      {"worker.kill_grace_seconds", K::kInt, false, "SIGTERM to SIGKILL on timeout or cancel"},
      {"worker.metrics_addr", K::kString, false,
       "jq-worker's HTTP listen address for /metrics /healthz /readyz"},
      {"worker.health_addr", K::kString, false,
       "a second HTTP address of jq-worker for the same endpoints (empty = none)"},
      {"worker.metrics_tls.cert", K::kString, false,
       "PEM certificate chain; with worker.metrics_tls.key jq-worker's HTTP speaks only HTTPS"},
      {"worker.metrics_tls.key", K::kString, false, "PEM private key of worker.metrics_tls.cert"},
      {"worker.metrics_tls.client_ca", K::kString, false,
       "PEM CA bundle; set = mTLS on jq-worker's HTTP listeners"},
      {"worker.metrics_tls.reload_seconds", K::kInt, false,
       "how often the worker's metrics TLS files are re-checked"},
      {"worker.tls.ca", K::kString, false,
       "PEM CA bundle to verify jq-server with; set (or worker.tls.cert): dial with TLS"},
      {"worker.tls.cert", K::kString, false, "PEM client certificate (for mTLS)"},
      {"worker.tls.key", K::kString, false, "PEM private key of worker.tls.cert"},
      {"worker.tls.reload_seconds", K::kInt, false, "how often the worker's TLS files are re-read"},
      {"limits.tenant_submit_rate", K::kInt, false, "submits per second per tenant (0 = off)"},
      {"limits.tenant_submit_burst", K::kInt, false, "tenant bucket size (0 = one second)"},
      {"limits.queue_submit_rate", K::kInt, false, "submits per second per queue (0 = off)"},
      {"limits.queue_submit_burst", K::kInt, false, "queue bucket size (0 = one second)"},
      {"limits.tenant_max_running_jobs", K::kInt, false,
       "jobs running at once per tenant, on all replicas (0 = unlimited)"},
      {"auth.enabled", K::kBool, false,
       "authenticate every RPC (false only for local development: everyone is admin)"},
      {"auth.bootstrap_key", K::kString, true,
       "an admin key for the first `jq-ctl apikey create` (environment only)"},
      {"auth.bootstrap_fleet_key", K::kString, true,
       "a fleet key: workers of every tenant, nothing else (environment only)"},
      {"auth.bootstrap_tenant", K::kString, false, "the tenant the bootstrap key acts for"},
      {"auth.key_refresh_ms", K::kInt, false,
       "API keys are reloaded this often: the longest a revocation takes to apply"},
      {"auth.jwt_hs256_secret", K::kString, true, "accept HS256 JWTs signed with this secret"},
      {"auth.jwt_rs256_public_key_file", K::kString, false,
       "accept RS256 JWTs signed by this public key (PEM file)"},
      {"auth.jwt_issuer", K::kString, false, "JWTs must carry this iss (when set)"},
      {"auth.jwt_audience", K::kString, false, "JWTs must name this aud (when set)"},
      {"worker.api_key", K::kString, true,
       "jq-worker's API key (environment only: JQ_WORKER_API_KEY, else JQ_API_KEY)"},
      {"log.level", K::kString, false, "trace, debug, info, warn, error"},
  };
  return kKeys;
}

const ConfigKey* FindConfigKey(std::string_view key) {
  for (const auto& k : ConfigKeys()) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

std::string ConfigEnvName(std::string_view key) {
  std::string out = "JQ_";
  for (char c : key) {
    out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

Status ApplyConfigSetting(Config& config, std::string_view key, std::string_view value) {
  const ConfigKey* k = FindConfigKey(key);
  if (k == nullptr)
    return Status::InvalidArgument("unknown configuration key '" + std::string(key) + "'");
  Binding b = Bind(config, key);
  const std::string name(key);
  switch (k->kind) {
    case ConfigKind::kString:
    case ConfigKind::kCsv: *b.str = std::string(value); break;
    case ConfigKind::kInt: {
      long long v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size() || value.empty() || v < INT32_MIN ||
          v > INT32_MAX) {
        return Status::InvalidArgument(name + ": expected an integer, got '" + std::string(value) +
                                       "'");
      }
      *b.integer = static_cast<int>(v);
      break;
    }
    case ConfigKind::kBool: {
      const std::optional<bool> v = ParseBool(value);
      if (!v) {
        return Status::InvalidArgument(name + ": expected true or false, got '" +
                                       std::string(value) + "'");
      }
      *b.boolean = *v;
      break;
    }
    case ConfigKind::kStringList: {
      b.list->clear();
      std::string item;
      for (char c : value) {
        if (c == ',') {
          if (!item.empty()) b.list->push_back(item);
          item.clear();
        } else if (c != ' ') {
          item.push_back(c);
        }
      }
      if (!item.empty()) b.list->push_back(item);
      break;
    }
  }
  return Status::Ok();
}

namespace {

Status ValidateAuthConfig(const Config::Auth& a) {
  // Long enough that guessing is hopeless; the message never repeats the value.
  if (!a.bootstrap_key.empty() && a.bootstrap_key.size() < 32) {
    return Status::InvalidArgument("auth.bootstrap_key: must be at least 32 characters (it is " +
                                   std::to_string(a.bootstrap_key.size()) + ")");
  }
  if (!a.bootstrap_fleet_key.empty() && a.bootstrap_fleet_key.size() < 32) {
    return Status::InvalidArgument(
        "auth.bootstrap_fleet_key: must be at least 32 characters (it is " +
        std::to_string(a.bootstrap_fleet_key.size()) + ")");
  }
  // One secret with two roles would be whichever the server checks first.
  if (!a.bootstrap_fleet_key.empty() && a.bootstrap_fleet_key == a.bootstrap_key) {
    return Status::InvalidArgument(
        "auth.bootstrap_fleet_key: must differ from auth.bootstrap_key (an admin key)");
  }
  if (!ValidTenantName(a.bootstrap_tenant)) {
    return Status::InvalidArgument("auth.bootstrap_tenant: '" + a.bootstrap_tenant +
                                   "' is not a tenant name ([a-z0-9][a-z0-9._-]{0,63})");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateConfig(const Config& c) {
  struct Range {
    std::string_view key;
    int value;
    int lo, hi;
  };
  const Range ranges[] = {
      {"server.shutdown_grace_seconds", c.server.shutdown_grace_seconds, 0, 3600},
      {"db.port", c.db.port, 1, 65535},
      {"db.pool_size", c.db.pool_size, 1, 1000},
      {"db.connect_timeout_seconds", c.db.connect_timeout_seconds, 1, 600},
      {"redis.timeout_ms", c.redis.timeout_ms, 1, 60000},
      {"kafka.outbox_stall_seconds", c.kafka.outbox_stall_seconds, 1, 86400},
      {"dispatch.tick_ms", c.dispatch.tick_ms, 10, 60000},
      {"dispatch.batch_size", c.dispatch.batch_size, 1, 10000},
      {"dispatch.lease_seconds", c.dispatch.lease_seconds, 1, 86400},
      {"reaper.interval_ms", c.reaper.interval_ms, 10, 600000},
      {"metrics.finished_depth_seconds", c.metrics.finished_depth_seconds, 1, 86400},
      {"reaper.worker_timeout_seconds", c.reaper.worker_timeout_seconds, 1, 86400},
      {"reaper.offline_worker_retention_hours", c.reaper.offline_worker_retention_hours, 0, 87600},
      {"retention.done_jobs_days", c.retention.done_jobs_days, 0, 36500},
      {"retention.dead_lettered_jobs_days", c.retention.dead_lettered_jobs_days, 0, 36500},
      {"retention.batch_size", c.retention.batch_size, 1, 100000},
      {"retention.interval_seconds", c.retention.interval_seconds, 1, 86400},
      {"retention.batch_pause_ms", c.retention.batch_pause_ms, 0, 60000},
      {"jobs.max_payload_bytes", c.jobs.max_payload_bytes, 1, 64 << 20},
      {"jobs.default_max_retries", c.jobs.default_max_retries, 0, 1000},
      {"worker.concurrency", c.worker.concurrency, 1, 4096},
      {"worker.heartbeat_seconds", c.worker.heartbeat_seconds, 1, 3600},
      {"worker.output_cap_bytes", c.worker.output_cap_bytes, 0, 64 << 20},
      {"worker.shutdown_grace_seconds", c.worker.shutdown_grace_seconds, 0, 86400},
      {"worker.kill_grace_seconds", c.worker.kill_grace_seconds, 0, 3600},
      {"limits.tenant_submit_rate", c.limits.tenant_submit_rate, 0, 10000000},
      {"limits.tenant_submit_burst", c.limits.tenant_submit_burst, 0, 10000000},
      {"limits.queue_submit_rate", c.limits.queue_submit_rate, 0, 10000000},
      {"limits.queue_submit_burst", c.limits.queue_submit_burst, 0, 10000000},
      {"limits.tenant_max_running_jobs", c.limits.tenant_max_running_jobs, 0, 10000000},
      {"auth.key_refresh_ms", c.auth.key_refresh_ms, 50, 60000},
      {"server.keepalive_seconds", c.server.keepalive_seconds, 1, 3600},
      {"worker.keepalive_seconds", c.worker.keepalive_seconds, 1, 3600},
      {"server.tls.reload_seconds", c.server.tls.reload_seconds, 1, 86400},
      {"worker.tls.reload_seconds", c.worker.tls.reload_seconds, 1, 86400},
      {"metrics.tls.reload_seconds", c.metrics.tls.reload_seconds, 1, 86400},
      {"worker.metrics_tls.reload_seconds", c.worker.metrics_tls.reload_seconds, 1, 86400},
  };
  for (const auto& r : ranges) {
    if (Status s = RangeCheck(r.key, r.value, r.lo, r.hi); !s.ok()) return s;
  }
  if (Status s = ValidateAuthConfig(c.auth); !s.ok()) return s;
  for (auto [key, addr, optional] : {std::tuple<std::string_view, const std::string*, bool>{
                                         "server.addr", &c.server.addr, false},
                                     {"metrics.addr", &c.metrics.addr, false},
                                     {"health.addr", &c.health.addr, true},
                                     {"worker.metrics_addr", &c.worker.metrics_addr, false},
                                     {"worker.health_addr", &c.worker.health_addr, true}}) {
    if (optional && addr->empty()) continue;
    if (addr->empty() || addr->rfind(':') == std::string::npos) {
      return Status::InvalidArgument(std::string(key) + ": '" + *addr + "' is not HOST:PORT");
    }
  }
  const auto servers = ServerAddrs(c.worker.server_addr);
  if (servers.empty()) return Status::InvalidArgument("worker.server_addr: no address given");
  for (const auto& a : servers) {
    if (a.rfind(':') == std::string::npos) {
      return Status::InvalidArgument("worker.server_addr: '" + a + "' is not HOST:PORT");
    }
  }
  if (c.worker.heartbeat_seconds >= c.dispatch.lease_seconds) {
    return Status::InvalidArgument(
        "worker.heartbeat_seconds must be shorter than dispatch.lease_seconds, or leases "
        "expire between heartbeats");
  }
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), c.log.level) == std::end(kLevels)) {
    return Status::InvalidArgument("log.level: '" + c.log.level +
                                   "' is not one of trace, debug, info, warn, error");
  }
  for (const auto& q : c.worker.queues) {
    if (Status s = ValidateQueueName(q, "worker.queues"); !s.ok()) return s;
  }
  return ValidateTls(c);
}

Status ApplyListenPort(Config& config, std::string_view addr_key, std::string_view port) {
  const std::string key(addr_key);
  long long v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || v < 1 || v > 65535) {
    return Status::InvalidArgument(key + ": port '" + std::string(port) +
                                   "' is not a number in 1..65535");
  }
  const ConfigKey* k = FindConfigKey(addr_key);
  if (k == nullptr || k->kind != ConfigKind::kString) {
    return Status::InvalidArgument("'" + key + "' is not an address key");
  }
  const std::string& addr = *Bind(config, addr_key).str;
  const auto colon = addr.rfind(':');
  const std::string host =
      addr.empty() || colon == std::string::npos ? "0.0.0.0" : addr.substr(0, colon);
  return ApplyConfigSetting(config, addr_key, host + ":" + std::to_string(v));
}

const std::vector<SeedAlias>& SeedAliases() {
  using C = SeedConversion;
  constexpr std::string_view kTlsWhenSet =
      "jq serves TLS whenever server.tls.cert and server.tls.key are set; grpc.tls.enabled is "
      "not needed";
  constexpr std::string_view kNoConsumer = "jq runs no Kafka consumer";
  // The seed's config.h and config.cc (its config.example.yaml, config.docker.yaml and k8s
  // ConfigMap use a subset), in its order.
  static const std::vector<SeedAlias> kAliases = {
      {"grpc.port", "JQ_GRPC_PORT", "server.addr", C::kPort, ""},
      {"grpc.tls.enabled", "JQ_GRPC_TLS_ENABLED", "server.tls.cert", C::kTlsSwitch,
       "jq serves TLS whenever server.tls.cert and server.tls.key are set; this is only checked "
       "against them"},
      {"grpc.tls.cert_path", "JQ_GRPC_TLS_CERT_PATH", "server.tls.cert", C::kSame, kTlsWhenSet},
      {"grpc.tls.key_path", "JQ_GRPC_TLS_KEY_PATH", "server.tls.key", C::kSame, kTlsWhenSet},
      {"db.connect_timeout_ms", "JQ_DB_CONNECT_TIMEOUT_MS", "db.connect_timeout_seconds",
       C::kMsToSeconds, "rounded up to whole seconds, as libpq takes them"},
      {"redis.db", "JQ_REDIS_DB", "", C::kNoEffect,
       "jq always uses Redis database 0; all its keys start with jq:"},
      {"redis.connect_timeout_ms", "JQ_REDIS_CONNECT_TIMEOUT_MS", "redis.timeout_ms", C::kNoEffect,
       "jq's redis.timeout_ms (default 200) bounds the connect and every call, so that a hung "
       "Redis cannot hold up submits; the seed's connect-only timeout is not carried over"},
      {"kafka.producer.acks", "JQ_KAFKA_PRODUCER_ACKS", "", C::kNoEffect,
       "jq's event producer is idempotent and always waits for acks=all"},
      {"kafka.producer.compression", "JQ_KAFKA_PRODUCER_COMPRESSION", "", C::kNoEffect,
       "jq's producers send uncompressed"},
      {"kafka.consumer.group_id", "JQ_KAFKA_CONSUMER_GROUP_ID", "", C::kNoEffect, kNoConsumer},
      {"kafka.consumer.auto_offset_reset", "JQ_KAFKA_CONSUMER_AUTO_OFFSET_RESET", "", C::kNoEffect,
       kNoConsumer},
      {"kafka.sasl.username", "JQ_KAFKA_SASL_USERNAME", "kafka.username", C::kSame, ""},
      {"kafka.sasl.password", "JQ_KAFKA_SASL_PASSWORD", "kafka.password", C::kSame, ""},
      {"scheduler.interval_ms", "JQ_SCHEDULER_INTERVAL_MS", "dispatch.tick_ms", C::kSame,
       "a safety-net tick: submits wake jq's dispatcher at once"},
      {"scheduler.batch_size", "JQ_SCHEDULER_BATCH_SIZE", "dispatch.batch_size", C::kSame, ""},
      {"scheduler.assignment_timeout_s", "JQ_SCHEDULER_ASSIGNMENT_TIMEOUT_S",
       "dispatch.lease_seconds", C::kNoEffect,
       "it was the TTL of the seed's Redis assignment lock; jq assigns under PostgreSQL row "
       "locks, and how long an assignment is held without heartbeats is dispatch.lease_seconds"},
      {"scheduler.worker_heartbeat_timeout_s", "JQ_SCHEDULER_WORKER_HB_TIMEOUT_S",
       "reaper.worker_timeout_seconds", C::kSame, ""},
      {"metrics.port", "JQ_METRICS_PORT", "metrics.addr", C::kPort,
       "jq-server's; jq-worker listens on worker.metrics_addr, default 0.0.0.0:9091"},
      {"health.port", "JQ_HEALTH_PORT", "health.addr", C::kPort,
       "jq-server's; jq-worker's is worker.health_addr"},
      {"logging.level", "", "log.level", C::kSame, ""},
      {"logging.format", "JQ_LOG_FORMAT", "", C::kNoEffect,
       "jq always logs one JSON object per line"},
  };
  return kAliases;
}

const SeedAlias* FindSeedAlias(std::string_view seed_key) {
  for (const auto& a : SeedAliases()) {
    if (a.seed_key == seed_key) return &a;
  }
  return nullptr;
}

Status ApplySeedSetting(Config& config, const SeedAlias& alias, std::string_view value,
                        std::string_view target) {
  if (target.empty()) target = alias.jq_key;
  const std::string seed(alias.seed_key);
  auto named = [&](const Status& s) {
    return s.ok() ? s : Status::InvalidArgument(seed + ": " + s.message());
  };
  switch (alias.conversion) {
    case SeedConversion::kSame: return named(ApplyConfigSetting(config, target, value));
    case SeedConversion::kPort: return named(ApplyListenPort(config, target, value));
    case SeedConversion::kMsToSeconds: {
      long long ms = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size() || ms < 0 ||
          ms > INT32_MAX) {
        return Status::InvalidArgument(seed + ": expected milliseconds, got '" +
                                       std::string(value) + "'");
      }
      return named(
          ApplyConfigSetting(config, target, std::to_string(std::max(1LL, (ms + 999) / 1000))));
    }
    case SeedConversion::kNoEffect: return Status::Ok();
    case SeedConversion::kTlsSwitch: {
      const std::optional<bool> on = ParseBool(value);
      if (!on) {
        return Status::InvalidArgument(seed + ": expected true or false, got '" +
                                       std::string(value) + "'");
      }
      config.server.tls.seed_enabled = *on;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

std::string SeedWarning(const SeedAlias& alias, std::string_view given, std::string_view jq_name,
                        bool overridden) {
  std::string out(given);
  const bool effect = alias.conversion != SeedConversion::kNoEffect;
  if (effect) {
    out += " is the seed's name, deprecated: use " + std::string(jq_name);
    if (overridden) out += "; ignored, since " + std::string(jq_name) + " is also set and wins";
    if (!alias.note.empty()) out += " (" + std::string(alias.note) + ")";
  } else {
    out += " (a seed setting) has no effect: " + std::string(alias.note);
    if (!alias.jq_key.empty()) out += "; see " + std::string(alias.jq_key);
  }
  return out;
}

std::string DbConnectionString(const Config::Db& db) {
  if (!db.url.empty()) {
    if (db.password.empty()) return db.url;
    // The password never sits in the file; append it to whichever form the URL has.
    const bool is_uri = db.url.rfind("postgres", 0) == 0 && db.url.find("://") != std::string::npos;
    if (is_uri) {
      return db.url + (db.url.find('?') == std::string::npos ? "?" : "&") +
             "password=" + db.password;
    }
    return db.url + " password='" + db.password + "'";
  }
  std::string s = "host='" + db.host + "' port=" + std::to_string(db.port) + " dbname='" + db.name +
                  "' user='" + db.user +
                  "' connect_timeout=" + std::to_string(db.connect_timeout_seconds);
  if (!db.password.empty()) s += " password='" + db.password + "'";
  return s;
}

std::vector<std::string> ServerAddrs(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string a = list.substr(start, end - start);
    a.erase(0, a.find_first_not_of(" \t"));
    a.erase(a.find_last_not_of(" \t") + 1);
    if (!a.empty()) out.push_back(std::move(a));
    start = end + 1;
  }
  return out;
}

int GrpcMaxMessageBytes(const Config& c) {
  const long long largest =
      std::max({2LL * c.jobs.max_payload_bytes, 2LL * c.worker.output_cap_bytes, 8LL << 20});
  return static_cast<int>(largest + (1 << 20));  // both are at most 64 MiB: no overflow
}

}  // namespace jq
