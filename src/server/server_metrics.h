// jq-server's Prometheus metrics (SPEC §11). Thread-safe: prometheus-cpp metrics are atomic
// and families lock internally.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace jq::server {

class ServerMetrics {
 public:
  explicit ServerMetrics(std::shared_ptr<prometheus::Registry> registry);

  prometheus::Registry& registry() { return *registry_; }

  void GrpcRequest(const std::string& method, const std::string& code, double seconds);
  void DbQuery(const std::string& query, double seconds);
  // A store operation run again after a deadlock, serialization failure or lost connection.
  void DbRetry(const std::string& query, const std::string& reason);
  void SchedulerCycle(double seconds);
  void JobAssigned(const std::string& queue, double submit_to_start_seconds);
  // status: PENDING (submitted), DONE, FAILED (an attempt failed), DEAD_LETTERED.
  void JobCounted(const std::string& queue, const std::string& status, double n = 1);
  void JobProcessed(const std::string& queue, double seconds);
  void LeaseExpired(const std::string& queue, double n);
  void QueueDepth(const std::string& queue, const std::string& status, double value);
  void ActiveWorkers(double value);
  void WorkerConcurrency(const std::string& worker_id, double value);
  // Per-worker series go with their worker: at deregistration, or once it has not been heard
  // from (on this replica) for `silent_for`, so a fleet churning through ids (pods) does not
  // grow the scrape forever. Returns how many series went.
  void ForgetWorker(const std::string& worker_id);
  int ForgetSilentWorkers(std::chrono::steady_clock::duration silent_for);
  void OutboxLag(double value);
  // The relay's stall figures (events/outbox_relay.h OutboxRelayStats, same names).
  void OutboxOldestUnpublishedAge(double seconds);
  void OutboxStalled(bool stalled);
  void OutboxWaitingForTransaction(bool waiting, double blocking_transaction_age_seconds);
  void KafkaPublishErrors(const std::string& topic, double total);
  void RedisOperation(const std::string& operation, double seconds);
  void ComponentUp(const std::string& component, bool up);
  // Retention: rows deleted from a table (jobs, job_outputs, job_events); a finished run.
  void RetentionDeleted(const std::string& table, double n);
  void RetentionRun(double seconds, double held_back);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& queue_depth_;
  prometheus::Family<prometheus::Histogram>& processing_;
  prometheus::Family<prometheus::Counter>& job_total_;
  prometheus::Gauge& worker_active_;
  prometheus::Family<prometheus::Gauge>& worker_concurrency_;
  struct WorkerSeries {
    prometheus::Gauge* gauge;
    std::chrono::steady_clock::time_point updated;
  };
  std::mutex workers_mu_;
  std::map<std::string, WorkerSeries> workers_;  // GUARDED_BY(workers_mu_)
  prometheus::Family<prometheus::Histogram>& grpc_;
  prometheus::Histogram& scheduler_cycle_;
  prometheus::Family<prometheus::Counter>& assigned_;
  prometheus::Family<prometheus::Counter>& kafka_errors_;
  prometheus::Gauge& outbox_lag_;
  prometheus::Gauge& outbox_oldest_age_;
  prometheus::Gauge& outbox_stalled_;
  prometheus::Gauge& outbox_waiting_tx_;
  prometheus::Gauge& outbox_blocking_age_;
  prometheus::Family<prometheus::Histogram>& db_;
  prometheus::Family<prometheus::Counter>& db_retries_;
  prometheus::Family<prometheus::Histogram>& redis_;
  prometheus::Family<prometheus::Histogram>& submit_to_start_;
  prometheus::Family<prometheus::Counter>& lease_expired_;
  prometheus::Family<prometheus::Gauge>& component_up_;
  prometheus::Family<prometheus::Counter>& retention_deleted_;
  prometheus::Gauge& retention_run_seconds_;
  prometheus::Gauge& retention_held_back_;
};

}  // namespace jq::server
