#include "worker/agent.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "core/job_state.h"
#include "core/trace.h"
#include "core/utf8.h"
#include "rpc/bearer_channel.h"
#include "rpc/keepalive.h"
#include "rpc/tls.h"
#include "telemetry/log_context.h"
#include "worker/exec/process_runner.h"
#include "worker/stream_message.h"

namespace jq::worker {
namespace {

static_assert(static_cast<int>(ControlType::kCancelJob) == jq::CONTROL_CANCEL_JOB &&
              static_cast<int>(ControlType::kDrain) == jq::CONTROL_DRAIN &&
              static_cast<int>(ControlType::kShutdown) == jq::CONTROL_SHUTDOWN &&
              static_cast<int>(ControlType::kResume) == jq::CONTROL_RESUME &&
              static_cast<int>(ControlType::kShutdownNow) == jq::CONTROL_SHUTDOWN_NOW);

constexpr std::size_t kErrorTail = 4096;  // stderr kept in error_message
// How long a start waits to be sent: a job that ends sooner sends it with its result, in one
// call the server writes as one row update. Also how late a refused start stops the job.
constexpr std::chrono::milliseconds kStartedLinger{20};

std::string Tail(const std::string& s, std::size_t n) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

// The server refused the report itself, not the lease (a lost lease is FAILED_PRECONDITION
// or NOT_FOUND, and the job is someone else's now): e.g. it is above the server's message
// limit. Dropping it would leave the job RUNNING until its lease ran out and then re-run it.
bool ReportRefused(const grpc::Status& s) {
  return !s.ok() && !RetryableStatus(s) &&
         s.error_code() != grpc::StatusCode::FAILED_PRECONDITION &&
         s.error_code() != grpc::StatusCode::NOT_FOUND &&
         s.error_code() != grpc::StatusCode::CANCELLED;
}

// What is reported instead of a refused result: the same outcome (a job that succeeded must not
// run again, a timeout stays a timeout), small enough for any server: the last 4 KiB of each
// output stream, flagged as cut. A failure's message says why its output is short.
jq::ReportResultRequest ReducedReport(const jq::ReportResultRequest& refused,
                                      const grpc::Status& why) {
  constexpr std::size_t kKeep = 4096;
  jq::ReportResultRequest r = refused;
  r.set_stdout(Tail(refused.stdout(), kKeep));
  r.set_stderr(Tail(refused.stderr(), kKeep));
  r.set_stdout_truncated(refused.stdout_truncated() || refused.stdout().size() > kKeep);
  r.set_stderr_truncated(refused.stderr_truncated() || refused.stderr().size() > kKeep);
  if (!refused.success()) {  // first, so that a server's cap on messages cannot cut it off
    r.set_error_message(ToValidUtf8("the server refused this attempt's full report (" +
                                    std::to_string(why.error_code()) + ": " +
                                    why.error_message().substr(0, 200) +
                                    "); only the last 4 KiB of each output stream are kept: " +
                                    refused.error_message().substr(0, 1024)));
  }
  return r;
}

}  // namespace

void JobThreads::Post(std::function<void()> task) {
  std::lock_guard lock(mu_);
  tasks_.push_back(std::move(task));
  if (tasks_.size() > idle_) {
    threads_.emplace_back([this] { Loop(); });
  } else {
    cv_.notify_one();
  }
}

void JobThreads::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (!tasks_.empty()) {
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // its captures go before the lock is taken again
      lock.lock();
      continue;
    }
    if (stop_) return;
    ++idle_;
    cv_.wait(lock);
    --idle_;
  }
}

void JobThreads::Join() {
  std::unique_lock lock(mu_);
  stop_ = true;
  cv_.notify_all();
  while (!threads_.empty()) {
    std::vector<std::thread> threads;
    threads.swap(threads_);
    lock.unlock();
    for (auto& t : threads) t.join();
    lock.lock();
  }
}

