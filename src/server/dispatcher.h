// The dispatcher (SPEC §5): claims PENDING jobs for connected workers with free slots and
// pushes them onto their streams. Woken at once by submits (in-process, and via LISTEN/NOTIFY
// from other replicas) and by freed slots; a periodic tick is only a safety net and picks up
// delayed jobs. Thread-safe. Start/Stop idempotent (core/background_loop.h); RunOnce is one
// pass, for tests too.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/background_loop.h"
#include "core/clock.h"
#include "core/job_store.h"
#include "worker_service.pb.h"

namespace jq::server {

struct DispatcherConfig {
  std::chrono::milliseconds tick{500};
  int batch_size = 100;  // max jobs per claim statement (one statement serves many workers)
  // Passes that may run at once: while one claim waits for its commit, the next is planned
  // and sent (free slots are reserved while planning, so passes never share a slot).
  int threads = 2;
  std::chrono::seconds lease{30};
  // Metrics hooks; may be empty. on_cycle gets a pass's duration, on_assigned each job.
  std::function<void(double seconds)> on_cycle;
  std::function<void(const ClaimedJob& job)> on_assigned;
  // The per-tenant running limits each claim enforces (TenantLimits::Running); empty: none.
  std::function<TenantRunningLimits()> tenant_limits;
};

// One worker's open StreamJobs call. The stream's reactor drains it with TryNext() whenever
// its listener says something changed; the dispatcher and control messages fill it with
// Push(). Thread-safe.
class WorkerSession {
 public:
  // tenant: the only tenant whose jobs it takes (a tenant's worker key); empty: every tenant.
  WorkerSession(std::string worker_id, std::vector<std::string> queues, int concurrency,
                bool supports_control, const Clock& clock = SystemClock(), std::string tenant = "");

  const std::string& worker_id() const { return worker_id_; }
  const std::vector<std::string>& queues() const { return queues_; }  // sorted, unique
  const std::string& tenant() const { return tenant_; }
  bool supports_control() const { return supports_control_; }

  // The next queued message, if any (nullopt when empty or closed).
  std::optional<jq::JobAssignment> TryNext();
  // Called (on the pushing thread, without the session's lock) after every push and on
  // Close(). Setting a new listener waits for a call in progress to return, so after
  // SetListener(nullptr) the old one is never called again.
  void SetListener(std::function<void()> listener);
  // Queues a job (counted against the slots) or a control message. False once closed.
  bool PushJob(jq::JobAssignment assignment);
  bool PushControl(jq::ControlType type, const std::string& job_id);
  void Close();
  // Close() without calling the listener (for the listener's owner, which knows).
  void CloseQuietly();
  bool closed() const;
  // After Close(): the job assignments still queued, which the worker never received.
  std::vector<jq::JobAssignment> TakeUndelivered();
  // Jobs the worker already holds (e.g. from before a reconnect) take slots too.
  void AddInFlight(const std::vector<std::string>& job_ids);

  int FreeSlots() const;  // concurrency - jobs held - slots reserved by a claim in flight
  // A dispatcher pass holds n slots while its claim runs; Unreserve after the claimed jobs
  // were pushed (so the slots never look free in between).
  void Reserve(int n);
  void Unreserve(int n);
  void SetDraining(bool draining);
  bool draining() const;
  // Records a shutdown request (now: without waiting for its jobs); false if one as strong
  // was recorded already, so that a request delivered twice is sent once.
  bool MarkShutdown(bool now);
  bool shutdown_requested() const;
  // The worker is done with a job (reported, or no longer running per its heartbeat).
  void Release(const std::string& job_id);
  // A jq-worker heartbeat lists what it runs; anything else assigned more than `grace` ago
  // is no longer taking a slot.
  void Reconcile(const std::set<std::string>& running, std::chrono::milliseconds grace);

 private:
  const std::string worker_id_;
  const std::vector<std::string> queues_;
  const std::string tenant_;
  const int concurrency_;
  const bool supports_control_;
  const Clock& clock_;
  void NotifyListener();
  std::mutex listener_mu_;
  std::function<void()> listener_;  // GUARDED_BY(listener_mu_)
  mutable std::mutex mu_;
  std::deque<jq::JobAssignment> outbox_;                                    // GUARDED_BY(mu_)
  std::map<std::string, std::chrono::steady_clock::time_point> in_flight_;  // GUARDED_BY(mu_)
  int reserved_ = 0;                                                        // GUARDED_BY(mu_)
  bool closed_ = false;                                                     // GUARDED_BY(mu_)
  bool draining_ = false;                                                   // GUARDED_BY(mu_)
  int shutdown_ = 0;  // 0 none, 1 graceful, 2 now                          // GUARDED_BY(mu_)
};

class Dispatcher {
 public:
  Dispatcher(JobStore& store, DispatcherConfig config, const Clock& clock = SystemClock());
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void Start() { loop_.Start(); }
  void Stop();  // also closes every session, so stream handlers return
  void Wake() { loop_.Wake(); }

  // A newer session for the same worker replaces (and closes) the older one.
  void Attach(const std::shared_ptr<WorkerSession>& session);
  void Detach(const std::shared_ptr<WorkerSession>& session);
  std::shared_ptr<WorkerSession> Find(const std::string& worker_id) const;
  std::size_t session_count() const;
  std::vector<std::shared_ptr<WorkerSession>> Sessions() const;  // a snapshot

  // One pass over the sessions with free slots: one claim per set of queues, its slots
  // spread round-robin over the sessions; true if some claim filled every slot it asked for
  // (so more may be ready).
  bool RunOnce();

 private:
  void Deliver(WorkerSession& session, ClaimedJob& c);

  JobStore& store_;
  const DispatcherConfig config_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<WorkerSession>> sessions_;  // GUARDED_BY(mu_)
  std::mutex plan_mu_;      // one pass at a time picks and reserves slots
  std::size_t rotate_ = 0;  // GUARDED_BY(plan_mu_): fair start among sessions
  BackgroundLoop loop_;     // last: stopped before the members its passes use go away
};

}  // namespace jq::server
