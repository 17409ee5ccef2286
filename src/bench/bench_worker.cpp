#include "bench/bench_worker.h"

#include <chrono>
#include <unordered_map>

#include "bench/submitter.h"

namespace jq::bench {
namespace {

constexpr std::int64_t kFlushAgeNs = 1'000'000;       // a report waits at most 1 ms
constexpr std::size_t kFlushItems = 256;              // ... or until this many are pending
constexpr std::size_t kMaxItemsPerCall = 1000;        // per list in one ReportBatch
constexpr std::int64_t kHeartbeatNs = 5'000'000'000;  // like jq-worker's default
constexpr std::int64_t kReconnectNs = 500'000'000;

// Calls and items failing with these were not applied and may be sent again.
bool Retryable(grpc::StatusCode c) {
  return c == grpc::StatusCode::UNAVAILABLE || c == grpc::StatusCode::DEADLINE_EXCEEDED ||
         c == grpc::StatusCode::RESOURCE_EXHAUSTED || c == grpc::StatusCode::ABORTED;
}

}  // namespace

// One benchmark worker. Its stream callbacks run one at a time; report and heartbeat callbacks
// run on any gRPC thread and the fleet's ticker calls Tick(): mu_ guards what they share.
class WorkerFleet::Worker {
 public:
  Worker(WorkerFleet& fleet, int index)
      : fleet_(fleet),
        id_("bench-" + fleet.config_.run_id + "-" + std::to_string(index)),
        stub_(fleet.clients_.workers(static_cast<std::size_t>(index))) {
    next_heartbeat_ns_ = NowNs() + kHeartbeatNs * (index + 1) / std::max(fleet.config_.workers, 1);
  }

  void Register() {
    struct Call {
      grpc::ClientContext ctx;
      jq::RegisterWorkerRequest req;
      jq::RegisterWorkerResponse resp;
    };
    auto* call = new Call;
    SetCallDeadline(call->ctx);
    call->req.set_worker_id(id_);
    call->req.set_hostname(fleet_.config_.hostname);
    call->req.set_concurrency(fleet_.config_.slots);
    call->req.add_queues(fleet_.config_.queue);
    call->req.set_supports_control(true);
    fleet_.calls_in_flight_.fetch_add(1);
    stub_.async()->RegisterWorker(&call->ctx, &call->req, &call->resp,
                                  [this, call](grpc::Status st) {
                                    if (st.ok()) {
                                      registered_.store(true);
                                      ever_registered_.store(true);
                                      OpenStream();
                                    } else if (!fleet_.stopping_.load()) {
                                      fleet_.stats_.errors.Record("RegisterWorker", st);
                                      reconnect_at_ns_.store(NowNs() + 2 * kReconnectNs);
                                    }
                                    delete call;
                                    fleet_.calls_in_flight_.fetch_sub(1);
                                  });
  }

  // The fleet's ticker: reports waiting for 1 ms, heartbeats, reconnects. Lowers *next to when
  // this worker next needs a tick. A report waiting behind a batch in flight needs none: that
  // batch's answer sends it, or wakes the ticker.
  void Tick(std::int64_t now, std::int64_t* next) {
    if (ended_.load(std::memory_order_relaxed)) return;
    if (const std::int64_t at = reconnect_at_ns_.load(std::memory_order_relaxed); at != 0) {
      if (now >= at) {
        reconnect_at_ns_.store(0);
        Register();
      } else {
        *next = std::min(*next, at);
      }
    }
    if (const std::int64_t since = pending_since_ns_.load(std::memory_order_relaxed); since != 0) {
      if (now - since >= kFlushAgeNs) {
        bool send;
        {
          std::lock_guard lock(mu_);
          send = TakeBatchLocked();
        }
        if (send) SendBatch();
      } else {
        *next = std::min(*next, since + kFlushAgeNs);
      }
    }
    if (registered_.load(std::memory_order_relaxed)) {
      if (now >= next_heartbeat_ns_) {
        next_heartbeat_ns_ = now + kHeartbeatNs;
        Heartbeat();
      }
      *next = std::min(*next, next_heartbeat_ns_);
    }
  }

