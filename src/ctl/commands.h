// jq-ctl's commands: each builds a request, calls jq-server and prints the reply (SPEC §10).
// Every command returns the process exit code (ctl/errors.h) and writes errors as one line on
// the session's error stream. Calls block; streams (job watch, submit --wait) block until the
// job is final.
#pragma once

#include <grpcpp/grpcpp.h>

#include <iosfwd>
#include <memory>
#include <string>

#include "admin_service.grpc.pb.h"
#include "core/trace.h"
#include "ctl/output.h"
#include "job_service.grpc.pb.h"

namespace jq::ctl {

// The options before the command.
struct GlobalOptions {
  std::string server_addr = "127.0.0.1:50051";
  std::string output = "table";
  double timeout_seconds = 10;  // deadline of each unary call
  std::string api_key;          // sent as "authorization: Bearer <key>" when set
  std::string tls_ca;           // PEM files; TLS is used when any is set
  std::string tls_cert;
  std::string tls_key;
};

// One channel to jq-server and where output goes. Not thread-safe.
class Session {
 public:
  Session(GlobalOptions options, std::ostream& out, std::ostream& err);

  // Creates the channel; false (with the error printed) when the TLS files cannot be read.
  bool Connect();

  // A context carrying the API key, and the --timeout deadline unless `deadline` is false
  // (streams that last as long as a job).
  std::unique_ptr<grpc::ClientContext> NewContext(bool deadline = true) const;

  jq::JobService::Stub& jobs() { return *jobs_; }
  jq::AdminService::Stub& admin() { return *admin_; }
  OutputFormat format() const { return format_; }
  std::ostream& out() { return out_; }

  // Prints the error line for a failed call and returns its exit code.
  int Fail(std::string_view what, const grpc::Status& status);
  // Prints "jq-ctl: <what>: <message>".
  void PrintError(std::string_view what, std::string_view message);
  // PrintError, then returns the usage exit code.
  int UsageError(std::string_view what, std::string_view message);

 private:
  GlobalOptions options_;
  OutputFormat format_ = OutputFormat::kTable;
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<jq::JobService::Stub> jobs_;
  std::unique_ptr<jq::AdminService::Stub> admin_;
  TraceParent trace_;  // this invocation's span, sent with every call
};

// A flag's value plus whether it was given.
struct IntFlag {
  int value = 0;
  bool set = false;
};

struct SubmitArgs {
  std::string queue;
  std::string payload;
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
};

struct CreateQueueArgs {
  std::string name;
  IntFlag max_retries, ttl, timeout, concurrency, backoff_base_ms, backoff_max_ms;
};

int SystemStatus(Session& s);

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
int WorkerShutdown(Session& s, const std::string& worker_id);

}  // namespace jq::ctl
