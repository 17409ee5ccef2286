// jq's configuration (SPEC §11): one struct for all binaries, filled from defaults, then the
// YAML file, then JQ_* environment variables. Pure: loading the file lives in jq_config.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace jq {

struct Config {
  struct Server {
    std::string addr = "0.0.0.0:50051";  // gRPC listen address
    std::string id;                      // replica id; hostname-pid when empty
    int shutdown_grace_seconds = 30;
  } server;
  struct Metrics {
    std::string addr = "0.0.0.0:9090";  // HTTP: /metrics, /healthz, /readyz
    // DONE/DEAD_LETTERED depth gauges read every finished row: recounted this often only.
    int finished_depth_seconds = 60;
  } metrics;
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
    std::string brokers;   // comma-separated; empty = outbox relay off
    std::string username;  // secret
    std::string password;  // secret
  } kafka;
  struct Dispatch {
    int tick_ms = 500;  // safety-net poll; submits wake the dispatcher at once
    int batch_size = 100;
    int lease_seconds = 30;
  } dispatch;
  struct Reaper {
    int interval_ms = 1000;
    int worker_timeout_seconds = 30;  // no heartbeat for this long: OFFLINE, jobs reclaimed
  } reaper;
  struct Jobs {
    int max_payload_bytes = 1 << 20;
    int default_max_retries = 3;  // for queues created without max_retries
  } jobs;
  struct Worker {
    std::string id;  // hostname-pid when empty
    std::string server_addr = "127.0.0.1:50051";
    int concurrency = 4;
    std::vector<std::string> queues;  // empty = all queues
    int heartbeat_seconds = 5;
    int output_cap_bytes = 1 << 20;  // per stream; the tail is kept
    std::string run_as_user;         // run jobs as this user (worker must be root)
    int shutdown_grace_seconds = 60;
    int kill_grace_seconds = 5;  // SIGTERM -> SIGKILL on timeout / cancel
  } worker;
  struct Limits {
    // Submit rate limits (token buckets shared through Redis, per replica without it).
    // 0 = unlimited.
    int tenant_submit_rate = 0;   // jobs per second per tenant
    int tenant_submit_burst = 0;  // bucket size; 0 = one second's worth
    int queue_submit_rate = 0;    // jobs per second per queue
    int queue_submit_burst = 0;
  } limits;
  struct Log {
    std::string level = "info";  // trace, debug, info, warn, error
  } log;
};

enum class ConfigKind { kString, kInt, kBool, kStringList };

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
// The db.* settings as one libpq connection string.
std::string DbConnectionString(const Config::Db& db);

// The largest gRPC message any jq process receives, the one limit every side sets: a job's
// payload (twice jobs.max_payload_bytes, for a batch), or a report with its two output tails
// (worker.output_cap_bytes each), at least 8 MiB, plus 1 MiB for the rest of the message.
int GrpcMaxMessageBytes(const Config& c);

}  // namespace jq