  void CancelStream() {
    Stream* s = nullptr;
    {
      std::lock_guard lock(mu_);
      s = stream_.get();
    }
    // Outside mu_: gRPC may deliver callbacks from TryCancel. Streams live as long as the
    // worker, so the pointer stays valid.
    if (s != nullptr) s->Cancel();
  }

  void Deregister() {
    if (!ever_registered_.load()) return;
    struct Call {
      grpc::ClientContext ctx;
      jq::DeregisterRequest req;
      jq::DeregisterResponse resp;
    };
    auto* call = new Call;
    SetCallDeadline(call->ctx, std::chrono::seconds(10));
    call->req.set_worker_id(id_);
    fleet_.calls_in_flight_.fetch_add(1);
    stub_.async()->Deregister(&call->ctx, &call->req, &call->resp, [this, call](grpc::Status st) {
      if (!st.ok()) fleet_.stats_.errors.Record("Deregister", st);
      delete call;
      fleet_.calls_in_flight_.fetch_sub(1);
    });
  }

 private:
  class Stream final : public grpc::ClientReadReactor<jq::JobAssignment> {
   public:
    explicit Stream(Worker& w) : w_(w) {
      req_.set_worker_id(w.id_);
      req_.add_queues(w.fleet_.config_.queue);
    }
    void Start() {
      w_.stub_.async()->StreamJobs(&ctx_, &req_, this);
      StartRead(&msg_);
      StartCall();
    }
    void Cancel() { ctx_.TryCancel(); }
    void OnReadDone(bool ok) override {
      if (!ok) return;  // OnDone follows
      w_.OnMessage(msg_);
      StartRead(&msg_);
    }
    void OnDone(const grpc::Status& s) override { w_.OnStreamDone(s); }

   private:
    Worker& w_;
    grpc::ClientContext ctx_;
    jq::StreamJobsRequest req_;
    jq::JobAssignment msg_;
  };

  struct Running {
    int attempt = 0;
    std::int64_t stamp = 0;  // latency mode: submit time from the payload
  };
  struct Item {
    std::string job_id;
    int attempt = 0;
  };
  // One job's unary reports (ReportStarted, then ReportResult); freed after the result.
  struct UnaryJob {
    grpc::ClientContext started_ctx;
    grpc::ClientContext result_ctx;
    jq::ReportStartedRequest started_req;
    jq::ReportStartedResponse started_resp;
    jq::ReportResultRequest result_req;
    jq::ReportResultResponse result_resp;
  };

  void OpenStream() {
    Stream* s = nullptr;
    {
      std::lock_guard lock(mu_);
      if (fleet_.stopping_.load() || ended_.load()) return;
      // A finished reactor may still be returning from OnDone: keep it until the end.
      if (stream_) finished_streams_.push_back(std::move(stream_));
      stream_ = std::make_unique<Stream>(*this);
      s = stream_.get();
      fleet_.streams_open_.fetch_add(1);
    }
    s->Start();  // outside mu_: gRPC may run callbacks before returning
  }

  void OnStreamDone(const grpc::Status& st) {
    registered_.store(false);
    if (!fleet_.stopping_.load() && !ended_.load()) {
      if (!st.ok()) fleet_.stats_.errors.Record("StreamJobs", st);
      reconnect_at_ns_.store(NowNs() + kReconnectNs);
    }
    fleet_.streams_open_.fetch_sub(1);
  }

