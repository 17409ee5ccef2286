// jq-worker: runs jobs from jq-server (SPEC §2, §4).
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <thread>

#include "config/config_loader.h"
#include "core/validation.h"
#include "core/version.h"
#include "rpc/tls.h"
#include "telemetry/http_server.h"
#include "telemetry/log.h"
#include "telemetry/process_collector.h"
#include "worker/agent.h"

namespace {

// jq-worker's own metrics, read from the agent at scrape time.
class WorkerCollector final : public prometheus::Collectable {
 public:
  WorkerCollector(jq::worker::WorkerAgent& agent, std::string worker_id)
      : agent_(agent), worker_id_(std::move(worker_id)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily running;
    running.name = "jq_worker_job_concurrency";
    running.help = "Jobs running on this worker.";
    running.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric m;
    m.label = {{"worker_id", worker_id_}};
    m.gauge.value = agent_.running_count();
    running.metric.push_back(m);
    prometheus::MetricFamily finished;
    finished.name = "jq_worker_jobs_finished_total";
    finished.help = "Job attempts this worker has finished (any outcome).";
    finished.type = prometheus::MetricType::Counter;
    prometheus::ClientMetric c;
    c.label = {{"worker_id", worker_id_}};
    c.counter.value = agent_.jobs_finished();
    finished.metric.push_back(c);
    return {running, finished};
  }

