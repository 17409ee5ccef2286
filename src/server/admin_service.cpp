#include <spdlog/spdlog.h>

#include "core/validation.h"
#include "rpc/convert.h"
#include "server/auth_gate.h"
#include "server/control_message.h"
#include "server/services.h"
#include "store/pg_store.h"

namespace jq::server {
namespace {

// Operators' commands, with who gave them (docs/security.md): the actor is a key id, never a
// secret. Job transitions they cause carry the actor on their events too.
void Audit(const Principal& caller, const std::string& what) {
  spdlog::info("audit: {} by {} (tenant {}, {})", what, caller.key_id, caller.tenant,
               RoleName(caller.role));
}

}  // namespace

grpc::Status AdminServiceImpl::CreateQueue(grpc::ServerContext* context,
                                           const jq::CreateQueueRequest* req,
                                           jq::CreateQueueResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateQueueName(req->name(), "name"); !s.ok()) return rpc::ToGrpc(s);
  const std::pair<const char*, int> counters[] = {
      {"max_retries", req->max_retries()},         {"ttl_seconds", req->ttl_seconds()},
      {"timeout_seconds", req->timeout_seconds()}, {"concurrency_limit", req->concurrency_limit()},
      {"backoff_base_ms", req->backoff_base_ms()}, {"backoff_max_ms", req->backoff_max_ms()},
  };
  for (auto [field, value] : counters) {
    if (Status s = ValidateNonNegative(value, field); !s.ok()) return rpc::ToGrpc(s);
  }
  QueueRecord q;
  q.name = req->name();
  q.max_retries = (req->max_retries() > 0 || req->max_retries_set())
                      ? req->max_retries()
                      : ctx_.config.jobs.default_max_retries;
  q.ttl_seconds = req->ttl_seconds();
  q.timeout_seconds = req->timeout_seconds();
  q.concurrency_limit = req->concurrency_limit();
  if (req->backoff_base_ms() > 0) q.backoff_base_ms = req->backoff_base_ms();
  if (req->backoff_max_ms() > 0) q.backoff_max_ms = req->backoff_max_ms();
  auto r = ctx_.store.QueueCreate(q);
  if (!r.ok()) return rpc::ToGrpc(r.status());
  Audit(*caller, "created queue " + q.name);
  rpc::ToProto(*r, resp->mutable_queue());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::DeleteQueue(grpc::ServerContext* context,
                                           const jq::DeleteQueueRequest* req,
                                           jq::DeleteQueueResponse*) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateQueueName(req->name(), "name"); !s.ok()) return rpc::ToGrpc(s);
  Status s = ctx_.store.QueueDelete(req->name(), req->force(), caller->key_id);
  if (s.ok()) Audit(*caller, "deleted queue " + req->name() + (req->force() ? " (force)" : ""));
  return rpc::ToGrpc(s);
}

grpc::Status AdminServiceImpl::ListQueues(grpc::ServerContext* context,
                                          const jq::ListQueuesRequest*,
                                          jq::ListQueuesResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  auto r = ctx_.store.QueueList();
  if (!r.ok()) return rpc::ToGrpc(r.status());
  for (const auto& q : *r) rpc::ToProto(q, resp->add_queues());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::GetQueueStats(grpc::ServerContext* context,
                                             const jq::GetQueueStatsRequest* req,
                                             jq::GetQueueStatsResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateQueueName(req->name(), "name"); !s.ok()) return rpc::ToGrpc(s);
  auto r = ctx_.store.QueueStats(req->name());
  if (!r.ok()) return rpc::ToGrpc(r.status());
  rpc::ToProto(*r, resp->mutable_stats());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::PauseQueue(grpc::ServerContext* context,
                                          const jq::PauseQueueRequest* req,
                                          jq::PauseQueueResponse*) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateQueueName(req->name(), "name"); !s.ok()) return rpc::ToGrpc(s);
  Status s = ctx_.store.QueueSetPaused(req->name(), true);
  if (s.ok()) Audit(*caller, "paused queue " + req->name());
  return rpc::ToGrpc(s);
}

grpc::Status AdminServiceImpl::ResumeQueue(grpc::ServerContext* context,
                                           const jq::ResumeQueueRequest* req,
                                           jq::ResumeQueueResponse*) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateQueueName(req->name(), "name"); !s.ok()) return rpc::ToGrpc(s);
  Status s = ctx_.store.QueueSetPaused(req->name(), false);
  if (s.ok()) Audit(*caller, "resumed queue " + req->name());
  if (s.ok()) ctx_.dispatcher.Wake();
  return rpc::ToGrpc(s);
}

grpc::Status AdminServiceImpl::ListWorkers(grpc::ServerContext* context,
                                           const jq::ListWorkersRequest*,
                                           jq::ListWorkersResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  auto r = ctx_.store.WorkerList();
  if (!r.ok()) return rpc::ToGrpc(r.status());
  for (const auto& w : *r) rpc::ToProto(w, resp->add_workers());
  return grpc::Status::OK;
}

