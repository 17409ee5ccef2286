// jq-server: the gRPC API, dispatcher and reaper (SPEC §2).
#include <absl/synchronization/mutex.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <thread>

#include <prometheus/registry.h>
#include "config/config_loader.h"
#include "core/version.h"

#include "auth/api_key.h"
#include "auth/authenticator.h"
#include "core/auth.h"

#include "events/heartbeat_publisher.h"
#include "events/outbox_relay.h"
#include "redis/fleet_cache.h"
#include "redis/rate_limiter.h"
#include "redis/redis_client.h"
#include "rpc/keepalive.h"
#include "rpc/tls.h"
#include "server/control_message.h"
#include "server/dispatcher.h"
#include "server/grpc_metrics.h"
#include "server/health.h"
#include "server/job_completer.h"
#include "server/job_inserter.h"
#include "server/reaper.h"
#include "server/remote_waker.h"
#include "server/retention_loop.h"
#include "server/server_metrics.h"
#include "server/services.h"
#include "server/stats_poller.h"
#include "store/migrator.h"
#include "store/pg_listener.h"
#include "store/pg_store.h"
#include "telemetry/http_server.h"
#include "telemetry/log.h"
#include "telemetry/process_collector.h"

namespace {

std::string DefaultReplicaId() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

bool TcpReachable(const std::string& host_port, std::chrono::seconds timeout) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return false;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host_port.substr(0, colon).c_str(), host_port.substr(colon + 1).c_str(), &hints,
                  &res) != 0) {
    return false;
  }
  bool ok = false;
  for (addrinfo* a = res; a != nullptr && !ok; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      ok = poll(&p, 1, static_cast<int>(timeout.count() * 1000)) == 1 &&
           getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
    }
    close(fd);
  }
  freeaddrinfo(res);
  return ok;
}

// --dry-run: the configuration is valid, PostgreSQL answers with the schema applied, Redis
// answers PING and the Kafka brokers accept connections (each only if configured).
int DryRun(const jq::Config& config) {
  const std::string conninfo = jq::DbConnectionString(config.db);
  bool ok = true;
  auto schema = jq::store::InspectSchema(conninfo);
  jq::Status usable = schema.ok() ? jq::store::CheckSchemaVersion(*schema) : schema.status();
  // Behind is fine: starting applies the missing migrations. Ahead, the seed's or foreign is not.
  const bool behind =
      schema.ok() && (schema->history == jq::store::SchemaHistory::kNone ||
                      (schema->history == jq::store::SchemaHistory::kJq &&
                       (schema->versions.empty() ||
                        schema->versions.back() <= jq::store::RequiredSchemaVersion())));
  if (behind) usable = jq::Status::Ok();
  if (usable.ok()) {
    const int version = schema->versions.empty() ? 0 : schema->versions.back();
    std::cout << "database: ok (schema version " << version << ", this build applies up to "
              << jq::store::RequiredSchemaVersion() << ")\n";
  } else {
    ok = false;
    std::cout << "database: FAILED: " << usable.message() << "\n";
  }
  if (config.redis.addr.empty()) {
    std::cout << "redis: not configured (limits per replica)\n";
  } else {
    jq::redis::RedisClient redis({config.redis.addr, config.redis.password,
                                  std::chrono::milliseconds(config.redis.timeout_ms)});
    auto pong = redis.Command({"PING"});
    ok = ok && pong.ok();
    std::cout << "redis: " << (pong.ok() ? "ok (PING)" : "FAILED: " + pong.status().message())
              << "\n";
  }
  if (config.kafka.brokers.empty()) {
    std::cout << "kafka: not configured (events stay in PostgreSQL)\n";
  } else {
    // A TCP connect to each bootstrap broker; the relay itself speaks Kafka at start.
    std::istringstream brokers(config.kafka.brokers);
    for (std::string broker; std::getline(brokers, broker, ',');) {
      const bool reachable = TcpReachable(broker, std::chrono::seconds(3));
      ok = ok && reachable;
      std::cout << "kafka: " << broker << (reachable ? " reachable" : " UNREACHABLE") << "\n";
    }
  }
  std::cout << "grpc: would listen on " << config.server.addr << " ("
            << jq::rpc::ServerTlsFrom(config.server.tls).mode() << ")\n";
  std::cout << "metrics: would listen on " << config.metrics.addr << " ("
            << jq::telemetry::HttpTlsFrom(config.metrics.tls, "metrics.tls").mode() << ")\n";
  std::cout << (ok ? "dry run: ok\n" : "dry run: FAILED\n");
  return ok ? 0 : 1;
}

