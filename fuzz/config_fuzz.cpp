// Configuration loading (config/config_loader.h): a YAML file plus JQ_* (and seed) variables.
// Input: environment lines NAME=VALUE, then a line "====", then the file's YAML; without that
// line it is all YAML. An environment line "@strict" loads strictly, "@worker" with
// jq-worker's redirects (worker/main.cpp). Invariants: no exception escapes LoadConfig (its
// documented error is an INVALID_ARGUMENT status); what it accepts passes ValidateConfig; and,
// loaded again with every secret variable set to a canary, the canary is in no warning or
// error.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_loader.h"
#include "core/config.h"
#include "fuzz/fuzz_check.h"

namespace {

struct Input {
  std::map<std::string, std::string> env;
  std::string yaml;
  bool strict = false;
  bool worker = false;
};

Input Split(std::string_view data) {
  Input in;
  constexpr std::string_view kSep = "====\n";
  std::string_view env;
  if (data.rfind(kSep, 0) == 0) {
    in.yaml = std::string(data.substr(kSep.size()));
  } else if (const auto at = data.find("\n====\n"); at != std::string_view::npos) {
    env = data.substr(0, at + 1);
    in.yaml = std::string(data.substr(at + 1 + kSep.size()));
  } else {
    in.yaml = std::string(data);
  }
  while (!env.empty()) {
    const auto nl = env.find('\n');
    const std::string_view line = env.substr(0, nl);
    env = nl == std::string_view::npos ? std::string_view() : env.substr(nl + 1);
    if (line == "@strict") in.strict = true;
    if (line == "@worker") in.worker = true;
    if (const auto eq = line.find('='); eq != std::string_view::npos) {
      in.env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
  }
  return in;
}

// Every variable that holds a secret: jq's and the seed's names for secret keys.
std::vector<std::string> SecretVariables() {
  std::vector<std::string> names;
  for (const auto& k : jq::ConfigKeys()) {
    if (k.secret) names.push_back(jq::ConfigEnvName(k.key));
  }
  for (const auto& a : jq::SeedAliases()) {
    const jq::ConfigKey* k = a.jq_key.empty() ? nullptr : jq::FindConfigKey(a.jq_key);
    if (k != nullptr && k->secret && !a.seed_env.empty()) names.emplace_back(a.seed_env);
  }
  return names;
}

constexpr std::string_view kCanary = "\x01jq-fuzz-secret-";

jq::Result<jq::config::Loaded> Load(const Input& in) {
  jq::config::LoadOptions o;
  o.path = "fuzz.yaml";
  o.text = in.yaml;
  o.strict = in.strict;
  if (in.worker) {
    o.env_redirects = {{"metrics.addr", "worker.metrics_addr"},
                       {"health.addr", "worker.health_addr"}};
  }
  o.getenv = [&in](const std::string& name) -> std::optional<std::string> {
    auto it = in.env.find(name);
    if (it == in.env.end()) return std::nullopt;
    return it->second;
  };
  return jq::config::LoadConfig(o);  // an exception escaping here is a crash
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Input in = Split(text);
  const auto r = Load(in);
  if (!r.ok()) {
    const std::string& m = r.status().message();
    JQ_FUZZ_CHECK(r.status().code() == jq::StatusCode::kInvalidArgument, m);
    JQ_FUZZ_CHECK(!m.empty(), m);
  } else {
    const jq::Status valid = jq::ValidateConfig(r->config);
    JQ_FUZZ_CHECK(valid.ok(), valid.message());
  }

  // Again with every secret variable set to a canary no message may quote.
  if (text.find(kCanary) != std::string_view::npos) return 0;
  for (const auto& name : SecretVariables()) in.env[name] = std::string(kCanary) + name;
  const auto c = Load(in);
  const auto check = [](const std::string& line) {
    JQ_FUZZ_CHECK(line.find(kCanary) == std::string::npos, line);
  };
  if (!c.ok()) {
    check(c.status().message());
  } else {
    for (const auto& w : c->warnings) check(w);
  }
  return 0;
}
