// Configuration loading (config/config_loader.h): a YAML file plus JQ_* (and seed) variables.
// Input: environment lines NAME=VALUE, then a line "====", then the file's YAML; without that
// line it is all YAML. An environment line "@strict" loads strictly, "@worker" with
// jq-worker's redirects (worker/main.cpp). Invariants: no exception escapes LoadConfig (its
// documented error is an INVALID_ARGUMENT status); what it accepts passes ValidateConfig; a
// secret variable's value appears in no warning or error.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

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

// Secret values long enough to be recognised, and found nowhere else in the input (a file
// key named like the value would be quoted legitimately).
std::vector<std::string> SecretValues(const Input& in, std::string_view data) {
  std::vector<std::string> names;
  for (const auto& k : jq::ConfigKeys()) {
    if (k.secret) names.push_back(jq::ConfigEnvName(k.key));
  }
  for (const auto& a : jq::SeedAliases()) {
    const jq::ConfigKey* k = a.jq_key.empty() ? nullptr : jq::FindConfigKey(a.jq_key);
    if (k != nullptr && k->secret && !a.seed_env.empty()) names.emplace_back(a.seed_env);
  }
  std::vector<std::string> out;
  for (const auto& n : names) {
    auto it = in.env.find(n);
    if (it == in.env.end() || it->second.size() < 6) continue;
    const std::string line = n + "=" + it->second;
    const auto first = data.find(it->second);
    const auto own = data.find(line);
    if (own == std::string_view::npos || first != own + n.size() + 1) continue;
    if (data.find(it->second, first + 1) != std::string_view::npos) continue;
    out.push_back(it->second);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Input in = Split(text);
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
  const auto r = jq::config::LoadConfig(o);  // an exception escaping here is a crash
  const auto secrets = SecretValues(in, text);
  if (!r.ok()) {
    const std::string& m = r.status().message();
    JQ_FUZZ_CHECK(r.status().code() == jq::StatusCode::kInvalidArgument, m);
    JQ_FUZZ_CHECK(!m.empty(), m);
    for (const auto& s : secrets) JQ_FUZZ_CHECK(m.find(s) == std::string::npos, m);
    return 0;
  }
  const jq::Status valid = jq::ValidateConfig(r->config);
  JQ_FUZZ_CHECK(valid.ok(), valid.message());
  for (const auto& w : r->warnings) {
    for (const auto& s : secrets) JQ_FUZZ_CHECK(w.find(s) == std::string::npos, w);
  }
  return 0;
}