WorkerAgent::WorkerAgent(Config::Worker config, std::string worker_id, std::string hostname,
                         int max_message_bytes)
    : config_(std::move(config)),
      worker_id_(std::move(worker_id)),
      hostname_(std::move(hostname)),
      max_message_bytes_(max_message_bytes),
      addrs_(ServerAddrs(config_.server_addr)),
      // Once: every reconnect shares the one set of watched TLS files.
      credentials_(rpc::MakeChannelCredentials(rpc::ClientTlsFrom(config_.tls))),
      heartbeats_({.name = "jq-heartbeat",
                   .interval = std::chrono::seconds(config_.heartbeat_seconds),
                   .run_at_start = false},
                  [this] {
                    HeartbeatOnce();
                    return BackgroundLoop::Next();
                  }) {
  // ValidateConfig refuses this first; a start-up error, not a division by zero in Reconnect.
  if (addrs_.empty()) throw std::invalid_argument("worker.server_addr: no address given");
  Reconnect();
  reports_ = std::make_unique<ReportSender>(worker_id_, [this] { return stub(); });
}

void WorkerAgent::Reconnect() {
  // Several addresses: each reconnect (the server is gone, or unreachable) tries the next.
  const std::string addr = addrs_[next_addr_++ % addrs_.size()];
  grpc::ChannelArguments args;
  // Without pings a cut network leaves the stream half-open for as long as TCP allows.
  rpc::ApplyKeepalive(args, {std::chrono::seconds(config_.keepalive_seconds),
                             std::chrono::seconds(config_.keepalive_seconds)});
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  // gRPC's default of 4 MiB would refuse a large payload: the job could never be delivered.
  args.SetMaxReceiveMessageSize(max_message_bytes_);
  args.SetMaxSendMessageSize(max_message_bytes_);
  auto channel = rpc::CreateChannelWithKey(addr, credentials_, args, config_.api_key);
  std::lock_guard lock(mu_);
  addr_ = addr;
  channel_ = channel;
  stub_ = jq::WorkerService::NewStub(channel);
}

WorkerAgent::~WorkerAgent() {
  RequestStop();
  job_threads_.Join();
}

std::shared_ptr<jq::WorkerService::Stub> WorkerAgent::stub() {
  std::lock_guard lock(mu_);
  return stub_;
}

bool WorkerAgent::connected() {
  std::lock_guard lock(mu_);
  return stream_ctx_ != nullptr && !stopping_;
}

int WorkerAgent::running_count() {
  std::lock_guard lock(mu_);
  return static_cast<int>(running_.size());
}

template <typename Fn>
grpc::Status WorkerAgent::CallWithRetry(const char* what, Fn&& fn, std::chrono::seconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  auto backoff = std::chrono::milliseconds(100);
  for (bool first = true;; first = false) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status s = fn(&ctx);
    if (s.ok() || !RetryableStatus(s) || std::chrono::steady_clock::now() + backoff >= deadline) {
      if (!s.ok())
        spdlog::warn("{}: {} ({})", what, s.error_message(), static_cast<int>(s.error_code()));
      return s;
    }
    // Once per call, so that an operator sees why work is held up (e.g. the database's disk
    // is full) without a line per attempt.
    if (first) {
      spdlog::warn("{}: {} ({}); retrying for up to {} s", what, s.error_message(),
                   static_cast<int>(s.error_code()), budget.count());
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

bool WorkerAgent::Register() {
  jq::RegisterWorkerRequest req;
  req.set_worker_id(worker_id_);
  req.set_hostname(hostname_);
  req.set_concurrency(config_.concurrency);
  for (const auto& q : config_.queues) req.add_queues(q);
  req.set_supports_control(true);
  auto s = CallWithRetry(
      "register",
      [&](grpc::ClientContext* ctx) {
        jq::RegisterWorkerResponse resp;
        return stub()->RegisterWorker(ctx, req, &resp);
      },
      std::chrono::seconds(5));
  if (s.ok()) {
    std::lock_guard lock(mu_);
    spdlog::info("registered as {} with {}", worker_id_, addr_);
  }
  return s.ok();
}

void WorkerAgent::Deregister() {
  jq::DeregisterRequest req;
  req.set_worker_id(worker_id_);
  auto s = CallWithRetry(
      "deregister",
      [&](grpc::ClientContext* ctx) {
        jq::DeregisterResponse resp;
        return stub()->Deregister(ctx, req, &resp);
      },
      std::chrono::seconds(10));
  if (s.ok()) spdlog::info("deregistered");
}

void WorkerAgent::Run() {
  heartbeats_.Start();
  StreamLoop();

  // Settle: wait for running jobs up to the grace (SIGTERM, shutdown; not shutdown --now),
  // then kill the rest.
  {
    std::unique_lock lock(mu_);
    auto idle = [&] { return running_.empty() || shutdown_now_; };
    if (!cv_.wait_for(lock, std::chrono::seconds(config_.shutdown_grace_seconds), idle)) {
      spdlog::warn("{} jobs still running after {} s; killing them", running_.size(),
                   config_.shutdown_grace_seconds);
    }
  }
  std::vector<std::string> left;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, job] : running_) left.push_back(id);
  }
  for (const auto& id : left) CancelJob(id, /*abandon=*/true);
  job_threads_.Join();
  Deregister();  // the server returns anything unfinished to the queue at once
  heartbeats_.Stop();
}

