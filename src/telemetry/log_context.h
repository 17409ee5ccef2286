// Per-thread log context: the fields every log line carries beside its message (SPEC §11:
// job_id, worker_id, queue, request_id, trace_id). A ScopedLogContext sets fields for the
// current thread until it goes out of scope; gRPC sync handlers and job threads each run on
// one thread, so a scope at the top of a handler covers everything it logs.
#pragma once

#include <string>

namespace jq::telemetry {

struct LogContext {
  std::string request_id;
  std::string trace_id;
  std::string job_id;
  std::string worker_id;
  std::string queue;
};

// The current thread's context.
const LogContext& CurrentLogContext();

class ScopedLogContext {
 public:
  ScopedLogContext();  // starts from the enclosing context
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

  ScopedLogContext& request_id(std::string v);
  ScopedLogContext& trace_id(std::string v);
  ScopedLogContext& job_id(std::string v);
  ScopedLogContext& worker_id(std::string v);
  ScopedLogContext& queue(std::string v);

 private:
  LogContext saved_;
};

}  // namespace jq::telemetry
