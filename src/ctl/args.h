// jq-ctl's argument values (SPEC §10): the text of flags turned into what the requests and the
// session carry. CLI11 checks the flags' presence and numbers (ctl/cli.cpp); these are the values
// it cannot check. Pure. Thread-compatible.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <optional>
#include <string>
#include <string_view>

#include "ctl/format.h"

namespace jq::ctl {

// "table", "json" or "yaml".
std::optional<OutputFormat> ParseOutputFormat(std::string_view name);

// Accepts RFC 3339 ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.5+02:00") and
// "YYYY-MM-DD HH:MM:SS" (UTC, also with 'T' and without a zone). nullopt for anything else.
std::optional<google::protobuf::Timestamp> ParseTime(std::string_view text);

// nullopt when `text` is valid JSON; else why not ("syntax error while parsing value - ...").
std::optional<std::string> JsonError(const std::string& text);

}  // namespace jq::ctl
