// Loads jq's Config from defaults, a YAML file and JQ_* environment variables (SPEC §11).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace jq::config {

struct LoadOptions {
  std::string path;     // empty = no file
  bool strict = false;  // a secret in the file is an error rather than a warning
  // Environment lookup; defaults to std::getenv. Tests pass their own.
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

struct Loaded {
  Config config;
  std::vector<std::string> warnings;
};

// Errors are one line naming the file and key.
Result<Loaded> LoadConfig(const LoadOptions& options);

}  // namespace jq::config
