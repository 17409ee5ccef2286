#include "bench/processes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace jq::bench {
namespace {

// Every live child, for KillAllChildren() from a signal handler: 0 = free slot.
constexpr int kMaxChildren = 256;
std::atomic<pid_t> g_children[kMaxChildren];

void Track(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
}

void Untrack(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

}  // namespace

void KillAllChildren() {
  for (auto& slot : g_children) {
    const pid_t pid = slot.load();
    if (pid > 0) ::kill(pid, SIGTERM);
  }
}

bool ChildProcesses::Spawn(const std::string& path, const std::map<std::string, std::string>& env,
                           std::string* error) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string::npos || kv.rfind("JQ_", 0) == 0) continue;
    merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> strings;
  for (const auto& [k, v] : merged) strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string arg0 = path;
  char* argv[] = {arg0.data(), nullptr};

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, 2, 1);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, path.c_str(), &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    *error = "cannot start " + path + ": " + std::strerror(rc);
    return false;
  }
  pids_.push_back(pid);
  reaped_.push_back(false);
  Track(pid);
  return true;
}

std::string ChildProcesses::Exited() {
  for (std::size_t i = 0; i < pids_.size(); ++i) {
    if (reaped_[i]) continue;
    int st = 0;
    if (waitpid(pids_[i], &st, WNOHANG) == pids_[i]) {
      reaped_[i] = true;
      Untrack(pids_[i]);
      std::ostringstream out;
      out << "jq-worker (pid " << pids_[i] << ") ";
      if (WIFEXITED(st)) {
        out << "exited with status " << WEXITSTATUS(st);
      } else {
        out << "was killed by signal " << WTERMSIG(st);
      }
      return out.str();
    }
  }
  return "";
}

void ChildProcesses::StopAll(std::chrono::milliseconds grace) {
  for (std::size_t i = 0; i < pids_.size(); ++i) {
    if (!reaped_[i]) ::kill(pids_[i], SIGTERM);
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (;;) {
    bool all = true;
    for (std::size_t i = 0; i < pids_.size(); ++i) {
      if (reaped_[i]) continue;
      int st = 0;
      if (waitpid(pids_[i], &st, WNOHANG) == pids_[i]) {
        reaped_[i] = true;
        Untrack(pids_[i]);
      } else {
        all = false;
      }
    }
    if (all) return;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (std::size_t i = 0; i < pids_.size(); ++i) {
    if (reaped_[i]) continue;
    ::kill(pids_[i], SIGKILL);
    waitpid(pids_[i], nullptr, 0);
    reaped_[i] = true;
    Untrack(pids_[i]);
  }
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string SelfDirectory() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return exe.parent_path().string();
}

bool ReadProcStatus(int pid, int* threads, double* rss_mb) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return false;
  bool got_threads = false, got_rss = false;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "Threads:") {
      got_threads = static_cast<bool>(fields >> *threads);
    } else if (key == "VmRSS:") {
      long long kb = 0;
      got_rss = static_cast<bool>(fields >> kb);
      *rss_mb = static_cast<double>(kb) / 1024.0;
    }
  }
  return got_threads && got_rss;
}

}  // namespace jq::bench
