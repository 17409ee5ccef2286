// Worker control messages between replicas: a replica that cancels a running job, or drains,
// resumes or shuts down a worker, publishes one on the jq_control channel (PostgreSQL
// NOTIFY); the replica holding that worker's stream delivers it (ApplyControl).
// Wire form (stable across versions): "cancel <job_id> <worker_id>", "drain <worker_id>",
// "resume <worker_id>", "shutdown <worker_id>", "shutdown <worker_id> now". Ids contain no
// spaces (the services validate them). A replica that does not know a form ignores it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/job_store.h"

namespace jq::server {

class Dispatcher;
class WorkerSession;

struct ControlMessage {
  enum class Kind { kCancel, kDrain, kResume, kShutdown };
  Kind kind = Kind::kCancel;
  std::string worker_id;
  std::string job_id;  // kCancel only
  bool now = false;    // kShutdown only: kill the running jobs rather than wait for them

  static ControlMessage Cancel(std::string job_id, std::string worker_id) {
    return {Kind::kCancel, std::move(worker_id), std::move(job_id)};
  }
  static ControlMessage Drain(std::string worker_id) {
    return {Kind::kDrain, std::move(worker_id), {}};
  }
  static ControlMessage Resume(std::string worker_id) {
    return {Kind::kResume, std::move(worker_id), {}};
  }
  static ControlMessage Shutdown(std::string worker_id, bool now = false) {
    return {Kind::kShutdown, std::move(worker_id), {}, now};
  }
};

std::string EncodeControl(const ControlMessage& m);
// nullopt for anything that is not exactly one of the forms above.
std::optional<ControlMessage> ParseControl(std::string_view payload);

// What a message does to the worker's session on this replica. Drain and shutdown stop
// assignments (FreeSlots 0), resume restarts them; a jq-worker is told on its stream (a drain
// or a resume only when it changes something, so a message delivered twice — by the replica
// that served the request and by the NOTIFY — is sent once). A seed worker understands no
// control message: a shutdown ends its stream instead, which makes it finish its jobs and
// exit, as the seed's server did. Returns whether free slots may have appeared (wake the
// dispatcher). Thread-safe as WorkerSession is.
bool ApplyControl(WorkerSession& session, const ControlMessage& m);

// After the LISTEN connection came back (a NOTIFY sent meanwhile is lost): each session on
// this replica gets the drain, resume or shutdown its worker's row holds now, sent only where
// it changes something. Returns whether free slots may have appeared.
bool ResyncControl(JobStore& store, Dispatcher& dispatcher);

}  // namespace jq::server
