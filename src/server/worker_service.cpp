#include <spdlog/spdlog.h>

#include <random>
#include <set>

#include "core/uuid.h"
#include "core/validation.h"
#include "rpc/convert.h"
#include "server/services.h"
#include "telemetry/log_context.h"

namespace jq::server {
namespace {

constexpr std::size_t kMaxWorkerIdLength = 128;

double Jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

Status ValidateWorkerId(const std::string& id) {
  return ValidateToken(id, "worker_id", kMaxWorkerIdLength);
}

Status ValidateQueues(const google::protobuf::RepeatedPtrField<std::string>& queues) {
  for (const auto& q : queues) {
    if (Status s = ValidateQueueName(q, "queues"); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

grpc::Status WorkerServiceImpl::RegisterWorker(grpc::ServerContext*,
                                               const jq::RegisterWorkerRequest* req,
                                               jq::RegisterWorkerResponse* resp) {
  std::string id = req->worker_id();
  if (id.empty()) id = "worker-" + NewUuidV7();
  if (Status s = ValidateWorkerId(id); !s.ok()) return rpc::ToGrpc(s);
  if (req->concurrency() < 0 || req->concurrency() > 4096) {
    return rpc::InvalidArgument("concurrency " + std::to_string(req->concurrency()) +
                                " is out of range 1-4096");
  }
  if (Status s = ValidateQueues(req->queues()); !s.ok()) return rpc::ToGrpc(s);
  Registration reg;
  reg.concurrency = req->concurrency() == 0 ? 1 : req->concurrency();
  reg.queues.assign(req->queues().begin(), req->queues().end());
  reg.supports_control = req->supports_control();
  Status s = ctx_.store.WorkerUpsert(
      {id, req->hostname(), reg.concurrency, reg.queues, ctx_.config.server.id});
  if (!s.ok()) return rpc::ToGrpc(s);
  {
    std::lock_guard lock(mu_);
    registered_[id] = reg;
  }
  spdlog::info("worker {} registered from {} (concurrency {}, queues [{}])", id, req->hostname(),
               reg.concurrency, fmt::join(reg.queues, ","));
  resp->set_worker_id(id);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::Heartbeat(grpc::ServerContext*, const jq::HeartbeatRequest* req,
                                          jq::HeartbeatResponse* resp) {
  if (Status s = ValidateWorkerId(req->worker_id()); !s.ok()) return rpc::ToGrpc(s);
  std::vector<LeaseRef> running;
  std::set<std::string> running_ids;
  for (const auto& r : req->running_jobs()) {
    if (Status s = ValidateJobId(r.job_id(), "running_jobs.job_id"); !s.ok()) {
      return rpc::ToGrpc(s);
    }
    running.push_back({r.job_id(), req->worker_id(), r.attempt()});
    running_ids.insert(r.job_id());
  }
  if (Status s = ctx_.store.WorkerHeartbeat(req->worker_id(), req->active_job_count()); !s.ok()) {
    return rpc::ToGrpc(s);
  }
  ctx_.metrics.WorkerConcurrency(req->worker_id(), req->active_job_count());
  if (ctx_.publish_heartbeat) {
    ctx_.publish_heartbeat(req->worker_id(), req->active_job_count(),
                           {running_ids.begin(), running_ids.end()});
  }
  if (ctx_.redis != nullptr) {
    // Presence with a TTL: the key vanishes when heartbeats stop (the database stays the
    // authority; this is the fast, shared view).
    ctx_.redis->Command({"SET", "jq:worker:" + req->worker_id(), ctx_.config.server.id, "EX",
                         std::to_string(ctx_.config.reaper.worker_timeout_seconds)});
  }
  bool jq_worker = !running.empty();
  {
    std::lock_guard lock(mu_);
    auto it = registered_.find(req->worker_id());
    if (it != registered_.end()) jq_worker = jq_worker || it->second.supports_control;
  }
  // A seed worker names no jobs: renew every lease it holds.
  auto lost = ctx_.store.JobLeaseRenew(req->worker_id(), running,
                                       std::chrono::seconds(ctx_.config.dispatch.lease_seconds),
                                       /*renew_all=*/!jq_worker);
  if (!lost.ok()) return rpc::ToGrpc(lost.status());
  for (const auto& id : *lost) resp->add_lost_job_ids(id);
  if (jq_worker) {
    if (auto session = ctx_.dispatcher.Find(req->worker_id())) {
      session->Reconcile(running_ids,
                         std::chrono::seconds(2 * ctx_.config.worker.heartbeat_seconds + 5));
    }
  }
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::StreamJobs(grpc::ServerContext* context,
                                           const jq::StreamJobsRequest* req,
                                           grpc::ServerWriter<jq::JobAssignment>* writer) {
  if (Status s = ValidateWorkerId(req->worker_id()); !s.ok()) return rpc::ToGrpc(s);
  if (Status s = ValidateQueues(req->queues()); !s.ok()) return rpc::ToGrpc(s);
  auto worker = ctx_.store.WorkerGet(req->worker_id());
  if (!worker.ok()) {
    if (worker.status().code() == StatusCode::kNotFound) {
      return {grpc::StatusCode::NOT_FOUND,
              "worker " + req->worker_id() + " is not registered; call RegisterWorker first"};
    }
    return rpc::ToGrpc(worker.status());
  }
  Registration reg{worker->concurrency, worker->queues, false};
  {
    std::lock_guard lock(mu_);
    auto it = registered_.find(req->worker_id());
    if (it != registered_.end()) reg = it->second;
  }
  std::vector<std::string> queues(req->queues().begin(), req->queues().end());
  if (queues.empty()) queues = reg.queues;
  auto session = std::make_shared<WorkerSession>(req->worker_id(), queues, reg.concurrency,
                                                 reg.supports_control);
  // Jobs it already holds (it reconnected while running them) take slots.
  if (auto held = ctx_.store.JobListHeldBy(req->worker_id()); held.ok()) {
    std::vector<std::string> ids;
    for (const auto& l : *held) ids.push_back(l.job_id);
    session->AddInFlight(ids);
  }
  if (worker->status == WorkerState::kDraining) {
    // A drain (or shutdown) asked for while it was connected elsewhere, or not at all.
    session->SetDraining(true);
    session->PushControl(jq::CONTROL_DRAIN, "");
  }
  ctx_.dispatcher.Attach(session);
  spdlog::info("worker {} stream open", req->worker_id());
  grpc::Status result = grpc::Status::OK;
  std::vector<jq::JobAssignment> unsent;
  while (!context->IsCancelled() && !ctx_.stopping && !session->closed()) {
    auto next = session->Next(std::chrono::milliseconds(200));
    if (!next) continue;
    if (!writer->Write(*next)) {
      if (!next->job_id().empty()) unsent.push_back(std::move(*next));
      result = grpc::Status::CANCELLED;
      break;
    }
  }
  session->Close();
  // Claimed for this stream but never written to it: back to the queue, no retry used.
  for (auto& a : session->TakeUndelivered()) unsent.push_back(std::move(a));
  for (const auto& a : unsent) {
    Status s = ctx_.store.JobReleaseUndelivered({a.job_id(), req->worker_id(), a.attempt()});
    if (!s.ok()) spdlog::info("job {} not returned to the queue: {}", a.job_id(), s.ToString());
  }
  if (!unsent.empty()) ctx_.dispatcher.Wake();
  ctx_.dispatcher.Detach(session);
  spdlog::info("worker {} stream closed", req->worker_id());
  if (ctx_.stopping) return {grpc::StatusCode::UNAVAILABLE, "server shutting down; reconnect"};
  return result;
}

grpc::Status WorkerServiceImpl::ReportStarted(grpc::ServerContext*,
                                              const jq::ReportStartedRequest* req,
                                              jq::ReportStartedResponse*) {
  if (Status s = ValidateWorkerId(req->worker_id()); !s.ok()) return rpc::ToGrpc(s);
  if (Status s = ValidateJobId(req->job_id()); !s.ok()) return rpc::ToGrpc(s);
  return rpc::ToGrpc(ctx_.store.JobSetRunning({req->job_id(), req->worker_id(), req->attempt()}));
}

grpc::Status WorkerServiceImpl::ReportResult(grpc::ServerContext*,
                                             const jq::ReportResultRequest* req,
                                             jq::ReportResultResponse*) {
  if (Status s = ValidateWorkerId(req->worker_id()); !s.ok()) return rpc::ToGrpc(s);
  if (Status s = ValidateJobId(req->job_id()); !s.ok()) return rpc::ToGrpc(s);
  if (!req->success() && !req->reason().empty() && !IsWorkerFailureReason(req->reason())) {
    return rpc::InvalidArgument("reason '" + req->reason() +
                                "' is not one a worker may report (FAILED_EXIT_CODE, TIMEOUT, "
                                "INVALID_PAYLOAD, CANCELLED)");
  }
  telemetry::ScopedLogContext log;
  log.job_id(req->job_id()).worker_id(req->worker_id());
  JobCompleteParams p;
  p.lease = {req->job_id(), req->worker_id(), req->attempt()};
  p.success = req->success();
  // jq workers send stdout once, in `stdout`; it is the job's result too.
  p.result = req->result().empty() && req->attempt() != 0 ? req->stdout() : req->result();
  p.error_message = req->error_message();
  p.reason = req->reason();
  p.jitter01 = Jitter();
  if (req->attempt() != 0) {  // jq workers send their output; seed workers only a result
    JobOutputRecord o;
    o.exit_code = req->exit_code();
    o.stdout_data = req->stdout();
    o.stderr_data = req->stderr();
    o.stdout_truncated = req->stdout_truncated();
    o.stderr_truncated = req->stderr_truncated();
    p.output = std::move(o);
  }
  auto r = ctx_.store.JobComplete(p);
  if (r.ok()) {
    ctx_.metrics.JobProcessed(r->queue, r->run_seconds);
    ctx_.metrics.JobCounted(r->queue, p.success ? "DONE" : "FAILED");
    if (r->final_status == JobState::kDeadLettered) {
      ctx_.metrics.JobCounted(r->queue, "DEAD_LETTERED");
    }
  }
  // The worker no longer runs this attempt: free its slot, unless the report was refused as
  // stale, since a newer attempt of the same job may hold that slot on this worker (a stale
  // entry is dropped by the next heartbeat's reconcile).
  const bool stale = r.status().code() == StatusCode::kFailedPrecondition;
  auto session = stale ? nullptr : ctx_.dispatcher.Find(req->worker_id());
  if (session) {
    session->Release(req->job_id());
    ctx_.dispatcher.Wake();
  }
  if (!r.ok()) {
    spdlog::info("report for job {} from worker {} refused: {}", req->job_id(), req->worker_id(),
                 r.status().ToString());
  }
  return rpc::ToGrpc(r.status());
}

grpc::Status WorkerServiceImpl::Deregister(grpc::ServerContext*, const jq::DeregisterRequest* req,
                                           jq::DeregisterResponse*) {
  if (Status s = ValidateWorkerId(req->worker_id()); !s.ok()) return rpc::ToGrpc(s);
  Status s = ctx_.store.WorkerDeregister(req->worker_id(), Jitter());
  if (auto session = ctx_.dispatcher.Find(req->worker_id())) ctx_.dispatcher.Detach(session);
  {
    std::lock_guard lock(mu_);
    registered_.erase(req->worker_id());
  }
  if (s.ok()) spdlog::info("worker {} deregistered", req->worker_id());
  return rpc::ToGrpc(s);
}

}  // namespace jq::server
