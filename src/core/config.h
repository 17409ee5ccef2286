// jq's configuration (SPEC §11): one struct for all binaries, filled from defaults, then the
// YAML file, then JQ_* environment variables. Pure: loading the file lives in jq_config.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace jq {

struct Config {
  // HTTPS on a /metrics /healthz /readyz listener (docs/security.md): cert and key set = that
  // process's HTTP listeners speak only TLS. Never defaults to server.tls's files: switching a
  // scrape target to HTTPS is the operator's decision, made where the scrape config changes.
  struct HttpTls {
    std::string cert;         // PEM certificate chain
    std::string key;          // PEM private key
    std::string client_ca;    // PEM CA bundle; set = mTLS: scrapers need a certificate it signed
    int reload_seconds = 10;  // the files are re-checked this often: rotation without restart
  };
  struct Server {
    std::string addr = "0.0.0.0:50051";  // gRPC listen address
    std::string id;                      // replica id; hostname-pid when empty
    int shutdown_grace_seconds = 30;
    int keepalive_seconds = 10;  // HTTP/2 ping after this much silence; dead after twice it
    // TLS on the gRPC listener (docs/security.md): cert and key set = TLS only, no plaintext.
    struct Tls {
      std::string cert;         // PEM certificate chain
      std::string key;          // PEM private key
      std::string client_ca;    // PEM CA bundle; set = mTLS: clients need a certificate it signed
      int reload_seconds = 10;  // the files are re-read this often: rotation without restart
      // The seed's grpc.tls.enabled, when given: checked against cert/key, switches nothing.
      std::optional<bool> seed_enabled;
    } tls;
  } server;
  struct Metrics {
    std::string addr = "0.0.0.0:9090";  // jq-server's HTTP: /metrics, /healthz, /readyz
    // DONE/DEAD_LETTERED depth gauges read every finished row: recounted this often only.
    int finished_depth_seconds = 60;
    HttpTls tls;  // for metrics.addr and health.addr
  } metrics;
  struct Health {
    // A second HTTP listener of jq-server with the same endpoints, for probes that expect
    // them on their own port (the seed's health.port); empty = only metrics.addr.
    std::string addr;
  } health;
  struct Db {
    std::string url;  // libpq URL or key=value string; when set, host/port/name/user are ignored
    std::string host = "127.0.0.1";
    int port = 5432;
    std::string name = "jq";
    std::string user = "jq";
    std::string password;  // secret: environment only
    int pool_size = 8;
    int connect_timeout_seconds = 5;
  } db;
  struct Redis {
    std::string addr;      // host:port; empty = Redis not used
    std::string password;  // secret
    int timeout_ms = 200;
  } redis;
  struct Kafka {
    std::string brokers;   // comma-separated (a YAML list in the file); empty = relay off
    std::string username;  // secret
    std::string password;  // secret
    // Events waiting this long with the relay's cursor standing still: the kafka component
    // reports a stall, naming the cause (events/outbox_relay.h).
    int outbox_stall_seconds = 60;
  } kafka;
  struct Dispatch {
    int tick_ms = 500;  // safety-net poll; submits wake the dispatcher at once
    int batch_size = 100;
    int lease_seconds = 30;
  } dispatch;
  struct Reaper {
    int interval_ms = 1000;
    int worker_timeout_seconds = 30;          // no heartbeat for this long: OFFLINE, jobs reclaimed
    int offline_worker_retention_hours = 24;  // OFFLINE this long: its row is deleted; 0 = kept
  } reaper;
  struct Retention {
    // Finished jobs are deleted this many days after they finished, with their outputs and
    // events (SPEC §11); 0 = kept forever. A dead-lettered job waits longer: it may still be
    // retried by hand, and the seed kept its dead-letter topic 30 days.
    int done_jobs_days = 7;
    int dead_lettered_jobs_days = 30;
    int batch_size = 1000;      // jobs deleted per transaction
    int interval_seconds = 60;  // between runs; a run goes on until it has caught up
    int batch_pause_ms = 10;    // between a run's batches (and at least the last batch's time)
  } retention;
  struct Jobs {
    int max_payload_bytes = 1 << 20;
    int default_max_retries = 3;  // for queues created without max_retries
  } jobs;
  struct Worker {
    std::string id;  // hostname-pid when empty
    // One address, or several separated by commas: the worker fails over to the next.
    std::string server_addr = "127.0.0.1:50051";
    int keepalive_seconds = 10;  // HTTP/2 ping after this much silence; dead after twice it
    int concurrency = 4;
    std::vector<std::string> queues;  // empty = all queues
    int heartbeat_seconds = 5;
    int output_cap_bytes = 1 << 20;  // per stream; the tail is kept
    std::string run_as_user;         // run jobs as this user (worker must be root)
    int shutdown_grace_seconds = 60;
    int kill_grace_seconds = 5;  // SIGTERM -> SIGKILL on timeout / cancel
    // jq-worker's HTTP (/metrics, /healthz, /readyz). Not metrics.addr: a server and a worker
    // started on one host with one file must not both bind it.
    std::string metrics_addr = "0.0.0.0:9091";
    std::string health_addr;  // a second listener, like health.addr; empty = none
    HttpTls metrics_tls;      // for worker.metrics_addr and worker.health_addr
    // The worker's side of TLS to jq-server (also JQ_TLS_CA, JQ_TLS_CERT, JQ_TLS_KEY).
    struct Tls {
      std::string ca;    // PEM CA bundle the server's certificate must chain to; empty = system's
      std::string cert;  // PEM client certificate, for a server that requires mTLS
      std::string key;
      int reload_seconds = 10;
    } tls;
    std::string api_key;  // secret: JQ_WORKER_API_KEY, else JQ_API_KEY
  } worker;
  struct Limits {
    // Submit rate limits (token buckets shared through Redis, per replica without it).
    // 0 = unlimited.
    int tenant_submit_rate = 0;   // jobs per second per tenant
    int tenant_submit_burst = 0;  // bucket size; 0 = one second's worth
    int queue_submit_rate = 0;    // jobs per second per queue
    int queue_submit_burst = 0;
    // Jobs ASSIGNED or RUNNING at once per tenant; 0 = unlimited. Each tenant may override
    // this and its submit rate (jq-ctl tenant). Enforced at claim time across every replica
    // (docs/security.md, "Per-tenant limits").
    int tenant_max_running_jobs = 0;
  } limits;
  struct Auth {
    // Off only by an explicit false, for local development: every caller is then an admin of
    // tenant "default", and jq-server logs a warning at start.
    bool enabled = true;
    // An admin key read from the environment only (JQ_AUTH_BOOTSTRAP_KEY), for the first
    // `jq-ctl apikey create`; at least 32 characters. Empty = none.
    std::string bootstrap_key;
    // A fleet key (WorkerService for every tenant, nothing else) read from the environment
    // only (JQ_AUTH_BOOTSTRAP_FLEET_KEY), for a shared worker pool deployed with the server;
    // at least 32 characters. Empty = none.
    std::string bootstrap_fleet_key;
    std::string bootstrap_tenant = "default";
    int key_refresh_ms = 1000;  // keys are reloaded this often: a revocation takes this long
    // JWTs (optional): HS256 with a shared secret (environment only), RS256 with a public key.
    std::string jwt_hs256_secret;
    std::string jwt_rs256_public_key_file;  // PEM
    std::string jwt_issuer;                 // required "iss" when set
    std::string jwt_audience;               // required in "aud" when set
  } auth;
  struct Log {
    std::string level = "info";  // trace, debug, info, warn, error
  } log;
};

