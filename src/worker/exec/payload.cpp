#include "worker/exec/payload.h"

#include <exception>
#include <nlohmann/json.hpp>

namespace jq::exec {
namespace {

using nlohmann::json;

bool HasNul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

Result<JobSpec> ParseDocument(const json& doc) {
  if (!doc.is_object()) {
    return Status::InvalidArgument(std::string("payload must be a JSON object, got ") +
                                   doc.type_name());
  }
  JobSpec spec;

  auto cmd = doc.find("command");
  if (cmd == doc.end() || cmd->is_null()) {
    return Status::InvalidArgument("payload has no \"command\" (a non-empty array of strings)");
  }
  if (!cmd->is_array()) {
    return Status::InvalidArgument(std::string("\"command\" must be a non-empty array of ") +
                                   "strings, got " + cmd->type_name());
  }
  if (cmd->empty()) {
    return Status::InvalidArgument("\"command\" must be a non-empty array of strings, got []");
  }
  for (std::size_t i = 0; i < cmd->size(); ++i) {
    const json& arg = (*cmd)[i];
    if (!arg.is_string()) {
      return Status::InvalidArgument(
          "\"command\" must be a non-empty array of strings: "
          "element " +
          std::to_string(i) + " is " + arg.type_name());
    }
    spec.argv.push_back(arg.get<std::string>());
    if (HasNul(spec.argv.back())) {
      return Status::InvalidArgument("\"command\" element " + std::to_string(i) +
                                     " contains a NUL character");
    }
  }
  if (spec.argv[0].empty()) return Status::InvalidArgument("\"command\"[0] is empty");

  if (auto env = doc.find("env"); env != doc.end() && !env->is_null()) {
    if (!env->is_object()) {
      return Status::InvalidArgument(std::string("\"env\" must be an object of strings, got ") +
                                     env->type_name());
    }
    for (const auto& [k, v] : env->items()) {
      if (k.empty() || k.find('=') != std::string::npos || HasNul(k)) {
        return Status::InvalidArgument("\"env\" has an invalid variable name \"" + k +
                                       "\" (empty, or contains '=' or NUL)");
      }
      if (!v.is_string()) {
        return Status::InvalidArgument("\"env\"." + k + " must be a string, got " + v.type_name());
      }
      spec.env[k] = v.get<std::string>();
      if (HasNul(spec.env[k])) {
        return Status::InvalidArgument("\"env\"." + k + " contains a NUL character");
      }
    }
  }

  if (auto cwd = doc.find("cwd"); cwd != doc.end() && !cwd->is_null()) {
    if (!cwd->is_string()) {
      return Status::InvalidArgument(std::string("\"cwd\" must be a string, got ") +
                                     cwd->type_name());
    }
    spec.cwd = cwd->get<std::string>();
    if (HasNul(spec.cwd)) return Status::InvalidArgument("\"cwd\" contains a NUL character");
  }

  if (auto t = doc.find("timeout_seconds"); t != doc.end() && !t->is_null()) {
    // JSON parses non-negative integers as unsigned; negatives and 1.5 are not.
    if (!t->is_number_unsigned()) {
      return Status::InvalidArgument("\"timeout_seconds\" must be a non-negative integer, got " +
                                     (t->is_number() ? t->dump() : t->type_name()));
    }
    const auto seconds = t->get<std::uint64_t>();
    if (seconds > static_cast<std::uint64_t>(kMaxTimeoutSeconds)) {
      return Status::InvalidArgument("\"timeout_seconds\" must be at most " +
                                     std::to_string(kMaxTimeoutSeconds) + ", got " +
                                     std::to_string(seconds));
    }
    spec.timeout_seconds = static_cast<int>(seconds);
  }
  return spec;
}

}  // namespace

Result<JobSpec> ParseJobPayload(std::string_view payload) {
  try {
    json doc = json::parse(payload.begin(), payload.end());
    return ParseDocument(doc);
  } catch (const json::parse_error& e) {
    // Only the offset: the library's message quotes payload bytes, which may be secrets.
    return Status::InvalidArgument("payload is not JSON: syntax error at byte " +
                                   std::to_string(e.byte));
  } catch (const json::out_of_range&) {
    // Likewise: "number overflow parsing '<the number's digits>'".
    return Status::InvalidArgument("payload is not JSON jq can read: a number is out of range");
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("payload could not be parsed: ") + e.what());
  }
}

}  // namespace jq::exec
