#include "telemetry/log_context.h"

namespace jq::telemetry {
namespace {
thread_local LogContext current;
}

const LogContext& CurrentLogContext() {
  return current;
}

ScopedLogContext::ScopedLogContext() : saved_(current) {}
ScopedLogContext::~ScopedLogContext() {
  current = std::move(saved_);
}

ScopedLogContext& ScopedLogContext::request_id(std::string v) {
  current.request_id = std::move(v);
  return *this;
}
ScopedLogContext& ScopedLogContext::trace_id(std::string v) {
  current.trace_id = std::move(v);
  return *this;
}
ScopedLogContext& ScopedLogContext::job_id(std::string v) {
  current.job_id = std::move(v);
  return *this;
}
ScopedLogContext& ScopedLogContext::worker_id(std::string v) {
  current.worker_id = std::move(v);
  return *this;
}
ScopedLogContext& ScopedLogContext::queue(std::string v) {
  current.queue = std::move(v);
  return *this;
}

}  // namespace jq::telemetry
