#include "worker/exec/process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

extern char** environ;

namespace jq::exec {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// After the drain period's SIGKILL, how long to keep reading a pipe that is still open (held
// by a process that left the group) before giving up on it.
constexpr milliseconds kGiveUpAfterKill{500};
// Without a pidfd, how often Wait() checks whether the main process has exited.
constexpr milliseconds kExitPollTick{50};

std::string ErrnoText(int err) {
  return std::strerror(err);
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// A close-on-exec pipe whose ends are both >= 3, so that the file actions' dup2 onto 0-2 in
// the child cannot clobber one of them even if the worker runs with stdio closed. Returns 0 or
// an errno value.
int MakePipe(int fds[2], int extra_flags) {
  int raw[2];
  if (pipe2(raw, O_CLOEXEC | extra_flags) != 0) return errno;
  for (int& fd : raw) {
    if (fd >= 3) continue;
    const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (moved < 0) {
      const int err = errno;
      close(raw[0]);
      close(raw[1]);
      return err;
    }
    close(fd);
    fd = moved;
  }
  fds[0] = raw[0];
  fds[1] = raw[1];
  return 0;
}

// Appends output, keeping at most `cap` trailing bytes (trimmed lazily so appends stay
// amortized O(1); FinishTail does the final cut).
void AppendTail(std::string& buf, const char* data, std::size_t n, std::size_t cap, bool& cut) {
  if (n >= cap) {
    if (n > cap || !buf.empty()) cut = true;
    buf.assign(data + (n - cap), cap);
    return;
  }
  buf.append(data, n);
  if (buf.size() > 2 * cap + 65536) {
    buf.erase(0, buf.size() - cap);
    cut = true;
  }
}

void FinishTail(std::string& buf, std::size_t cap, bool& cut) {
  if (buf.size() > cap) {
    buf.erase(0, buf.size() - cap);
    cut = true;
  }
}

struct UserInfo {
  uid_t uid;
  gid_t gid;
  std::string name;
  std::string home;
};

// getpwnam_r, not getpwnam: jobs are started from several threads at once.
std::optional<UserInfo> LookUpUser(const std::string& name, std::string& error) {
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
  for (;;) {
    passwd pw{};
    passwd* found = nullptr;
    const int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc != 0) {
      error = "run-as user " + name + ": " + ErrnoText(rc);
      return std::nullopt;
    }
    if (found == nullptr) {
      error = "run-as user " + name + ": no such user";
      return std::nullopt;
    }
    return UserInfo{pw.pw_uid, pw.pw_gid, pw.pw_name, pw.pw_dir != nullptr ? pw.pw_dir : "/"};
  }
}

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// Finds `name` the way execvp would, but in the JOB's PATH (posix_spawnp would search the
// worker's) and before spawning, so that "command not found" is also reported when the
// command runs under setpriv. Relative PATH entries are relative to the job's cwd. Returns
// the path to exec, or sets `error`.
std::optional<std::string> ResolveCommand(const std::string& name, const std::string& path_env,
                                          const std::string& cwd, std::string& error) {
  if (name.find('/') != std::string::npos) return name;  // exec'd as given, like execvp
  bool saw_unexecutable = false;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = std::min(path_env.find(':', begin), path_env.size());
    std::string dir = path_env.substr(begin, end - begin);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    std::string check = candidate;
    if (candidate[0] != '/' && !cwd.empty()) check = cwd + "/" + candidate;
    if (IsExecutableFile(check)) return candidate;
    struct stat st {};
    if (stat(check.c_str(), &st) == 0 && S_ISREG(st.st_mode)) saw_unexecutable = true;
    if (end >= path_env.size()) break;
    begin = end + 1;
  }
  error = saw_unexecutable ? "cannot run " + name + ": " + ErrnoText(EACCES)
                           : "command not found: " + name;
  return std::nullopt;
}

// RAII for the spawn attribute objects, so every early return destroys them.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

