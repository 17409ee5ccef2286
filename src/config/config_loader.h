// Loads jq's Config from defaults, a YAML file and JQ_* environment variables (SPEC §11). The
// seed system's keys and variables are accepted too (core/config.h SeedAliases), each with a
// warning naming jq's; within the file, and within the environment, jq's name wins.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace jq::config {

struct LoadOptions {
  std::string path;  // empty = no file
  // The file's content when the caller already has it (the fuzz target): parsed instead of
  // reading `path`, which then only names it in messages.
  std::optional<std::string> text;
  bool strict = false;  // a secret in the file is an error rather than a warning
  // Environment lookup; defaults to std::getenv. Tests pass their own.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // {from, to}: what the environment sets for key `from` (its JQ_ variable, or a seed variable
  // aliased to it) goes to key `to` instead, below `to`'s own variable. jq-worker passes
  // {"metrics.addr", "worker.metrics_addr"}: a process's own environment names its own port,
  // whereas the file, which a server and a worker may share, names jq-server's.
  std::vector<std::pair<std::string, std::string>> env_redirects;
};

struct Loaded {
  Config config;
  std::vector<std::string> warnings;  // one line each: secrets in the file, seed names
};

// Errors are one line naming the file and key (and the seed key a bad value came from). Every
// bad file or variable is an INVALID_ARGUMENT status: nothing throws.
Result<Loaded> LoadConfig(const LoadOptions& options);

}  // namespace jq::config
