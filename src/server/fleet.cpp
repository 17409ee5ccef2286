#include "server/fleet.h"

#include <spdlog/spdlog.h>

#include "server/control_message.h"

namespace jq::server {

Fleet::Fleet(JobStore& store, Dispatcher& dispatcher, JobCompleter& completer,
             ServerMetrics& metrics, redis::WorkerPresence* presence, PublishHeartbeat publish,
             FleetConfig config, const Clock& clock)
    : store_(store),
      dispatcher_(dispatcher),
      completer_(completer),
      metrics_(metrics),
      presence_(presence),
      publish_(std::move(publish)),
      config_(std::move(config)),
      clock_(clock) {}

Status Fleet::Register(const WorkerUpsertParams& p, Registration reg) {
  if (Status s = store_.WorkerUpsert(p); !s.ok()) return s;
  std::lock_guard lock(mu_);
  registered_[p.id] = std::move(reg);
  return Status::Ok();
}

Result<std::shared_ptr<WorkerSession>> Fleet::OpenSession(const std::string& worker_id,
                                                          std::vector<std::string> queues,
                                                          const std::string& tenant) {
  auto worker = store_.WorkerGet(worker_id);
  if (!worker.ok()) {
    if (worker.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("worker " + worker_id +
                              " is not registered; call RegisterWorker first");
    }
    return worker.status();
  }
  // Registered with another replica (or before a restart): the database's record will do.
  Registration reg{worker->concurrency, worker->queues, worker->supports_control};
  {
    std::lock_guard lock(mu_);
    if (auto it = registered_.find(worker_id); it != registered_.end()) reg = it->second;
  }
  if (queues.empty()) queues = reg.queues;
  auto session = std::make_shared<WorkerSession>(worker_id, std::move(queues), reg.concurrency,
                                                 reg.supports_control, clock_, tenant);
  // Jobs it already holds (it reconnected while running them) take slots.
  if (auto held = store_.JobListHeldBy(worker_id); held.ok()) {
    std::vector<std::string> ids;
    for (const auto& l : *held) ids.push_back(l.job_id);
    session->AddInFlight(ids);
  }
  // What an operator asked for while it was connected elsewhere, or not at all, or before it
  // restarted: the row keeps it.
  if (worker->drained) ApplyControl(*session, ControlMessage::Drain(worker_id));
  if (worker->shutdown != ShutdownRequest::kNone) {
    ApplyControl(*session,
                 ControlMessage::Shutdown(worker_id, worker->shutdown == ShutdownRequest::kNow));
  }
  return session;
}

void Fleet::Heartbeat(WorkerHeartbeatParams beat, HeartbeatDone done) {
  std::set<std::string> running;
  for (const auto& l : beat.running) running.insert(l.job_id);
  metrics_.WorkerConcurrency(beat.worker_id, beat.active_job_count);
  if (publish_) publish_(beat.worker_id, beat.active_job_count, {running.begin(), running.end()});
  if (presence_ != nullptr) presence_->Mark(beat.worker_id, config_.server_id);
  bool jq_worker = !beat.running.empty();
  {
    std::lock_guard lock(mu_);
    auto it = registered_.find(beat.worker_id);
    if (it != registered_.end()) jq_worker = jq_worker || it->second.supports_control;
  }
  beat.renew_all = !jq_worker;
  const std::string worker = beat.worker_id;
  completer_.Heartbeat(std::move(beat), [this, done = std::move(done), jq_worker, worker,
                                         running = std::move(running)](
                                            const Result<std::vector<std::string>>& lost) {
    // A seed worker lists nothing, so its slots are freed by its reports alone.
    if (lost.ok() && jq_worker) {
      if (auto session = dispatcher_.Find(worker)) {
        session->Reconcile(running, 2 * config_.heartbeat_interval + std::chrono::seconds(5));
      }
    }
    done(lost);
  });
}

void Fleet::Reported(const std::string& worker_id, const std::string& job_id, bool success,
                     const Result<JobCompleteResult>& r) {
  if (r.ok()) {
    metrics_.JobProcessed(r->queue, r->run_seconds);
    metrics_.JobCounted(r->queue, success ? "DONE" : "FAILED");
    if (r->final_status == JobState::kDeadLettered) metrics_.JobCounted(r->queue, "DEAD_LETTERED");
  }
  // The worker no longer runs this attempt: free its slot, unless the report was refused as
  // stale, since a newer attempt of the same job may hold that slot on this worker (a stale
  // entry is dropped by the next heartbeat's reconcile). A database error keeps it too: the
  // worker reports again.
  const StatusCode code = r.status().code();
  if (code != StatusCode::kFailedPrecondition && code != StatusCode::kUnavailable) {
    if (auto session = dispatcher_.Find(worker_id)) {
      session->Release(job_id);
      dispatcher_.Wake();
    }
  }
  if (!r.ok()) {
    spdlog::debug("report for job {} from worker {} refused: {}", job_id, worker_id,
                  r.status().ToString());
  }
}

Status Fleet::Deregister(const std::string& worker_id, double jitter01) {
  Status s = store_.WorkerDeregister(worker_id, jitter01);
  metrics_.ForgetWorker(worker_id);
  if (auto session = dispatcher_.Find(worker_id)) dispatcher_.Detach(session);
  std::lock_guard lock(mu_);
  registered_.erase(worker_id);
  return s;
}

}  // namespace jq::server
