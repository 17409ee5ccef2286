#include "server/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

#include "core/trace.h"

namespace jq::server {

namespace {

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Orders sessions by their queue lists and tenant, by value, so sessions taking from the same
// queues for the same tenant(s) share a claim.
struct QueuesLess {
  bool operator()(const WorkerSession* a, const WorkerSession* b) const {
    return std::tie(a->queues(), a->tenant()) < std::tie(b->queues(), b->tenant());
  }
};

}  // namespace

WorkerSession::WorkerSession(std::string worker_id, std::vector<std::string> queues,
                             int concurrency, bool supports_control, const Clock& clock,
                             std::string tenant)
    : worker_id_(std::move(worker_id)),
      queues_(Sorted(std::move(queues))),
      tenant_(std::move(tenant)),
      concurrency_(concurrency),
      supports_control_(supports_control),
      clock_(clock) {}

std::optional<jq::JobAssignment> WorkerSession::TryNext() {
  std::lock_guard lock(mu_);
  if (closed_ || outbox_.empty()) return std::nullopt;
  jq::JobAssignment a = std::move(outbox_.front());
  outbox_.pop_front();
  return a;
}

void WorkerSession::SetListener(std::function<void()> listener) {
  std::lock_guard lock(listener_mu_);
  listener_ = std::move(listener);
}

void WorkerSession::NotifyListener() {
  std::lock_guard lock(listener_mu_);
  if (listener_) listener_();
}

bool WorkerSession::PushJob(jq::JobAssignment assignment) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    in_flight_[assignment.job_id()] = clock_.Steady();
    outbox_.push_back(std::move(assignment));
  }
  NotifyListener();
  return true;
}

bool WorkerSession::PushControl(jq::ControlType type, const std::string& job_id) {
  {
    std::lock_guard lock(mu_);
    if (closed_ || !supports_control_) return false;
    jq::JobAssignment a;
    a.mutable_control()->set_type(type);
    a.mutable_control()->set_job_id(job_id);
    outbox_.push_back(std::move(a));
  }
  NotifyListener();
  return true;
}

void WorkerSession::Close() {
  CloseQuietly();
  NotifyListener();
}

void WorkerSession::CloseQuietly() {
  std::lock_guard lock(mu_);
  closed_ = true;
}

std::vector<jq::JobAssignment> WorkerSession::TakeUndelivered() {
  std::lock_guard lock(mu_);
  std::vector<jq::JobAssignment> out;
  for (auto& a : outbox_) {
    if (!a.job_id().empty()) {
      in_flight_.erase(a.job_id());
      out.push_back(std::move(a));
    }
  }
  outbox_.clear();
  return out;
}

void WorkerSession::AddInFlight(const std::vector<std::string>& job_ids) {
  std::lock_guard lock(mu_);
  for (const auto& id : job_ids) in_flight_.emplace(id, clock_.Steady());
}

bool WorkerSession::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

int WorkerSession::FreeSlots() const {
  std::lock_guard lock(mu_);
  if (closed_ || draining_) return 0;
  return concurrency_ - static_cast<int>(in_flight_.size()) - reserved_;
}

void WorkerSession::Reserve(int n) {
  std::lock_guard lock(mu_);
  reserved_ += n;
}

void WorkerSession::Unreserve(int n) {
  std::lock_guard lock(mu_);
  reserved_ -= n;
}

void WorkerSession::SetDraining(bool draining) {
  std::lock_guard lock(mu_);
  draining_ = draining;
}

bool WorkerSession::draining() const {
  std::lock_guard lock(mu_);
  return draining_;
}

bool WorkerSession::shutdown_requested() const {
  std::lock_guard lock(mu_);
  return shutdown_ > 0;
}

bool WorkerSession::MarkShutdown(bool now) {
  std::lock_guard lock(mu_);
  const int level = now ? 2 : 1;
  if (shutdown_ >= level) return false;
  shutdown_ = level;
  return true;
}

void WorkerSession::Release(const std::string& job_id) {
  std::lock_guard lock(mu_);
  in_flight_.erase(job_id);
}

void WorkerSession::Reconcile(const std::set<std::string>& running,
                              std::chrono::milliseconds grace) {
  std::lock_guard lock(mu_);
  const auto cutoff = clock_.Steady() - grace;
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (!running.contains(it->first) && it->second < cutoff) {
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
}

Dispatcher::Dispatcher(JobStore& store, DispatcherConfig config, const Clock& clock)
    : store_(store),
      config_(config),
      clock_(clock),
      loop_({.name = "jq-dispatch", .interval = config.tick, .threads = config.threads}, [this] {
        return RunOnce() ? BackgroundLoop::Next(BackgroundLoop::kAgain) : std::nullopt;
      }) {}

Dispatcher::~Dispatcher() {
  Stop();
}

void Dispatcher::Stop() {
  loop_.Stop();
  std::map<std::string, std::shared_ptr<WorkerSession>> sessions;
  {
    std::lock_guard lock(mu_);
    sessions.swap(sessions_);
  }
  for (auto& [id, s] : sessions) s->Close();
}

void Dispatcher::Attach(const std::shared_ptr<WorkerSession>& session) {
  std::shared_ptr<WorkerSession> old;
  {
    std::lock_guard lock(mu_);
    auto& slot = sessions_[session->worker_id()];
    old = slot;
    slot = session;
  }
  loop_.Wake();
  if (old) old->Close();
}

void Dispatcher::Detach(const std::shared_ptr<WorkerSession>& session) {
  session->Close();
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session->worker_id());
  if (it != sessions_.end() && it->second == session) sessions_.erase(it);
}

