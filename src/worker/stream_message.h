// What jq-worker does with one message on its job stream (StreamJobs): a job to run, a newer
// attempt of one it runs, or a control message. Pure and thread-safe: the agent copies the
// fields out of the jq.JobAssignment, looks up what it holds, and acts on the answer, so that
// every message a server can send is decided in one place that is unit-tested and fuzzed
// (fuzz/worker_stream_fuzz.cpp).
#pragma once

#include <optional>
#include <string>

namespace jq::worker {

// jq.ControlType's values (worker_service.proto; agent.cpp checks that they agree).
enum class ControlType {
  kUnspecified = 0,
  kCancelJob = 1,
  kDrain = 2,
  kShutdown = 3,
  kResume = 4,
  kShutdownNow = 5,
};

// The fields of a jq.JobAssignment the decision reads.
struct StreamMessage {
  std::string job_id;
  int attempt = 0;
  bool has_control = false;
  int control_type = 0;  // a jq.ControlType, or any other number a newer server might send
  std::string control_job_id;
};

struct StreamAction {
  enum class Kind {
    kStart,    // a job this worker does not run: run it
    kReplace,  // a newer attempt of a job it still runs (that lease is gone): stop it and
               // run this one once it has ended
    kIgnore,   // nothing to do; `why` says why, for the log
    kCancel,   // stop job_id (if it runs here)
    kDrain,    // the server sends nothing until kResume; the worker stays up
    kResume,
    kShutdown,     // finish the running jobs within the grace, deregister, exit
    kShutdownNow,  // kill the running jobs, deregister, exit
  };
  Kind kind = Kind::kIgnore;
  std::string job_id;  // kStart, kReplace, kCancel; kIgnore: the message's, if it had one
  std::string why;     // kIgnore
};

// held_attempt: the attempt of m.job_id this worker runs, if it runs one. killing_jobs: a
// shutdown --now is under way; a new job is then not started (the deregistration returns it
// to the queue without using a retry). A graceful stop (SIGTERM, shutdown) still starts a job
// that arrives, like the running ones it gets the grace. A message with a job_id is an
// assignment, even with a control set (the proto sends control messages with job_id empty);
// one with neither is ignored.
StreamAction DecideStreamMessage(const StreamMessage& m, std::optional<int> held_attempt,
                                 bool killing_jobs);

}  // namespace jq::worker
