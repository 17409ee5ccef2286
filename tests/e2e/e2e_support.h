// End-to-end harness: real jq-server / jq-worker processes on a private PostgreSQL, driven
// through gRPC stubs and through the jq-ctl binary. Every process started here is killed when
// the test ends (and the servers' watchdog covers a crashed test binary).
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "admin_service.grpc.pb.h"
#include "job_service.grpc.pb.h"
#include "worker_service.grpc.pb.h"

namespace jq::testing {

// A child process in its own process group, output to a log file.
class Process {
 public:
  Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
          std::string log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int sig);  // to the whole process group
  // Waits up to timeout for exit; returns the exit status (or -signal), nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  void Kill();  // SIGKILL and reap
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string log_path_;
};

// Every stack's servers run with auth on and take this bootstrap admin key
// (JQ_AUTH_BOOTSTRAP_KEY); the harness's stubs, jq-ctl runs and workers send it unless a test
// says otherwise (tests/e2e/auth_e2etest.cpp makes keys of its own).
inline constexpr const char* kTestAdminKey = "e2e-bootstrap-admin-key-0123456789abcdef";

// A channel to addr whose calls carry `api_key` as a bearer token (none when empty).
std::shared_ptr<grpc::Channel> TestChannel(const std::string& addr,
                                           const std::string& api_key = kTestAdminKey);

int FreePort();
bool WaitForPort(int port, std::chrono::milliseconds timeout);

struct CtlResult {
  int exit_code;
  std::string out;
  std::string err;
};

// A database, and the servers and workers started on it.
class Stack {
 public:
  struct ServerOptions {
    std::map<std::string, std::string> env;  // extra JQ_* settings
    std::string listen_host = "127.0.0.1";   // 0.0.0.0: reachable from a network namespace
  };
  struct WorkerOptions {
    std::string id;
    int concurrency = 4;
    std::vector<std::string> queues;
    int server = 0;  // index of the server to connect to
    std::map<std::string, std::string> env;
    std::vector<std::string> wrapper;  // runs jq-worker under it (e.g. ip netns exec NS)
    std::string server_addr;           // instead of server's loopback address
  };

  Stack();
  ~Stack();

  // Settings that keep tests quick: short leases, heartbeats and worker timeouts.
  static std::map<std::string, std::string> FastTimings();

  int StartServer();  // returns its index
  int StartServer(ServerOptions options);
  Process& server(int i) { return *servers_.at(i).process; }
  std::string server_addr(int i) const { return servers_.at(i).addr; }
  int server_port(int i) const { return servers_.at(i).port; }
  void RestartServer(int i);  // same port, after it was killed

  Process& StartWorker(WorkerOptions options);

  // Runs jq-ctl --server-addr <server's address> args...; server -1 passes no address.
  // JQ_API_KEY is api_key (kTestAdminKey unless given; "" sends none).
  CtlResult Ctl(const std::vector<std::string>& args, int server = 0,
                const std::string& api_key = kTestAdminKey);

  std::unique_ptr<jq::JobService::Stub> Jobs(int server = 0);
  std::unique_ptr<jq::AdminService::Stub> Admin(int server = 0);
  std::unique_ptr<jq::WorkerService::Stub> Workers(int server = 0);

  // Submits {"command": argv} to queue; returns the job id (fails the test on error).
  std::string Submit(const std::vector<std::string>& argv, const std::string& queue = "default",
                     std::function<void(jq::SubmitJobRequest&)> adjust = nullptr);
  jq::Job Get(const std::string& job_id);
  // Polls until the job reaches status, or fails the test after timeout.
  jq::Job WaitFor(const std::string& job_id, jq::JobStatus status,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::vector<std::string> Reasons(const std::string& job_id);
  // Every attempt's output, oldest first (fails the test on error).
  std::vector<jq::JobOutput> Outputs(const std::string& job_id);

  const std::string& conninfo() const { return conninfo_; }
  const std::string& dir() const { return dir_; }

 private:
  struct Server {
    std::unique_ptr<Process> process;
    std::string addr;
    int port;
    ServerOptions options;
    int starts = 0;
  };
  void Launch(Server& s, int index);

  std::string conninfo_;
  std::string dir_;
  std::vector<Server> servers_;
  std::vector<std::unique_ptr<Process>> workers_;
};

}  // namespace jq::testing