namespace {

// A drain, resume or shutdown, after the store recorded it: this replica's session of the
// worker is changed at once, so that the worker gets no job once the call has returned; the
// replica holding its stream (maybe this one, where it then changes nothing) tells it.
grpc::Status PublishControl(ServiceContext& ctx, const ControlMessage& m) {
  if (auto session = ctx.dispatcher.Find(m.worker_id)) {
    if (m.kind == ControlMessage::Kind::kShutdown) {
      session->SetDraining(true);  // the message itself comes once, with the NOTIFY
    } else if (ApplyControl(*session, m)) {
      ctx.dispatcher.Wake();
    }
  }
  return rpc::ToGrpc(ctx.store.Notify(store::kControlChannel, EncodeControl(m)));
}

}  // namespace

grpc::Status AdminServiceImpl::DrainWorker(grpc::ServerContext* context,
                                           const jq::DrainWorkerRequest* req,
                                           jq::DrainWorkerResponse*) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateToken(req->worker_id(), "worker_id", 128); !s.ok()) {
    return rpc::ToGrpc(s);
  }
  if (Status s = ctx_.store.WorkerSetDrained(req->worker_id(), true); !s.ok()) {
    return rpc::ToGrpc(s);
  }
  Audit(*caller, "drained worker " + req->worker_id());
  return PublishControl(ctx_, ControlMessage::Drain(req->worker_id()));
}

grpc::Status AdminServiceImpl::ResumeWorker(grpc::ServerContext* context,
                                            const jq::ResumeWorkerRequest* req,
                                            jq::ResumeWorkerResponse*) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateToken(req->worker_id(), "worker_id", 128); !s.ok()) {
    return rpc::ToGrpc(s);
  }
  // A shutdown cannot be taken back: resuming would hand jobs to a worker that is leaving.
  auto w = ctx_.store.WorkerGet(req->worker_id());
  if (!w.ok()) return rpc::ToGrpc(w.status());
  if (w->shutdown != ShutdownRequest::kNone) {
    return rpc::ToGrpc(Status::FailedPrecondition("worker " + req->worker_id() +
                                                  " is shutting down; it cannot be resumed"));
  }
  if (Status s = ctx_.store.WorkerSetDrained(req->worker_id(), false); !s.ok()) {
    return rpc::ToGrpc(s);
  }
  Audit(*caller, "resumed worker " + req->worker_id());
  return PublishControl(ctx_, ControlMessage::Resume(req->worker_id()));
}

grpc::Status AdminServiceImpl::ShutdownWorker(grpc::ServerContext* context,
                                              const jq::ShutdownWorkerRequest* req,
                                              jq::ShutdownWorkerResponse*) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidateToken(req->worker_id(), "worker_id", 128); !s.ok()) {
    return rpc::ToGrpc(s);
  }
  // Recorded, so that its jobs go back without using a retry when it deregisters, and so
  // that a worker which reconnects before it got the message is told again.
  if (Status s = ctx_.store.WorkerRequestShutdown(req->worker_id(), req->now()); !s.ok()) {
    return rpc::ToGrpc(s);
  }
  Audit(*caller, "shut down worker " + req->worker_id() + (req->now() ? " (now)" : ""));
  return PublishControl(ctx_, ControlMessage::Shutdown(req->worker_id(), req->now()));
}

grpc::Status AdminServiceImpl::GetSystemStatus(grpc::ServerContext* context,
                                               const jq::GetSystemStatusRequest*,
                                               jq::GetSystemStatusResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  Status db = ctx_.store.Ping();
  auto* c = resp->add_components();
  c->set_name("database");
  c->set_healthy(db.ok());
  c->set_message(db.ok() ? "reachable" : db.message());
  bool healthy = db.ok();
  if (ctx_.components) {
    for (const auto& component : ctx_.components()) {
      auto* comp = resp->add_components();
      comp->set_name(component.name);
      comp->set_healthy(component.healthy);
      comp->set_message(component.message);
      if (component.essential) healthy = healthy && component.healthy;
    }
  }
  // Redis and Kafka being down degrades jq but loses nothing: only the database (its
  // reachability and its schema) decides.
  resp->set_healthy(healthy);
  if (!db.ok()) return grpc::Status::OK;
  auto workers = ctx_.store.WorkerList();
  if (workers.ok()) {
    int active = 0;
    for (const auto& w : *workers) active += w.status == WorkerState::kOnline;
    resp->set_active_workers(active);
  }
  auto queues = ctx_.store.QueueList();
  if (queues.ok()) {
    for (const auto& q : *queues) {
      auto stats = ctx_.store.QueueStats(q.name);
      if (stats.ok()) rpc::ToProto(*stats, resp->add_queue_stats());
    }
  }
  return grpc::Status::OK;
}

void DeliverControl(Dispatcher& dispatcher, const std::string& payload) {
  const auto m = ParseControl(payload);
  if (!m) {
    spdlog::warn("control channel: ignoring a message jq does not send: '{}'", payload);
    return;
  }
  auto session = dispatcher.Find(m->worker_id);
  if (!session) return;  // another replica holds this worker's stream
  if (ApplyControl(*session, *m)) dispatcher.Wake();
}

}  // namespace jq::server
