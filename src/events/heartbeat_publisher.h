// HeartbeatPublisher: publishes worker heartbeats to the worker.heartbeat topic (SPEC §8),
// key worker_id, value jq.WorkerHeartbeatMessage. Best effort by design: a heartbeat is a
// liveness signal, not a state change, so it does not go through the outbox; Publish() never
// blocks, and messages are dropped (and counted) when Kafka is unreachable or the local queue
// is full. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "events/kafka_client.h"

namespace jq::events {

class HeartbeatPublisher {
 public:
  // The same connection and security settings as the outbox relay (events/kafka_client.h).
  static Result<std::unique_ptr<HeartbeatPublisher>> Create(const KafkaClientConfig& client);
  ~HeartbeatPublisher();
  HeartbeatPublisher(const HeartbeatPublisher&) = delete;
  HeartbeatPublisher& operator=(const HeartbeatPublisher&) = delete;

  void Publish(const std::string& worker_id, const std::string& server_id, int active_job_count,
               const std::vector<std::string>& running_job_ids);
  std::uint64_t errors_total() const;

 private:
  struct Impl;
  explicit HeartbeatPublisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jq::events
