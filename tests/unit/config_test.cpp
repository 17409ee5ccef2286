#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

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

  Result<config::Loaded> Load(const std::string& path, bool strict = false,
                              std::vector<std::pair<std::string, std::string>> redirects = {}) {
    config::LoadOptions o;
    o.path = path;
    o.strict = strict;
    o.env_redirects = std::move(redirects);
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

// Found by fuzz/config_fuzz.cpp: a list or a mapping used as a key threw yaml-cpp's
// BadConversion out of LoadConfig, so jq-server died with "terminate called" instead of
// naming the line.
TEST_F(ConfigTest, KeyThatIsNotANameIsAnError) {
  for (const std::string yaml : {"? [a, b]\n: 1\n", "db:\n  ? {x: 1}\n  : 2\n", "? \n: 1\n"}) {
    std::optional<Result<config::Loaded>> r;
    ASSERT_NO_THROW(r.emplace(Load(Write(yaml)))) << yaml;
    ASSERT_FALSE(r->ok()) << yaml;
    EXPECT_EQ(r->status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r->status().message().find("a key must be a name"), std::string::npos)
        << r->status().message();
  }
  auto r = Load(Write("db:\n  ? [a]\n  : 2\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 2: db: a key must be a name, not a list"),
            std::string::npos)
      << r.status().message();
}

// The fuzz target hands LoadConfig the file's text instead of a path.
TEST_F(ConfigTest, TextInsteadOfAFile) {
  config::LoadOptions o;
  o.path = "given.yaml";
  o.text = "db:\n  pool_size: 0\n";
  o.getenv = [](const std::string&) { return std::nullopt; };
  auto r = config::LoadConfig(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("db.pool_size"), std::string::npos) << r.status().message();
  o.text = "db:\n  pool_size: 12\n";
  r = config::LoadConfig(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.db.pool_size, 12);
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

TEST_F(ConfigTest, RetentionDefaultsFileEnvironmentAndRanges) {
  auto d = Load("");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->config.retention.done_jobs_days, 7);
  EXPECT_EQ(d->config.retention.dead_lettered_jobs_days, 30);
  EXPECT_EQ(d->config.retention.batch_size, 1000);
  env_["JQ_RETENTION_DEAD_LETTERED_JOBS_DAYS"] = "0";
  auto r = Load(Write("retention:\n  done_jobs_days: 2\n  batch_size: 500\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.retention.done_jobs_days, 2);
  EXPECT_EQ(r->config.retention.dead_lettered_jobs_days, 0);  // kept forever
  EXPECT_EQ(r->config.retention.batch_size, 500);
  auto bad = Load(Write("retention:\n  batch_size: 0\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "retention.batch_size: 0 is out of range 1..100000");
  bad = Load(Write("retention:\n  done_jobs_days: -1\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "retention.done_jobs_days: -1 is out of range 0..36500");
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

// ---- The seed system's configuration (core/config.h SeedAliases, docs/migrating.md) ----

// Every warning that mentions `needle`.
std::vector<std::string> WarningsWith(const config::Loaded& l, const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& w : l.warnings) {
    if (w.find(needle) != std::string::npos) out.push_back(w);
  }
  return out;
}

// A file laid out as the seed's config.example.yaml is, with every key the seed reads, and
// values unlike both systems' defaults so that each can be seen to land.
constexpr const char* kSeedFile = R"(grpc:
  port: 6001
  tls:
    enabled: false
db:
  host: db.internal
  port: 6432
  name: jobqueue
  user: jq
  password: ""
  pool_size: 7
  connect_timeout_ms: 2500
redis:
  addr: redis.internal:6380
  password: ""
  db: 0
  connect_timeout_ms: 900
kafka:
  brokers:
    - k1.internal:9092
    - k2.internal:9092
  producer:
    acks: all
    compression: snappy
  consumer:
    group_id: jq-server
    auto_offset_reset: earliest
scheduler:
  interval_ms: 250
  batch_size: 50
  assignment_timeout_s: 45
  worker_heartbeat_timeout_s: 20
metrics:
  port: 9300
health:
  port: 8300
logging:
  level: warn
  format: json
)";

TEST_F(ConfigTest, SeedFileLoadsAndEveryValueLands) {
  auto r = Load(Write(kSeedFile), /*strict=*/true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = r->config;
  EXPECT_EQ(c.server.addr, "0.0.0.0:6001");
  EXPECT_EQ(c.db.host, "db.internal");
  EXPECT_EQ(c.db.port, 6432);
  EXPECT_EQ(c.db.name, "jobqueue");
  EXPECT_EQ(c.db.user, "jq");
  EXPECT_EQ(c.db.pool_size, 7);
  EXPECT_EQ(c.db.connect_timeout_seconds, 3);  // 2500 ms, rounded up
  EXPECT_EQ(c.redis.addr, "redis.internal:6380");
  EXPECT_EQ(c.redis.timeout_ms, 200);  // the seed's connect timeout is not jq's call timeout
  EXPECT_EQ(c.kafka.brokers, "k1.internal:9092,k2.internal:9092");
  EXPECT_EQ(c.dispatch.tick_ms, 250);
  EXPECT_EQ(c.dispatch.batch_size, 50);
  EXPECT_EQ(c.dispatch.lease_seconds, 30);  // assignment_timeout_s was a Redis lock's TTL
  EXPECT_EQ(c.reaper.worker_timeout_seconds, 20);
  EXPECT_EQ(c.metrics.addr, "0.0.0.0:9300");
  EXPECT_EQ(c.health.addr, "0.0.0.0:8300");
  EXPECT_EQ(c.log.level, "warn");
  EXPECT_EQ(c.worker.metrics_addr, "0.0.0.0:9091");  // the file's ports are jq-server's

  // One line per seed key, naming the jq key (or why it has no effect).
  std::set<std::string> absent;
  for (const auto& a : SeedAliases()) {
    const std::string key(a.seed_key);
    auto lines = WarningsWith(*r, ": " + key + " ");
    if (lines.empty()) {
      absent.insert(key);
      continue;
    }
    ASSERT_EQ(lines.size(), 1u) << key;
    if (!a.jq_key.empty()) {
      EXPECT_NE(lines[0].find(a.jq_key), std::string::npos) << lines[0];
    }
  }
  EXPECT_EQ(absent, (std::set<std::string>{"grpc.tls.cert_path", "grpc.tls.key_path",
                                           "kafka.sasl.username", "kafka.sasl.password"}));
  EXPECT_EQ(r->warnings.size(), SeedAliases().size() - absent.size());
  EXPECT_EQ(WarningsWith(*r, "grpc.port")[0],
            dir_.string() + "/jq.yaml: grpc.port is the seed's name, deprecated: use server.addr");
  EXPECT_NE(WarningsWith(*r, "redis.db")[0].find("has no effect: jq always uses Redis database 0"),
            std::string::npos);
}

TEST_F(ConfigTest, SeedAliasTableIsConsistent) {
  std::set<std::string_view> envs;
  for (const auto& a : SeedAliases()) {
    const std::string key(a.seed_key);
    EXPECT_EQ(FindConfigKey(a.seed_key), nullptr) << key << " is a jq key, not an alias";
    EXPECT_EQ(FindSeedAlias(a.seed_key), &a) << key;
    if (!a.jq_key.empty()) {
      EXPECT_NE(FindConfigKey(a.jq_key), nullptr) << key;
    }
    const bool effect = a.conversion != SeedConversion::kNoEffect;
    if (effect) {
      EXPECT_FALSE(a.jq_key.empty()) << key;
    } else {
      EXPECT_FALSE(a.note.empty()) << key << ": say why it has no effect";
    }
    if (a.conversion == SeedConversion::kPort) {
      EXPECT_NE(a.jq_key.find("addr"), std::string_view::npos) << key;
    }
    if (!a.seed_env.empty()) {
      EXPECT_TRUE(envs.insert(a.seed_env).second) << a.seed_env;
      for (const auto& k : ConfigKeys()) {
        EXPECT_NE(ConfigEnvName(k.key), a.seed_env) << key;
      }
    }
  }
  // The seed's one variable that is not JQ_ + its key, and the one that is jq's own.
  EXPECT_EQ(FindSeedAlias("scheduler.worker_heartbeat_timeout_s")->seed_env,
            "JQ_SCHEDULER_WORKER_HB_TIMEOUT_S");
  EXPECT_EQ(FindSeedAlias("logging.level")->seed_env, "");
  EXPECT_EQ(ConfigEnvName("log.level"), "JQ_LOG_LEVEL");
}

TEST_F(ConfigTest, JqKeyBesideSeedKeyWinsAndTheWarningSaysSo) {
  auto r = Load(Write("grpc:\n  port: 6001\nserver:\n  addr: 127.0.0.1:7000\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.server.addr, "127.0.0.1:7000");
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("grpc.port is the seed's name, deprecated: use server.addr; "
                                "ignored, since server.addr is also set and wins"),
            std::string::npos)
      << r->warnings[0];
}

TEST_F(ConfigTest, SeedVariablesLandAndJqVariablesWin) {
  env_["JQ_GRPC_PORT"] = "6002";
  env_["JQ_SCHEDULER_WORKER_HB_TIMEOUT_S"] = "12";
  env_["JQ_KAFKA_SASL_USERNAME"] = "svc";
  env_["JQ_DB_CONNECT_TIMEOUT_MS"] = "1";
  env_["JQ_HEALTH_PORT"] = "8400";
  env_["JQ_LOG_FORMAT"] = "json";
  env_["JQ_KAFKA_BROKERS"] = "a:1,b:2";  // the seed's name is jq's: no warning
  // The environment overrides the file, seed name or not; the port keeps the file's host.
  auto r = Load(Write("server:\n  addr: 127.0.0.1:7000\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.server.addr, "127.0.0.1:6002");
  EXPECT_EQ(r->config.reaper.worker_timeout_seconds, 12);
  EXPECT_EQ(r->config.kafka.username, "svc");
  EXPECT_EQ(r->config.db.connect_timeout_seconds, 1);
  EXPECT_EQ(r->config.health.addr, "0.0.0.0:8400");
  EXPECT_EQ(r->config.kafka.brokers, "a:1,b:2");
  EXPECT_EQ(r->warnings.size(), 6u);
  EXPECT_EQ(WarningsWith(*r, "JQ_GRPC_PORT")[0],
            "environment: JQ_GRPC_PORT is the seed's name, deprecated: use JQ_SERVER_ADDR "
            "(server.addr)");
  EXPECT_EQ(WarningsWith(*r, "JQ_LOG_FORMAT")[0],
            "environment: JQ_LOG_FORMAT (a seed setting) has no effect: jq always logs one JSON "
            "object per line");

  env_["JQ_SERVER_ADDR"] = "127.0.0.1:7001";
  auto both = Load("");
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(both->config.server.addr, "127.0.0.1:7001");
  EXPECT_NE(WarningsWith(*both, "JQ_GRPC_PORT")[0].find(
                "ignored, since JQ_SERVER_ADDR (server.addr) is also set and wins"),
            std::string::npos);
}

TEST_F(ConfigTest, EmptySeedVariableIsUnsetAsInTheSeed) {
  env_["JQ_GRPC_PORT"] = "";
  auto r = Load("");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.server.addr, "0.0.0.0:50051");
  EXPECT_TRUE(r->warnings.empty());
}

// The seed served TLS with grpc.tls.enabled: true and its two paths; jq whenever a certificate
// is set. The paths land on jq's keys; a switch that contradicts them is refused, never
// guessed at (plaintext where TLS was asked for would be a silent downgrade).
TEST_F(ConfigTest, SeedTlsSettingsLandOnServerTlsAndTheSwitchIsChecked) {
  auto on =
      Load(Write("grpc:\n  tls:\n    enabled: true\n    cert_path: /etc/c.pem\n"
                 "    key_path: /etc/k.pem\n"));
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  EXPECT_EQ(on->config.server.tls.cert, "/etc/c.pem");
  EXPECT_EQ(on->config.server.tls.key, "/etc/k.pem");
  EXPECT_EQ(WarningsWith(*on, "grpc.tls.cert_path")[0],
            dir_.string() +
                "/jq.yaml: grpc.tls.cert_path is the seed's name, deprecated: use "
                "server.tls.cert (jq serves TLS whenever server.tls.cert and server.tls.key are "
                "set; grpc.tls.enabled is not needed)");

  auto no_cert = Load(Write("grpc:\n  tls:\n    enabled: true\n"));
  ASSERT_FALSE(no_cert.ok());
  EXPECT_EQ(no_cert.status().message().rfind("grpc.tls.enabled: true needs a certificate", 0), 0u)
      << no_cert.status().message();
  env_["JQ_GRPC_TLS_ENABLED"] = "1";
  EXPECT_FALSE(Load("").ok());
  env_["JQ_SERVER_TLS_CERT"] = "/etc/c.pem";
  env_["JQ_SERVER_TLS_KEY"] = "/etc/k.pem";
  EXPECT_TRUE(Load("").ok());
  env_.clear();

  auto contradicted =
      Load(Write("grpc:\n  tls:\n    enabled: false\n    cert_path: /c\n"
                 "    key_path: /k\n"));
  ASSERT_FALSE(contradicted.ok());
  EXPECT_EQ(contradicted.status().message().rfind("grpc.tls.enabled: false, but a certificate", 0),
            0u);

  auto off = Load(Write("grpc:\n  tls:\n    enabled: False\n"));
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_TRUE(off->config.server.tls.cert.empty());
  ASSERT_EQ(off->warnings.size(), 1u);
  EXPECT_NE(off->warnings[0].find("grpc.tls.enabled is the seed's name, deprecated: use "
                                  "server.tls.cert"),
            std::string::npos)
      << off->warnings[0];
  auto bad = Load(Write("grpc:\n  tls:\n    enabled: maybe\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("grpc.tls.enabled: expected true or false, got 'maybe'"),
            std::string::npos);
}

TEST_F(ConfigTest, TlsFilesComeInPairsAndNameTheMissingKey) {
  auto ok =
      Load(Write("server:\n  tls:\n    cert: /c.pem\n    key: /k.pem\n"
                 "    client_ca: /ca.pem\n    reload_seconds: 2\n"
                 "worker:\n  tls:\n    ca: /ca.pem\n"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->config.server.tls.client_ca, "/ca.pem");
  EXPECT_EQ(ok->config.server.tls.reload_seconds, 2);
  EXPECT_EQ(ok->config.worker.tls.ca, "/ca.pem");
  const std::pair<std::string, std::string> cases[] = {
      {"server:\n  tls:\n    cert: /c.pem\n",
       "server.tls.key: required when server.tls.cert is set"},
      {"server:\n  tls:\n    key: /k.pem\n",
       "server.tls.cert: required when server.tls.key is set"},
      {"server:\n  tls:\n    client_ca: /ca.pem\n",
       "server.tls.client_ca: mTLS needs TLS: set server.tls.cert and server.tls.key too"},
      {"worker:\n  tls:\n    key: /k.pem\n",
       "worker.tls.cert: required when worker.tls.key is set"},
      {"server:\n  tls:\n    reload_seconds: 0\n", "server.tls.reload_seconds"},
  };
  for (const auto& [yaml, error] : cases) {
    auto r = Load(Write(yaml));
    ASSERT_FALSE(r.ok()) << yaml;
    EXPECT_EQ(r.status().message().rfind(error, 0), 0u) << r.status().message();
  }
  env_["JQ_WORKER_TLS_CERT"] = "/c.pem";
  env_["JQ_WORKER_TLS_KEY"] = "/k.pem";
  auto from_env = Load("");
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_EQ(from_env->config.worker.tls.cert, "/c.pem");
}

TEST_F(ConfigTest, MetricsTlsKeysAreValidatedLikeTheGrpcOnes) {
  auto ok =
      Load(Write("metrics:\n  tls:\n    cert: /c.pem\n    key: /k.pem\n"
                 "    client_ca: /ca.pem\n    reload_seconds: 3\n"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->config.metrics.tls.cert, "/c.pem");
  EXPECT_EQ(ok->config.metrics.tls.client_ca, "/ca.pem");
  EXPECT_EQ(ok->config.metrics.tls.reload_seconds, 3);
  EXPECT_TRUE(ok->config.worker.metrics_tls.cert.empty());  // not inherited
  const std::pair<std::string, std::string> cases[] = {
      {"metrics:\n  tls:\n    cert: /c.pem\n",
       "metrics.tls.key: required when metrics.tls.cert is set"},
      {"metrics:\n  tls:\n    client_ca: /ca.pem\n",
       "metrics.tls.client_ca: mTLS needs TLS: set metrics.tls.cert and metrics.tls.key too"},
      {"worker:\n  metrics_tls:\n    key: /k.pem\n",
       "worker.metrics_tls.cert: required when worker.metrics_tls.key is set"},
      {"worker:\n  metrics_tls:\n    client_ca: /ca.pem\n",
       "worker.metrics_tls.client_ca: mTLS needs TLS: set worker.metrics_tls.cert and "
       "worker.metrics_tls.key too"},
      {"metrics:\n  tls:\n    reload_seconds: 0\n", "metrics.tls.reload_seconds"},
  };
  for (const auto& [yaml, error] : cases) {
    auto r = Load(Write(yaml));
    ASSERT_FALSE(r.ok()) << yaml;
    EXPECT_EQ(r.status().message().rfind(error, 0), 0u) << r.status().message();
  }
  env_["JQ_WORKER_METRICS_TLS_CERT"] = "/c.pem";
  env_["JQ_WORKER_METRICS_TLS_KEY"] = "/k.pem";
  auto from_env = Load("");
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_EQ(from_env->config.worker.metrics_tls.cert, "/c.pem");
}

TEST_F(ConfigTest, SeedErrorsNameTheSeedKey) {
  auto bad = Load(Write("grpc:\n  port: fifty\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("grpc.port: server.addr: port 'fifty'"), std::string::npos)
      << bad.status().message();
  auto range = Load(Write("scheduler:\n  interval_ms: 5\n"));
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.status().message(),
            "dispatch.tick_ms: 5 is out of range 10..60000 (set by the seed's "
            "scheduler.interval_ms)");
  auto list = Load(Write("logging:\n  level: [debug]\n"));
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find("logging.level: expected a single value"),
            std::string::npos);
}

TEST_F(ConfigTest, SeedSecretInFileWarnsOrFailsWhenStrict) {
  const std::string path = Write("kafka:\n  sasl:\n    password: hunter2\n");
  auto r = Load(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.kafka.password, "hunter2");
  EXPECT_EQ(WarningsWith(*r, "is a secret").size(), 1u);
  EXPECT_EQ(WarningsWith(*r, "JQ_KAFKA_PASSWORD").size(), 1u);
  EXPECT_FALSE(Load(path, /*strict=*/true).ok());
}

TEST_F(ConfigTest, KafkaBrokersMayBeAList) {
  auto r = Load(Write("kafka:\n  brokers: [a:1, b:2]\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.kafka.brokers, "a:1,b:2");
  EXPECT_TRUE(r->warnings.empty());
}

// jq-worker's HTTP port: its own default, and its own environment's settings; the file's
// metrics.* and health.* stay jq-server's.
TEST_F(ConfigTest, WorkerListensOnItsOwnPort) {
  const Config defaults;
  EXPECT_EQ(defaults.worker.metrics_addr, "0.0.0.0:9091");
  for (const std::string* server : {&defaults.metrics.addr, &defaults.server.addr}) {
    EXPECT_NE(server->substr(server->rfind(':')), ":9091");
  }
  const std::vector<std::pair<std::string, std::string>> worker = {
      {"metrics.addr", "worker.metrics_addr"}, {"health.addr", "worker.health_addr"}};
  const std::string shared = Write("metrics:\n  port: 9090\nhealth:\n  port: 8080\n");
  auto r = Load(shared, false, worker);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.worker.metrics_addr, "0.0.0.0:9091");
  EXPECT_EQ(r->config.worker.health_addr, "");

  env_["JQ_METRICS_PORT"] = "9500";
  env_["JQ_HEALTH_PORT"] = "8500";
  r = Load(shared, false, worker);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.worker.metrics_addr, "0.0.0.0:9500");
  EXPECT_EQ(r->config.worker.health_addr, "0.0.0.0:8500");
  EXPECT_EQ(r->config.metrics.addr, "0.0.0.0:9090");
  EXPECT_NE(WarningsWith(*r, "JQ_METRICS_PORT")[0].find("use JQ_WORKER_METRICS_ADDR"),
            std::string::npos);

  env_["JQ_METRICS_ADDR"] = "127.0.0.1:9600";  // jq's variable beats the seed's
  r = Load(shared, false, worker);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.worker.metrics_addr, "127.0.0.1:9600");
  env_["JQ_WORKER_METRICS_ADDR"] = "127.0.0.1:9700";  // and the key's own variable beats both
  r = Load(shared, false, worker);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.worker.metrics_addr, "127.0.0.1:9700");
  EXPECT_EQ(r->config.metrics.addr, "0.0.0.0:9090");
}

TEST_F(ConfigTest, ListenPortKeepsTheHost) {
  Config c;
  c.server.addr = "127.0.0.1:50051";
  ASSERT_TRUE(ApplyListenPort(c, "server.addr", "6000").ok());
  EXPECT_EQ(c.server.addr, "127.0.0.1:6000");
  c.metrics.addr = "[::1]:9090";
  ASSERT_TRUE(ApplyListenPort(c, "metrics.addr", "9999").ok());
  EXPECT_EQ(c.metrics.addr, "[::1]:9999");
  ASSERT_TRUE(ApplyListenPort(c, "health.addr", "8080").ok());
  EXPECT_EQ(c.health.addr, "0.0.0.0:8080");
  for (const char* bad : {"0", "65536", "80x", ""}) {
    Status s = ApplyListenPort(c, "worker.metrics_addr", bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.message().rfind("worker.metrics_addr: port", 0), 0u) << s.message();
  }
  EXPECT_FALSE(ApplyListenPort(c, "db.port", "5432").ok());
  EXPECT_EQ(c.worker.metrics_addr, "0.0.0.0:9091");
}

TEST_F(ConfigTest, SeedMillisecondsRoundUpToSeconds) {
  const SeedAlias& a = *FindSeedAlias("db.connect_timeout_ms");
  Config c;
  for (auto [ms, s] : {std::pair<const char*, int>{"3000", 3}, {"2001", 3}, {"1", 1}, {"0", 1}}) {
    ASSERT_TRUE(ApplySeedSetting(c, a, ms).ok()) << ms;
    EXPECT_EQ(c.db.connect_timeout_seconds, s) << ms;
  }
  EXPECT_FALSE(ApplySeedSetting(c, a, "-5").ok());
  EXPECT_FALSE(ApplySeedSetting(c, a, "3s").ok());
}

// docs/migrating.md is where operators look: it must name every seed key and variable.
TEST_F(ConfigTest, MigratingGuideListsEverySeedSetting) {
  std::ifstream in(std::string(JQ_SOURCE_DIR) + "/docs/migrating.md");
  ASSERT_TRUE(in.good());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& a : SeedAliases()) {
    EXPECT_NE(text.find("`" + std::string(a.seed_key) + "`"), std::string::npos) << a.seed_key;
    if (!a.seed_env.empty()) {
      EXPECT_NE(text.find("`" + std::string(a.seed_env) + "`"), std::string::npos) << a.seed_env;
    }
  }
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

namespace jq {
namespace {

TEST(ServerAddrsTest, SplitsAtCommasAndDropsBlanks) {
  EXPECT_EQ(ServerAddrs("a:1"), (std::vector<std::string>{"a:1"}));
  EXPECT_EQ(ServerAddrs(" a:1 , b:2,,"), (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_TRUE(ServerAddrs(" , ").empty());
}

TEST(ServerAddrsTest, EveryAddressOfTheWorkerMustBeHostPort) {
  Config c;
  c.worker.server_addr = "a:1,b";
  Status s = ValidateConfig(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("worker.server_addr: 'b' is not HOST:PORT"), std::string::npos)
      << s.message();
  c.worker.server_addr = ",";
  EXPECT_NE(ValidateConfig(c).message().find("no address"), std::string::npos);
  c.worker.server_addr = "a:1, b:2";
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(AuthConfigTest, BootstrapKeysAreLongAndTheFleetKeyIsNotTheAdminKey) {
  Config c;
  c.auth.bootstrap_fleet_key = "short";
  Status s = ValidateConfig(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("auth.bootstrap_fleet_key: must be at least 32 characters (it is 5)"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("short"), std::string::npos);  // never the value
  c.auth.bootstrap_key = c.auth.bootstrap_fleet_key = std::string(40, 'k');
  s = ValidateConfig(c);
  EXPECT_NE(s.message().find("must differ from auth.bootstrap_key"), std::string::npos)
      << s.message();
  c.auth.bootstrap_fleet_key = std::string(40, 'f');
  EXPECT_TRUE(ValidateConfig(c).ok());
}

}  // namespace
}  // namespace jq