// kCsv: a comma-separated string, also accepted as a YAML list (joined with commas).
enum class ConfigKind { kString, kInt, kBool, kStringList, kCsv };

struct ConfigKey {
  std::string_view key;  // dotted path, e.g. "db.pool_size"
  ConfigKind kind;
  bool secret;
  std::string_view help;
};

// Every key jq understands, in documentation order.
const std::vector<ConfigKey>& ConfigKeys();
const ConfigKey* FindConfigKey(std::string_view key);
// "db.pool_size" -> "JQ_DB_POOL_SIZE".
std::string ConfigEnvName(std::string_view key);

// Parses value according to the key's kind and stores it. Errors name the key.
Status ApplyConfigSetting(Config& config, std::string_view key, std::string_view value);
// Range and consistency checks. Errors name the key.
Status ValidateConfig(const Config& config);
// Sets the port of the HOST:PORT address at addr_key, keeping its host (0.0.0.0 when the
// address is empty): the seed's --grpc-port, --metrics-port, --health-port and *.port keys.
// port must be 1..65535; errors name addr_key.
Status ApplyListenPort(Config& config, std::string_view addr_key, std::string_view port);

// ---- The seed system's configuration (docs/migrating.md) ----
//
// The seed's config keys and environment variables, each accepted as an alias of a jq key (or
// accepted and ignored, where jq has no such setting), with a deprecation warning naming the
// jq key. Keys the seed shares with jq (db.host, redis.addr, kafka.brokers, ...) are jq keys and
// not listed. Precedence: defaults < file (seed keys < jq keys) < environment (seed variables <
// jq variables) < flags: within a layer the jq name wins over the seed's.

