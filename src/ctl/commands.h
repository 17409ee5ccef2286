// jq-ctl's commands: each builds a request, calls jq-server and prints the reply (SPEC §10); a
// unary command is its request plus Session::Call with the renderer of its reply (ctl/render.h).
// Every command returns the process exit code (ctl/errors.h) and writes errors as one line on
// the session's error stream. Calls block; streams (job watch, submit --wait) block until the
// job is final.
#pragma once

#include <string>

#include "ctl/session.h"

namespace jq::ctl {

// A flag's value plus whether it was given.
struct IntFlag {
  int value = 0;
  bool set = false;
};

struct SubmitArgs {
  std::string queue;
  std::string payload;  // JSON, or @FILE: the file's contents
  IntFlag priority, max_retries, ttl, timeout, delay;
  std::string run_at;
  std::string idempotency_key;
  bool wait = false;
};

struct ListJobsArgs {
  std::string queue;
  std::string status;
  int limit = 0;
  std::string page_token;
  std::string tenant;  // admin keys: only this tenant's jobs
};

struct CreateQueueArgs {
  std::string name;
  IntFlag max_retries, ttl, timeout, concurrency, backoff_base_ms, backoff_max_ms;
};

struct ApiKeyArgs {
  std::string tenant;
  std::string role = "producer";
  std::string description;
};

// A tenant's limit: a number, or "default" (reset: back to the server's limits.*).
struct LimitFlag {
  int value = 0;
  bool set = false;
  bool reset = false;
};

struct TenantArgs {
  std::string name;
  LimitFlag max_running_jobs, submit_rate, submit_burst;
};

// Exit kExitUnhealthy when the server reports the system unhealthy.
int SystemStatus(Session& s);
// Prints the version line (as --version); calls nothing.
int Version(Session& s);

int JobSubmit(Session& s, const SubmitArgs& args);
int JobStatus(Session& s, const std::string& job_id);
int JobLogs(Session& s, const std::string& job_id);
int JobOutput(Session& s, const std::string& job_id, int attempt);
int JobCancel(Session& s, const std::string& job_id);
int JobRetry(Session& s, const std::string& job_id);
int JobWatch(Session& s, const std::string& job_id);
int JobList(Session& s, const ListJobsArgs& args);

int QueueCreate(Session& s, const CreateQueueArgs& args);
int QueueDelete(Session& s, const std::string& name, bool force);
int QueueStats(Session& s, const std::string& name);
int QueueList(Session& s);
int QueuePause(Session& s, const std::string& name);
int QueueResume(Session& s, const std::string& name);

int WorkerList(Session& s);
int WorkerDrain(Session& s, const std::string& worker_id);
int WorkerResume(Session& s, const std::string& worker_id);
int WorkerShutdown(Session& s, const std::string& worker_id, bool now);

int ApiKeyCreate(Session& s, const ApiKeyArgs& args);
int ApiKeyList(Session& s, const std::string& tenant);
int ApiKeyRevoke(Session& s, const std::string& id);
int JwtRevoke(Session& s, const std::string& subject);
int JwtRevocationList(Session& s);

int TenantCreate(Session& s, const TenantArgs& args);
int TenantUpdate(Session& s, const TenantArgs& args);
int TenantList(Session& s);

}  // namespace jq::ctl