  void OnMessage(const jq::JobAssignment& a) {
    if (a.has_control() && a.job_id().empty()) {
      if (a.control().type() == jq::CONTROL_SHUTDOWN && !ended_.exchange(true)) {
        fleet_.live_.fetch_sub(1);
        CancelStream();
      }
      return;  // cancel and drain are not a benchmark's business
    }
    const std::int64_t now = NowNs();
    std::int64_t stamp = 0;
    if (fleet_.config_.stamped) {
      stamp = ParseStamp(a.payload());
      if (stamp > 0) fleet_.stats_.submit_to_start.RecordNs(now - stamp);
    }
    if (fleet_.config_.report_mode == ReportMode::kUnary) {
      {
        std::lock_guard lock(mu_);
        running_[a.job_id()] = {a.attempt(), stamp};
      }
      auto* job = new UnaryJob;
      job->result_req.set_worker_id(id_);
      job->result_req.set_job_id(a.job_id());
      job->result_req.set_success(true);
      job->result_req.set_attempt(a.attempt());
      job->result_req.set_exit_code(0);
      if (fleet_.config_.report_started) {
        job->started_req.set_worker_id(id_);
        job->started_req.set_job_id(a.job_id());
        job->started_req.set_attempt(a.attempt());
        SendStarted(job);
      } else {
        SendResult(job);
      }
      return;
    }
    bool send = false, wake = false;
    {
      std::lock_guard lock(mu_);
      running_[a.job_id()] = {a.attempt(), stamp};
      if (fleet_.config_.report_started) pending_started_.push_back({a.job_id(), a.attempt()});
      pending_results_.push_back({a.job_id(), a.attempt()});
      if (pending_since_ns_.load(std::memory_order_relaxed) == 0) {
        pending_since_ns_.store(now);
        wake = !batch_in_flight_;  // the ticker sends it in 1 ms
      }
      if (pending_started_.size() + pending_results_.size() >= kFlushItems) {
        send = TakeBatchLocked();
      }
    }
    if (send) {
      SendBatch();
    } else if (wake) {
      fleet_.WakeTicker();
    }
  }

  // Moves pending reports into batch_req_ when no batch is in flight. REQUIRES: mu_ held.
  bool TakeBatchLocked() {
    if (batch_in_flight_ || (pending_started_.empty() && pending_results_.empty())) return false;
    batch_req_.Clear();
    batch_req_.set_worker_id(id_);
    const std::size_t ns = std::min(pending_started_.size(), kMaxItemsPerCall);
    for (std::size_t i = 0; i < ns; ++i) {
      auto* s = batch_req_.add_started();
      s->set_job_id(std::move(pending_started_[i].job_id));
      s->set_attempt(pending_started_[i].attempt);
    }
    const std::size_t nr = std::min(pending_results_.size(), kMaxItemsPerCall);
    for (std::size_t i = 0; i < nr; ++i) {
      auto* r = batch_req_.add_results();
      r->set_job_id(std::move(pending_results_[i].job_id));
      r->set_attempt(pending_results_[i].attempt);
      r->set_success(true);
      r->set_exit_code(0);
    }
    pending_started_.erase(pending_started_.begin(), pending_started_.begin() + ns);
    pending_results_.erase(pending_results_.begin(), pending_results_.begin() + nr);
    const bool left = !pending_started_.empty() || !pending_results_.empty();
    pending_since_ns_.store(left ? NowNs() : 0);
    batch_in_flight_ = true;
    return true;
  }

  // Sends batch_req_ (filled by TakeBatchLocked, owned by this call until it is answered).
  void SendBatch() {
    batch_ctx_ = std::make_unique<grpc::ClientContext>();
    SetCallDeadline(*batch_ctx_);
    fleet_.calls_in_flight_.fetch_add(1);
    stub_.async()->ReportBatch(batch_ctx_.get(), &batch_req_, &batch_resp_,
                               [this](grpc::Status st) {
                                 OnBatchDone(st);
                                 fleet_.calls_in_flight_.fetch_sub(1);
                               });
  }