void WorkerAgent::RequestStop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  if (stream_ctx_) stream_ctx_->TryCancel();
  cv_.notify_all();
}

void WorkerAgent::StreamLoop() {
  auto backoff = std::chrono::milliseconds(100);
  bool registered = false;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (!registered) {
      registered = Register();
      if (!registered) {
        Reconnect();
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, backoff, [&] { return stopping_; });
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
        continue;
      }
    }
    auto ctx = std::make_shared<grpc::ClientContext>();
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stream_ctx_ = ctx;
    }
    jq::StreamJobsRequest req;
    req.set_worker_id(worker_id_);
    for (const auto& q : config_.queues) req.add_queues(q);
    auto reader = stub()->StreamJobs(ctx.get(), req);
    jq::JobAssignment a;
    bool got_any = false;
    while (reader->Read(&a)) {
      got_any = true;
      backoff = std::chrono::milliseconds(100);
      HandleMessage(a);
    }
    grpc::Status s = reader->Finish();
    {
      std::lock_guard lock(mu_);
      stream_ctx_.reset();
      if (stopping_) return;
    }
    spdlog::warn("job stream ended: {} ({}); reconnecting", s.error_message(),
                 static_cast<int>(s.error_code()));
    // The server may be a different replica now, or have lost us: register again.
    registered = false;
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) Reconnect();
    if (!got_any) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, backoff, [&] { return stopping_; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
}

void WorkerAgent::HeartbeatOnce() {
  jq::HeartbeatRequest req;
  req.set_worker_id(worker_id_);
  {
    std::lock_guard lock(mu_);
    req.set_active_job_count(static_cast<int>(running_.size()));
    for (const auto& [id, job] : running_) {
      auto* r = req.add_running_jobs();
      r->set_job_id(id);
      r->set_attempt(job.attempt);
    }
  }
  jq::HeartbeatResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Status s = stub()->Heartbeat(&ctx, req, &resp);
  if (!s.ok()) {
    spdlog::warn("heartbeat: {} ({})", s.error_message(), static_cast<int>(s.error_code()));
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      std::lock_guard lock(mu_);
      if (stream_ctx_) stream_ctx_->TryCancel();  // reconnect and register again
    }
    return;
  }
  for (const auto& id : resp.lost_job_ids()) {
    spdlog::info("job {}: lease no longer held (cancelled or reassigned); stopping it", id);
    CancelJob(id, /*abandon=*/false);
  }
}

void WorkerAgent::HandleMessage(const jq::JobAssignment& a) {
  const StreamMessage m{a.job_id(), a.attempt(), a.has_control(),
                        static_cast<int>(a.control().type()), a.control().job_id()};
  StreamAction action;
  std::shared_ptr<exec::RunningProcess> old;
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(a.job_id());
    action = DecideStreamMessage(
        m, it == running_.end() ? std::nullopt : std::optional<int>(it->second.attempt),
        shutdown_now_);
    if (action.kind == StreamAction::Kind::kStart) {
      running_[a.job_id()].attempt = a.attempt();
      job_threads_.Post([this, a] { RunJob(a); });
    } else if (action.kind == StreamAction::Kind::kReplace) {
      // It starts when the old attempt has ended (RunJob's finish).
      it->second.next = a;
      it->second.cancel_requested = true;
      old = it->second.process;
    }
  }
  if (old) old->Cancel();
  HandleAction(action);
}