// Retries while the database is unreachable (it may still be starting), for up to 30 s.
jq::Result<jq::store::MigrateResult> MigrateWhenReachable(const std::string& conninfo,
                                                          const jq::store::MigrateOptions& opts) {
  auto migrated = jq::store::Migrate(conninfo, opts);
  for (int i = 0; !migrated.ok() && migrated.status().retryable() && i < 30; ++i) {
    spdlog::warn("database not ready ({}); retrying", migrated.status().message());
    std::this_thread::sleep_for(std::chrono::seconds(1));
    migrated = jq::store::Migrate(conninfo, opts);
  }
  return migrated;
}

// jq-server migrate [--from-seed]: the schema (or a seed database converted) and exit.
int RunMigrate(const jq::Config& config, bool from_seed) {
  auto migrated = MigrateWhenReachable(jq::DbConnectionString(config.db), {.from_seed = from_seed});
  if (!migrated.ok()) {
    std::cerr << "jq-server migrate: " << migrated.status().message() << "\n";
    return 1;
  }
  if (migrated->converted_from_seed) {
    const auto& n = migrated->seed;
    std::cout << "converted the seed database: " << n.queues << " queues, " << n.jobs << " jobs, "
              << n.events << " events, " << n.workers << " workers\n";
  } else if (from_seed) {
    std::cout << "already a jq database: nothing to convert\n";
  }
  std::cout << "schema at version " << migrated->current_version << " (" << migrated->applied.size()
            << " migrations applied now)\n";
  return 0;
}

