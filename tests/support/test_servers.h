// Private PostgreSQL and Redis servers for integration tests (scripts/test-servers.sh),
// started once per test binary on free loopback ports and stopped when it exits — also when
// it crashes (a watchdog in the script). Each test asks for its own fresh database.
#pragma once

#include <string>

namespace jq::testing {

class TestServers {
 public:
  // Starts the servers on first use. Aborts the test binary if they cannot start.
  static TestServers& Get();

  // Creates an empty database and returns its libpq connection string.
  std::string CreateDatabase();
  int pg_port() const { return pg_port_; }
  int redis_port() const { return redis_port_; }
  std::string redis_addr() const { return "127.0.0.1:" + std::to_string(redis_port_); }
  const std::string& dir() const { return dir_; }
  void Stop();

 private:
  TestServers();
  std::string dir_;
  int pg_port_ = 0;
  int redis_port_ = 0;
  int next_db_ = 0;
  bool stopped_ = false;
};

// Path of a file in the source tree (scripts, db, ...).
std::string SourcePath(const std::string& relative);
// Path of a built program (jq-server, jq-worker, jq-ctl).
std::string BinaryPath(const std::string& name);

}  // namespace jq::testing
