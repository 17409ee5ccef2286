#include "server/server_metrics.h"

namespace jq::server {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// Fine at the low end: dispatch and queries are sub-millisecond to milliseconds.
const Histogram::BucketBoundaries& FastBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return kBuckets;
}
const Histogram::BucketBoundaries& JobBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {0.005, 0.01, 0.05, 0.1, 0.5, 1,   5,
                                                       10,    30,   60,   300, 900, 3600};
  return kBuckets;
}

}  // namespace

ServerMetrics::ServerMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      queue_depth_(BuildGauge()
                       .Name("jq_job_queue_depth")
                       .Help("Jobs per queue and status.")
                       .Register(*registry_)),
      processing_(BuildHistogram()
                      .Name("jq_job_processing_duration_seconds")
                      .Help("Run time of finished attempts, started to completed.")
                      .Register(*registry_)),
      job_total_(BuildCounter()
                     .Name("jq_job_total")
                     .Help("Jobs submitted (PENDING) and attempts ending DONE, FAILED or "
                           "DEAD_LETTERED, seen by this replica.")
                     .Register(*registry_)),
      worker_active_(BuildGauge()
                         .Name("jq_worker_active_count")
                         .Help("Workers ONLINE.")
                         .Register(*registry_)
                         .Add({})),
      worker_concurrency_(BuildGauge()
                              .Name("jq_worker_job_concurrency")
                              .Help("Jobs running on each worker (from its heartbeats).")
                              .Register(*registry_)),
      grpc_(BuildHistogram()
                .Name("jq_grpc_request_duration_seconds")
                .Help("gRPC requests handled, by method and status code.")
                .Register(*registry_)),
      scheduler_cycle_(BuildHistogram()
                           .Name("jq_scheduler_cycle_duration_seconds")
                           .Help("One dispatcher pass over the workers with free slots.")
                           .Register(*registry_)
                           .Add({}, FastBuckets())),
      assigned_(BuildCounter()
                    .Name("jq_scheduler_jobs_assigned_total")
                    .Help("Jobs assigned to workers by this replica.")
                    .Register(*registry_)),
      kafka_errors_(BuildCounter()
                        .Name("jq_kafka_publish_errors_total")
                        .Help("Kafka publish failures by topic.")
                        .Register(*registry_)),
      outbox_lag_(BuildGauge()
                      .Name("jq_outbox_lag_events")
                      .Help("job_events rows not yet published to Kafka.")
                      .Register(*registry_)
                      .Add({})),
      outbox_oldest_age_(BuildGauge()
                             .Name("jq_outbox_oldest_unpublished_age_seconds")
                             .Help("How long the oldest job event not yet published to Kafka "
                                   "has waited (database clock); 0 when none waits.")
                             .Register(*registry_)
                             .Add({})),
      outbox_stalled_(BuildGauge()
                          .Name("jq_outbox_stalled")
                          .Help("1 when events wait and the outbox cursor has not moved for "
                                "kafka.outbox_stall_seconds.")
                          .Register(*registry_)
                          .Add({})),
      outbox_waiting_tx_(BuildGauge()
                             .Name("jq_outbox_waiting_for_transaction")
                             .Help("1 when the relay is held at a missing event id until older "
                                   "open transactions end.")
                             .Register(*registry_)
                             .Add({})),
      outbox_blocking_age_(BuildGauge()
                               .Name("jq_outbox_blocking_transaction_age_seconds")
                               .Help("Age of the oldest open transaction holding the relay "
                                     "back; 0 when none, or hidden from jq's role.")
                               .Register(*registry_)
                               .Add({})),
      db_(BuildHistogram()
              .Name("jq_db_query_duration_seconds")
              .Help("Store operations (one transaction each).")
              .Register(*registry_)),
      db_retries_(BuildCounter()
                      .Name("jq_db_transaction_retries_total")
                      .Help("Store operations run again, by reason: deadlock, serialization, "
                            "connection.")
                      .Register(*registry_)),
      redis_(BuildHistogram()
                 .Name("jq_redis_operation_duration_seconds")
                 .Help("Redis calls.")
                 .Register(*registry_)),
      submit_to_start_(BuildHistogram()
                           .Name("jq_submit_to_start_seconds")
                           .Help("From a job becoming runnable to its assignment to a worker.")
                           .Register(*registry_)),
      lease_expired_(BuildCounter()
                         .Name("jq_lease_expired_total")
                         .Help("Leases that expired and were returned to retry logic.")
                         .Register(*registry_)),
      component_up_(BuildGauge()
                        .Name("jq_component_up")
                        .Help("1 when a dependency (database, redis, kafka) is healthy.")
                        .Register(*registry_)),
      retention_deleted_(BuildCounter()
                             .Name("jq_retention_deleted_rows_total")
                             .Help("Rows deleted by retention, by table (jobs, job_outputs, "
                                   "job_events).")
                             .Register(*registry_)),
      retention_run_seconds_(BuildGauge()
                                 .Name("jq_retention_last_run_duration_seconds")
                                 .Help("How long this replica's last retention run took.")
                                 .Register(*registry_)
                                 .Add({})),
      retention_held_back_(BuildGauge()
                               .Name("jq_retention_held_back_jobs")
                               .Help("Finished jobs old enough to delete that the last run kept "
                                     "because their events are not yet published to Kafka "
                                     "(counted up to one batch per status).")
                               .Register(*registry_)
                               .Add({})) {}