  void OnBatchDone(const grpc::Status& st) {
    const std::int64_t now = NowNs();
    auto& stats = fleet_.stats_;
    if (!st.ok()) {
      if (st.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
        stats.errors.Count(static_cast<int>(st.error_code()));
        fleet_.Fail("jq-server at " + fleet_.clients_.server_addr() +
                    " does not implement WorkerService.ReportBatch (an older server); rerun "
                    "with --report-mode unary");
      } else if (!fleet_.stopping_.load()) {
        stats.errors.Record("ReportBatch", st);
      }
      std::lock_guard lock(mu_);
      if (Retryable(st.error_code()) && !fleet_.stopping_.load()) {
        // Not written: send the same reports again with the next batch.
        for (auto& s : *batch_req_.mutable_started()) {
          pending_started_.push_back({std::move(*s.mutable_job_id()), s.attempt()});
        }
        for (auto& r : *batch_req_.mutable_results()) {
          pending_results_.push_back({std::move(*r.mutable_job_id()), r.attempt()});
        }
        if (pending_since_ns_.load() == 0) pending_since_ns_.store(now);
      }
      batch_in_flight_ = false;
      if (pending_since_ns_.load() != 0) fleet_.WakeTicker();
      return;
    }
    for (int i = 0; i < batch_req_.started_size(); ++i) {
      if (i < batch_resp_.started_size() && batch_resp_.started(i).code() != 0) {
        stats.errors.Record("ReportBatch started", batch_resp_.started(i).code(),
                            batch_resp_.started(i).message());
      }
    }
    std::uint64_t ok = 0;
    bool send = false, wake = false;
    {
      std::lock_guard lock(mu_);
      for (int i = 0; i < batch_req_.results_size(); ++i) {
        const auto& id = batch_req_.results(i).job_id();
        const int code = i < batch_resp_.results_size() ? batch_resp_.results(i).code() : 0;
        auto it = running_.find(id);
        if (code == 0) {
          ++ok;
          if (it != running_.end() && it->second.stamp > 0) {
            stats.submit_to_done.RecordNs(now - it->second.stamp);
          }
        } else {
          stats.errors.Record("ReportBatch result", code, batch_resp_.results(i).message());
          if (Retryable(static_cast<grpc::StatusCode>(code)) && !fleet_.stopping_.load()) {
            // Not written (the database was busy): report it again, like jq-worker does.
            pending_results_.push_back({id, batch_req_.results(i).attempt()});
            if (pending_since_ns_.load() == 0) pending_since_ns_.store(now);
            continue;
          }
        }
        if (it != running_.end()) running_.erase(it);
      }
      batch_in_flight_ = false;
      const std::int64_t since = pending_since_ns_.load();
      if (since != 0 && (now - since >= kFlushAgeNs ||
                         pending_started_.size() + pending_results_.size() >= kFlushItems)) {
        send = TakeBatchLocked();
      }
      wake = !send && since != 0;
    }
    if (ok > 0) fleet_.Acked(ok, now);
    if (send) {
      SendBatch();
    } else if (wake) {
      fleet_.WakeTicker();
    }
  }

  void SendStarted(UnaryJob* job) {
    SetCallDeadline(job->started_ctx);
    fleet_.calls_in_flight_.fetch_add(1);
    stub_.async()->ReportStarted(&job->started_ctx, &job->started_req, &job->started_resp,
                                 [this, job](grpc::Status st) {
                                   if (!st.ok() && !fleet_.stopping_.load()) {
                                     fleet_.stats_.errors.Record("ReportStarted", st);
                                   }
                                   SendResult(job);
                                   fleet_.calls_in_flight_.fetch_sub(1);
                                 });
  }

  void SendResult(UnaryJob* job) {
    SetCallDeadline(job->result_ctx);
    fleet_.calls_in_flight_.fetch_add(1);
    stub_.async()->ReportResult(&job->result_ctx, &job->result_req, &job->result_resp,
                                [this, job](grpc::Status st) {
                                  OnResultDone(job->result_req.job_id(), st);
                                  delete job;
                                  fleet_.calls_in_flight_.fetch_sub(1);
                                });
  }

  void OnResultDone(const std::string& job_id, const grpc::Status& st) {
    const std::int64_t now = NowNs();
    std::int64_t stamp = 0;
    {
      std::lock_guard lock(mu_);
      auto it = running_.find(job_id);
      if (it != running_.end()) {
        stamp = it->second.stamp;
        running_.erase(it);
      }
    }
    if (!st.ok()) {
      if (!fleet_.stopping_.load()) fleet_.stats_.errors.Record("ReportResult", st);
      return;
    }
    if (stamp > 0) fleet_.stats_.submit_to_done.RecordNs(now - stamp);
    fleet_.Acked(1, now);
  }

  void Heartbeat() {
    struct Call {
      grpc::ClientContext ctx;
      jq::HeartbeatRequest req;
      jq::HeartbeatResponse resp;
    };
    auto* call = new Call;
    SetCallDeadline(call->ctx, std::chrono::seconds(10));
    call->req.set_worker_id(id_);
    {
      std::lock_guard lock(mu_);
      call->req.set_active_job_count(static_cast<int>(running_.size()));
      call->req.mutable_running_jobs()->Reserve(static_cast<int>(running_.size()));
      for (const auto& [id, r] : running_) {
        auto* j = call->req.add_running_jobs();
        j->set_job_id(id);
        j->set_attempt(r.attempt);
      }
    }
    fleet_.calls_in_flight_.fetch_add(1);
    stub_.async()->Heartbeat(&call->ctx, &call->req, &call->resp, [this, call](grpc::Status st) {
      if (!st.ok() && !fleet_.stopping_.load()) fleet_.stats_.errors.Record("Heartbeat", st);
      delete call;
      fleet_.calls_in_flight_.fetch_sub(1);
    });
  }