std::shared_ptr<WorkerSession> Dispatcher::Find(const std::string& worker_id) const {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(worker_id);
  return it == sessions_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<WorkerSession>> Dispatcher::Sessions() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<WorkerSession>> out;
  out.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_) out.push_back(s);
  return out;
}

std::size_t Dispatcher::session_count() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

bool Dispatcher::RunOnce() {
  struct CycleTimer {
    const DispatcherConfig& config;
    const Clock& clock;
    std::chrono::steady_clock::time_point start = clock.Steady();
    bool active = false;
    ~CycleTimer() {
      if (active && config.on_cycle) {
        config.on_cycle(std::chrono::duration<double>(clock.Steady() - start).count());
      }
    }
  } timer{config_, clock_};
  // One claim per set of queues, planned under plan_mu_: the slots it fills are reserved
  // before the lock is released, so a concurrent pass only sees what is still free.
  struct Claim {
    std::vector<std::string> queues;
    std::string tenant;
    std::vector<std::string> slots;  // one worker id per slot, in fill order
    std::map<std::string, std::pair<std::shared_ptr<WorkerSession>, int>> reserved;
  };
  std::vector<Claim> claims;
  {
    std::lock_guard plan(plan_mu_);
    std::map<const WorkerSession*, std::vector<std::pair<std::shared_ptr<WorkerSession>, int>>,
             QueuesLess>
        groups;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, s] : sessions_) {
        if (int free = s->FreeSlots(); free > 0) groups[s.get()].emplace_back(s, free);
      }
    }
    const std::size_t rotate = rotate_++;
    const auto limit = static_cast<std::size_t>(std::max(config_.batch_size, 1));
    for (auto& [kind, sessions] : groups) {
      // Round-robin over the sessions, starting at a different one each pass, so that when
      // fewer jobs than slots are ready they spread over the workers instead of filling the
      // first ones.
      Claim c;
      c.queues = kind->queues();
      c.tenant = kind->tenant();
      const std::size_t n = sessions.size();
      const std::size_t first = rotate % n;
      for (bool added = true; added && c.slots.size() < limit;) {
        added = false;
        for (std::size_t i = 0; i < n && c.slots.size() < limit; ++i) {
          auto& [s, free] = sessions[(first + i) % n];
          if (free <= 0) continue;
          c.slots.push_back(s->worker_id());
          auto& r = c.reserved[s->worker_id()];
          r.first = s;
          ++r.second;
          --free;
          added = true;
        }
      }
      for (auto& [id, r] : c.reserved) r.first->Reserve(r.second);
      claims.push_back(std::move(c));
    }
  }
  if (claims.empty()) return false;
  timer.active = true;  // only passes that had workers to serve
  bool more = false;
  bool failed = false;
  const TenantRunningLimits tenant_limits =
      config_.tenant_limits ? config_.tenant_limits() : TenantRunningLimits{};
  for (auto& c : claims) {
    if (!failed) {
      auto claimed =
          store_.JobClaimMany({c.slots, c.queues, config_.lease, c.tenant, tenant_limits});
      if (claimed.ok()) {
        for (auto& job : *claimed) Deliver(*c.reserved.at(job.worker_id).first, job);
        if (claimed->size() == c.slots.size()) more = true;
      } else {
        spdlog::warn("dispatch: claim for {} workers failed: {}", c.reserved.size(),
                     claimed.status().ToString());
        failed = true;  // the tick retries; a database outage should not spin
      }
    }
    for (auto& [id, r] : c.reserved) r.first->Unreserve(r.second);
  }
  return more && !failed;
}

void Dispatcher::Deliver(WorkerSession& session, ClaimedJob& c) {
  WorkerSession* s = &session;
  if (config_.on_assigned) config_.on_assigned(c);
  jq::JobAssignment a;
  a.set_job_id(c.id);
  a.set_queue_name(c.queue);
  a.set_payload(std::move(c.payload));
  a.set_priority(c.priority);
  a.set_attempt(c.attempt);
  a.set_timeout_seconds(c.timeout_seconds);
  // The worker continues the submitter's trace as a child span.
  if (auto parent = ParseTraceParent(c.traceparent)) {
    a.set_traceparent(ChildOf(*parent).ToString());
  }
  // The session closed since the snapshot: the job goes straight back to the queue.
  if (!s->PushJob(std::move(a))) {
    Status st = store_.JobReleaseUndelivered({c.id, s->worker_id(), c.attempt});
    spdlog::info("dispatch: worker {} went away before job {} was sent: {}", s->worker_id(), c.id,
                 st.ok() ? "returned to the queue" : st.ToString());
  }
}

}  // namespace jq::server
