#include "e2e/e2e_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "rpc/bearer_channel.h"
#include "support/test_servers.h"

extern char** environ;

namespace jq::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Process::Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
                 std::string log_path)
    : log_path_(std::move(log_path)) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    // The harness decides every jq setting; nothing leaks in from the caller's shell.
    if (kv.rfind("JQ_", 0) == 0) continue;
    merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> env_strings;
  for (auto& [k, v] : merged) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  const int rc = posix_spawn(&pid_, args[0], &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    ADD_FAILURE() << "spawn " << argv[0] << " failed: " << rc;
    pid_ = -1;
  }
}

Process::~Process() {
  Kill();
}

bool Process::running() {
  if (pid_ <= 0 || status_) return false;
  return !Wait(std::chrono::milliseconds(0)).has_value();
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(-pid_, sig);
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    const pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Process::Kill() {
  if (pid_ <= 0 || status_) return;
  ::kill(-pid_, SIGKILL);
  Wait(std::chrono::seconds(10));
}

std::string Process::Log() const {
  return ReadFile(log_path_);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool WaitForPort(int port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

Stack::Stack() {
  conninfo_ = TestServers::Get().CreateDatabase();
  dir_ = TestServers::Get().dir() + "/" + conninfo_.substr(conninfo_.rfind('=') + 1);
  std::filesystem::create_directories(dir_);
}

Stack::~Stack() {
  for (auto& w : workers_) w->Kill();
  for (auto& s : servers_) {
    if (s.process) s.process->Kill();
  }
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info != nullptr && info->result()->Failed()) {
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      std::cerr << "==== " << entry.path().filename().string() << " (last 40 lines)\n";
      std::istringstream lines(ReadFile(entry.path().string()));
      std::vector<std::string> all;
      for (std::string l; std::getline(lines, l);) all.push_back(l);
      for (std::size_t i = all.size() > 40 ? all.size() - 40 : 0; i < all.size(); ++i) {
        std::cerr << all[i] << "\n";
      }
    }
  }
}

std::map<std::string, std::string> Stack::FastTimings() {
  return {{"JQ_DISPATCH_LEASE_SECONDS", "4"},
          {"JQ_REAPER_INTERVAL_MS", "200"},
          {"JQ_REAPER_WORKER_TIMEOUT_SECONDS", "4"},
          {"JQ_WORKER_HEARTBEAT_SECONDS", "1"},
          {"JQ_WORKER_KILL_GRACE_SECONDS", "1"}};
}

void Stack::Launch(Server& s, int index) {
  std::map<std::string, std::string> env = FastTimings();
  env["JQ_DB_URL"] = conninfo_;
  env["JQ_SERVER_ADDR"] = s.options.listen_host + ":" + std::to_string(s.port);
  env["JQ_METRICS_ADDR"] = "127.0.0.1:" + std::to_string(FreePort());
  env["JQ_SERVER_ID"] = "server-" + std::to_string(index);
  env["JQ_LOG_LEVEL"] = "debug";
  env["JQ_AUTH_BOOTSTRAP_KEY"] = kTestAdminKey;
  for (auto& [k, v] : s.options.env) env[k] = v;
  const std::string log = dir_ + "/server-" + std::to_string(index) + ".log";
  s.process =
      std::make_unique<Process>(std::vector<std::string>{BinaryPath("jq-server")}, env, log);
  ++s.starts;
  ASSERT_TRUE(WaitForPort(s.port, std::chrono::seconds(30)))
      << "jq-server " << index << " did not listen:\n"
      << s.process->Log();
}

int Stack::StartServer() {
  return StartServer(ServerOptions{});
}

int Stack::StartServer(ServerOptions options) {
  Server s;
  s.port = FreePort();
  s.addr = "127.0.0.1:" + std::to_string(s.port);
  s.options = std::move(options);
  servers_.push_back(std::move(s));
  const int index = static_cast<int>(servers_.size()) - 1;
  Launch(servers_.back(), index);
  return index;
}

void Stack::RestartServer(int i) {
  Launch(servers_.at(i), i);
}

Process& Stack::StartWorker(WorkerOptions o) {
  std::map<std::string, std::string> env = FastTimings();
  env["JQ_SERVER_ADDR"] = o.server_addr.empty() ? server_addr(o.server) : o.server_addr;
  env["JQ_WORKER_ID"] = o.id;
  env["JQ_WORKER_CONCURRENCY"] = std::to_string(o.concurrency);
  env["JQ_METRICS_ADDR"] = "127.0.0.1:" + std::to_string(FreePort());
  env["JQ_LOG_LEVEL"] = "debug";
  env["JQ_API_KEY"] = kTestAdminKey;
  std::string queues;
  for (const auto& q : o.queues) queues += (queues.empty() ? "" : ",") + q;
  if (!queues.empty()) env["JQ_WORKER_QUEUES"] = queues;
  for (auto& [k, v] : o.env) env[k] = v;
  std::vector<std::string> argv = o.wrapper;
  argv.push_back(BinaryPath("jq-worker"));
  workers_.push_back(
      std::make_unique<Process>(std::move(argv), env, dir_ + "/worker-" + o.id + ".log"));
  return *workers_.back();
}

CtlResult Stack::Ctl(const std::vector<std::string>& args, int server, const std::string& api_key) {
  static int n = 0;
  const std::string out = dir_ + "/ctl-" + std::to_string(++n) + ".out";
  const std::string err = dir_ + "/ctl-" + std::to_string(n) + ".err";
  std::string cmd = "env -u JQ_SERVER_ADDR -u JQ_API_KEY ";
  if (!api_key.empty()) cmd += "JQ_API_KEY='" + api_key + "' ";
  cmd += BinaryPath("jq-ctl");
  if (server >= 0) cmd += " --server-addr " + server_addr(server);
  for (const auto& a : args) {
    std::string quoted = "'";
    for (char c : a) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += " " + quoted + "'";
  }
  cmd += " >" + out + " 2>" + err;
  const int st = std::system(cmd.c_str());
  CtlResult r{WIFEXITED(st) ? WEXITSTATUS(st) : -1, ReadFile(out), ReadFile(err)};
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

// A test client reads whatever the server sends (jobs may carry payloads past gRPC's 4 MiB).
std::shared_ptr<grpc::Channel> TestChannel(const std::string& addr, const std::string& api_key) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  return rpc::CreateChannelWithKey(addr, grpc::InsecureChannelCredentials(), args, api_key);
}

std::unique_ptr<jq::JobService::Stub> Stack::Jobs(int server) {
  return jq::JobService::NewStub(TestChannel(server_addr(server)));
}
std::unique_ptr<jq::AdminService::Stub> Stack::Admin(int server) {
  return jq::AdminService::NewStub(TestChannel(server_addr(server)));
}
std::unique_ptr<jq::WorkerService::Stub> Stack::Workers(int server) {
  return jq::WorkerService::NewStub(TestChannel(server_addr(server)));
}

std::string Stack::Submit(const std::vector<std::string>& argv, const std::string& queue,
                          std::function<void(jq::SubmitJobRequest&)> adjust) {
  std::string payload = "{\"command\":[";
  for (std::size_t i = 0; i < argv.size(); ++i) {
    payload += (i ? ",\"" : "\"");
    for (char c : argv[i]) {
      if (c == '"' || c == '\\') payload += '\\';
      payload += c;
    }
    payload += "\"";
  }
  payload += "]}";
  jq::SubmitJobRequest req;
  req.set_queue_name(queue);
  req.set_payload(payload);
  if (adjust) adjust(req);
  jq::SubmitJobResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto st = Jobs()->SubmitJob(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp.job_id();
}

jq::Job Stack::Get(const std::string& job_id) {
  jq::GetJobStatusRequest req;
  req.set_job_id(job_id);
  jq::GetJobStatusResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto st = Jobs()->GetJobStatus(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp.job();
}

jq::Job Stack::WaitFor(const std::string& job_id, jq::JobStatus status,
                       std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  jq::Job j;
  while (std::chrono::steady_clock::now() < deadline) {
    j = Get(job_id);
    if (j.status() == status) return j;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "job " << job_id << " did not reach " << jq::JobStatus_Name(status) << "; it is "
                << jq::JobStatus_Name(j.status()) << " (" << j.error_message() << ")";
  return j;
}

std::vector<std::string> Stack::Reasons(const std::string& job_id) {
  jq::GetJobLogsRequest req;
  req.set_job_id(job_id);
  jq::GetJobLogsResponse resp;
  grpc::ClientContext ctx;
  auto st = Jobs()->GetJobLogs(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  std::vector<std::string> out;
  for (const auto& e : resp.events()) out.push_back(e.reason());
  return out;
}

std::vector<jq::JobOutput> Stack::Outputs(const std::string& job_id) {
  jq::GetJobOutputRequest req;
  req.set_job_id(job_id);
  jq::GetJobOutputResponse resp;
  grpc::ClientContext ctx;
  auto st = Jobs()->GetJobOutput(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return {resp.outputs().begin(), resp.outputs().end()};
}

}  // namespace jq::testing
