// WorkerAgent: jq-worker's connection to jq-server. Registers, holds the StreamJobs stream,
// heartbeats with the leases it holds, runs each assigned job on a pooled thread and reports
// the result with the lease token. Survives server restarts and fail-over: it reconnects
// (re-registering) while running jobs carry on. A drain is the server's business (it sends
// no jobs until it resumes the worker), so a drained agent stays up. Thread-safe; Run() blocks
// until RequestStop() or a shutdown from the server has finished.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/security/credentials.h>

#include "core/background_loop.h"
#include "core/config.h"
#include "worker/report_sender.h"
#include "worker/stream_message.h"
#include "worker_service.grpc.pb.h"

namespace jq::exec {
class RunningProcess;
}

namespace jq::worker {

// Threads for jobs, kept between jobs: a task runs at once on an idle thread, or on a new one
// when none is idle, so the pool grows to the most jobs ever run at once (the concurrency)
// without a thread start per job.
class JobThreads {
 public:
  JobThreads() = default;
  ~JobThreads() { Join(); }
  JobThreads(const JobThreads&) = delete;
  JobThreads& operator=(const JobThreads&) = delete;

  void Post(std::function<void()> task);
  // Runs what is queued, then joins every thread. Posting stays possible (a new thread).
  void Join();

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  std::size_t idle_ = 0;                     // GUARDED_BY(mu_): threads waiting for a task
  bool stop_ = false;                        // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;         // GUARDED_BY(mu_)
};

class WorkerAgent {
 public:
  // max_message_bytes: the largest message it accepts from the server (GrpcMaxMessageBytes).
  WorkerAgent(Config::Worker config, std::string worker_id, std::string hostname,
              int max_message_bytes);
  ~WorkerAgent();

  // Blocks: connects, takes jobs, and returns once stopped and every job is settled.
  void Run();
  // SIGTERM (and a shutdown from the server): stop taking jobs, let running ones finish for
  // up to the grace, then kill the rest, deregister and return from Run(). Safe from any
  // thread; idempotent.
  void RequestStop();

  // For metrics and /readyz.
  int running_count();
  bool connected();
  int jobs_finished() const { return jobs_finished_.load(); }

 private:
  struct RunningJob {
    int attempt = 0;
    std::shared_ptr<exec::RunningProcess> process;  // set once started
    bool cancel_requested = false;
    bool abandon = false;  // stopping: kill without reporting; the deregistration requeues it
    // A newer attempt of the same job, assigned while this one was still being stopped
    // (its lease was lost, e.g. across a server restart); it starts when this one ends.
    std::optional<jq::JobAssignment> next;
  };

  // One attempt's ReportStarted, sent without holding the job up and retried on UNAVAILABLE.
  struct StartReport {
    jq::ReportStartedRequest request;
    std::shared_ptr<exec::RunningProcess> process;
    std::chrono::steady_clock::time_point give_up_at;
    std::chrono::milliseconds backoff{100};  // sender thread only
    std::atomic<bool> finished{false};       // its result is being reported: no more retries
  };

  void StreamLoop();
  // One heartbeat: liveness and the leases of the running jobs; stops the jobs it lost.
  void HeartbeatOnce();
  // One message from the job stream: decided by DecideStreamMessage, then done.
  void HandleMessage(const jq::JobAssignment& a);
  void HandleAction(const StreamAction& action);
  void RunJob(jq::JobAssignment assignment);
  void CancelJob(const std::string& job_id, bool abandon);
  void SendStarted(const std::shared_ptr<StartReport>& r, std::chrono::milliseconds delay);
  void OnStarted(const std::shared_ptr<StartReport>& r, const grpc::Status& s);
  // Retries on UNAVAILABLE (server restarting or failing over) until it succeeds or stop.
  template <typename Fn>
  grpc::Status CallWithRetry(const char* what, Fn&& fn, std::chrono::seconds budget);
  bool Register();
  // A fresh channel connects at once, rather than after the old one's reconnect backoff.
  void Reconnect();
  void Deregister();
  std::shared_ptr<jq::WorkerService::Stub> stub();

  const Config::Worker config_;
  const std::string worker_id_;
  const std::string hostname_;
  const int max_message_bytes_;
  const std::vector<std::string> addrs_;  // worker.server_addr, in order (at least one)
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;  // worker.tls, or plaintext
  std::size_t next_addr_ = 0;                                    // the stream thread's (Reconnect)

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, RunningJob> running_;        // GUARDED_BY(mu_)
  std::string addr_;                                 // GUARDED_BY(mu_): the one dialled
  std::shared_ptr<grpc::Channel> channel_;           // GUARDED_BY(mu_)
  std::shared_ptr<jq::WorkerService::Stub> stub_;    // GUARDED_BY(mu_)
  std::shared_ptr<grpc::ClientContext> stream_ctx_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                            // GUARDED_BY(mu_): no new jobs
  bool shutdown_now_ = false;                        // GUARDED_BY(mu_): kill jobs and exit now
  std::unique_ptr<ReportSender> reports_;            // starts and results, batched
  std::atomic<int> jobs_finished_{0};
  JobThreads job_threads_;     // joined (in ~WorkerAgent) before reports_ goes
  BackgroundLoop heartbeats_;  // last: stopped before the members its passes use go away
};

}  // namespace jq::worker