  WorkerFleet& fleet_;
  const std::string id_;
  jq::WorkerService::Stub& stub_;

  std::atomic<bool> registered_{false};       // registered and streaming (heartbeats due)
  std::atomic<bool> ever_registered_{false};  // deregister at the end
  std::atomic<bool> ended_{false};            // CONTROL_SHUTDOWN received
  std::atomic<std::int64_t> reconnect_at_ns_{0};
  std::atomic<std::int64_t> pending_since_ns_{0};  // oldest unsent report; 0 = none
  std::int64_t next_heartbeat_ns_ = 0;             // the ticker's

  std::mutex mu_;
  std::unique_ptr<Stream> stream_;                         // guarded by mu_
  std::vector<std::unique_ptr<Stream>> finished_streams_;  // guarded by mu_
  std::unordered_map<std::string, Running> running_;       // guarded by mu_
  std::vector<Item> pending_started_;                      // guarded by mu_
  std::vector<Item> pending_results_;                      // guarded by mu_
  bool batch_in_flight_ = false;                           // guarded by mu_
  // The batch in flight; only its sender and its callback touch them.
  jq::ReportBatchRequest batch_req_;
  jq::ReportBatchResponse batch_resp_;
  std::unique_ptr<grpc::ClientContext> batch_ctx_;
};

WorkerFleet::WorkerFleet(Clients& clients, FleetConfig config, RunStats& stats)
    : clients_(clients), config_(std::move(config)), stats_(stats) {
  workers_.reserve(static_cast<std::size_t>(config_.workers));
  for (int i = 0; i < config_.workers; ++i) workers_.push_back(std::make_unique<Worker>(*this, i));
}

WorkerFleet::~WorkerFleet() {
  Stop();
}

void WorkerFleet::Start() {
  live_.store(config_.workers);
  for (auto& w : workers_) w->Register();
  ticker_ = std::thread([this] { TickLoop(); });
}

void WorkerFleet::TickLoop() {
  constexpr std::int64_t kMaxSleepNs = 50'000'000;
  while (!stopping_.load()) {
    const std::int64_t now = NowNs();
    std::int64_t next = now + kMaxSleepNs;
    for (auto& w : workers_) w->Tick(now, &next);
    std::unique_lock lock(tick_mu_);
    tick_cv_.wait_for(lock, std::chrono::nanoseconds(std::max<std::int64_t>(next - NowNs(), 0)),
                      [&] { return tick_wake_ || stopping_.load(); });
    tick_wake_ = false;
  }
}

void WorkerFleet::WakeTicker() {
  std::lock_guard lock(tick_mu_);
  if (tick_wake_) return;
  tick_wake_ = true;
  tick_cv_.notify_one();
}

void WorkerFleet::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  WakeTicker();
  if (ticker_.joinable()) ticker_.join();
  auto wait = [](const std::atomic<int>& n, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (n.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  };
  for (auto& w : workers_) w->CancelStream();
  wait(streams_open_, std::chrono::seconds(10));
  wait(calls_in_flight_, std::chrono::seconds(10));
  for (auto& w : workers_) w->Deregister();
  wait(calls_in_flight_, std::chrono::seconds(15));
}

void WorkerFleet::Fail(std::string message) {
  std::lock_guard lock(failure_mu_);
  if (failed_.exchange(true)) return;
  failure_ = std::move(message);
}

std::string WorkerFleet::failure() const {
  std::lock_guard lock(failure_mu_);
  return failure_;
}

void WorkerFleet::Acked(std::uint64_t n, std::int64_t now) {
  completed_.fetch_add(n, std::memory_order_relaxed);
  std::int64_t seen = last_ack_ns_.load(std::memory_order_relaxed);
  while (now > seen && !last_ack_ns_.compare_exchange_weak(seen, now)) {
  }
}

}  // namespace jq::bench