// jq-server apikey create: a key written straight into the database (the first admin key,
// or one made while no server runs). Prints the key once, on stdout.
int RunApiKeyCreate(const jq::Config& config, const std::string& tenant, const std::string& role,
                    const std::string& description) {
  if (!jq::ValidTenantName(tenant)) {
    std::cerr << "jq-server apikey create: --tenant '" << tenant
              << "' is not a tenant name ([a-z0-9][a-z0-9._-]{0,63})\n";
    return 2;
  }
  const std::string conninfo = jq::DbConnectionString(config.db);
  auto migrated = MigrateWhenReachable(conninfo, {});
  if (!migrated.ok()) {
    std::cerr << "jq-server apikey create: " << migrated.status().message() << "\n";
    return 1;
  }
  jq::store::PgStore store({conninfo, 1});
  const jq::auth::NewApiKey key = jq::auth::GenerateApiKey();
  jq::ApiKeyRecord rec{key.id, tenant, role, key.secret_sha256, description, {}, {}, {}};
  if (jq::Status s = store.ApiKeyInsert(rec); !s.ok()) {
    std::cerr << "jq-server apikey create: " << s.message() << "\n";
    return 1;
  }
  std::cerr << "api key " << key.id << " (tenant " << tenant << ", role " << role
            << "); the key is shown only now:\n";
  std::cout << key.token << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Batches allocate and free megabytes on many threads; glibc's default of 8 arenas per
  // core keeps most of it (RSS reached 300 MB after a 1M-job prefill). Two arenas, and the
  // stats poller hands freed memory back to the system.
  mallopt(M_ARENA_MAX, 2);
  // Debian's abseil tracks lock order in every absl::Mutex that gRPC takes (a graph lookup
  // per lock: ~3% of the server's CPU under load); that is a debugging aid, not for serving.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"jq-server: the jq job queue's API, dispatcher and reaper"};
  std::string config_path, log_level;
  bool dry_run = false, strict = false, version = false;
  int grpc_port = 0, metrics_port = 0, health_port = 0;
  app.add_option("-c,--config", config_path, "YAML configuration file (see config.example.yaml)");
  app.add_flag("--dry-run", dry_run, "check the configuration and the database, then exit");
  app.add_flag("--strict", strict, "refuse secrets found in the configuration file");
  app.add_flag("--version", version, "print the version and exit");
  // The seed's flags; each overrides the file and the environment.
  app.add_option("--grpc-port", grpc_port, "gRPC port (the port of server.addr)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--metrics-port", metrics_port,
                 "HTTP port of /metrics, /healthz, /readyz (the port of metrics.addr)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--health-port", health_port,
                 "a second HTTP port for /healthz and /readyz (the port of health.addr)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error (log.level)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  bool from_seed = false;
  CLI::App* migrate = app.add_subcommand(
      "migrate", "apply the schema migrations, or convert a seed database, and exit");
  migrate->add_flag("--from-seed", from_seed,
                    "convert a database the seed system (distributed-job-queue) created, in "
                    "place, keeping its queues, jobs and events");
  migrate->fallthrough();  // `migrate --config FILE` as well as `--config FILE migrate`
  std::string key_tenant, key_role = "admin", key_description;
  CLI::App* apikey = app.add_subcommand("apikey", "manage API keys in the database directly");
  apikey->require_subcommand(1);
  CLI::App* apikey_create = apikey->add_subcommand(
      "create", "create an API key (e.g. the first admin key) and print it once");
  apikey_create->add_option("--tenant", key_tenant, "the tenant it acts for")->required();
  apikey_create->add_option("--role", key_role, "admin, producer, worker or fleet")
      ->check(CLI::IsMember({"admin", "producer", "worker", "fleet"}))
      ->capture_default_str();
  apikey_create->add_option("--description", key_description, "a note shown by apikey list");
  apikey->fallthrough();
  apikey_create->fallthrough();
  CLI11_PARSE(app, argc, argv);
  if (version) {
    std::cout << jq::VersionString() << "\n";
    return 0;
  }

  jq::config::LoadOptions opts;
  opts.path = config_path;
  opts.strict = strict;
  auto loaded = jq::config::LoadConfig(opts);
  if (!loaded.ok()) {
    std::cerr << "jq-server: configuration: " << loaded.status().message() << "\n";
    return 1;
  }
  jq::Config config = loaded->config;
  for (auto [key, port] : {std::pair<const char*, int>{"server.addr", grpc_port},
                           {"metrics.addr", metrics_port},
                           {"health.addr", health_port}}) {
    if (port == 0) continue;
    if (jq::Status s = jq::ApplyListenPort(config, key, std::to_string(port)); !s.ok()) {
      std::cerr << "jq-server: " << s.message() << "\n";
      return 2;
    }
  }
  if (!log_level.empty()) config.log.level = log_level;
  if (config.server.id.empty()) config.server.id = DefaultReplicaId();
  jq::telemetry::InitLogging("jq-server", config.log.level);
  for (const auto& w : loaded->warnings) spdlog::warn("configuration: {}", w);
  // The TLS files are read now, so that a bad one stops the start naming its key.
  const jq::rpc::ServerTls grpc_tls = jq::rpc::ServerTlsFrom(config.server.tls);
  if (jq::Status s = jq::rpc::CheckServerTls(grpc_tls); !s.ok()) {
    std::cerr << "jq-server: " << s.message() << "\n";
    return 1;
  }
  const jq::telemetry::HttpTls http_tls =
      jq::telemetry::HttpTlsFrom(config.metrics.tls, "metrics.tls");
  if (jq::Status s = jq::telemetry::CheckHttpTls(http_tls); !s.ok()) {
    std::cerr << "jq-server: " << s.message() << "\n";
    return 1;
  }
  if (dry_run) return DryRun(config);
  if (*migrate) return RunMigrate(config, from_seed);
  if (*apikey_create) return RunApiKeyCreate(config, key_tenant, key_role, key_description);

  // Signals are taken by a sigwait below, not by whichever thread they land on.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::string conninfo = jq::DbConnectionString(config.db);
  auto migrated = MigrateWhenReachable(conninfo, {});
  if (!migrated.ok()) {
    spdlog::critical("migrations failed: {}", migrated.status().ToString());
    std::cerr << "jq-server: " << migrated.status().message() << "\n";
    return 1;
  }
  spdlog::info("schema at version {} ({} migrations applied now)", migrated->current_version,
               migrated->applied.size());

  auto registry = std::make_shared<prometheus::Registry>();
  jq::server::ServerMetrics metrics(registry);
  auto process_metrics = std::make_shared<jq::telemetry::ProcessCollector>();

  jq::store::PgStoreConfig store_config{conninfo, config.db.pool_size};
  store_config.on_query = [&](std::string_view op, double seconds) {
    metrics.DbQuery(std::string(op), seconds);
  };
  store_config.on_retry = [&](std::string_view op, std::string_view reason) {
    metrics.DbRetry(std::string(op), std::string(reason));
    spdlog::debug("store: {} retried ({})", op, reason);
  };
  jq::store::PgStore store(store_config);

  jq::server::TenantLimits tenant_limits(store,
                                         {static_cast<double>(config.limits.tenant_submit_rate),
                                          static_cast<double>(config.limits.tenant_submit_burst)},
                                         config.limits.tenant_max_running_jobs,
                                         std::chrono::milliseconds(config.auth.key_refresh_ms));
  jq::server::DispatcherConfig dispatch_config{
      .tick = std::chrono::milliseconds(config.dispatch.tick_ms),
      .batch_size = config.dispatch.batch_size,
      .lease = std::chrono::seconds(config.dispatch.lease_seconds)};
  dispatch_config.on_cycle = [&](double seconds) { metrics.SchedulerCycle(seconds); };
  dispatch_config.on_assigned = [&](const jq::ClaimedJob& job) {
    const auto waited = std::chrono::system_clock::now() - job.not_before;
    metrics.JobAssigned(job.queue, std::max(0.0, std::chrono::duration<double>(waited).count()));
  };
  dispatch_config.tenant_limits = [&] { return tenant_limits.Running(); };
  jq::server::Dispatcher dispatcher(store, dispatch_config);
  jq::server::Reaper reaper(store,
                            {std::chrono::milliseconds(config.reaper.interval_ms),
                             std::chrono::seconds(config.reaper.worker_timeout_seconds),
                             std::chrono::seconds(config.dispatch.lease_seconds),
                             std::chrono::hours(config.reaper.offline_worker_retention_hours)},
                            [&](const jq::ReapResult& r) {
                              for (const auto& [queue, n] : r.lease_expired_by_queue) {
                                metrics.LeaseExpired(queue, n);
                              }
                              if (r.lease_expired + r.worker_jobs_reclaimed > 0) dispatcher.Wake();
                            });
  // Finished jobs past their age go, a batch at a time; unpublished events wait for Kafka.
  jq::server::RetentionLoop retention(
      store,
      {.done_age = std::chrono::hours(24) * config.retention.done_jobs_days,
       .dead_lettered_age = std::chrono::hours(24) * config.retention.dead_lettered_jobs_days,
       .batch_size = config.retention.batch_size,
       .interval = std::chrono::seconds(config.retention.interval_seconds),
       .batch_pause = std::chrono::milliseconds(config.retention.batch_pause_ms),
       .keep_unpublished = !config.kafka.brokers.empty()},
      {.on_batch =
           [&](const jq::JobDeleteFinishedResult& r) {
             metrics.RetentionDeleted("jobs", r.jobs);
             metrics.RetentionDeleted("job_outputs", r.outputs);
             metrics.RetentionDeleted("job_events", r.events);
           },
       .on_run =
           [&](const jq::server::RetentionRunTotals& t) {
             metrics.RetentionRun(t.seconds, t.held_back);
           }});
  std::unique_ptr<jq::redis::RedisClient> redis;
  if (!config.redis.addr.empty()) {
    jq::redis::RedisConfig rc;
    rc.addr = config.redis.addr;
    rc.password = config.redis.password;
    rc.timeout = std::chrono::milliseconds(config.redis.timeout_ms);
    rc.on_op = [&](std::string_view op, double seconds) {
      metrics.RedisOperation(std::string(op), seconds);
    };
    redis = std::make_unique<jq::redis::RedisClient>(rc);
  }
  jq::redis::RateLimiter rate_limiter({{static_cast<double>(config.limits.tenant_submit_rate),
                                        static_cast<double>(config.limits.tenant_submit_burst)},
                                       {static_cast<double>(config.limits.queue_submit_rate),
                                        static_cast<double>(config.limits.queue_submit_burst)}},
                                      redis.get());
  std::unique_ptr<jq::redis::JobCache> job_cache;
  std::unique_ptr<jq::redis::WorkerPresence> presence;
  if (redis) {
    // Final jobs only: the one way out of a final state is RetryJob, which invalidates them.
    job_cache = std::make_unique<jq::redis::RedisJobCache>(*redis, std::chrono::seconds(60));
    presence = std::make_unique<jq::redis::RedisWorkerPresence>(
        *redis, std::chrono::seconds(config.reaper.worker_timeout_seconds));
  }
  // The outbox relay to Kafka: every replica runs one, one of them publishes.
  std::unique_ptr<jq::events::OutboxRelay> relay;
  jq::events::KafkaClientConfig kafka_client;
  kafka_client.brokers = config.kafka.brokers;
  kafka_client.sasl_username = config.kafka.username;
  kafka_client.sasl_password = config.kafka.password;
  if (!config.kafka.brokers.empty()) {
    jq::events::OutboxRelayConfig rc;
    rc.brokers = kafka_client.brokers;
    rc.sasl_username = kafka_client.sasl_username;
    rc.sasl_password = kafka_client.sasl_password;
    rc.stall_after = std::chrono::seconds(config.kafka.outbox_stall_seconds);
    auto created = jq::events::OutboxRelay::Create(conninfo, rc);
    if (!created.ok()) {
      spdlog::critical("kafka: {}", created.status().message());
      return 1;
    }
    relay = std::move(created).value();
  }
  std::unique_ptr<jq::events::HeartbeatPublisher> heartbeats;
  if (!config.kafka.brokers.empty()) {
    auto created = jq::events::HeartbeatPublisher::Create(kafka_client);
    if (!created.ok()) {
      spdlog::critical("kafka: {}", created.status().message());
      return 1;
    }
    heartbeats = std::move(created).value();
  }
  jq::store::PgListener listener(
      conninfo, {jq::store::kJobsChannel, jq::store::kControlChannel},
      [&](const std::string& channel, const std::string& payload) {
        if (channel == jq::store::kControlChannel) {
          jq::server::DeliverControl(dispatcher, payload);
        } else {
          // Reconnected ("" channel): control messages sent meanwhile were lost.
          if (channel.empty()) jq::server::ResyncControl(store, dispatcher);
          dispatcher.Wake();  // jobs became runnable, or we may have missed that they did
        }
      });
  jq::server::SchemaCheck schema([conninfo] { return jq::store::InspectSchema(conninfo); },
                                 jq::store::RequiredSchemaVersion());
  schema.Refresh();
  if (jq::Status s = schema.status(); !s.ok()) spdlog::warn("not ready: {}", s.message());
  const jq::server::Health health(listener, redis.get(), config.redis.addr, relay.get(), &schema);
  jq::server::StatsPoller stats(
      store, metrics, std::chrono::seconds(5),
      [&] {
        metrics.ComponentUp("database", store.Ping().ok());
        schema.Refresh();
        // A worker this replica no longer hears from (offline, or heartbeating elsewhere).
        metrics.ForgetSilentWorkers(2 * std::chrono::seconds(config.reaper.worker_timeout_seconds));
        malloc_trim(0);
        for (const auto& c : health.Components()) {
          if (c.configured) metrics.ComponentUp(c.name, c.healthy);
        }
        // Per-tenant in-flight counts, rebuilt from the database each poll (so they cannot
        // drift) and shared with every replica and operator through Redis.
        if (redis) {
          if (auto inflight = store.TenantInFlight(); inflight.ok()) {
            (void)jq::redis::PublishTenantInFlight(*redis, *inflight, config.server.id,
                                                   std::chrono::seconds(30));
          }
        }
        if (relay) {
          const auto st = relay->Stats();
          if (st.lag_events >= 0) metrics.OutboxLag(static_cast<double>(st.lag_events));
          metrics.OutboxOldestUnpublishedAge(st.oldest_unpublished_age_seconds);
          metrics.OutboxStalled(st.stalled);
          metrics.OutboxWaitingForTransaction(st.waiting_for_transaction,
                                              st.blocking_transaction_age_seconds);
          for (const auto& [topic, n] : st.publish_errors_total) {
            metrics.KafkaPublishErrors(topic, static_cast<double>(n));
          }
        }
        if (heartbeats) {
          metrics.KafkaPublishErrors("worker.heartbeat",
                                     static_cast<double>(heartbeats->errors_total()));
        }
      },
      std::max(1, config.metrics.finished_depth_seconds / 5));

  // Group commit on the hot path: submits and worker reports, each flush one transaction.
  // Submits get two flushers, so one batch is being written while the next one gathers.
  jq::server::RemoteWaker remote_waker(store, std::chrono::milliseconds(20));
  const auto jobs_runnable = [&] {
    dispatcher.Wake();
    remote_waker.Poke();
  };
  // A short linger while the other flusher is busy lets batches fill (fewer commits) for
  // well under a millisecond of latency; an idle server flushes at once.
  jq::server::JobInserter inserter(
      store, {.max_batch = 1000, .flushers = 2, .linger = std::chrono::microseconds(200)},
      jobs_runnable);
  // Reports get one flusher: two batches in flight could lock the same jobs in different
  // orders (one's start and the other's result) and deadlock; one flush at a time lets the
  // next batch gather meanwhile, so its throughput is the batch size over the flush time.
  jq::server::JobCompleter completer(store, {.max_batch = 2000, .flushers = 1},
                                     std::chrono::seconds(config.dispatch.lease_seconds));

  jq::server::Fleet fleet(
      store, dispatcher, completer, metrics, presence.get(),
      [&](const std::string& worker_id, int active, const std::vector<std::string>& running) {
        if (heartbeats) heartbeats->Publish(worker_id, config.server.id, active, running);
      },
      {config.server.id, std::chrono::seconds(config.worker.heartbeat_seconds)});

  std::atomic<bool> stopping{false};
  jq::server::ServiceContext ctx{store,        dispatcher,    config,
                                 stopping,     metrics,       inserter,
                                 completer,    jobs_runnable, job_cache.get(),
                                 rate_limiter, fleet,         [&] { return health.Components(); }};

  const auto ready = [&]() -> jq::Status {
    if (stopping) return jq::Status::Unavailable("shutting down");
    if (jq::Status s = store.Ping(); !s.ok()) return s;
    return schema.status();  // the stats poller's last reading: no query per probe
  };
  jq::telemetry::HttpServer http({registry, process_metrics}, ready);
  // The seed's probes expect /healthz and /readyz on a port of their own (health.port).
  std::unique_ptr<jq::telemetry::HttpServer> health_http;
  if (!config.health.addr.empty() && config.health.addr != config.metrics.addr) {
    health_http = std::make_unique<jq::telemetry::HttpServer>(
        std::vector<std::shared_ptr<prometheus::Collectable>>{registry, process_metrics}, ready);
  }
  auto auth_config = jq::auth::AuthenticatorConfigFrom(config);
  if (!auth_config.ok()) {
    spdlog::critical("{}", auth_config.status().message());
    return 1;
  }
  jq::auth::Authenticator authenticator(store, *auth_config);
  ctx.auth = &authenticator;
  if (!config.auth.enabled) {
    spdlog::warn(
        "auth.enabled is false: every caller is an admin of tenant 'default'; for "
        "local development only");
  }
  authenticator.Start();  // loads the keys before the port opens
  ctx.tenant_limits = &tenant_limits;
  tenant_limits.Start();
  jq::server::JobServiceImpl job_service(ctx);
  jq::server::WorkerServiceImpl worker_service(ctx);
  jq::server::AdminServiceImpl admin_service(ctx);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.server.addr, jq::rpc::MakeServerCredentials(grpc_tls), &port);
  builder.RegisterService(&job_service);
  builder.RegisterService(&worker_service);
  builder.RegisterService(&admin_service);
  // Payloads are checked against jobs.max_payload_bytes by the services; reports carry up to
  // two capped output tails. jq-worker receives with the same limit.
  builder.SetMaxReceiveMessageSize(jq::GrpcMaxMessageBytes(config));
  // A worker cut off by the network: its stream ends (and its undelivered jobs go back)
  // within twice the keepalive, instead of staying half-open.
  jq::rpc::ApplyKeepalive(builder, {std::chrono::seconds(config.server.keepalive_seconds),
                                    std::chrono::seconds(config.server.keepalive_seconds)});
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<jq::server::GrpcMetricsInterceptorFactory>(metrics));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  // The batchers take calls from the moment the port is open: a submit that arrived before
  // they ran would be refused as if the server were stopping.
  remote_waker.Start();
  inserter.Start();
  completer.Start();
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    spdlog::critical("cannot listen on {} (server.addr)", config.server.addr);
    return 1;
  }
  // health.addr serves /metrics too: it gets the same TLS, or it would leak what TLS protects.
  if (jq::Status s = http.Start(config.metrics.addr, http_tls); !s.ok()) {
    spdlog::critical("{} (metrics.addr)", s.message());
    return 1;
  }
  if (health_http) {
    if (jq::Status s = health_http->Start(config.health.addr, http_tls); !s.ok()) {
      spdlog::critical("{} (health.addr)", s.message());
      return 1;
    }
  }
  listener.Start();
  dispatcher.Start();
  reaper.Start();
  retention.Start();
  stats.Start();
  if (relay) relay->Start();
  spdlog::info("jq-server {} listening on {} ({}) as replica {}; metrics on {} ({})",
               jq::VersionString(), config.server.addr, grpc_tls.mode(), config.server.id,
               config.metrics.addr, http_tls.mode());

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {}: shutting down (grace {} s)", sig, config.server.shutdown_grace_seconds);
  stopping = true;
  dispatcher.Stop();  // closes worker streams: they reconnect to another replica
  reaper.Stop();
  retention.Stop();
  stats.Stop();
  if (relay) relay->Stop();  // releases the publishing lock to another replica
  // Calls waiting for a batch are answered while the server drains; then the batchers flush
  // what is left and stop.
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::seconds(config.server.shutdown_grace_seconds));
  inserter.Stop();
  completer.Stop();
  remote_waker.Stop();
  listener.Stop();
  authenticator.Stop();
  tenant_limits.Stop();
  http.Stop();
  if (health_http) health_http->Stop();
  spdlog::info("jq-server stopped");
  return 0;
}
