#include "bench/modes.h"

#include <unistd.h>

#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "bench/bench_worker.h"
#include "bench/clients.h"
#include "bench/processes.h"
#include "bench/report.h"
#include "bench/stats.h"
#include "bench/submitter.h"
#include "rpc/tls.h"

namespace jq::bench {
namespace {

// A prefill leaves a large amount of dirty pages behind; the kernel writes them back about
// 30 s later, in the middle of the measured part, and every commit then waits behind that
// writeback. With the server on this machine, sync(2) puts them on disk first.
void SettleDisk() {
  ::sync();
}

constexpr const char* kNoopCommand = R"(["true"])";
constexpr const char* kTrueCommand = R"(["/bin/true"])";

// Threads and RSS of --server-pid: the maximum during the measured part and the value at its
// end (before workers disconnect).
struct ServerSample {
  std::mutex mu;
  bool ok = false;  // guarded by mu, like the rest
  int threads = 0;
  double rss_mb = 0;
  int threads_max = 0;
  double rss_mb_max = 0;

  void Take(int pid) {
    int threads_now = 0;
    double rss_now = 0;
    if (pid <= 0 || !ReadProcStatus(pid, &threads_now, &rss_now)) return;
    std::lock_guard lock(mu);
    ok = true;
    threads = threads_now;
    rss_mb = rss_now;
    threads_max = std::max(threads_max, threads_now);
    rss_mb_max = std::max(rss_mb_max, rss_now);
  }
};

struct Context {
  const Options& o;
  Clients& clients;
  RunStats& stats;
  const std::atomic<bool>& abort;
  std::string run_id;
  Timeline timeline;
  ServerSample server;
  bool* hard_exit;
};

// The measured part: the timeline (and the server's threads and RSS) are sampled meanwhile.
void StartMeasure(Context& c, const std::atomic<std::uint64_t>* counter) {
  std::function<void()> tick;
  if (c.o.server_pid > 0) tick = [&c] { c.server.Take(c.o.server_pid); };
  c.timeline.Start(counter, std::move(tick));
}

void EndMeasure(Context& c) {
  c.timeline.Stop();
  c.server.Take(c.o.server_pid);
}

// What a mode measured, or why it could not.
struct Outcome {
  std::string error;  // empty = the run finished
  Json fields;        // queue, jobs, seconds, jobs_per_second, latencies, …
};

double Seconds(std::int64_t from_ns, std::int64_t to_ns) {
  return to_ns > from_ns ? static_cast<double>(to_ns - from_ns) / 1e9 : 0.0;
}

void PutThroughput(Json& f, std::uint64_t jobs, double seconds) {
  f["jobs"] = jobs;
  f["seconds"] = Round(seconds, 3);
  f["jobs_per_second"] = Round(seconds > 0 ? static_cast<double>(jobs) / seconds : 0.0, 1);
}

grpc::Status CreateQueue(Clients& clients, const std::string& name) {
  jq::CreateQueueRequest req;
  req.set_name(name);
  jq::CreateQueueResponse resp;
  grpc::ClientContext ctx;
  SetCallDeadline(ctx, std::chrono::seconds(10));
  grpc::Status s = clients.admin().CreateQueue(&ctx, req, &resp);
  if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) return grpc::Status::OK;
  return s;
}

std::string QueueFor(const Context& c) {
  if (!c.o.queue.empty()) return c.o.queue;
  if (c.o.mode == "e2e") return "bench-e2e-" + c.run_id;
  if (c.o.mode == "latency") return "bench-lat-" + c.run_id;
  if (c.o.mode == "subprocess") return "bench-sub-" + c.run_id;
  return "bench";
}

std::string Hostname() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

// Polls progress() every poll until it reaches target. Returns why it stopped early: a
// failure from check(), an interrupt, or no progress for stall_seconds.
std::string WaitFor(const Context& c, std::uint64_t target,
                    const std::function<std::uint64_t()>& progress,
                    const std::function<std::string()>& check, std::chrono::milliseconds poll) {
  std::uint64_t last = progress();
  auto last_change = std::chrono::steady_clock::now();
  auto next_report = last_change + std::chrono::seconds(5);
  for (;;) {
    const std::uint64_t done = progress();
    if (done >= target) return "";
    if (std::string why = check(); !why.empty()) return why;
    if (c.abort.load()) return "interrupted";
    const auto now = std::chrono::steady_clock::now();
    if (done != last) {
      last = done;
      last_change = now;
    } else if (now - last_change >= std::chrono::seconds(c.o.stall_seconds)) {
      return "no job finished in " + std::to_string(c.o.stall_seconds) + " s (" +
             std::to_string(done) + " of " + std::to_string(target) + " done)";
    }
    if (!c.o.json && now >= next_report) {
      std::cerr << "jq-bench: " << done << " of " << target << " jobs done\n";
      next_report = now + std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(poll);
  }
}

// Stops the fleet; leaks it (and asks for _Exit) when a hung server still holds its calls.
void StopFleet(Context& c, std::unique_ptr<WorkerFleet>& fleet) {
  fleet->Stop();
  if (!fleet->idle()) {
    std::cerr << "jq-bench: calls to the server still pending after stop\n";
    *c.hard_exit = true;
    (void)fleet.release();
  }
}

FleetConfig FleetFor(const Context& c, const std::string& queue, bool stamped) {
  FleetConfig fc;
  fc.run_id = c.run_id;
  fc.queue = queue;
  fc.workers = c.o.workers;
  fc.slots = c.o.slots;
  fc.report_mode = c.o.report_mode == "unary" ? ReportMode::kUnary : ReportMode::kBatch;
  fc.report_started = !c.o.no_started;
  fc.stamped = stamped;
  fc.hostname = Hostname();
  return fc;
}

Outcome RunSubmit(Context& c) {
  Outcome out;
  SubmitLoad load;
  load.queue = QueueFor(c);
  load.payload_bytes = c.o.payload_bytes;
  load.concurrency = c.o.concurrency;
  load.total = c.o.total;
  load.duration_seconds = c.o.total > 0 && !c.o.duration_set ? 0 : c.o.duration;
  load.rate = c.o.mode == "submit" ? c.o.rate : 0;
  load.batch_size = c.o.mode == "batch" ? c.o.batch_size : 0;
  load.abort = &c.abort;
  out.fields["queue"] = load.queue;
  StartMeasure(c, &c.stats.jobs);
  const LoadResult r = RunSubmitLoad(c.clients, load, c.stats);
  EndMeasure(c);
  PutThroughput(out.fields, r.jobs, r.seconds);
  out.fields["calls"] = r.calls;
  out.fields["latency_ms"] = LatencyJson(c.stats.call_latency);
  if (c.abort.load()) out.error = "interrupted";
  return out;
}

Outcome RunE2E(Context& c) {
  Outcome out;
  const std::string queue = QueueFor(c);
  out.fields["queue"] = queue;
  const std::int64_t prefill_start = NowNs();
  const std::uint64_t n = Prefill(c.clients, queue, c.o.jobs, kNoopCommand, c.o.payload_bytes,
                                  c.stats.errors, &c.abort, c.o.json);
  out.fields["prefill_seconds"] = Round(Seconds(prefill_start, NowNs()), 3);
  SettleDisk();
  if (c.abort.load()) return {"interrupted", out.fields};
  if (n == 0) return {"no job could be submitted", out.fields};

  auto fleet = std::make_unique<WorkerFleet>(c.clients, FleetFor(c, queue, false), c.stats);
  if (!c.o.json) std::cerr << "jq-bench: starting " << c.o.workers << " bench workers\n";
  const std::int64_t start = NowNs();
  fleet->Start();
  StartMeasure(c, &fleet->completed());
  out.error = WaitFor(
      c, n, [&] { return fleet->completed().load(); },
      [&]() -> std::string {
        if (fleet->failed()) return fleet->failure();
        if (fleet->live() == 0) return "every bench worker was shut down by the server";
        return "";
      },
      std::chrono::milliseconds(5));
  const std::int64_t end = fleet->last_ack_ns();
  const std::uint64_t completed = fleet->completed().load();
  EndMeasure(c);
  StopFleet(c, fleet);
  PutThroughput(out.fields, completed, Seconds(start, end));
  return out;
}

Outcome RunLatency(Context& c) {
  Outcome out;
  const std::string queue = QueueFor(c);
  out.fields["queue"] = queue;
  auto fleet = std::make_unique<WorkerFleet>(c.clients, FleetFor(c, queue, true), c.stats);
  fleet->Start();
  // The server attaches a worker when its stream opens; wait for all of them.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (fleet->streaming() < c.o.workers && !fleet->failed() && !c.abort.load() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (fleet->streaming() < c.o.workers) {
    out.error = "only " + std::to_string(fleet->streaming()) + " of " +
                std::to_string(c.o.workers) + " bench workers connected";
    StopFleet(c, fleet);
    return out;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  SubmitLoad load;
  load.queue = queue;
  load.payload_bytes = c.o.payload_bytes;
  load.rate = c.o.rate;
  load.total = c.o.total;
  load.duration_seconds = c.o.total > 0 && !c.o.duration_set ? 0 : c.o.duration;
  load.stamp = true;
  load.abort = &c.abort;
  const std::int64_t start = NowNs();
  StartMeasure(c, &fleet->completed());
  const LoadResult r = RunSubmitLoad(c.clients, load, c.stats);
  if (!c.abort.load()) {
    out.error = WaitFor(
        c, r.jobs, [&] { return fleet->completed().load(); },
        [&]() -> std::string { return fleet->failed() ? fleet->failure() : ""; },
        std::chrono::milliseconds(5));
  } else {
    out.error = "interrupted";
  }
  const std::int64_t end = std::max(fleet->last_ack_ns(), start);
  const std::uint64_t completed = fleet->completed().load();
  EndMeasure(c);
  StopFleet(c, fleet);
  PutThroughput(out.fields, completed, Seconds(start, end));
  out.fields["calls"] = r.calls;
  out.fields["latency_ms"] = LatencyJson(c.stats.call_latency);
  out.fields["submit_to_start_ms"] = LatencyJson(c.stats.submit_to_start);
  out.fields["submit_to_done_ms"] = LatencyJson(c.stats.submit_to_done);
  return out;
}

Outcome RunSubprocess(Context& c) {
  Outcome out;
  const std::string path = c.o.jq_worker.empty() ? SelfDirectory() + "/jq-worker" : c.o.jq_worker;
  if (access(path.c_str(), X_OK) != 0) {
    out.error = "no jq-worker at " + path + " (build it, or pass --jq-worker PATH)";
    return out;
  }
  const std::string queue = QueueFor(c);
  out.fields["queue"] = queue;
  const std::int64_t prefill_start = NowNs();
  const std::uint64_t n = Prefill(c.clients, queue, c.o.jobs, kTrueCommand, c.o.payload_bytes,
                                  c.stats.errors, &c.abort, c.o.json);
  out.fields["prefill_seconds"] = Round(Seconds(prefill_start, NowNs()), 3);
  SettleDisk();
  if (c.abort.load()) return {"interrupted", out.fields};
  if (n == 0) return {"no job could be submitted", out.fields};

  ChildProcesses children;
  if (!c.o.json) std::cerr << "jq-bench: starting " << c.o.workers << " jq-worker processes\n";
  const std::int64_t start = NowNs();
  for (int i = 0; i < c.o.workers; ++i) {
    std::string error;
    const std::map<std::string, std::string> env = {
        {"JQ_WORKER_SERVER_ADDR", c.clients.server_addr()},
        {"JQ_API_KEY", c.o.api_key},
        {"JQ_WORKER_ID", "bench-" + c.run_id + "-" + std::to_string(i)},
        {"JQ_WORKER_CONCURRENCY", std::to_string(c.o.slots)},
        {"JQ_WORKER_QUEUES", queue},
        {"JQ_METRICS_ADDR", "127.0.0.1:" + std::to_string(FreePort())},
        {"JQ_LOG_LEVEL", "warn"},
    };
    if (!children.Spawn(path, env, &error)) {
      children.StopAll(std::chrono::seconds(10));
      return {error, out.fields};
    }
  }
  std::atomic<std::uint64_t> done{0};
  jq::QueueStats last;
  StartMeasure(c, &done);
  std::int64_t end = 0;
  out.error = WaitFor(
      c, n,
      [&] {
        jq::GetQueueStatsRequest req;
        req.set_name(queue);
        jq::GetQueueStatsResponse resp;
        grpc::ClientContext ctx;
        SetCallDeadline(ctx, std::chrono::seconds(5));
        if (grpc::Status s = c.clients.admin().GetQueueStats(&ctx, req, &resp); !s.ok()) {
          c.stats.errors.Record("GetQueueStats", s);
        } else {
          last = resp.stats();
          done.store(static_cast<std::uint64_t>(std::max<std::int64_t>(last.done_count(), 0)));
          if (done.load() >= n && end == 0) end = NowNs();
        }
        return done.load();
      },
      [&] { return children.Exited(); }, std::chrono::milliseconds(100));
  if (end == 0) end = NowNs();
  EndMeasure(c);
  children.StopAll(std::chrono::seconds(15));
  PutThroughput(out.fields, done.load(), Seconds(start, end));
  out.fields["jobs_failed"] = last.failed_count() + last.dead_letter_count();
  return out;
}

}  // namespace

int RunBench(const Options& o, const std::atomic<bool>& abort, bool* hard_exit) {
  const rpc::ClientTls tls = rpc::ClientTlsFromFlags(o.tls_ca, o.tls_cert, o.tls_key);
  if (Status s = rpc::CheckClientTls(tls); !s.ok()) {
    std::cerr << "jq-bench: " << s.message() << "\n";
    return 2;
  }
  Clients clients(o.server, o.channels, rpc::MakeChannelCredentials(tls), o.api_key);
  if (!clients.WaitConnected(std::chrono::seconds(5))) {
    std::cerr << "jq-bench: cannot reach jq-server at " << o.server
              << " (start it, or pass --server HOST:PORT / set JQ_SERVER_ADDR)\n";
    return kExitUnreachable;
  }
  RunStats stats;
  Context c{o, clients, stats, abort, std::to_string(getpid()), {}, {}, hard_exit};
  const std::string queue = QueueFor(c);
  for (const std::string& q : {queue, o.prefill_queue}) {
    if (q == o.prefill_queue && o.prefill_pending == 0) continue;
    if (grpc::Status s = CreateQueue(clients, q); !s.ok()) {
      std::cerr << "jq-bench: CreateQueue " << q << ": " << GrpcCodeName(s.error_code()) << ": "
                << s.error_message() << "\n";
      return s.error_code() == grpc::StatusCode::UNAVAILABLE ? kExitUnreachable : kExitFailed;
    }
  }
  Json report;
  report["mode"] = o.mode;
  report["label"] = o.label;
  report["timestamp"] = UtcTimestamp();
  report["server"] = o.server;

  double prefill_pending_seconds = 0;
  if (o.prefill_pending > 0) {
    const std::int64_t t0 = NowNs();
    const std::uint64_t n = Prefill(clients, o.prefill_queue, o.prefill_pending, kNoopCommand,
                                    o.payload_bytes, stats.errors, &abort, o.json);
    prefill_pending_seconds = Seconds(t0, NowNs());
    SettleDisk();
    if (n < o.prefill_pending && !abort.load()) {
      std::cerr << "jq-bench: only " << n << " of " << o.prefill_pending
                << " backlog jobs were accepted\n";
    }
  }

  Outcome out;
  if (abort.load()) {
    out.error = "interrupted";
  } else if (o.mode == "submit" || o.mode == "batch") {
    out = RunSubmit(c);
  } else if (o.mode == "e2e") {
    out = RunE2E(c);
  } else if (o.mode == "latency") {
    out = RunLatency(c);
  } else {
    out = RunSubprocess(c);
  }

  for (const auto& [k, v] : out.fields.items()) report[k] = v;
  for (const char* k : {"jobs", "seconds", "jobs_per_second"}) {
    if (!report.contains(k)) report[k] = 0;
  }
  report["errors"] = stats.errors.total();
  Json by_code = Json::object();
  for (const auto& [code, n] : stats.errors.ByCode()) by_code[code] = n;
  report["errors_by_code"] = by_code;
  Json by_call = Json::object();
  for (const auto& [what, n] : stats.errors.ByCall()) by_call[what] = n;
  report["errors_by_call"] = by_call;

  const bool load_mode = o.mode == "submit" || o.mode == "batch";
  const bool worker_mode = !load_mode;
  auto maybe = [](bool applies, auto v) { return applies ? Json(v) : Json(nullptr); };
  report["concurrency"] = maybe(load_mode && !(o.mode == "submit" && o.rate > 0), o.concurrency);
  report["batch_size"] = maybe(o.mode == "batch", o.batch_size);
  report["workers"] = maybe(worker_mode, o.workers);
  report["slots"] = maybe(worker_mode, o.slots);
  report["payload_bytes"] = o.payload_bytes;
  report["prefill_pending"] = o.prefill_pending;
  report["rate"] = maybe(o.mode == "latency" || (o.mode == "submit" && o.rate > 0), o.rate);
  report["channels"] = o.channels;
  report["report_mode"] = maybe(o.mode == "e2e" || o.mode == "latency", o.report_mode);
  report["report_started"] = maybe(o.mode == "e2e" || o.mode == "latency", !o.no_started);
  if (o.prefill_pending > 0) report["prefill_pending_seconds"] = Round(prefill_pending_seconds, 3);
  if (o.server_pid > 0) {
    bool sampled;
    {
      std::lock_guard lock(c.server.mu);
      sampled = c.server.ok;
    }
    if (!sampled) c.server.Take(o.server_pid);  // the run failed before measuring
    std::lock_guard lock(c.server.mu);
    if (!c.server.ok) std::cerr << "jq-bench: cannot read /proc/" << o.server_pid << "/status\n";
    auto value = [&](auto v) { return c.server.ok ? Json(v) : Json(nullptr); };
    report["server_threads"] = value(c.server.threads);
    report["server_rss_mb"] = value(Round(c.server.rss_mb, 1));
    report["server_threads_max"] = value(c.server.threads_max);
    report["server_rss_mb_max"] = value(Round(c.server.rss_mb_max, 1));
  }
  if (!out.error.empty()) report["error"] = out.error;

  if (!o.timeline.empty()) {
    std::string error;
    if (!c.timeline.WriteCsv(o.timeline, &error)) std::cerr << "jq-bench: " << error << "\n";
  }
  if (o.json) {
    std::cout << report.dump() << std::endl;
  } else {
    PrintTable(report, std::cout);
    std::cout.flush();
  }
  if (!out.error.empty()) {
    std::cerr << "jq-bench: " << o.mode << ": " << out.error << "\n";
    return out.error == "interrupted" ? kExitInterrupted : kExitFailed;
  }
  return kExitOk;
}

}  // namespace jq::bench
