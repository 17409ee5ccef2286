#include "config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

namespace jq::config {
namespace {

std::optional<std::string> RealGetenv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// Flattens nested maps into dotted keys; scalars and sequences of scalars are values.
Status Flatten(const YAML::Node& node, const std::string& prefix, const std::string& file,
               std::vector<std::pair<std::string, YAML::Node>>& out) {
  if (!node.IsMap()) {
    return Status::InvalidArgument(file + ": " + (prefix.empty() ? "top level" : prefix) +
                                   " must be a mapping");
  }
  for (const auto& kv : node) {
    // A list or a mapping as a key (`? [a, b]: 1`) names nothing; converting it would throw.
    if (!kv.first.IsScalar()) {
      return Status::InvalidArgument(file + ": line " + std::to_string(kv.first.Mark().line + 1) +
                                     ": " + (prefix.empty() ? "top level" : prefix) +
                                     ": a key must be a name, not a " +
                                     (kv.first.IsMap()        ? "mapping"
                                      : kv.first.IsSequence() ? "list"
                                                              : "null"));
    }
    const std::string key = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
    if (kv.second.IsMap() && FindConfigKey(key) == nullptr && FindSeedAlias(key) == nullptr) {
      if (Status s = Flatten(kv.second, key, file, out); !s.ok()) return s;
    } else {
      out.emplace_back(key, kv.second);
    }
  }
  return Status::Ok();
}

Status ApplyNode(Config& config, const ConfigKey& key, const YAML::Node& node,
                 const std::string& file) {
  const std::string name(key.key);
  if (key.kind == ConfigKind::kStringList || key.kind == ConfigKind::kCsv) {
    if (node.IsNull()) return ApplyConfigSetting(config, key.key, "");
    if (node.IsScalar()) return ApplyConfigSetting(config, key.key, node.Scalar());
    if (!node.IsSequence()) {
      return Status::InvalidArgument(file + ": " + name + ": expected a list of strings");
    }
    std::string joined;
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        return Status::InvalidArgument(file + ": " + name + ": expected a list of strings");
      }
      if (!joined.empty()) joined += ",";
      joined += item.Scalar();
    }
    return ApplyConfigSetting(config, key.key, joined);
  }
  if (node.IsNull()) return Status::Ok();  // "key:" with no value keeps the default
  if (!node.IsScalar()) {
    return Status::InvalidArgument(file + ": " + name + ": expected a single value, not a " +
                                   (node.IsMap() ? "mapping" : "list"));
  }
  Status s = ApplyConfigSetting(config, key.key, node.Scalar());
  if (!s.ok()) return Status::InvalidArgument(file + ": " + s.message());
  return s;
}

bool HasEffect(const SeedAlias& a) {
  return a.conversion != SeedConversion::kNoEffect;
}

bool IsSecretValue(const YAML::Node& node) {
  return !(node.IsNull() || (node.IsScalar() && node.Scalar().empty()));
}

}  // namespace

