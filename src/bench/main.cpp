// jq-bench: jq's load generator and end-to-end benchmark (SPEC §14). A persistent-connection,
// callback-API gRPC client: hundreds of calls and up to a thousand benchmark workers in flight
// on a few channels and gRPC's own threads.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <thread>

#include "bench/modes.h"
#include "bench/options.h"
#include "bench/processes.h"
#include "core/version.h"

namespace {

using jq::bench::Options;

std::atomic<bool> g_abort{false};

void AddCommon(CLI::App* sub, Options& o, const std::string& default_queue) {
  sub->add_option("--server", o.server, "jq-server address HOST:PORT")
      ->envname("JQ_SERVER_ADDR")
      ->capture_default_str();
  sub->add_option("--tls-ca", o.tls_ca, "CA certificate (PEM) to verify the server with")
      ->envname("JQ_TLS_CA");
  sub->add_option("--tls-cert", o.tls_cert, "client certificate (PEM)")->envname("JQ_TLS_CERT");
  sub->add_option("--tls-key", o.tls_key, "client private key (PEM)")->envname("JQ_TLS_KEY");
  sub->add_option("--api-key", o.api_key, "API key (a worker or admin key for the worker modes)")
      ->envname("JQ_API_KEY");
  sub->add_option("--channels", o.channels, "gRPC channels (separate TCP connections) to use")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  sub->add_flag("--json", o.json, "print one JSON object on stdout instead of a table");
  sub->add_option("--timeline", o.timeline,
                  "write CSV t_seconds,jobs_per_second, sampled every 0.5 s, to this file");
  sub->add_option("--server-pid", o.server_pid,
                  "report Threads and VmRSS of this jq-server process at the end")
      ->check(CLI::PositiveNumber);
  sub->add_option("--label", o.label, "free text copied into the report");
  sub->add_option("--queue", o.queue, "queue to submit to (default " + default_queue + ")");
  sub->add_option("--payload-bytes", o.payload_bytes,
                  "payload size: {\"command\":[…],\"pad\":\"xxx…\"} padded to this many bytes")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  sub->add_option("--prefill-pending", o.prefill_pending,
                  "first submit this many jobs to --prefill-queue, which nothing consumes (a deep "
                  "PENDING backlog)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--prefill-queue", o.prefill_queue, "queue of the --prefill-pending jobs")
      ->capture_default_str();
}

void AddLoad(CLI::App* sub, Options& o, CLI::Option** duration) {
  sub->add_option("--concurrency", o.concurrency, "calls always in flight (closed loop)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  sub->add_option("--total", o.total, "jobs to submit, then stop (default: run for --duration)")
      ->check(CLI::NonNegativeNumber);
  *duration = sub->add_option("--duration", o.duration, "seconds to run")
                  ->check(CLI::PositiveNumber)
                  ->capture_default_str();
}

void AddWorkers(CLI::App* sub, Options& o, bool bench_workers) {
  sub->add_option(
         "--workers", o.workers,
         bench_workers ? "benchmark workers (in-process, no thread each)" : "jq-worker processes")
      ->check(CLI::Range(1, bench_workers ? 1000 : 64))
      ->capture_default_str();
  sub->add_option("--slots", o.slots, "concurrency of each worker")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  sub->add_option("--stall-seconds", o.stall_seconds, "give up when no job finished for this long")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  if (!bench_workers) return;
  sub->add_option("--report-mode", o.report_mode,
                  "batch: coalesced ReportBatch calls; unary: ReportStarted + ReportResult per "
                  "job (servers without ReportBatch)")
      ->check(CLI::IsMember({"batch", "unary"}))
      ->capture_default_str();
  sub->add_flag("--no-started", o.no_started, "do not report jobs as started, only their results");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "jq-bench: load generator and end-to-end benchmark for jq.\n"
      "Modes: submit (SubmitJob), batch (SubmitJobs), e2e (burn-down with benchmark workers),\n"
      "latency (submit->start / submit->done), subprocess (burn-down with real jq-workers)."};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "print the version and exit");

  std::map<std::string, Options> opts;  // one per subcommand: their defaults differ
  std::map<std::string, CLI::Option*> durations;

  {
    Options& o = opts["submit"];
    auto* sub = app.add_subcommand("submit", "unary SubmitJob load, closed loop or --rate");
    AddCommon(sub, o, "bench");
    AddLoad(sub, o, &durations["submit"]);
    sub->add_option("--rate", o.rate, "open loop: submits per second (0 = closed loop)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
  }
  {
    Options& o = opts["batch"];
    o.concurrency = 4;
    auto* sub = app.add_subcommand("batch", "SubmitJobs load, closed loop");
    AddCommon(sub, o, "bench");
    AddLoad(sub, o, &durations["batch"]);
    sub->add_option("--batch-size", o.batch_size, "jobs per SubmitJobs call")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
  }
  {
    Options& o = opts["e2e"];
    auto* sub = app.add_subcommand(
        "e2e", "burn-down: submit --jobs, then time --workers benchmark workers running them");
    AddCommon(sub, o, "bench-e2e-<pid>");
    sub->add_option("--jobs", o.jobs, "jobs to run")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}))
        ->capture_default_str();
    AddWorkers(sub, o, true);
  }
  {
    Options& o = opts["latency"];
    o.rate = 1000;
    auto* sub = app.add_subcommand(
        "latency", "open-loop submits at --rate with benchmark workers: submit->start/done");
    AddCommon(sub, o, "bench-lat-<pid>");
    sub->add_option("--rate", o.rate, "submits per second")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    durations["latency"] = sub->add_option("--duration", o.duration, "seconds to submit for")
                               ->check(CLI::PositiveNumber)
                               ->capture_default_str();
    sub->add_option("--total", o.total, "jobs to submit, then stop (default: --duration)")
        ->check(CLI::NonNegativeNumber);
    AddWorkers(sub, o, true);
  }
  {
    Options& o = opts["subprocess"];
    o.workers = 2;
    o.slots = 16;
    auto* sub = app.add_subcommand("subprocess",
                                   "burn-down with real jq-worker processes running /bin/true");
    AddCommon(sub, o, "bench-sub-<pid>");
    sub->add_option("--jobs", o.jobs, "jobs to run")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}))
        ->capture_default_str();
    AddWorkers(sub, o, false);
    sub->add_option("--jq-worker", o.jq_worker,
                    "jq-worker binary (default: jq-worker next to jq-bench)");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    app.exit(e);
    return jq::bench::kExitUsage;
  }
  if (version) {
    std::cout << jq::VersionString() << "\n";
    return jq::bench::kExitOk;
  }
  if (app.get_subcommands().empty()) {
    std::cerr << app.help() << "jq-bench: a mode is required\n";
    return jq::bench::kExitUsage;
  }
  const std::string mode = app.get_subcommands().front()->get_name();
  Options& o = opts[mode];
  o.mode = mode;
  if (auto it = durations.find(mode); it != durations.end()) o.duration_set = it->second->count();

  // Signals: the first stops the run (its report is still printed), a second exits at once.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::thread([signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    g_abort.store(true);
    sigwait(&signals, &sig);
    jq::bench::KillAllChildren();
    _exit(jq::bench::kExitInterrupted);
  }).detach();

  bool hard_exit = false;
  const int code = jq::bench::RunBench(o, g_abort, &hard_exit);
  if (hard_exit) {
    std::cout.flush();
    std::cerr.flush();
    std::_Exit(code);
  }
  return code;
}