void WorkerAgent::HandleAction(const StreamAction& action) {
  using K = StreamAction::Kind;
  switch (action.kind) {
    case K::kStart:
    case K::kReplace: break;
    case K::kIgnore:
      if (action.job_id.empty()) {
        spdlog::warn("job stream: ignored {}", action.why);
      } else {
        spdlog::info("job {}: ignored {}", action.job_id, action.why);
      }
      break;
    case K::kCancel:
      spdlog::info("job {}: cancel requested", action.job_id);
      CancelJob(action.job_id, /*abandon=*/false);
      break;
    case K::kDrain:
      // The server sends no new jobs until it sends CONTROL_RESUME; the worker stays up.
      spdlog::info("drained: finishing {} running jobs and taking no new ones until resumed",
                   running_count());
      break;
    case K::kResume: spdlog::info("resumed: taking jobs again"); break;
    case K::kShutdown:
      spdlog::info("shutdown requested: no new jobs; finishing {} running ones for up to {} s",
                   running_count(), config_.shutdown_grace_seconds);
      RequestStop();
      break;
    case K::kShutdownNow: {
      spdlog::info("shutdown --now requested: stopping {} running jobs", running_count());
      std::vector<std::string> ids;
      {
        std::lock_guard lock(mu_);
        shutdown_now_ = true;
        stopping_ = true;
        if (stream_ctx_) stream_ctx_->TryCancel();
        for (auto& [id, job] : running_) ids.push_back(id);
        cv_.notify_all();
      }
      // Not reported: the deregistration returns them to the queue without using a retry.
      for (const auto& id : ids) CancelJob(id, /*abandon=*/true);
      break;
    }
  }
}

void WorkerAgent::CancelJob(const std::string& job_id, bool abandon) {
  std::shared_ptr<exec::RunningProcess> process;
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(job_id);
    if (it == running_.end()) return;
    it->second.cancel_requested = true;
    it->second.abandon = it->second.abandon || abandon;
    process = it->second.process;
  }
  if (process) process->Cancel();
}

void WorkerAgent::SendStarted(const std::shared_ptr<StartReport>& r,
                              std::chrono::milliseconds delay) {
  reports_->StartedAsync(
      r->request, [this, r](const grpc::Status& s) { OnStarted(r, s); }, delay);
}

// On the report sender's thread: quick, and never blocks.
void WorkerAgent::OnStarted(const std::shared_ptr<StartReport>& r, const grpc::Status& s) {
  // Once the job has ended its result report carries on (and logs) for it.
  if (s.ok() || r->finished) return;
  const std::string& id = r->request.job_id();
  if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
      s.error_code() == grpc::StatusCode::NOT_FOUND) {
    // Cancelled or reassigned before it started: stop it; the server has moved on.
    spdlog::info("job {}: {}; stopping it", id, s.error_message());
    r->process->Cancel();
    return;
  }
  if (RetryableStatus(s) && std::chrono::steady_clock::now() + r->backoff < r->give_up_at) {
    const auto delay = r->backoff;
    r->backoff = std::min(r->backoff * 2, std::chrono::milliseconds(2000));
    SendStarted(r, delay);
    return;
  }
  spdlog::warn("job {}: report started: {} ({})", id, s.error_message(),
               static_cast<int>(s.error_code()));
}

