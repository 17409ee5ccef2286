// ReportSender: jq-worker's batched report path. Job threads hand in their starts and results
// and block until the server has answered (or, for StartedAsync, get called back); one sender
// thread sends whatever has gathered as one ReportBatch call, with one call in flight at a
// time, so batches grow with the load and an idle worker's report goes out at once (a delayed
// start: when due, or with its result). Against a jq-server without ReportBatch it falls back
// to the unary calls. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include "worker_service.grpc.pb.h"

namespace jq::worker {

// The server is unreachable or slow (restarting, failing over): try the call again.
bool RetryableStatus(const grpc::Status& s);

class ReportSender {
 public:
  using StubFn = std::function<std::shared_ptr<jq::WorkerService::Stub>()>;
  using Done = std::function<void(const grpc::Status&)>;

  ReportSender(std::string worker_id, StubFn stub);
  ~ReportSender();
  ReportSender(const ReportSender&) = delete;
  ReportSender& operator=(const ReportSender&) = delete;

  // Block until the report's batch is answered: OK, the report's own refusal, or the call's
  // error (e.g. UNAVAILABLE, for the caller to retry). A batch the server refuses whole for
  // any other reason is sent again report by report, so one bad report fails alone.
  // After Stop: UNAVAILABLE at once.
  grpc::Status Started(const jq::ReportStartedRequest& report);
  // A delayed StartedAsync of the same attempt is sent first, in the same batch.
  grpc::Status Result(const jq::ReportResultRequest& report);
  // Queues the report `delay` from now without blocking; `done` gets the same outcome as
  // Started() would return, on the sender thread (keep it short; it may call StartedAsync).
  // After Stop: done(CANCELLED), inline or for reports still waiting out their delay.
  void StartedAsync(jq::ReportStartedRequest report, Done done,
                    std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  void Stop();

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    std::variant<jq::ReportStartedRequest, jq::ReportResultRequest> report;
    Done done;
  };
  grpc::Status EnqueueAndWait(std::variant<jq::ReportStartedRequest, jq::ReportResultRequest> r);
  void Run();
  void SendBatch(std::vector<Pending>& batch);
  void SendUnary(std::vector<Pending>& batch);

  const std::string worker_id_;
  const StubFn stub_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;                        // GUARDED_BY(mu_)
  std::multimap<Clock::time_point, Pending> later_;  // GUARDED_BY(mu_): delayed, by due time
  bool stop_ = false;                                // GUARDED_BY(mu_)
  bool unary_ = false;  // sender thread only: the server has no ReportBatch
  std::thread thread_;
};

}  // namespace jq::worker
