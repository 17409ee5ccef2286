// Worker control messages between replicas: a replica that cancels a running job, or drains
// or shuts down a worker, publishes one on the jq_control channel (PostgreSQL NOTIFY); the
// replica holding that worker's stream delivers it. Encoded and parsed here only.
// Wire form (stable across versions): "cancel <job_id> <worker_id>", "drain <worker_id>",
// "shutdown <worker_id>". Ids contain no spaces (the services validate them).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace jq::server {

struct ControlMessage {
  enum class Kind { kCancel, kDrain, kShutdown };
  Kind kind = Kind::kCancel;
  std::string worker_id;
  std::string job_id;  // kCancel only

  static ControlMessage Cancel(std::string job_id, std::string worker_id) {
    return {Kind::kCancel, std::move(worker_id), std::move(job_id)};
  }
  static ControlMessage Drain(std::string worker_id) {
    return {Kind::kDrain, std::move(worker_id), {}};
  }
  static ControlMessage Shutdown(std::string worker_id) {
    return {Kind::kShutdown, std::move(worker_id), {}};
  }
};

std::string EncodeControl(const ControlMessage& m);
// nullopt for anything that is not exactly one of the three forms.
std::optional<ControlMessage> ParseControl(std::string_view payload);

}  // namespace jq::server
