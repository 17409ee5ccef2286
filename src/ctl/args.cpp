#include "ctl/args.h"

#include <google/protobuf/util/time_util.h>

#include <cctype>
#include <nlohmann/json.hpp>

namespace jq::ctl {

std::optional<OutputFormat> ParseOutputFormat(std::string_view name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "json") return OutputFormat::kJson;
  if (name == "yaml") return OutputFormat::kYaml;
  return std::nullopt;
}

std::optional<google::protobuf::Timestamp> ParseTime(std::string_view text) {
  // Bring the accepted spellings to the strict RFC 3339 form protobuf parses:
  // "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)".
  if (text.size() < 19) return std::nullopt;
  std::string s(text);
  if (s[10] == ' ' || s[10] == 't') s[10] = 'T';
  if (s.back() == 'z') s.back() = 'Z';
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  if (i == s.size()) s += 'Z';
  google::protobuf::Timestamp ts;
  if (!google::protobuf::util::TimeUtil::FromString(s, &ts)) return std::nullopt;
  return ts;
}

std::optional<std::string> JsonError(const std::string& text) {
  try {
    [[maybe_unused]] auto parsed = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    std::string reason = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
    if (auto pos = reason.find("] "); pos != std::string::npos) reason.erase(0, pos + 2);
    return reason;
  }
  return std::nullopt;
}

}  // namespace jq::ctl
