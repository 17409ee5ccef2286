// Logging set-up shared by the binaries: one JSON object per line on stdout (SPEC §11).
#pragma once

#include <string>

namespace jq::telemetry {

// Installs the default spdlog logger. level: trace, debug, info, warn, error.
void InitLogging(const std::string& service, const std::string& level);
// JSON string escaping for values placed inside log messages.
std::string JsonEscape(const std::string& s);

}  // namespace jq::telemetry