Result<Loaded> LoadConfig(const LoadOptions& options) {
  Loaded loaded;
  auto getenv = options.getenv ? options.getenv : RealGetenv;
  // jq key -> the seed name its value came from, so that a range error can name it.
  std::map<std::string, std::string> from_seed;

  if (!options.path.empty() || options.text) {
    const std::string& file = options.path;
    std::error_code ec;
    if (!options.text && !std::filesystem::is_regular_file(file, ec)) {
      return Status::InvalidArgument("config file " + file + ": not found or not a regular file");
    }
    YAML::Node root;
    try {
      root = options.text ? YAML::Load(*options.text) : YAML::LoadFile(file);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument("config file " + file + ": line " +
                                     std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (!root.IsNull()) {
      std::vector<std::pair<std::string, YAML::Node>> entries;
      if (Status s = Flatten(root, "", file, entries); !s.ok()) return s;
      std::set<std::string> jq_keys_given;
      for (const auto& [key, node] : entries) {
        if (FindConfigKey(key) != nullptr) {
          jq_keys_given.insert(key);
        } else if (FindSeedAlias(key) == nullptr) {
          return Status::InvalidArgument(file + ": unknown key '" + key + "'");
        }
      }
      auto check_secret = [&](const ConfigKey& k, const std::string& given,
                              const YAML::Node& node) -> Status {
        if (!k.secret || !IsSecretValue(node)) return Status::Ok();
        std::string msg = file + ": " + given + " is a secret and belongs in the environment (" +
                          ConfigEnvName(k.key) + "), not the config file";
        if (options.strict) return Status::InvalidArgument(msg);
        loaded.warnings.push_back(msg);
        return Status::Ok();
      };
      // Seed keys first, so that a jq key given beside one wins.
      for (const auto& [key, node] : entries) {
        const SeedAlias* alias = FindSeedAlias(key);
        if (alias == nullptr) continue;
        const std::string jq_key(alias->jq_key);
        const bool overridden = HasEffect(*alias) && jq_keys_given.count(jq_key) > 0;
        loaded.warnings.push_back(file + ": " + SeedWarning(*alias, key, jq_key, overridden));
        if (overridden || node.IsNull()) continue;
        if (!node.IsScalar()) {
          return Status::InvalidArgument(file + ": " + key + ": expected a single value, not a " +
                                         (node.IsMap() ? "mapping" : "list"));
        }
        if (HasEffect(*alias)) {
          if (Status s = check_secret(*FindConfigKey(jq_key), key, node); !s.ok()) return s;
        }
        if (Status s = ApplySeedSetting(loaded.config, *alias, node.Scalar()); !s.ok()) {
          return Status::InvalidArgument(file + ": " + s.message());
        }
        if (HasEffect(*alias)) from_seed[jq_key] = key;
      }
      for (const auto& [key, node] : entries) {
        const ConfigKey* k = FindConfigKey(key);
        if (k == nullptr) continue;
        if (Status s = check_secret(*k, key, node); !s.ok()) return s;
        if (Status s = ApplyNode(loaded.config, *k, node, file); !s.ok()) return s;
        from_seed.erase(key);
      }
    }
  }

  // The environment: seed variables, then jq's (redirected ones before the rest, so that a
  // key's own variable wins over one redirected to it).
  std::map<std::string, std::string> redirect(options.env_redirects.begin(),
                                              options.env_redirects.end());
  auto target_of = [&](const std::string& key) {
    auto it = redirect.find(key);
    return it == redirect.end() ? key : it->second;
  };
  // The jq variables that set `key` (its own, and any redirected to it) that are present.
  auto jq_env_for = [&](const std::string& key) -> std::optional<std::string> {
    if (getenv(ConfigEnvName(key))) return ConfigEnvName(key);
    for (const auto& [from, to] : options.env_redirects) {
      if (to == key && getenv(ConfigEnvName(from))) return ConfigEnvName(from);
    }
    return std::nullopt;
  };
  auto env_error = [](const std::string& env, const Status& s) {
    return Status::InvalidArgument("environment " + env + ": " + s.message());
  };
  for (const auto& alias : SeedAliases()) {
    const std::string env(alias.seed_env);
    if (env.empty()) continue;  // the seed used jq's own variable
    auto v = getenv(env);
    if (!v || v->empty()) continue;  // the seed read an empty variable as unset
    const std::string target = alias.jq_key.empty() ? "" : target_of(std::string(alias.jq_key));
    const auto jq_env = HasEffect(alias) ? jq_env_for(target) : std::nullopt;
    SeedAlias shown = alias;
    if (target != alias.jq_key) shown.note = "";  // the note describes the jq key, not target
    loaded.warnings.push_back(
        "environment: " +
        SeedWarning(shown, env, target.empty() ? "" : ConfigEnvName(target) + " (" + target + ")",
                    jq_env.has_value()));
    if (jq_env) continue;
    if (Status s = ApplySeedSetting(loaded.config, alias, *v, target); !s.ok()) {
      return env_error(env, s);
    }
    if (HasEffect(alias)) from_seed[target] = env;
  }
  auto apply_env = [&](const ConfigKey& k, const std::string& target) -> Status {
    const std::string env = ConfigEnvName(k.key);
    auto v = getenv(env);
    if (!v) return Status::Ok();
    if (Status s = ApplyConfigSetting(loaded.config, target, *v); !s.ok()) {
      return env_error(env, s);
    }
    from_seed.erase(target);
    return Status::Ok();
  };
  for (const auto& k : ConfigKeys()) {
    const std::string key(k.key);
    if (redirect.count(key) == 0) continue;
    if (Status s = apply_env(k, redirect[key]); !s.ok()) return s;
  }
  for (const auto& k : ConfigKeys()) {
    if (redirect.count(std::string(k.key)) > 0) continue;
    if (Status s = apply_env(k, std::string(k.key)); !s.ok()) return s;
  }

  if (Status s = ValidateConfig(loaded.config); !s.ok()) {
    // Range errors start with the jq key; name the seed setting the user actually wrote.
    const std::string& m = s.message();
    const auto colon = m.find(':');
    if (colon != std::string::npos) {
      if (auto it = from_seed.find(m.substr(0, colon)); it != from_seed.end()) {
        return Status::InvalidArgument(m + " (set by the seed's " + it->second + ")");
      }
    }
    return s;
  }
  return loaded;
}

}  // namespace jq::config
