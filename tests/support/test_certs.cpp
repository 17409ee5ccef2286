#include "support/test_certs.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "support/test_servers.h"

namespace jq::testing {
namespace {

void GenCerts(const std::string& args, const std::string& san = "") {
  const std::string cmd = (san.empty() ? "" : "JQ_CERT_SAN='" + san + "' ") + "bash " +
                          SourcePath("scripts/gen-certs.sh") + " " + args;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace

TestCerts::TestCerts(std::string dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
}

void TestCerts::Ca(const std::string& name) {
  GenCerts("ca '" + dir_ + "' " + name);
}

void TestCerts::Server(const std::string& name, const std::string& ca, int days,
                       const std::string& san) {
  Leaf(name, ca, "server", days, san);
}

void TestCerts::Client(const std::string& name, const std::string& ca, int days) {
  Leaf(name, ca, "client", days);
}

void TestCerts::Leaf(const std::string& name, const std::string& ca, const char* kind, int days,
                     const std::string& san) {
  GenCerts("leaf '" + dir_ + "' " + name + " " + ca + " " + kind + " " + std::to_string(days), san);
}

}  // namespace jq::testing
