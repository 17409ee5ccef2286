#include "ctl/commands.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/job_state.h"
#include "ctl/errors.h"

namespace jq::ctl {
namespace {

// How often --wait and job watch poll when the server has no WatchJob.
constexpr auto kPollInterval = std::chrono::milliseconds(200);

using EventFn = std::function<void(const jq::JobEvent&)>;

bool IsFinal(int status) {
  return IsTerminal(static_cast<JobState>(status));
}

bool ReadFile(const std::string& path, std::string* contents, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  *contents = ss.str();
  return true;
}

grpc::Status GetJob(Session& s, const std::string& job_id, jq::Job* job) {
  auto ctx = s.NewContext();
  jq::GetJobStatusRequest req;
  req.set_job_id(job_id);
  jq::GetJobStatusResponse resp;
  grpc::Status st = s.jobs().GetJobStatus(ctx.get(), req, &resp);
  if (st.ok()) *job = resp.job();
  return st;
}

// Without WatchJob: polls the job's status (and, when on_event is set, its events after
// last_id) until the job is final.
grpc::Status Poll(Session& s, const std::string& job_id, const EventFn& on_event,
                  std::int64_t last_id, jq::Job* final_job) {
  for (;;) {
    // Status before events, so that a final status is never seen without its event.
    grpc::Status st = GetJob(s, job_id, final_job);
    if (!st.ok()) return st;
    if (on_event) {
      auto ctx = s.NewContext();
      jq::GetJobLogsRequest req;
      req.set_job_id(job_id);
      jq::GetJobLogsResponse resp;
      st = s.jobs().GetJobLogs(ctx.get(), req, &resp);
      if (!st.ok()) return st;
      for (const auto& e : resp.events()) {
        if (e.id() <= last_id) continue;
        last_id = e.id();
        on_event(e);
      }
    }
    if (IsFinal(final_job->status())) return grpc::Status::OK;
    std::this_thread::sleep_for(kPollInterval);
  }
}

// Follows the job with WatchJob until it is final, calling on_event (if set) for each event;
// falls back to polling when the server does not implement WatchJob. *final_job is the job as
// last read.
grpc::Status Follow(Session& s, const std::string& job_id, const EventFn& on_event,
                    jq::Job* final_job) {
  std::int64_t last_id = 0;
  for (;;) {
    // No deadline: the stream lasts as long as the job.
    auto ctx = s.NewContext(/*deadline=*/false);
    jq::WatchJobRequest req;
    req.set_job_id(job_id);
    auto reader = s.jobs().WatchJob(ctx.get(), req);
    jq::JobEvent event;
    while (reader->Read(&event)) {
      // The stream replays the job's history; skip what was shown before a reconnect.
      if (event.id() != 0 && event.id() <= last_id) continue;
      last_id = std::max(last_id, event.id());
      if (on_event) on_event(event);
    }
    grpc::Status st = reader->Finish();
    if (st.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      return Poll(s, job_id, on_event, last_id, final_job);
    }
    if (!st.ok()) return st;
    // The server ends the stream at a final state. Confirm it: a job retried meanwhile is
    // followed on.
    st = GetJob(s, job_id, final_job);
    if (!st.ok() || IsFinal(final_job->status())) return st;
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

Session::Session(GlobalOptions options, std::ostream& out, std::ostream& err)
    : options_(std::move(options)), out_(out), err_(err) {
  format_ = ParseOutputFormat(options_.output).value_or(OutputFormat::kTable);
  const char* parent = std::getenv("TRACEPARENT");
  auto caller = parent != nullptr ? ParseTraceParent(parent) : std::nullopt;
  trace_ = caller ? ChildOf(*caller) : NewTraceParent();
}

bool Session::Connect() {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (!options_.tls_ca.empty() || !options_.tls_cert.empty() || !options_.tls_key.empty()) {
    grpc::SslCredentialsOptions ssl;
    std::string error;
    if ((!options_.tls_ca.empty() && !ReadFile(options_.tls_ca, &ssl.pem_root_certs, &error)) ||
        (!options_.tls_cert.empty() && !ReadFile(options_.tls_cert, &ssl.pem_cert_chain, &error)) ||
        (!options_.tls_key.empty() && !ReadFile(options_.tls_key, &ssl.pem_private_key, &error))) {
      UsageError("tls", error);
      return false;
    }
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  auto channel = grpc::CreateChannel(options_.server_addr, creds);
  jobs_ = jq::JobService::NewStub(channel);
  admin_ = jq::AdminService::NewStub(channel);
  return true;
}

std::unique_ptr<grpc::ClientContext> Session::NewContext(bool deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (deadline) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(
                          std::chrono::duration<double>(options_.timeout_seconds)));
  }
  if (!options_.api_key.empty()) ctx->AddMetadata("authorization", "Bearer " + options_.api_key);
  // One trace per invocation (W3C trace context): a TRACEPARENT in jq-ctl's own environment
  // continues the caller's trace; a submitted job's TRACEPARENT then shares its trace id.
  ctx->AddMetadata("traceparent", trace_.ToString());
  return ctx;
}

int Session::Fail(std::string_view what, const grpc::Status& status) {
  err_ << ErrorLine(what, status, options_.server_addr) << "\n";
  return ExitCodeFor(status.error_code());
}

void Session::PrintError(std::string_view what, std::string_view message) {
  err_ << "jq-ctl: " << what << ": " << message << "\n";
}

int Session::UsageError(std::string_view what, std::string_view message) {
  PrintError(what, message);
  return kExitUsage;
}

int SystemStatus(Session& s) {
  auto ctx = s.NewContext();
  jq::GetSystemStatusResponse resp;
  grpc::Status st = s.admin().GetSystemStatus(ctx.get(), {}, &resp);
  if (!st.ok()) return s.Fail("status", st);
  s.out() << RenderSystemStatus(resp, s.format());
  return kExitOk;
}

int JobSubmit(Session& s, const SubmitArgs& args) {
  const std::string what = "job submit";
  try {
    [[maybe_unused]] auto parsed = nlohmann::json::parse(args.payload);
  } catch (const nlohmann::json::parse_error& e) {
    std::string reason = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
    if (auto pos = reason.find("] "); pos != std::string::npos) reason.erase(0, pos + 2);
    return s.UsageError(what, "--payload is not valid JSON: " + reason);
  }
  jq::SubmitJobRequest req;
  req.set_queue_name(args.queue);
  req.set_payload(args.payload);
  if (args.priority.set) req.set_priority(args.priority.value);
  if (args.max_retries.set) {
    req.set_max_retries(args.max_retries.value);
    req.set_max_retries_set(true);
  }
  if (args.ttl.set) req.set_ttl_seconds(args.ttl.value);
  if (args.timeout.set) req.set_timeout_seconds(args.timeout.value);
  if (args.delay.set) req.set_delay_seconds(args.delay.value);
  if (!args.run_at.empty()) {
    auto when = ParseTime(args.run_at);
    if (!when) {
      return s.UsageError(what, "--run-at '" + args.run_at +
                                    "' is not a time: use RFC 3339 (2024-05-01T12:00:00Z) or "
                                    "'YYYY-MM-DD HH:MM:SS' (UTC)");
    }
    *req.mutable_run_at() = *when;
  }
  req.set_idempotency_key(args.idempotency_key);

  auto ctx = s.NewContext();
  jq::SubmitJobResponse resp;
  grpc::Status st = s.jobs().SubmitJob(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail(what, st);
  if (!args.wait) {
    s.out() << RenderSubmit(resp, s.format());
    return kExitOk;
  }
  // Table mode shows the id at once; JSON/YAML print one document at the end.
  if (s.format() == OutputFormat::kTable) s.out() << RenderSubmit(resp, s.format()) << std::flush;
  jq::Job job;
  st = Follow(s, resp.job_id(), nullptr, &job);
  if (!st.ok()) return s.Fail(what + ": waiting for " + resp.job_id(), st);
  s.out() << RenderWaitResult(resp, job, s.format()) << std::flush;
  if (static_cast<JobState>(job.status()) == JobState::kDone) return kExitOk;
  s.PrintError("job " + resp.job_id(),
               "ended " + std::string(JobStatusName(static_cast<JobState>(job.status()))) +
                   (job.error_message().empty() ? "" : ": " + job.error_message()));
  return kExitServerSaidNo;
}

int JobStatus(Session& s, const std::string& job_id) {
  jq::Job job;
  grpc::Status st = GetJob(s, job_id, &job);
  if (!st.ok()) return s.Fail("job status " + job_id, st);
  s.out() << RenderJob(job, s.format());
  return kExitOk;
}

int JobLogs(Session& s, const std::string& job_id) {
  auto ctx = s.NewContext();
  jq::GetJobLogsRequest req;
  req.set_job_id(job_id);
  jq::GetJobLogsResponse resp;
  grpc::Status st = s.jobs().GetJobLogs(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail("job logs " + job_id, st);
  s.out() << RenderJobEvents(resp, s.format());
  return kExitOk;
}

int JobOutput(Session& s, const std::string& job_id, int attempt) {
  auto ctx = s.NewContext();
  jq::GetJobOutputRequest req;
  req.set_job_id(job_id);
  req.set_attempt(attempt);
  jq::GetJobOutputResponse resp;
  grpc::Status st = s.jobs().GetJobOutput(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail("job output " + job_id, st);
  s.out() << RenderJobOutputs(resp, s.format());
  return kExitOk;
}

int JobCancel(Session& s, const std::string& job_id) {
  auto ctx = s.NewContext();
  jq::CancelJobRequest req;
  req.set_job_id(job_id);
  jq::CancelJobResponse resp;
  grpc::Status st = s.jobs().CancelJob(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail("job cancel " + job_id, st);
  s.out() << RenderAck("job_id", job_id, "cancel requested", s.format());
  return kExitOk;
}

int JobRetry(Session& s, const std::string& job_id) {
  auto ctx = s.NewContext();
  jq::RetryJobRequest req;
  req.set_job_id(job_id);
  jq::RetryJobResponse resp;
  grpc::Status st = s.jobs().RetryJob(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail("job retry " + job_id, st);
  s.out() << RenderJobId(resp.job_id().empty() ? job_id : resp.job_id(), s.format());
  return kExitOk;
}

int JobWatch(Session& s, const std::string& job_id) {
  bool first = true;
  auto print = [&](const jq::JobEvent& e) {
    s.out() << RenderWatchEvent(e, s.format(), first) << std::flush;
    first = false;
  };
  jq::Job job;
  grpc::Status st = Follow(s, job_id, print, &job);
  if (!st.ok()) return s.Fail("job watch " + job_id, st);
  return kExitOk;
}

int JobList(Session& s, const ListJobsArgs& args) {
  jq::ListJobsRequest req;
  req.set_queue_name(args.queue);
  if (!args.status.empty()) {
    auto status = ParseJobStatus(args.status);
    if (!status) {
      return s.UsageError("job list", "--status '" + args.status +
                                          "' is not a job status (PENDING, ASSIGNED, RUNNING, "
                                          "DONE, FAILED, DEAD_LETTERED)");
    }
    req.set_status(static_cast<jq::JobStatus>(*status));
  }
  req.set_limit(args.limit);
  req.set_page_token(args.page_token);
  auto ctx = s.NewContext();
  jq::ListJobsResponse resp;
  grpc::Status st = s.jobs().ListJobs(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail("job list", st);
  s.out() << RenderJobList(resp, s.format());
  return kExitOk;
}

int QueueCreate(Session& s, const CreateQueueArgs& args) {
  jq::CreateQueueRequest req;
  req.set_name(args.name);
  if (args.max_retries.set) {
    req.set_max_retries(args.max_retries.value);
    req.set_max_retries_set(true);
  }
  if (args.ttl.set) req.set_ttl_seconds(args.ttl.value);
  if (args.timeout.set) req.set_timeout_seconds(args.timeout.value);
  if (args.concurrency.set) req.set_concurrency_limit(args.concurrency.value);
  if (args.backoff_base_ms.set) req.set_backoff_base_ms(args.backoff_base_ms.value);
  if (args.backoff_max_ms.set) req.set_backoff_max_ms(args.backoff_max_ms.value);
  auto ctx = s.NewContext();
  jq::CreateQueueResponse resp;
  grpc::Status st = s.admin().CreateQueue(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail("queue create " + args.name, st);
  s.out() << RenderQueue(resp.queue(), s.format());
  return kExitOk;
}

int QueueDelete(Session& s, const std::string& name, bool force) {
  auto ctx = s.NewContext();
  jq::DeleteQueueRequest req;
  req.set_name(name);
  req.set_force(force);
  jq::DeleteQueueResponse resp;
  grpc::Status st = s.admin().DeleteQueue(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail("queue delete " + name, st);
  s.out() << RenderAck("name", name, "deleted", s.format());
  return kExitOk;
}

int QueueStats(Session& s, const std::string& name) {
  auto ctx = s.NewContext();
  jq::GetQueueStatsRequest req;
  req.set_name(name);
  jq::GetQueueStatsResponse resp;
  grpc::Status st = s.admin().GetQueueStats(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail("queue stats " + name, st);
  s.out() << RenderQueueStats(resp.stats(), s.format());
  return kExitOk;
}

int QueueList(Session& s) {
  auto ctx = s.NewContext();
  jq::ListQueuesResponse resp;
  grpc::Status st = s.admin().ListQueues(ctx.get(), {}, &resp);
  if (!st.ok()) return s.Fail("queue list", st);
  s.out() << RenderQueueList(resp, s.format());
  return kExitOk;
}

int QueuePause(Session& s, const std::string& name) {
  auto ctx = s.NewContext();
  jq::PauseQueueRequest req;
  req.set_name(name);
  jq::PauseQueueResponse resp;
  grpc::Status st = s.admin().PauseQueue(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail("queue pause " + name, st);
  s.out() << RenderAck("name", name, "paused", s.format());
  return kExitOk;
}

int QueueResume(Session& s, const std::string& name) {
  auto ctx = s.NewContext();
  jq::ResumeQueueRequest req;
  req.set_name(name);
  jq::ResumeQueueResponse resp;
  grpc::Status st = s.admin().ResumeQueue(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail("queue resume " + name, st);
  s.out() << RenderAck("name", name, "resumed", s.format());
  return kExitOk;
}

int WorkerList(Session& s) {
  auto ctx = s.NewContext();
  jq::ListWorkersResponse resp;
  grpc::Status st = s.admin().ListWorkers(ctx.get(), {}, &resp);
  if (!st.ok()) return s.Fail("worker list", st);
  s.out() << RenderWorkerList(resp, s.format());
  return kExitOk;
}

int WorkerDrain(Session& s, const std::string& worker_id) {
  auto ctx = s.NewContext();
  jq::DrainWorkerRequest req;
  req.set_worker_id(worker_id);
  jq::DrainWorkerResponse resp;
  grpc::Status st = s.admin().DrainWorker(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail("worker drain " + worker_id, st);
  s.out() << RenderAck("worker_id", worker_id, "draining", s.format());
  return kExitOk;
}

int WorkerShutdown(Session& s, const std::string& worker_id) {
  auto ctx = s.NewContext();
  jq::ShutdownWorkerRequest req;
  req.set_worker_id(worker_id);
  jq::ShutdownWorkerResponse resp;
  grpc::Status st = s.admin().ShutdownWorker(ctx.get(), req, &resp);
  if (!st.ok()) return s.Fail("worker shutdown " + worker_id, st);
  s.out() << RenderAck("worker_id", worker_id, "shutdown requested", s.format());
  return kExitOk;
}

}  // namespace jq::ctl
