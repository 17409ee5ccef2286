#include <spdlog/spdlog.h>

#include <atomic>
#include <optional>
#include <set>

#include "core/uuid.h"
#include "core/validation.h"
#include "rpc/convert.h"
#include "server/auth_gate.h"
#include "server/services.h"
#include "telemetry/log_context.h"

namespace jq::server {
namespace {

constexpr std::size_t kMaxWorkerIdLength = 128;

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

// Registration and deregistration are rare and short: their database call runs on the
// callback thread.
grpc::ServerUnaryReactor* WorkerServiceImpl::RegisterWorker(grpc::CallbackServerContext* context,
                                                            const jq::RegisterWorkerRequest* req,
                                                            jq::RegisterWorkerResponse* resp) {
  auto* reactor = context->DefaultReactor();
  if (auto caller = Admit(ctx_.auth, context, Permission::kWork); !caller.ok()) {
    reactor->Finish(rpc::ToGrpc(caller.status()));
    return reactor;
  }
  reactor->Finish(DoRegister(req, resp));
  return reactor;
}

grpc::Status WorkerServiceImpl::DoRegister(const jq::RegisterWorkerRequest* req,
                                           jq::RegisterWorkerResponse* resp) {
  std::string id = req->worker_id();
  if (id.empty()) id = "worker-" + NewUuidV7();
  if (Status s = ValidateWorkerId(id); !s.ok()) return rpc::ToGrpc(s);
  if (req->concurrency() < 0 || req->concurrency() > 4096) {
    return rpc::InvalidArgument("concurrency " + std::to_string(req->concurrency()) +
                                " is out of range 1-4096");
  }
  if (Status s = ValidateQueues(req->queues()); !s.ok()) return rpc::ToGrpc(s);
  Fleet::Registration reg;
  reg.concurrency = req->concurrency() == 0 ? 1 : req->concurrency();
  reg.queues.assign(req->queues().begin(), req->queues().end());
  reg.supports_control = req->supports_control();
  const int concurrency = reg.concurrency;
  const std::vector<std::string> queues = reg.queues;
  Status s = ctx_.fleet.Register(
      {id, req->hostname(), concurrency, queues, ctx_.config.server.id, reg.supports_control},
      std::move(reg));
  if (!s.ok()) return rpc::ToGrpc(s);
  spdlog::info("worker {} registered from {} (concurrency {}, queues [{}])", id, req->hostname(),
               concurrency, fmt::join(queues, ","));
  resp->set_worker_id(id);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::Heartbeat(grpc::CallbackServerContext* context,
                                                       const jq::HeartbeatRequest* req,
                                                       jq::HeartbeatResponse* resp) {
  auto* reactor = context->DefaultReactor();
  if (auto caller = Admit(ctx_.auth, context, Permission::kWork); !caller.ok()) {
    reactor->Finish(rpc::ToGrpc(caller.status()));
    return reactor;
  }
  if (Status s = ValidateWorkerId(req->worker_id()); !s.ok()) {
    reactor->Finish(rpc::ToGrpc(s));
    return reactor;
  }
  WorkerHeartbeatParams beat;
  beat.worker_id = req->worker_id();
  beat.active_job_count = req->active_job_count();
  for (const auto& r : req->running_jobs()) {
    if (Status s = ValidateJobId(r.job_id(), "running_jobs.job_id"); !s.ok()) {
      reactor->Finish(rpc::ToGrpc(s));
      return reactor;
    }
    beat.running.push_back({r.job_id(), req->worker_id(), r.attempt()});
  }
  ctx_.fleet.Heartbeat(std::move(beat),
                       [reactor, resp](const Result<std::vector<std::string>>& lost) {
                         if (!lost.ok()) {
                           reactor->Finish(rpc::ToGrpc(lost.status()));
                           return;
                         }
                         for (const auto& id : *lost) resp->add_lost_job_ids(id);
                         reactor->Finish(grpc::Status::OK);
                       });
  return reactor;
}

namespace {

// A StreamJobs call refused before it started.
class RefusedStream final : public grpc::ServerWriteReactor<jq::JobAssignment> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

// One open StreamJobs call: writes whatever its session queues, one message at a time, and
// holds no thread while it waits. When the stream ends, the assignments the worker never
// received go back to the queue without using a retry.
class WorkerServiceImpl::StreamReactor final : public grpc::ServerWriteReactor<jq::JobAssignment> {
 public:
  StreamReactor(WorkerServiceImpl& service, std::shared_ptr<WorkerSession> session)
      : service_(service), session_(std::move(session)) {
    session_->SetListener([this] { Pump(); });
    service_.ctx_.dispatcher.Attach(session_);
    spdlog::info("worker {} stream open", session_->worker_id());
    Pump();
  }

  void OnWriteDone(bool ok) override {
    JobCompleter& completer = service_.ctx_.completer;  // `this` may be gone after Finish
    std::optional<LeaseRef> delivered;
    bool pump = false;
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      if (!ok && !current_.job_id().empty()) unsent_.push_back(std::move(current_));
      // A seed worker never reports a start: its job runs from delivery on, so it counts as
      // started then (otherwise it stays ASSIGNED while it runs, and a TTL dead-letters it).
      if (ok && !current_.job_id().empty() && !session_->supports_control()) {
        delivered = LeaseRef{current_.job_id(), session_->worker_id(), current_.attempt()};
      }
      if (finish_after_write_) {
        Finish(pending_status_);
      } else if (!ok) {
        FinishLocked(grpc::Status::CANCELLED);
      } else {
        pump = true;
      }
    }
    if (delivered) {
      completer.Started(*delivered, [job = delivered->job_id](const Status& s) {
        if (!s.ok()) spdlog::info("job {}: not marked started on delivery: {}", job, s.ToString());
      });
    }
    if (pump) Pump();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    session_->SetListener(nullptr);  // waits for a Pump in progress; none starts after
    session_->CloseQuietly();
    auto& ctx = service_.ctx_;
    for (auto& a : session_->TakeUndelivered()) unsent_.push_back(std::move(a));
    for (const auto& a : unsent_) {
      Status s = ctx.store.JobReleaseUndelivered({a.job_id(), session_->worker_id(), a.attempt()});
      if (!s.ok()) spdlog::info("job {} not returned to the queue: {}", a.job_id(), s.ToString());
    }
    if (!unsent_.empty()) ctx.dispatcher.Wake();
    ctx.dispatcher.Detach(session_);
    spdlog::info("worker {} stream closed", session_->worker_id());
    delete this;
  }

 private:
  // Starts the next write if none is in flight. Called by the session's listener (pushes,
  // close) and after each write.
  void Pump() {
    std::lock_guard lock(mu_);
    if (writing_ || finished_) return;
    if (service_.ctx_.stopping) {
      FinishLocked({grpc::StatusCode::UNAVAILABLE, "server shutting down; reconnect"});
      return;
    }
    if (session_->closed()) {
      // Replaced by a newer stream of the same worker, or the server is stopping.
      FinishLocked(grpc::Status::OK);
      return;
    }
    auto next = session_->TryNext();
    if (!next) return;
    current_ = std::move(*next);
    writing_ = true;
    StartWrite(&current_);
  }

  void FinishLocked(const grpc::Status& status) {  // REQUIRES(mu_)
    if (finished_) return;
    finished_ = true;
    session_->CloseQuietly();
    if (!writing_) {
      Finish(status);
    } else {
      pending_status_ = status;  // finished once the write in flight completes
      finish_after_write_ = true;
    }
  }

  WorkerServiceImpl& service_;
  const std::shared_ptr<WorkerSession> session_;
  std::mutex mu_;
  jq::JobAssignment current_;              // GUARDED_BY(mu_): the write in flight
  std::vector<jq::JobAssignment> unsent_;  // GUARDED_BY(mu_)
  bool writing_ = false;                   // GUARDED_BY(mu_)
  bool finished_ = false;                  // GUARDED_BY(mu_)
  bool finish_after_write_ = false;        // GUARDED_BY(mu_): Finish once the write ends
  grpc::Status pending_status_;            // GUARDED_BY(mu_)
};

grpc::ServerWriteReactor<jq::JobAssignment>* WorkerServiceImpl::StreamJobs(
    grpc::CallbackServerContext* context, const jq::StreamJobsRequest* req) {
  auto caller = Admit(ctx_.auth, context, Permission::kWork);
  if (!caller.ok()) return new RefusedStream(rpc::ToGrpc(caller.status()));
  if (Status s = ValidateWorkerId(req->worker_id()); !s.ok()) {
    return new RefusedStream(rpc::ToGrpc(s));
  }
  if (Status s = ValidateQueues(req->queues()); !s.ok()) return new RefusedStream(rpc::ToGrpc(s));
  if (ctx_.stopping) {
    return new RefusedStream({grpc::StatusCode::UNAVAILABLE, "server shutting down; reconnect"});
  }
  // A tenant's worker key is given only that tenant's jobs; an admin or fleet key serves every
  // tenant.
  auto session = ctx_.fleet.OpenSession(
      req->worker_id(), std::vector<std::string>(req->queues().begin(), req->queues().end()),
      caller->serves_all_tenants() ? "" : caller->tenant);
  if (!session.ok()) return new RefusedStream(rpc::ToGrpc(session.status()));
  return new StreamReactor(*this, std::move(session).value());
}

Status WorkerServiceImpl::ToCompleteParams(const jq::ReportResultRequest& req,
                                           const std::string& worker_id,
                                           JobCompleteParams* p) const {
  if (Status s = ValidateWorkerId(worker_id); !s.ok()) return s;
  if (Status s = ValidateJobId(req.job_id()); !s.ok()) return s;
  if (!req.success() && !req.reason().empty() && !IsWorkerFailureReason(req.reason())) {
    return Status::InvalidArgument("reason '" + req.reason() +
                                   "' is not one a worker may report (FAILED_EXIT_CODE, TIMEOUT, "
                                   "INVALID_PAYLOAD, CANCELLED)");
  }
  p->lease = {req.job_id(), worker_id, req.attempt()};
  p->success = req.success();
  // jq workers send stdout once, in `stdout`; it is the job's result too.
  p->result = req.result().empty() && req.attempt() != 0 ? req.stdout() : req.result();
  p->error_message = req.error_message();
  p->reason = req.reason();
  p->jitter01 = ctx_.jitter01();
  if (req.attempt() != 0) {  // jq workers send their output; seed workers only a result
    JobOutputRecord o;
    o.exit_code = req.exit_code();
    o.stdout_data = req.stdout();
    o.stderr_data = req.stderr();
    o.stdout_truncated = req.stdout_truncated();
    o.stderr_truncated = req.stderr_truncated();
    p->output = std::move(o);
  }
  return Status::Ok();
}

grpc::ServerUnaryReactor* WorkerServiceImpl::ReportStarted(grpc::CallbackServerContext* context,
                                                           const jq::ReportStartedRequest* req,
                                                           jq::ReportStartedResponse*) {
  auto* reactor = context->DefaultReactor();
  if (auto caller = Admit(ctx_.auth, context, Permission::kWork); !caller.ok()) {
    reactor->Finish(rpc::ToGrpc(caller.status()));
    return reactor;
  }
  if (Status s = ValidateWorkerId(req->worker_id()); !s.ok()) {
    reactor->Finish(rpc::ToGrpc(s));
    return reactor;
  }
  if (Status s = ValidateJobId(req->job_id()); !s.ok()) {
    reactor->Finish(rpc::ToGrpc(s));
    return reactor;
  }
  ctx_.completer.Started({req->job_id(), req->worker_id(), req->attempt()},
                         [reactor](const Status& s) { reactor->Finish(rpc::ToGrpc(s)); });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::ReportResult(grpc::CallbackServerContext* context,
                                                          const jq::ReportResultRequest* req,
                                                          jq::ReportResultResponse*) {
  auto* reactor = context->DefaultReactor();
  if (auto caller = Admit(ctx_.auth, context, Permission::kWork); !caller.ok()) {
    reactor->Finish(rpc::ToGrpc(caller.status()));
    return reactor;
  }
  JobCompleteParams p;
  if (Status s = ToCompleteParams(*req, req->worker_id(), &p); !s.ok()) {
    reactor->Finish(rpc::ToGrpc(s));
    return reactor;
  }
  ctx_.completer.Completed(std::move(p),
                           [this, reactor, worker = req->worker_id(), job = req->job_id(),
                            success = req->success()](const Result<JobCompleteResult>& r) {
                             ctx_.fleet.Reported(worker, job, success, r);
                             reactor->Finish(rpc::ToGrpc(r.status()));
                           });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::ReportBatch(grpc::CallbackServerContext* context,
                                                         const jq::ReportBatchRequest* req,
                                                         jq::ReportBatchResponse* resp) {
  auto* reactor = context->DefaultReactor();
  if (auto caller = Admit(ctx_.auth, context, Permission::kWork); !caller.ok()) {
    reactor->Finish(rpc::ToGrpc(caller.status()));
    return reactor;
  }
  constexpr int kMaxItems = 10000;
  if (req->started_size() + req->results_size() > kMaxItems) {
    reactor->Finish(
        rpc::InvalidArgument("a batch holds at most " + std::to_string(kMaxItems) + " reports"));
    return reactor;
  }
  if (req->started_size() + req->results_size() == 0) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  // Check everything first: a bad request is refused whole, before anything is written.
  const auto same_worker = [&](const std::string& id) {
    return id.empty() || id == req->worker_id();
  };
  if (Status s = ValidateWorkerId(req->worker_id()); !s.ok()) {
    reactor->Finish(rpc::ToGrpc(s));
    return reactor;
  }
  std::vector<LeaseRef> started;
  for (int i = 0; i < req->started_size(); ++i) {
    const auto& r = req->started(i);
    const std::string where = "started[" + std::to_string(i) + "]";
    Status s = same_worker(r.worker_id())
                   ? ValidateJobId(r.job_id(), where + ".job_id")
                   : Status::InvalidArgument(where + ".worker_id differs from worker_id");
    if (!s.ok()) {
      reactor->Finish(rpc::ToGrpc(s));
      return reactor;
    }
    started.push_back({r.job_id(), req->worker_id(), r.attempt()});
  }
  std::vector<JobCompleteParams> results(req->results_size());
  for (int i = 0; i < req->results_size(); ++i) {
    const jq::ReportResultRequest& r = req->results(i);  // outputs can be MiBs: no copy
    const std::string where = "results[" + std::to_string(i) + "]";
    if (!same_worker(r.worker_id())) {
      reactor->Finish(rpc::InvalidArgument(where + ".worker_id differs from worker_id"));
      return reactor;
    }
    if (Status s = ToCompleteParams(r, req->worker_id(), &results[i]); !s.ok()) {
      reactor->Finish(rpc::InvalidArgument(where + ": " + s.message()));
      return reactor;
    }
  }
  // Every outcome has its slot before any callback can run (they run on other threads).
  for (int i = 0; i < req->started_size(); ++i) resp->add_started();
  for (int i = 0; i < req->results_size(); ++i) resp->add_results();
  auto remaining = std::make_shared<std::atomic<int>>(req->started_size() + req->results_size());
  const auto one_done = [reactor, remaining] {
    if (remaining->fetch_sub(1) == 1) reactor->Finish(grpc::Status::OK);
  };
  const auto fill = [](jq::ReportOutcome* out, const Status& s) {
    const grpc::Status g = rpc::ToGrpc(s);
    out->set_code(static_cast<int>(g.error_code()));
    if (!s.ok()) out->set_message(g.error_message());
  };
  for (int i = 0; i < req->started_size(); ++i) {
    ctx_.completer.Started(started[i], [resp, i, fill, one_done](const Status& s) {
      fill(resp->mutable_started(i), s);
      one_done();
    });
  }
  for (int i = 0; i < req->results_size(); ++i) {
    const bool success = results[i].success;
    const std::string job = results[i].lease.job_id;
    ctx_.completer.Completed(std::move(results[i]),
                             [this, resp, i, fill, one_done, worker = req->worker_id(), job,
                              success](const Result<JobCompleteResult>& r) {
                               ctx_.fleet.Reported(worker, job, success, r);
                               fill(resp->mutable_results(i), r.status());
                               one_done();
                             });
  }
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::Deregister(grpc::CallbackServerContext* context,
                                                        const jq::DeregisterRequest* req,
                                                        jq::DeregisterResponse*) {
  auto* reactor = context->DefaultReactor();
  if (auto caller = Admit(ctx_.auth, context, Permission::kWork); !caller.ok()) {
    reactor->Finish(rpc::ToGrpc(caller.status()));
    return reactor;
  }
  reactor->Finish(DoDeregister(req));
  return reactor;
}

grpc::Status WorkerServiceImpl::DoDeregister(const jq::DeregisterRequest* req) {
  if (Status s = ValidateWorkerId(req->worker_id()); !s.ok()) return rpc::ToGrpc(s);
  Status s = ctx_.fleet.Deregister(req->worker_id(), ctx_.jitter01());
  if (s.ok()) spdlog::info("worker {} deregistered", req->worker_id());
  return rpc::ToGrpc(s);
}

}  // namespace jq::server
