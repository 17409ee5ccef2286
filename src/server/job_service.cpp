#include <spdlog/spdlog.h>

#include <map>
#include <thread>

#include "core/auth.h"
#include "core/page_token.h"
#include "core/trace.h"
#include "core/uuid.h"
#include "core/validation.h"
#include "rpc/convert.h"
#include "server/auth_gate.h"
#include "server/control_message.h"
#include "server/services.h"
#include "store/pg_store.h"
#include "telemetry/log_context.h"

namespace jq::server {
namespace {

constexpr int kDefaultListLimit = 20;
constexpr int kMaxListLimit = 100;
constexpr int kMaxBatch = 1000;

// A job of another tenant is NOT_FOUND with the store's words, so an id tells nobody that it
// exists elsewhere (docs/security.md).
grpc::Status NotFound(const std::string& job_id) {
  return rpc::ToGrpc(Status::NotFound("job " + job_id + " not found"));
}

Status ToInsertParams(const jq::SubmitJobRequest& r, const Config& config, JobInsertParams* p) {
  if (Status s = ValidateQueueName(r.queue_name()); !s.ok()) return s;
  if (Status s = ValidatePayloadSize(r.payload().size(),
                                     static_cast<std::size_t>(config.jobs.max_payload_bytes));
      !s.ok()) {
    return s;
  }
  if (Status s = ValidatePriority(r.priority()); !s.ok()) return s;
  if (Status s = ValidateNonNegative(r.max_retries(), "max_retries"); !s.ok()) return s;
  if (Status s = ValidateNonNegative(r.ttl_seconds(), "ttl_seconds"); !s.ok()) return s;
  if (Status s = ValidateNonNegative(r.timeout_seconds(), "timeout_seconds"); !s.ok()) return s;
  if (Status s = ValidateNonNegative(r.delay_seconds(), "delay_seconds"); !s.ok()) return s;
  if (!r.idempotency_key().empty()) {
    if (Status s = ValidateToken(r.idempotency_key(), "idempotency_key", 256); !s.ok()) return s;
  }
  // Beyond 2262 a system_clock time point (nanoseconds) overflows into the past.
  constexpr long long kMaxRunAtSeconds = 9'000'000'000LL;  // year 2255
  if (r.has_run_at() && (r.run_at().seconds() < 0 || r.run_at().seconds() > kMaxRunAtSeconds ||
                         r.run_at().nanos() < 0 || r.run_at().nanos() >= 1'000'000'000)) {
    return Status::InvalidArgument("run_at is out of range (1970 to 2255)");
  }
  if (r.delay_seconds() > 0 && r.has_run_at()) {
    return Status::InvalidArgument("delay_seconds and run_at are mutually exclusive");
  }
  p->queue = r.queue_name();
  p->payload = r.payload();
  p->priority = r.priority();
  // Seed clients send 0 for "not set"; jq clients say so with max_retries_set.
  if (r.max_retries() > 0 || r.max_retries_set()) p->max_retries = r.max_retries();
  if (r.ttl_seconds() > 0) p->ttl_seconds = r.ttl_seconds();
  if (r.timeout_seconds() > 0) p->timeout_seconds = r.timeout_seconds();
  p->delay_ms = static_cast<std::int64_t>(r.delay_seconds()) * 1000;
  if (r.has_run_at()) p->run_at = rpc::FromTimestamp(r.run_at());
  p->idempotency_key = r.idempotency_key();
  return Status::Ok();
}

// The request id (x-request-id, else a new one) and the W3C trace context (traceparent, else
// a new trace) of a call: both go into the log context, the trace into the submitted jobs.
struct CallIds {
  std::string request_id;
  TraceParent trace;
};

CallIds CallIdsOf(grpc::ServerContextBase* context) {
  CallIds ids;
  const auto& md = context->client_metadata();
  if (auto it = md.find("x-request-id"); it != md.end() && it->second.size() <= 128) {
    ids.request_id.assign(it->second.data(), it->second.size());
  } else {
    ids.request_id = NewUuidV7();
  }
  std::optional<TraceParent> parent;
  if (auto it = md.find("traceparent"); it != md.end()) {
    parent = ParseTraceParent(std::string_view(it->second.data(), it->second.size()));
  }
  ids.trace = parent ? *parent : NewTraceParent();
  context->AddInitialMetadata("x-request-id", ids.request_id);
  return ids;
}

// The tenant's own submit limit (jq-ctl tenant), or nullopt: the configured one applies.
std::optional<redis::Limit> TenantSubmitLimit(ServiceContext& ctx, const std::string& tenant) {
  if (ctx.tenant_limits == nullptr) return std::nullopt;
  return ctx.tenant_limits->SubmitLimit(tenant);
}

// RESOURCE_EXHAUSTED with the retry-after-ms trailer SPEC §6 promises.
grpc::Status RateLimited(grpc::ServerContextBase* context, const Status& s, long long retry_ms) {
  context->AddTrailingMetadata("retry-after-ms", std::to_string(retry_ms));
  return rpc::ToGrpc(s);
}

}  // namespace

grpc::ServerUnaryReactor* JobServiceImpl::SubmitJob(grpc::CallbackServerContext* context,
                                                    const jq::SubmitJobRequest* req,
                                                    jq::SubmitJobResponse* resp) {
  auto* reactor = context->DefaultReactor();
  const CallIds ids = CallIdsOf(context);
  telemetry::ScopedLogContext log;
  log.request_id(ids.request_id).trace_id(ids.trace.trace_id).queue(req->queue_name());
  auto caller = Admit(ctx_.auth, context, Permission::kSubmit);
  if (!caller.ok()) {
    reactor->Finish(rpc::ToGrpc(caller.status()));
    return reactor;
  }
  JobInsertParams p;
  if (Status s = ToInsertParams(*req, ctx_.config, &p); !s.ok()) {
    reactor->Finish(rpc::ToGrpc(s));
    return reactor;
  }
  p.tenant = caller->tenant;
  p.traceparent = ids.trace.ToString();
  long long retry_ms = 0;
  const auto tenant_limit = TenantSubmitLimit(ctx_, p.tenant);
  if (Status s = ctx_.rate_limiter.Take(p.tenant, p.queue, 1, &retry_ms,
                                        tenant_limit ? &*tenant_limit : nullptr);
      !s.ok()) {
    reactor->Finish(RateLimited(context, s, retry_ms));
    return reactor;
  }
  // Answered once the batch holding this job has committed (JobInserter).
  ctx_.inserter.Insert(std::move(p), [this, reactor, resp,
                                      queue = req->queue_name()](const Result<JobInsertResult>& r) {
    if (!r.ok()) {
      reactor->Finish(rpc::ToGrpc(r.status()));
      return;
    }
    resp->set_job_id(r->job_id);
    resp->set_duplicate(r->duplicate);
    if (!r->duplicate) ctx_.metrics.JobCounted(queue, "PENDING");
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::Status JobServiceImpl::SubmitJobs(grpc::ServerContext* context,
                                        const jq::SubmitJobsRequest* req,
                                        jq::SubmitJobsResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kSubmit);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (req->jobs_size() == 0) return rpc::InvalidArgument("jobs is empty");
  if (req->jobs_size() > kMaxBatch) {
    return rpc::InvalidArgument("jobs has " + std::to_string(req->jobs_size()) +
                                " entries, over the limit of " + std::to_string(kMaxBatch));
  }
  const CallIds ids = CallIdsOf(context);
  telemetry::ScopedLogContext log;
  log.request_id(ids.request_id).trace_id(ids.trace.trace_id);
  std::vector<JobInsertParams> params(req->jobs_size());
  for (int i = 0; i < req->jobs_size(); ++i) {
    if (Status s = ToInsertParams(req->jobs(i), ctx_.config, &params[i]); !s.ok()) {
      return rpc::InvalidArgument("jobs[" + std::to_string(i) + "]: " + s.message());
    }
    params[i].tenant = caller->tenant;
    params[i].traceparent = ids.trace.ToString();
  }
  const auto tenant_limit = TenantSubmitLimit(ctx_, caller->tenant);
  if (ctx_.rate_limiter.enabled() || (tenant_limit && tenant_limit->rate > 0)) {
    std::map<std::string, int> per_queue;
    for (const auto& p : params) ++per_queue[p.queue];
    for (const auto& [queue, n] : per_queue) {
      long long retry_ms = 0;
      if (Status s = ctx_.rate_limiter.Take(caller->tenant, queue, n, &retry_ms,
                                            tenant_limit ? &*tenant_limit : nullptr);
          !s.ok()) {
        return RateLimited(context, s, retry_ms);
      }
    }
  }
  auto r = ctx_.store.JobInsertMany(params);
  if (!r.ok()) return rpc::ToGrpc(r.status());
  for (std::size_t i = 0; i < r->size(); ++i) {
    auto* out = resp->add_results();
    out->set_job_id((*r)[i].job_id);
    out->set_duplicate((*r)[i].duplicate);
    if (!(*r)[i].duplicate) ctx_.metrics.JobCounted(params[i].queue, "PENDING");
  }
  ctx_.jobs_runnable();
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::CancelJob(grpc::ServerContext* context,
                                       const jq::CancelJobRequest* req, jq::CancelJobResponse*) {
  auto caller = Admit(ctx_.auth, context, Permission::kControlJob);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateJobId(req->job_id()); !s.ok()) return rpc::ToGrpc(s);
  auto r = ctx_.store.JobCancel(req->job_id(), caller->ReadScope(), caller->key_id);
  if (!r.ok()) return rpc::ToGrpc(r.status());
  if (r->status == JobState::kRunning) {
    // Whichever replica holds the worker's stream tells it; the heartbeat is the fallback.
    Status s = ctx_.store.Notify(store::kControlChannel,
                                 EncodeControl(ControlMessage::Cancel(r->id, r->worker_id)));
    if (!s.ok()) spdlog::warn("cancel {}: could not signal worker: {}", r->id, s.ToString());
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetJobStatus(grpc::ServerContext* context,
                                          const jq::GetJobStatusRequest* req,
                                          jq::GetJobStatusResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kReadJobs);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateJobId(req->job_id()); !s.ok()) return rpc::ToGrpc(s);
  const std::string scope = caller->ReadScope();
  redis::JobCache::Lookup cached;
  if (ctx_.job_cache != nullptr) {
    cached = ctx_.job_cache->Get(req->job_id());
    if (cached.hit && resp->mutable_job()->ParseFromString(*cached.hit)) {
      if (!scope.empty() && resp->job().tenant() != scope) {
        resp->Clear();
        return NotFound(req->job_id());
      }
      return grpc::Status::OK;
    }
    resp->Clear();
  }
  auto r = ctx_.store.JobGet(req->job_id(), scope);
  if (!r.ok()) return rpc::ToGrpc(r.status());
  rpc::ToProto(*r, resp->mutable_job());
  if (ctx_.job_cache != nullptr && IsTerminal(r->status)) {
    ctx_.job_cache->Put(r->id, resp->job().SerializeAsString(), cached.generation);
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListJobs(grpc::ServerContext* context, const jq::ListJobsRequest* req,
                                      jq::ListJobsResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kReadJobs);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  JobListParams p;
  p.tenant = caller->ReadScope();
  if (!req->tenant().empty()) {
    if (!ValidTenantName(req->tenant())) {
      return rpc::InvalidArgument("tenant '" + req->tenant().substr(0, 64) +
                                  "' is not a tenant name");
    }
    // An admin filters by it; anyone else asking for another tenant finds nothing.
    if (!p.tenant.empty() && p.tenant != req->tenant()) return grpc::Status::OK;
    p.tenant = req->tenant();
  }
  if (!req->queue_name().empty()) {
    if (Status s = ValidateQueueName(req->queue_name()); !s.ok()) return rpc::ToGrpc(s);
    p.queue = req->queue_name();
  }
  if (req->status() < 0 || req->status() > 6) {
    return rpc::InvalidArgument("status " + std::to_string(req->status()) +
                                " is not a job status (1-6)");
  }
  p.status = static_cast<JobState>(req->status());
  if (req->limit() < 0) return rpc::InvalidArgument("limit must not be negative");
  p.limit = req->limit() == 0 ? kDefaultListLimit : std::min(req->limit(), kMaxListLimit);
  if (!req->page_token().empty()) {
    auto cursor = DecodePageToken(req->page_token());
    if (!cursor) return rpc::InvalidArgument("page_token is malformed");
    p.after_created_us = cursor->created_at_us;
    p.after_id = cursor->job_id;
  }
  auto r = ctx_.store.JobList(p);
  if (!r.ok()) return rpc::ToGrpc(r.status());
  for (const auto& j : r->jobs) rpc::ToProto(j, resp->add_jobs());
  if (r->more && !r->jobs.empty()) {
    const auto& last = r->jobs.back();
    resp->set_next_page_token(EncodePageToken(
        {std::chrono::duration_cast<std::chrono::microseconds>(last.created_at.time_since_epoch())
             .count(),
         last.id}));
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetJobLogs(grpc::ServerContext* context,
                                        const jq::GetJobLogsRequest* req,
                                        jq::GetJobLogsResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kReadJobs);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateJobId(req->job_id()); !s.ok()) return rpc::ToGrpc(s);
  auto job = ctx_.store.JobGet(req->job_id(), caller->ReadScope());
  if (!job.ok()) return rpc::ToGrpc(job.status());
  auto r = ctx_.store.JobEventList(req->job_id(), 0);
  if (!r.ok()) return rpc::ToGrpc(r.status());
  for (const auto& e : *r) rpc::ToProto(e, resp->add_events());
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::RetryJob(grpc::ServerContext* context, const jq::RetryJobRequest* req,
                                      jq::RetryJobResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kControlJob);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateJobId(req->job_id()); !s.ok()) return rpc::ToGrpc(s);
  // Delete before and after: a reader that fetched the final row before the retry committed
  // may have cached it in between.
  auto uncache = [&] {
    if (ctx_.job_cache != nullptr) ctx_.job_cache->Invalidate(req->job_id());
  };
  uncache();
  auto r = ctx_.store.JobRetry(req->job_id(), caller->ReadScope(), caller->key_id);
  uncache();
  if (!r.ok()) return rpc::ToGrpc(r.status());
  resp->set_job_id(r->id);
  ctx_.dispatcher.Wake();
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::WatchJob(grpc::ServerContext* context, const jq::WatchJobRequest* req,
                                      grpc::ServerWriter<jq::JobEvent>* writer) {
  auto caller = Admit(ctx_.auth, context, Permission::kReadJobs);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateJobId(req->job_id()); !s.ok()) return rpc::ToGrpc(s);
  auto job = ctx_.store.JobGet(req->job_id(), caller->ReadScope());
  if (!job.ok()) return rpc::ToGrpc(job.status());
  // The hub reads the events of every watched job in one query a tick; this stream writes
  // its job's, from the first, and ends at a final state.
  const auto watch = watches_.Subscribe(job->id);
  while (!context->IsCancelled() && !ctx_.stopping) {
    bool final_state = false;
    for (const auto& e : watch->Next(std::chrono::milliseconds(250))) {
      jq::JobEvent out;
      rpc::ToProto(e, &out);
      if (!writer->Write(out)) return grpc::Status::CANCELLED;
      final_state = IsTerminal(e.to_status);
    }
    if (final_state) return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down");
}

grpc::Status JobServiceImpl::GetJobOutput(grpc::ServerContext* context,
                                          const jq::GetJobOutputRequest* req,
                                          jq::GetJobOutputResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kReadJobs);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateJobId(req->job_id()); !s.ok()) return rpc::ToGrpc(s);
  if (req->attempt() < 0) return rpc::InvalidArgument("attempt must not be negative");
  auto job = ctx_.store.JobGet(req->job_id(), caller->ReadScope());
  if (!job.ok()) return rpc::ToGrpc(job.status());
  auto r = ctx_.store.JobOutputList(req->job_id());
  if (!r.ok()) return rpc::ToGrpc(r.status());
  for (const auto& o : *r) {
    if (req->attempt() != 0 && o.attempt != req->attempt()) continue;
    auto* out = resp->add_outputs();
    out->set_attempt(o.attempt);
    out->set_worker_id(o.worker_id);
    out->set_stdout(o.stdout_data);
    out->set_stderr(o.stderr_data);
    out->set_exit_code(o.exit_code);
    rpc::ToTimestamp(o.recorded_at, out->mutable_recorded_at());
    out->set_stdout_truncated(o.stdout_truncated);
    out->set_stderr_truncated(o.stderr_truncated);
  }
  return grpc::Status::OK;
}

}  // namespace jq::server
