#include "support/test_servers.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <pqxx/pqxx>
#include <sstream>
#include <stdexcept>

namespace jq::testing {
namespace {

std::string RunCapture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed: " + cmd);
  std::array<char, 512> buf{};
  while (fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  const int rc = pclose(p);
  if (rc != 0) throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + cmd);
  return out;
}

}  // namespace

std::string SourcePath(const std::string& relative) {
  return std::string(JQ_SOURCE_DIR) + "/" + relative;
}

std::string BinaryPath(const std::string& name) {
  return std::string(JQ_BINARY_DIR) + "/" + name;
}

TestServers& TestServers::Get() {
  static TestServers* servers = [] {
    auto* s = new TestServers();
    std::atexit([] { Get().Stop(); });
    return s;
  }();
  return *servers;
}

TestServers::TestServers() {
  char tmpl[] = "/tmp/jq-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::cerr << "mkdtemp failed\n";
    std::abort();
  }
  dir_ = std::string(tmpl) + "/servers";
  std::filesystem::permissions(tmpl, std::filesystem::perms(0755));
  try {
    const std::string out = RunCapture(SourcePath("scripts/test-servers.sh") + " start " + dir_ +
                                       " " + std::to_string(getpid()));
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("JQ_TEST_PG_PORT=", 0) == 0) pg_port_ = std::stoi(line.substr(16));
      if (line.rfind("JQ_TEST_REDIS_PORT=", 0) == 0) redis_port_ = std::stoi(line.substr(19));
    }
  } catch (const std::exception& e) {
    std::cerr << "test servers did not start: " << e.what() << "\n";
    std::abort();
  }
  if (pg_port_ == 0 || redis_port_ == 0) {
    std::cerr << "test servers printed no ports\n";
    std::abort();
  }
}

std::string TestServers::CreateDatabase() {
  static std::mutex mu;
  std::lock_guard lock(mu);
  const std::string name = "jqtest_" + std::to_string(++next_db_);
  const std::string admin =
      "host=127.0.0.1 port=" + std::to_string(pg_port_) + " user=postgres dbname=postgres";
  pqxx::connection conn(admin);
  pqxx::nontransaction tx(conn);
  tx.exec("DROP DATABASE IF EXISTS " + name);
  tx.exec("CREATE DATABASE " + name);
  return "host=127.0.0.1 port=" + std::to_string(pg_port_) + " user=postgres dbname=" + name;
}

void TestServers::Stop() {
  if (stopped_) return;
  stopped_ = true;
  std::system(
      (SourcePath("scripts/test-servers.sh") + " stop " + dir_ + " >/dev/null 2>&1").c_str());
  std::filesystem::remove_all(std::filesystem::path(dir_).parent_path());
}

}  // namespace jq::testing
