#include "config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>

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
    const std::string key =
        prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>();
    if (kv.second.IsMap() && FindConfigKey(key) == nullptr) {
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
  if (key.kind == ConfigKind::kStringList) {
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

}  // namespace

Result<Loaded> LoadConfig(const LoadOptions& options) {
  Loaded loaded;
  auto getenv = options.getenv ? options.getenv : RealGetenv;

  if (!options.path.empty()) {
    const std::string& file = options.path;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      return Status::InvalidArgument("config file " + file + ": not found or not a regular file");
    }
    YAML::Node root;
    try {
      root = YAML::LoadFile(file);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument("config file " + file + ": line " +
                                     std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (!root.IsNull()) {
      std::vector<std::pair<std::string, YAML::Node>> entries;
      if (Status s = Flatten(root, "", file, entries); !s.ok()) return s;
      for (const auto& [key, node] : entries) {
        const ConfigKey* k = FindConfigKey(key);
        if (k == nullptr) {
          return Status::InvalidArgument(file + ": unknown key '" + key + "'");
        }
        if (k->secret && !(node.IsNull() || (node.IsScalar() && node.Scalar().empty()))) {
          std::string msg = file + ": " + key + " is a secret and belongs in the environment (" +
                            ConfigEnvName(key) + "), not the config file";
          if (options.strict) return Status::InvalidArgument(msg);
          loaded.warnings.push_back(msg);
        }
        if (Status s = ApplyNode(loaded.config, *k, node, file); !s.ok()) return s;
      }
    }
  }

  for (const auto& k : ConfigKeys()) {
    const std::string env = ConfigEnvName(k.key);
    if (auto v = getenv(env)) {
      Status s = ApplyConfigSetting(loaded.config, k.key, *v);
      if (!s.ok()) return Status::InvalidArgument("environment " + env + ": " + s.message());
    }
  }

  if (Status s = ValidateConfig(loaded.config); !s.ok()) return s;
  return loaded;
}

}  // namespace jq::config
