// jq's wire messages as the JSON and YAML documents of `--output json|yaml` (SPEC §10), built
// from the messages' descriptors so that a field added to a proto appears without code here.
// Private to jq_ctl_lib. Pure: no I/O. Thread-compatible.
//
// The shape: an object per message with every field in declaration order under its proto
// (snake_case) name, unset ones included; timestamps are UTC "YYYY-MM-DD HH:MM:SS" or null when
// unset; enums are their names ("DEAD_LETTERED", "ONLINE"; "UNSPECIFIED" for 0); bytes are text
// when printable UTF-8 and "base64:<base64>" otherwise; repeated fields are arrays.
#pragma once

#include <google/protobuf/message.h>

#include <nlohmann/json.hpp>
#include <string>

#include "ctl/format.h"

namespace jq::ctl {

// Keeps keys in insertion (proto declaration) order rather than sorted.
using Document = nlohmann::ordered_json;

Document ToDocument(const google::protobuf::Message& message);

// A whole reply: indented JSON, or block YAML, ending in a newline. REQUIRES: format is kJson or
// kYaml.
std::string DocumentText(const Document& doc, OutputFormat format);
// One item of a stream: a compact JSON line (JSON Lines), or a YAML document opened by "---".
// REQUIRES: format is kJson or kYaml.
std::string StreamItemText(const Document& doc, OutputFormat format);

}  // namespace jq::ctl