void WorkerAgent::RunJob(jq::JobAssignment a) {
  const std::string id = a.job_id();
  telemetry::ScopedLogContext log;
  log.job_id(id).worker_id(worker_id_).queue(a.queue_name());
  if (auto trace = ParseTraceParent(a.traceparent())) log.trace_id(trace->trace_id);
  jq::ReportResultRequest report;
  report.set_worker_id(worker_id_);
  report.set_job_id(id);
  report.set_attempt(a.attempt());

  auto finish = [&] {
    bool abandon = false;
    {
      std::lock_guard lock(mu_);
      abandon = running_[id].abandon;
    }
    if (!abandon) {
      // While it is in running_ its lease is renewed: keep trying (e.g. through a database
      // outage) rather than let a finished job run again.
      const auto send = [&](const jq::ReportResultRequest& r) {
        return CallWithRetry(
            "report result", [&](grpc::ClientContext*) { return reports_->Result(r); },
            std::chrono::hours(1));
      };
      if (grpc::Status s = send(report); ReportRefused(s)) {
        spdlog::error(
            "job {} attempt {}: the server refused its result ({}); reporting it again with only "
            "the last 4 KiB of each output stream",
            id, a.attempt(), s.error_message());
        if (grpc::Status again = send(ReducedReport(report, s)); ReportRefused(again)) {
          spdlog::error(
              "job {} attempt {}: the server refused the reduced result too ({}); its "
              "lease will run out and it will run again",
              id, a.attempt(), again.error_message());
        }
      }
    }
    std::lock_guard lock(mu_);
    auto it = running_.find(id);
    if (it != running_.end() && it->second.next && !stopping_) {
      jq::JobAssignment next = std::move(*it->second.next);
      it->second = RunningJob{};
      it->second.attempt = next.attempt();
      job_threads_.Post([this, next] { RunJob(next); });
    } else {
      running_.erase(id);
    }
    ++jobs_finished_;
    // Only Run()'s settle waits for jobs, and only once stopping: waking the heartbeat and
    // stream threads for every job would cost more than a short job.
    if (stopping_) cv_.notify_all();
  };

  auto spec = exec::ParseJobPayload(a.payload());
  if (!spec.ok()) {
    spdlog::info("job {}: invalid payload: {}", id, spec.status().message());
    report.set_success(false);
    report.set_reason(std::string(reason::kInvalidPayload));
    report.set_error_message(ToValidUtf8("invalid payload: " + spec.status().message()));
    report.set_exit_code(-1);
    finish();
    return;
  }

  exec::RunOptions options;
  options.output_cap_bytes = static_cast<std::size_t>(config_.output_cap_bytes);
  options.kill_grace = std::chrono::seconds(config_.kill_grace_seconds);
  options.default_timeout = std::chrono::seconds(a.timeout_seconds());
  options.run_as_user = config_.run_as_user;
  options.extra_env = {{"JQ_JOB_ID", id},
                       {"JQ_JOB_ATTEMPT", std::to_string(a.attempt())},
                       {"JQ_QUEUE", a.queue_name()},
                       {"JQ_WORKER_ID", worker_id_}};
  if (!a.traceparent().empty()) options.extra_env["TRACEPARENT"] = a.traceparent();

  auto process = exec::RunningProcess::Start(*spec, options);
  {
    std::lock_guard lock(mu_);
    running_[id].process = process;
    if (running_[id].cancel_requested) process->Cancel();
  }
  // The start goes out beside the job rather than before it: a short job's start and result
  // then share a batch (the server writes them as one), and the job does not wait a round trip.
  std::shared_ptr<StartReport> start;
  if (process->started()) {
    start = std::make_shared<StartReport>();
    start->request.set_worker_id(worker_id_);
    start->request.set_job_id(id);
    start->request.set_attempt(a.attempt());
    start->process = process;
    // As long as its result: the job runs on through a database outage, and its start must
    // land (a job left ASSIGNED can be dead-lettered by its TTL while it runs).
    start->give_up_at = std::chrono::steady_clock::now() + std::chrono::hours(1);
    SendStarted(start, kStartedLinger);
  }
  const exec::RunResult r = process->Wait();
  if (start) start->finished = true;  // the result implies the start

  report.set_exit_code(r.exit_code);
  report.set_stdout(r.stdout_tail);
  report.set_stderr(r.stderr_tail);
  report.set_stdout_truncated(r.stdout_truncated);
  report.set_stderr_truncated(r.stderr_truncated);
  // result is stdout: the server copies it from `stdout`, so the report carries it once.
  if (!r.spawn_error.empty()) {
    report.set_success(false);
    report.set_reason(std::string(reason::kFailedExitCode));
    report.set_error_message(r.spawn_error);
  } else if (r.cancelled) {
    report.set_success(false);
    report.set_reason(std::string(reason::kCancelled));
    report.set_error_message("cancelled");
  } else if (r.timed_out) {
    report.set_success(false);
    report.set_reason(std::string(reason::kTimeout));
    report.set_error_message("timed out; process group killed\n" + Tail(r.stderr_tail, kErrorTail));
  } else if (r.exit_code != 0 || r.term_signal != 0) {
    report.set_success(false);
    report.set_reason(std::string(reason::kFailedExitCode));
    report.set_error_message((r.term_signal != 0
                                  ? "killed by signal " + std::to_string(r.term_signal)
                                  : "exit status " + std::to_string(r.exit_code)) +
                             "\n" + Tail(r.stderr_tail, kErrorTail));
  } else {
    report.set_success(true);
  }
  // stderr is bytes, error_message a proto string: reports travel in batches, and one
  // message that is not UTF-8 would make the server refuse every report of its batch.
  report.set_error_message(ToValidUtf8(report.error_message()));
  // Successes at debug: an info line per job costs more than a no-op job.
  if (report.success()) {
    spdlog::debug("job {} attempt {}: succeeded (exit 0)", id, a.attempt());
  } else {
    spdlog::info("job {} attempt {}: {} ({})", id, a.attempt(), report.reason(),
                 report.error_message().substr(0, 200));
  }
  finish();
}

}  // namespace jq::worker
