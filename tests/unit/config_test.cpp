#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "config/config_loader.h"
#include "core/config.h"

namespace jq {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jq-config-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& yaml) {
    const auto path = dir_ / "jq.yaml";
    std::ofstream(path) << yaml;
    return path.string();
  }

  Result<config::Loaded> Load(const std::string& path, bool strict = false) {
    config::LoadOptions o;
    o.path = path;
    o.strict = strict;
    o.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    return config::LoadConfig(o);
  }

  std::filesystem::path dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigTest, DefaultsWithoutFile) {
  auto r = Load("");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.server.addr, "0.0.0.0:50051");
  EXPECT_EQ(r->config.metrics.addr, "0.0.0.0:9090");
  EXPECT_EQ(r->config.dispatch.lease_seconds, 30);
  EXPECT_EQ(r->config.worker.concurrency, 4);
}

TEST_F(ConfigTest, FileThenEnvironment) {
  env_["JQ_DB_POOL_SIZE"] = "16";
  env_["JQ_WORKER_QUEUES"] = "emails, reports";
  auto r = Load(Write("db:\n  host: db.internal\n  pool_size: 4\nworker:\n  queues: [a, b]\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.db.host, "db.internal");
  EXPECT_EQ(r->config.db.pool_size, 16);  // environment wins
  EXPECT_EQ(r->config.worker.queues, (std::vector<std::string>{"emails", "reports"}));
  EXPECT_TRUE(r->warnings.empty());
}

TEST_F(ConfigTest, MissingFileIsOneLineError) {
  auto r = Load((dir_ / "nope.yaml").string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nope.yaml: not found"), std::string::npos);
}

TEST_F(ConfigTest, UnknownKeyIsNamed) {
  auto r = Load(Write("db:\n  hots: x\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown key 'db.hots'"), std::string::npos)
      << r.status().message();
}

TEST_F(ConfigTest, WrongTypeIsNamed) {
  auto r = Load(Write("db:\n  port: fivefourthreetwo\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("db.port: expected an integer, got 'fivefourthreetwo'"),
            std::string::npos)
      << r.status().message();
  auto nested = Load(Write("dispatch:\n  tick_ms:\n    a: 1\n"));
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("dispatch.tick_ms: expected a single value"),
            std::string::npos)
      << nested.status().message();
}

TEST_F(ConfigTest, BadEnvironmentValueIsNamed) {
  env_["JQ_DISPATCH_BATCH_SIZE"] = "lots";
  auto r = Load("");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("JQ_DISPATCH_BATCH_SIZE"), std::string::npos);
  EXPECT_NE(r.status().message().find("dispatch.batch_size"), std::string::npos);
}

TEST_F(ConfigTest, OutOfRangeIsNamed) {
  auto r = Load(Write("db:\n  pool_size: 0\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "db.pool_size: 0 is out of range 1..1000");
}

TEST_F(ConfigTest, SecretInFileWarnsOrFailsWhenStrict) {
  const std::string path = Write("db:\n  password: hunter2\n");
  auto r = Load(path);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("db.password is a secret"), std::string::npos);
  EXPECT_NE(r->warnings[0].find("JQ_DB_PASSWORD"), std::string::npos);
  auto strict = Load(path, true);
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.status().message().find("db.password"), std::string::npos);
}

TEST_F(ConfigTest, MalformedYamlNamesTheLine) {
  auto r = Load(Write("db:\n  host: [unclosed\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line"), std::string::npos) << r.status().message();
}

TEST_F(ConfigTest, ExampleFileDocumentsEveryKeyAndLoads) {
  const std::string example = std::string(JQ_SOURCE_DIR) + "/config.example.yaml";
  std::ifstream in(example);
  ASSERT_TRUE(in.good()) << example;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& k : ConfigKeys()) {
    const std::string leaf(k.key.substr(k.key.rfind('.') + 1));
    EXPECT_NE(text.find(leaf + ":"), std::string::npos) << k.key << " not documented";
  }
  auto r = Load(example, /*strict=*/true);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(ConfigTest, EnvNames) {
  EXPECT_EQ(ConfigEnvName("db.password"), "JQ_DB_PASSWORD");
  EXPECT_EQ(ConfigEnvName("worker.output_cap_bytes"), "JQ_WORKER_OUTPUT_CAP_BYTES");
}

TEST_F(ConfigTest, ConnectionStringCarriesPasswordFromEnvironment) {
  Config::Db db;
  db.url = "postgresql://jq@h:5/jq";
  db.password = "s3cret";
  EXPECT_EQ(DbConnectionString(db), "postgresql://jq@h:5/jq?password=s3cret");
  db.url.clear();
  EXPECT_NE(DbConnectionString(db).find("password='s3cret'"), std::string::npos);
}

}  // namespace
}  // namespace jq

namespace jq {
namespace {

// One gRPC message limit for every side: large enough for the largest payload (a batch of
// them) and for a report with both output tails.
TEST(GrpcMaxMessageBytesTest, CoversPayloadsAndOutputTails) {
  Config c;
  EXPECT_EQ(GrpcMaxMessageBytes(c), (8 << 20) + (1 << 20));  // defaults: 1 MiB payload and tails
  c.jobs.max_payload_bytes = 6 << 20;
  EXPECT_EQ(GrpcMaxMessageBytes(c), (12 << 20) + (1 << 20));
  c.worker.output_cap_bytes = 10 << 20;
  EXPECT_EQ(GrpcMaxMessageBytes(c), (20 << 20) + (1 << 20));
  c.jobs.max_payload_bytes = 64 << 20;  // the largest allowed: no overflow
  EXPECT_EQ(GrpcMaxMessageBytes(c), (128 << 20) + (1 << 20));
}

}  // namespace
}  // namespace jq