void ServerMetrics::GrpcRequest(const std::string& method, const std::string& code,
                                double seconds) {
  grpc_.Add({{"method", method}, {"status_code", code}}, FastBuckets()).Observe(seconds);
}
void ServerMetrics::DbQuery(const std::string& query, double seconds) {
  db_.Add({{"query_name", query}}, FastBuckets()).Observe(seconds);
}
void ServerMetrics::DbRetry(const std::string& query, const std::string& reason) {
  db_retries_.Add({{"query_name", query}, {"reason", reason}}).Increment();
}
void ServerMetrics::SchedulerCycle(double seconds) {
  scheduler_cycle_.Observe(seconds);
}
void ServerMetrics::JobAssigned(const std::string& queue, double submit_to_start_seconds) {
  assigned_.Add({{"queue", queue}}).Increment();
  submit_to_start_.Add({{"queue", queue}}, FastBuckets()).Observe(submit_to_start_seconds);
}
void ServerMetrics::JobCounted(const std::string& queue, const std::string& status, double n) {
  job_total_.Add({{"queue", queue}, {"status", status}}).Increment(n);
}
void ServerMetrics::JobProcessed(const std::string& queue, double seconds) {
  processing_.Add({{"queue", queue}}, JobBuckets()).Observe(seconds);
}
void ServerMetrics::LeaseExpired(const std::string& queue, double n) {
  lease_expired_.Add({{"queue", queue}}).Increment(n);
}
void ServerMetrics::QueueDepth(const std::string& queue, const std::string& status, double value) {
  queue_depth_.Add({{"queue", queue}, {"status", status}}).Set(value);
}
void ServerMetrics::ActiveWorkers(double value) {
  worker_active_.Set(value);
}
void ServerMetrics::WorkerConcurrency(const std::string& worker_id, double value) {
  std::lock_guard lock(workers_mu_);  // Add and Remove of one series never interleave
  auto& gauge = worker_concurrency_.Add({{"worker_id", worker_id}});
  gauge.Set(value);
  workers_[worker_id] = {&gauge, std::chrono::steady_clock::now()};
}
void ServerMetrics::ForgetWorker(const std::string& worker_id) {
  std::lock_guard lock(workers_mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  worker_concurrency_.Remove(it->second.gauge);
  workers_.erase(it);
}
int ServerMetrics::ForgetSilentWorkers(std::chrono::steady_clock::duration silent_for) {
  const auto cutoff = std::chrono::steady_clock::now() - silent_for;
  std::lock_guard lock(workers_mu_);
  int n = 0;
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->second.updated < cutoff) {
      worker_concurrency_.Remove(it->second.gauge);
      it = workers_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}
void ServerMetrics::OutboxLag(double value) {
  outbox_lag_.Set(value);
}
void ServerMetrics::OutboxOldestUnpublishedAge(double seconds) {
  outbox_oldest_age_.Set(seconds);
}
void ServerMetrics::OutboxStalled(bool stalled) {
  outbox_stalled_.Set(stalled ? 1 : 0);
}
void ServerMetrics::OutboxWaitingForTransaction(bool waiting,
                                                double blocking_transaction_age_seconds) {
  outbox_waiting_tx_.Set(waiting ? 1 : 0);
  outbox_blocking_age_.Set(waiting ? blocking_transaction_age_seconds : 0);
}
void ServerMetrics::KafkaPublishErrors(const std::string& topic, double total) {
  auto& c = kafka_errors_.Add({{"topic", topic}});
  if (total > c.Value()) c.Increment(total - c.Value());
}
void ServerMetrics::RedisOperation(const std::string& operation, double seconds) {
  redis_.Add({{"operation", operation}}, FastBuckets()).Observe(seconds);
}

}  // namespace jq::server

namespace jq::server {
void ServerMetrics::ComponentUp(const std::string& component, bool up) {
  component_up_.Add({{"component", component}}).Set(up ? 1 : 0);
}
void ServerMetrics::RetentionDeleted(const std::string& table, double n) {
  retention_deleted_.Add({{"table", table}}).Increment(n);
}
void ServerMetrics::RetentionRun(double seconds, double held_back) {
  retention_run_seconds_.Set(seconds);
  retention_held_back_.Set(held_back);
}

}  // namespace jq::server