std::shared_ptr<RunningProcess> RunningProcess::Start(const JobSpec& spec,
                                                      const RunOptions& options) {
  std::shared_ptr<RunningProcess> p(new RunningProcess());
  p->started_at_ = Clock::now();
  p->cap_ = options.output_cap_bytes;
  p->kill_grace_ = std::max(options.kill_grace, milliseconds(0));
  p->drain_after_exit_ = std::max(options.drain_after_exit, milliseconds(0));
  p->timeout_ = spec.timeout_seconds > 0 ? std::chrono::seconds(spec.timeout_seconds)
                                         : std::max(options.default_timeout, milliseconds(0));
  std::string& error = p->result_.spawn_error;

  p->cancel_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->cancel_fd_ < 0) {
    error = "eventfd: " + ErrnoText(errno);
    return p;
  }

  if (spec.argv.empty() || spec.argv[0].empty()) {
    error = "empty command";
    return p;
  }
  // posix_spawnp reports a failed chdir with the same ENOENT as a missing command; check the
  // directory first so the message says which it was.
  if (!spec.cwd.empty()) {
    struct stat st {};
    if (stat(spec.cwd.c_str(), &st) != 0) {
      error = "cwd " + spec.cwd + ": " + ErrnoText(errno);
      return p;
    }
    if (!S_ISDIR(st.st_mode)) {
      error = "cwd " + spec.cwd + ": " + ErrnoText(ENOTDIR);
      return p;
    }
  }

  // The environment, in increasing precedence (see RunOptions::extra_env): the settings over
  // the worker's own, whose entries are passed as they are (no copy of each per job).
  std::map<std::string_view, std::string_view> over;
  std::optional<UserInfo> user;
  if (!options.run_as_user.empty()) {
    user = LookUpUser(options.run_as_user, error);
    if (!user) return p;
    over["HOME"] = user->home;
    over["USER"] = user->name;
    over["LOGNAME"] = user->name;
  }
  for (const auto& [k, v] : spec.env) over[k] = v;
  for (const auto& [k, v] : options.extra_env) over[k] = v;
  std::vector<char*> envp;
  std::optional<std::string_view> inherited_path;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0 || kv.starts_with("JQ_")) continue;
    const std::string_view key = kv.substr(0, eq);
    if (over.contains(key)) continue;
    if (key == "PATH" && !inherited_path) inherited_path = kv.substr(eq + 1);
    envp.push_back(*e);
  }
  std::vector<std::string> env_strings;
  env_strings.reserve(over.size());
  for (const auto& [k, v] : over) {
    std::string kv;
    kv.reserve(k.size() + 1 + v.size());
    kv.append(k).append("=").append(v);
    env_strings.push_back(std::move(kv));
  }
  for (auto& kv : env_strings) envp.push_back(kv.data());
  envp.push_back(nullptr);

  const auto path_it = over.find("PATH");
  // glibc's execvp default when PATH is unset.
  const std::string path_env(path_it != over.end() ? path_it->second
                                                   : inherited_path.value_or("/bin:/usr/bin"));
  const auto command = ResolveCommand(spec.argv[0], path_env, spec.cwd, error);
  if (!command) return p;

  std::vector<std::string> argv;
  std::string exec_path = *command;
  if (user) {
    const char* worker_path = getenv("PATH");
    std::string setpriv_error;
    const auto setpriv = ResolveCommand(
        "setpriv", worker_path != nullptr ? worker_path : "/usr/bin:/bin", "", setpriv_error);
    if (!setpriv) {
      error = "run-as user " + user->name + " needs setpriv: " + setpriv_error;
      return p;
    }
    exec_path = *setpriv;
    argv = {"setpriv",
            "--reuid=" + std::to_string(user->uid),
            "--regid=" + std::to_string(user->gid),
            "--init-groups",
            "--",
            *command};
    argv.insert(argv.end(), spec.argv.begin() + 1, spec.argv.end());
  } else {
    argv = spec.argv;
  }

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  if (const int err = MakePipe(out_pipe, 0); err != 0) {
    error = "pipe: " + ErrnoText(err);
    return p;
  }
  if (const int err = MakePipe(err_pipe, 0); err != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    error = "pipe: " + ErrnoText(err);
    return p;
  }

  SpawnSetup setup;
  int rc = posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&setup.actions, out_pipe[1], 1);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&setup.actions, err_pipe[1], 2);
  if (rc == 0 && !spec.cwd.empty()) {
    rc = posix_spawn_file_actions_addchdir_np(&setup.actions, spec.cwd.c_str());
  }
  // Own process group (pgid = pid) so the whole job can be signalled; an empty signal mask
  // and default dispositions for every signal, since the worker may block SIGTERM for a
  // sigwait thread or ignore SIGPIPE, and ignored signals survive exec.
  sigset_t empty_mask;
  sigset_t all_signals;
  sigemptyset(&empty_mask);
  sigfillset(&all_signals);
  if (rc == 0) rc = posix_spawnattr_setpgroup(&setup.attr, 0);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&setup.attr, &empty_mask);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&setup.attr, &all_signals);
  if (rc == 0) {
    rc = posix_spawnattr_setflags(
        &setup.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  pid_t pid = -1;
  const bool setup_ok = rc == 0;
  if (setup_ok) {
    rc = posix_spawnp(&pid, exec_path.c_str(), &setup.actions, &setup.attr, args.data(),
                      envp.data());
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    if (!setup_ok) {
      error = "posix_spawn setup: " + ErrnoText(rc);
    } else if (rc == ENOENT) {
      error = "command not found: " + spec.argv[0];
    } else {
      error = "cannot run " + spec.argv[0] + ": " + ErrnoText(rc);
    }
    return p;
  }
  p->pid_ = pid;
  p->out_fd_ = out_pipe[0];
  p->err_fd_ = err_pipe[0];
  return p;
}

RunningProcess::~RunningProcess() {
  if (pid_ > 0 && !waited_) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  CloseFd(out_fd_);
  CloseFd(err_fd_);
  CloseFd(cancel_fd_);
}

void RunningProcess::Cancel() {
  if (cancel_requested_.exchange(true)) return;
  if (cancel_fd_ >= 0) {
    const std::uint64_t one = 1;
    (void)!write(cancel_fd_, &one, sizeof one);  // cannot block: the counter is far from full
  }
}

RunResult RunningProcess::Wait() {
  if (waited_) return result_;
  waited_ = true;
  if (pid_ <= 0) {
    result_.cancelled = cancel_requested_.load();
    result_.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started_at_);
    return result_;
  }

  constexpr auto kNever = Clock::time_point::max();
  const auto timeout_at = timeout_.count() > 0 ? started_at_ + timeout_ : kNever;
  auto kill_at = kNever;    // SIGKILL due (set by Terminate)
  auto exited_at = kNever;  // the main process exited
  auto killed_at = kNever;  // the group was SIGKILLed
  bool terminating = false;
  bool exited = false;
  bool status_lost = false;  // someone else reaped it (SIGCHLD ignored?)

  // Signal the main process directly too: it leads the group, but may have moved itself out.
  auto signal_job = [&](int sig) {
    if (status_lost) return;  // the pid may already belong to another process
    kill(-pid_, sig);
    kill(pid_, sig);
  };
  auto terminate = [&](Clock::time_point now) {
    if (terminating) return;
    terminating = true;
    signal_job(SIGTERM);
    kill_at = now + kill_grace_;
  };
  auto kill_group = [&](Clock::time_point now) {
    if (killed_at != kNever) return;
    signal_job(SIGKILL);
    killed_at = now;
  };

  // A pidfd is readable once the process exits, so exits wake poll() at once. Without one
  // (old kernel, seccomp) a short tick notices them.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  char buf[65536];

  for (;;) {
    const auto now = Clock::now();
    if (!exited) {
      // WNOWAIT: the unreaped main process keeps its pid, and so the group id, from being
      // reused until the group is killed and it is reaped at the end.
      siginfo_t info{};
      if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0) {
        if (info.si_pid == pid_) exited = true;
      } else if (errno == ECHILD) {
        exited = true;
        status_lost = true;
      }
      if (exited) {
        exited_at = now;
        CloseFd(pidfd);
      }
    }
    if (!exited && !terminating && now >= timeout_at) {
      result_.timed_out = true;
      terminate(now);
    }
    if (terminating && now >= kill_at) kill_group(now);

    auto next = kNever;
    if (exited) {
      if (out_fd_ < 0 && err_fd_ < 0) break;
      const auto drain_until = exited_at + drain_after_exit_;
      if (now >= drain_until && killed_at == kNever) {
        result_.leftovers_killed = true;
        kill_group(now);
      }
      if (killed_at == kNever) {
        next = drain_until;
      } else {
        const auto give_up_at = std::max(drain_until, killed_at) + kGiveUpAfterKill;
        if (now >= give_up_at) break;  // a process that left the group holds a pipe
        next = give_up_at;
      }
    } else {
      if (!terminating) next = timeout_at;
      if (terminating && killed_at == kNever) next = kill_at;
      if (pidfd < 0) next = std::min(next, now + kExitPollTick);
    }

    pollfd fds[4];
    nfds_t n = 0;
    int out_i = -1;
    int err_i = -1;
    int cancel_i = -1;
    if (out_fd_ >= 0) {
      out_i = static_cast<int>(n);
      fds[n++] = {out_fd_, POLLIN, 0};
    }
    if (err_fd_ >= 0) {
      err_i = static_cast<int>(n);
      fds[n++] = {err_fd_, POLLIN, 0};
    }
    if (!exited && !terminating) {
      cancel_i = static_cast<int>(n);
      fds[n++] = {cancel_fd_, POLLIN, 0};
    }
    if (pidfd >= 0) fds[n++] = {pidfd, POLLIN, 0};
    int timeout_ms = -1;
    if (next != kNever) {
      const auto left = std::chrono::ceil<milliseconds>(next - now).count();
      timeout_ms = static_cast<int>(std::clamp<decltype(left)>(left, 0, 60'000));
    }
    if (poll(fds, n, timeout_ms) < 0) {
      if (errno == EINTR) continue;
      break;  // cannot happen with valid fds; the cleanup below still kills and reaps
    }

    auto read_stream = [&](int idx, int& fd, std::string& tail, bool& cut) {
      if (idx < 0 || (fds[idx].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) == 0) return;
      const ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        AppendTail(tail, buf, static_cast<std::size_t>(r), cap_, cut);
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        CloseFd(fd);
      }
    };
    read_stream(out_i, out_fd_, result_.stdout_tail, result_.stdout_truncated);
    read_stream(err_i, err_fd_, result_.stderr_tail, result_.stderr_truncated);
    if (cancel_i >= 0 && (fds[cancel_i].revents & POLLIN) != 0) {
      result_.cancelled = true;
      terminate(Clock::now());
    }
  }

  CloseFd(pidfd);
  // Nothing of the job outlives Wait(): leftovers that closed their stdio are still in the
  // group, whose id the unreaped main process keeps reserved.
  signal_job(SIGKILL);
  int status = 0;
  pid_t reaped;
  do {
    reaped = waitpid(pid_, &status, 0);
  } while (reaped < 0 && errno == EINTR);
  if (reaped == pid_ && !status_lost) {
    if (WIFEXITED(status)) {
      result_.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result_.term_signal = WTERMSIG(status);
    }
  }
  CloseFd(out_fd_);
  CloseFd(err_fd_);
  FinishTail(result_.stdout_tail, cap_, result_.stdout_truncated);
  FinishTail(result_.stderr_tail, cap_, result_.stderr_truncated);
  result_.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started_at_);
  return result_;
}

RunResult RunJob(const JobSpec& spec, const RunOptions& options) {
  return RunningProcess::Start(spec, options)->Wait();
}

}  // namespace jq::exec