 private:
  jq::worker::WorkerAgent& agent_;
  std::string worker_id_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"jq-worker: runs jq jobs as subprocesses"};
  std::string config_path, server_addr, worker_id, queues, run_as, log_level;
  int concurrency = 0, metrics_port = 0, health_port = 0;
  bool version = false;
  app.add_option("-c,--config", config_path, "YAML configuration file (see config.example.yaml)");
  app.add_option("--server-addr", server_addr,
                 "jq-server address (default: JQ_SERVER_ADDR, else worker.server_addr)");
  app.add_option("--worker-id", worker_id, "worker id (default hostname-pid)");
  app.add_option("--concurrency", concurrency, "jobs run at once (default 4)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--queues", queues, "comma-separated queues to take jobs from (default all)");
  app.add_option("--run-as-user", run_as, "run jobs as this user (the worker must be root)");
  app.add_option("--metrics-port", metrics_port,
                 "HTTP port of /metrics, /healthz, /readyz (the port of worker.metrics_addr, "
                 "default 9091)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--health-port", health_port,
                 "a second HTTP port for /healthz and /readyz (the port of worker.health_addr)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error (log.level)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_flag("--version", version, "print the version and exit");
  CLI11_PARSE(app, argc, argv);
  if (version) {
    std::cout << jq::VersionString() << "\n";
    return 0;
  }

  jq::config::LoadOptions opts;
  opts.path = config_path;
  opts.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    // A worker dials the address clients use: JQ_SERVER_ADDR stands in for
    // worker.server_addr unless JQ_WORKER_SERVER_ADDR is set.
    if (v == nullptr && name == "JQ_WORKER_SERVER_ADDR") v = std::getenv("JQ_SERVER_ADDR");
    // And the TLS files jq-ctl reads (JQ_TLS_CA, _CERT, _KEY) stand in for worker.tls.*.
    for (const char* file : {"CA", "CERT", "KEY"}) {
      if (v == nullptr && name == std::string("JQ_WORKER_TLS_") + file) {
        v = std::getenv((std::string("JQ_TLS_") + file).c_str());
      }
    }
    // The key jq-ctl uses (.jq/stack.env) serves unless the worker has its own.
    if (v == nullptr && name == "JQ_WORKER_API_KEY") v = std::getenv("JQ_API_KEY");
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  // In the file, metrics.* and health.* are jq-server's (a server and a worker may share it);
  // this process's own environment names this process's ports.
  opts.env_redirects = {{"metrics.addr", "worker.metrics_addr"},
                        {"health.addr", "worker.health_addr"}};
  auto loaded = jq::config::LoadConfig(opts);
  if (!loaded.ok()) {
    std::cerr << "jq-worker: configuration: " << loaded.status().message() << "\n";
    return 1;
  }
  jq::Config config = loaded->config;
  auto apply = [&](const char* key, const std::string& value) {
    if (value.empty()) return true;
    jq::Status s = jq::ApplyConfigSetting(config, key, value);
    if (!s.ok()) std::cerr << "jq-worker: " << s.message() << "\n";
    return s.ok();
  };
  if (!apply("worker.server_addr", server_addr) || !apply("worker.id", worker_id) ||
      !apply("worker.queues", queues) || !apply("worker.run_as_user", run_as) ||
      !apply("worker.concurrency", concurrency > 0 ? std::to_string(concurrency) : "") ||
      !apply("log.level", log_level)) {
    return 2;
  }
  for (auto [key, port] : {std::pair<const char*, int>{"worker.metrics_addr", metrics_port},
                           {"worker.health_addr", health_port}}) {
    if (port == 0) continue;
    if (jq::Status s = jq::ApplyListenPort(config, key, std::to_string(port)); !s.ok()) {
      std::cerr << "jq-worker: " << s.message() << "\n";
      return 2;
    }
  }
  if (jq::Status s = jq::ValidateConfig(config); !s.ok()) {
    std::cerr << "jq-worker: configuration: " << s.message() << "\n";
    return 1;
  }
  // The TLS files are read now, so that a bad one stops the start naming its key.
  if (jq::Status s = jq::rpc::CheckClientTls(jq::rpc::ClientTlsFrom(config.worker.tls)); !s.ok()) {
    std::cerr << "jq-worker: " << s.message() << "\n";
    return 1;
  }
  const jq::telemetry::HttpTls http_tls =
      jq::telemetry::HttpTlsFrom(config.worker.metrics_tls, "worker.metrics_tls");
  if (jq::Status s = jq::telemetry::CheckHttpTls(http_tls); !s.ok()) {
    std::cerr << "jq-worker: " << s.message() << "\n";
    return 1;
  }
  if (!config.worker.run_as_user.empty() && geteuid() != 0) {
    std::cerr << "jq-worker: worker.run_as_user needs the worker to run as root\n";
    return 1;
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  if (config.worker.id.empty()) {
    config.worker.id = std::string(host) + "-" + std::to_string(getpid());
  }
  jq::telemetry::InitLogging("jq-worker", config.log.level);
  for (const auto& w : loaded->warnings) spdlog::warn("configuration: {}", w);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  jq::worker::WorkerAgent agent(config.worker, config.worker.id, host,
                                jq::GrpcMaxMessageBytes(config));
  const std::vector<std::shared_ptr<prometheus::Collectable>> collectables = {
      std::make_shared<WorkerCollector>(agent, config.worker.id),
      std::make_shared<jq::telemetry::ProcessCollector>()};
  const auto ready = [&]() -> jq::Status {
    return agent.connected() ? jq::Status::Ok()
                             : jq::Status::Unavailable("not connected to jq-server");
  };
  jq::telemetry::HttpServer http(collectables, ready);
  if (jq::Status s = http.Start(config.worker.metrics_addr, http_tls); !s.ok()) {
    spdlog::critical("{} (worker.metrics_addr)", s.message());
    return 1;
  }
  // The seed's probes expect /healthz on a port of their own (--health-port).
  std::unique_ptr<jq::telemetry::HttpServer> health_http;
  if (!config.worker.health_addr.empty() &&
      config.worker.health_addr != config.worker.metrics_addr) {
    health_http = std::make_unique<jq::telemetry::HttpServer>(collectables, ready);
    if (jq::Status s = health_http->Start(config.worker.health_addr, http_tls); !s.ok()) {
      spdlog::critical("{} (worker.health_addr)", s.message());
      return 1;
    }
  }
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("signal {}: no new jobs; finishing running ones for up to {} s", sig,
                 config.worker.shutdown_grace_seconds);
    agent.RequestStop();
  });
  spdlog::info("jq-worker {} starting as {} (concurrency {}) against {} ({}); metrics on {} ({})",
               jq::VersionString(), config.worker.id, config.worker.concurrency,
               config.worker.server_addr,
               jq::rpc::ClientTlsFrom(config.worker.tls).enabled() ? "TLS" : "plaintext",
               config.worker.metrics_addr, http_tls.mode());
  agent.Run();
  spdlog::info("jq-worker stopped");
  // The signal thread may still wait (drain/shutdown ended the agent): exit without it.
  signal_thread.detach();
  std::_Exit(0);
}
