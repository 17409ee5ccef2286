#include "ctl/commands.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include "core/job_state.h"
#include "core/version.h"
#include "ctl/args.h"
#include "ctl/errors.h"
#include "ctl/render.h"

namespace jq::ctl {
namespace {

// How often --wait and job watch poll when the server has no WatchJob.
constexpr auto kPollInterval = std::chrono::milliseconds(200);

using EventFn = std::function<void(const jq::JobEvent&)>;

bool IsFinal(int status) {
  return IsTerminal(static_cast<JobState>(status));
}

// The render of a command whose reply is empty: RenderAck(key, id, result).
auto Ack(std::string_view key, std::string id, std::string_view result) {
  return [key, id = std::move(id), result](const auto& /*empty reply*/, OutputFormat format) {
    return RenderAck(key, id, result, format);
  };
}

grpc::Status GetJob(Session& s, const std::string& job_id, jq::Job* job) {
  jq::GetJobStatusRequest req;
  req.set_job_id(job_id);
  jq::GetJobStatusResponse resp;
  grpc::Status st = s.Invoke(&jq::JobService::Stub::GetJobStatus, req, &resp);
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
      jq::GetJobLogsRequest req;
      req.set_job_id(job_id);
      jq::GetJobLogsResponse resp;
      st = s.Invoke(&jq::JobService::Stub::GetJobLogs, req, &resp);
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

// The payload as the file holds it, byte for byte.
bool ReadPayloadFile(const std::string& path, std::string* contents, std::string* error) {
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

}  // namespace

int SystemStatus(Session& s) {
  jq::GetSystemStatusResponse resp;
  grpc::Status st = s.Invoke(&jq::AdminService::Stub::GetSystemStatus, {}, &resp);
  if (!st.ok()) return s.Fail("status", st);
  s.out() << RenderSystemStatus(resp, s.format());
  if (resp.healthy()) return kExitOk;
  // Scripts check the exit code; people read why.
  std::string why;
  for (const auto& c : resp.components()) {
    if (!c.healthy()) why += (why.empty() ? "" : "; ") + c.name() + ": " + c.message();
  }
  s.PrintError("status", "the system is unhealthy" + (why.empty() ? "" : " (" + why + ")"));
  return kExitUnhealthy;
}

int Version(Session& s) {
  s.out() << VersionString() << "\n";
  return kExitOk;
}

int JobSubmit(Session& s, const SubmitArgs& args) {
  const std::string what = "job submit";
  std::string payload = args.payload;
  std::string source = "--payload";
  if (!payload.empty() && payload.front() == '@') {  // no JSON text starts with '@'
    source = "--payload " + payload;
    std::string error;
    if (!ReadPayloadFile(payload.substr(1), &payload, &error)) {
      return s.UsageError(what, source + ": " + error);
    }
  }
  if (auto error = JsonError(payload)) {
    return s.UsageError(what, source + " is not valid JSON: " + *error);
  }
  jq::SubmitJobRequest req;
  req.set_queue_name(args.queue);
  req.set_payload(payload);
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

  jq::SubmitJobResponse resp;
  grpc::Status st = s.Invoke(&jq::JobService::Stub::SubmitJob, req, &resp);
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
  jq::GetJobStatusRequest req;
  req.set_job_id(job_id);
  return s.Call("job status " + job_id, &jq::JobService::Stub::GetJobStatus, req,
                [](const jq::GetJobStatusResponse& resp, OutputFormat format) {
                  return RenderJob(resp.job(), format);
                });
}

int JobLogs(Session& s, const std::string& job_id) {
  jq::GetJobLogsRequest req;
  req.set_job_id(job_id);
  return s.Call("job logs " + job_id, &jq::JobService::Stub::GetJobLogs, req, RenderJobEvents);
}

int JobOutput(Session& s, const std::string& job_id, int attempt) {
  jq::GetJobOutputRequest req;
  req.set_job_id(job_id);
  req.set_attempt(attempt);
  return s.Call("job output " + job_id, &jq::JobService::Stub::GetJobOutput, req, RenderJobOutputs);
}

int JobCancel(Session& s, const std::string& job_id) {
  jq::CancelJobRequest req;
  req.set_job_id(job_id);
  return s.Call("job cancel " + job_id, &jq::JobService::Stub::CancelJob, req,
                Ack("job_id", job_id, "cancel requested"));
}

int JobRetry(Session& s, const std::string& job_id) {
  jq::RetryJobRequest req;
  req.set_job_id(job_id);
  return s.Call("job retry " + job_id, &jq::JobService::Stub::RetryJob, req,
                [&job_id](const jq::RetryJobResponse& resp, OutputFormat format) {
                  return RenderJobId(resp.job_id().empty() ? job_id : resp.job_id(), format);
                });
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
  req.set_tenant(args.tenant);
  return s.Call("job list", &jq::JobService::Stub::ListJobs, req, RenderJobList);
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
  return s.Call("queue create " + args.name, &jq::AdminService::Stub::CreateQueue, req,
                [](const jq::CreateQueueResponse& resp, OutputFormat format) {
                  return RenderQueue(resp.queue(), format);
                });
}

int QueueDelete(Session& s, const std::string& name, bool force) {
  jq::DeleteQueueRequest req;
  req.set_name(name);
  req.set_force(force);
  return s.Call("queue delete " + name, &jq::AdminService::Stub::DeleteQueue, req,
                Ack("name", name, "deleted"));
}

int QueueStats(Session& s, const std::string& name) {
  jq::GetQueueStatsRequest req;
  req.set_name(name);
  return s.Call("queue stats " + name, &jq::AdminService::Stub::GetQueueStats, req,
                [](const jq::GetQueueStatsResponse& resp, OutputFormat format) {
                  return RenderQueueStats(resp.stats(), format);
                });
}

int QueueList(Session& s) {
  return s.Call("queue list", &jq::AdminService::Stub::ListQueues, {}, RenderQueueList);
}

int QueuePause(Session& s, const std::string& name) {
  jq::PauseQueueRequest req;
  req.set_name(name);
  return s.Call("queue pause " + name, &jq::AdminService::Stub::PauseQueue, req,
                Ack("name", name, "paused"));
}

int QueueResume(Session& s, const std::string& name) {
  jq::ResumeQueueRequest req;
  req.set_name(name);
  return s.Call("queue resume " + name, &jq::AdminService::Stub::ResumeQueue, req,
                Ack("name", name, "resumed"));
}

int WorkerList(Session& s) {
  return s.Call("worker list", &jq::AdminService::Stub::ListWorkers, {}, RenderWorkerList);
}

int WorkerDrain(Session& s, const std::string& worker_id) {
  jq::DrainWorkerRequest req;
  req.set_worker_id(worker_id);
  return s.Call("worker drain " + worker_id, &jq::AdminService::Stub::DrainWorker, req,
                Ack("worker_id", worker_id, "draining"));
}

int WorkerResume(Session& s, const std::string& worker_id) {
  jq::ResumeWorkerRequest req;
  req.set_worker_id(worker_id);
  return s.Call("worker resume " + worker_id, &jq::AdminService::Stub::ResumeWorker, req,
                Ack("worker_id", worker_id, "resumed"));
}

int WorkerShutdown(Session& s, const std::string& worker_id, bool now) {
  jq::ShutdownWorkerRequest req;
  req.set_worker_id(worker_id);
  req.set_now(now);
  return s.Call("worker shutdown " + worker_id + (now ? " --now" : ""),
                &jq::AdminService::Stub::ShutdownWorker, req,
                Ack("worker_id", worker_id,
                    now ? "shutting down now (running jobs stopped and requeued)"
                        : "shutting down once its running jobs finish"));
}

int ApiKeyCreate(Session& s, const ApiKeyArgs& args) {
  jq::CreateApiKeyRequest req;
  req.set_tenant(args.tenant);
  req.set_role(args.role);
  req.set_description(args.description);
  return s.Call("apikey create", &jq::AdminService::Stub::CreateApiKey, req, RenderNewApiKey);
}

int ApiKeyList(Session& s, const std::string& tenant) {
  jq::ListApiKeysRequest req;
  req.set_tenant(tenant);
  return s.Call("apikey list", &jq::AdminService::Stub::ListApiKeys, req, RenderApiKeyList);
}

int ApiKeyRevoke(Session& s, const std::string& id) {
  jq::RevokeApiKeyRequest req;
  req.set_id(id);
  return s.Call("apikey revoke " + id, &jq::AdminService::Stub::RevokeApiKey, req,
                [](const jq::RevokeApiKeyResponse& resp, OutputFormat format) {
                  return RenderApiKey(resp.api_key(), format);
                });
}

int JwtRevoke(Session& s, const std::string& subject) {
  jq::RevokeJwtSubjectRequest req;
  req.set_subject(subject);
  return s.Call("jwt revoke " + subject, &jq::AdminService::Stub::RevokeJwtSubject, req,
                [](const jq::RevokeJwtSubjectResponse& resp, OutputFormat format) {
                  return RenderJwtRevocation(resp.revocation(), format);
                });
}

int JwtRevocationList(Session& s) {
  return s.Call("jwt list", &jq::AdminService::Stub::ListJwtRevocations, {},
                RenderJwtRevocationList);
}

namespace {

jq::Tenant TenantOf(const TenantArgs& args) {
  jq::Tenant t;
  t.set_name(args.name);
  if (args.max_running_jobs.set) t.set_max_running_jobs(args.max_running_jobs.value);
  if (args.submit_rate.set) t.set_submit_rate(args.submit_rate.value);
  if (args.submit_burst.set) t.set_submit_burst(args.submit_burst.value);
  return t;
}

}  // namespace

int TenantCreate(Session& s, const TenantArgs& args) {
  jq::CreateTenantRequest req;
  *req.mutable_tenant() = TenantOf(args);
  return s.Call("tenant create " + args.name, &jq::AdminService::Stub::CreateTenant, req,
                [](const jq::CreateTenantResponse& resp, OutputFormat format) {
                  return RenderTenant(resp.tenant(), format);
                });
}

int TenantUpdate(Session& s, const TenantArgs& args) {
  jq::UpdateTenantRequest req;
  *req.mutable_tenant() = TenantOf(args);
  req.set_reset_max_running_jobs(args.max_running_jobs.reset);
  req.set_reset_submit_rate(args.submit_rate.reset);
  req.set_reset_submit_burst(args.submit_burst.reset);
  return s.Call("tenant update " + args.name, &jq::AdminService::Stub::UpdateTenant, req,
                [](const jq::UpdateTenantResponse& resp, OutputFormat format) {
                  return RenderTenant(resp.tenant(), format);
                });
}

int TenantList(Session& s) {
  return s.Call("tenant list", &jq::AdminService::Stub::ListTenants, {}, RenderTenantList);
}

}  // namespace jq::ctl