// How a seed value becomes jq's.
enum class SeedConversion {
  kSame,         // the value as it is
  kPort,         // a port: replaces the port of the jq address (ApplyListenPort)
  kMsToSeconds,  // milliseconds, rounded up to whole seconds, at least 1
  kNoEffect,     // accepted and ignored (note says why)
  // grpc.tls.enabled: jq has no switch (a certificate turns TLS on); the value is kept in
  // server.tls.seed_enabled and ValidateConfig refuses it when it contradicts the certificate.
  kTlsSwitch,
};

struct SeedAlias {
  std::string_view seed_key;  // e.g. "grpc.port"
  // The seed's variable for it; "" when the seed's name is jq's own (JQ_LOG_LEVEL).
  std::string_view seed_env;
  std::string_view jq_key;  // what it sets; for kNoEffect the nearest or ""
  SeedConversion conversion;
  std::string_view note;  // appended to the warning: why it has no effect, or what differs
};

// Every seed key that is not also a jq key, in the seed's order.
const std::vector<SeedAlias>& SeedAliases();
const SeedAlias* FindSeedAlias(std::string_view seed_key);

// Converts value as the alias says and stores it in target (the alias's jq key unless given;
// jq-worker redirects jq-server's addresses to its own). Nothing is stored for kNoEffect.
// Errors name the seed key.
Status ApplySeedSetting(Config& config, const SeedAlias& alias, std::string_view value,
                        std::string_view target = {});

// The one-line deprecation warning for a seed setting given as `given` (the seed key, or its
// variable) whose jq name is `jq_name` (a key, or a variable; ignored for settings without
// effect). overridden: the jq name was given too, in the same layer, and wins.
std::string SeedWarning(const SeedAlias& alias, std::string_view given, std::string_view jq_name,
                        bool overridden);

// The db.* settings as one libpq connection string.
std::string DbConnectionString(const Config::Db& db);

// The largest gRPC message any jq process receives, the one limit every side sets: a job's
// payload (twice jobs.max_payload_bytes, for a batch), or a report with its two output tails
// worker.server_addr's addresses, in order (split at commas, blanks dropped).
std::vector<std::string> ServerAddrs(const std::string& list);

// (worker.output_cap_bytes each), at least 8 MiB, plus 1 MiB for the rest of the message.
int GrpcMaxMessageBytes(const Config& c);

}  // namespace jq
