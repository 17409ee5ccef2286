#include "core/validation.h"

#include <cctype>

namespace jq {
namespace {

bool IsQueueStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool IsQueueChar(char c) {
  return IsQueueStart(c) || c == '.' || c == '_' || c == '-';
}
bool IsHex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

// A refused value as a message quotes it: at most 64 bytes, each non-printable one shown as
// '?', so that the message stays one printable line in a log, a status and a terminal.
std::string Shown(std::string_view value) {
  std::string shown(value.substr(0, 64));
  for (char& c : shown) {
    if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
  }
  return shown;
}

}  // namespace

Status ValidateQueueName(std::string_view name, std::string_view field) {
  const std::string f(field);
  if (name.empty()) return Status::InvalidArgument(f + " is required");
  if (name.size() > 64) {
    return Status::InvalidArgument(f + " is longer than 64 characters");
  }
  if (!IsQueueStart(name[0])) {
    return Status::InvalidArgument(f + " '" + Shown(name) +
                                   "' must start with a lower-case letter or digit");
  }
  for (char c : name) {
    if (!IsQueueChar(c)) {
      return Status::InvalidArgument(f + " '" + Shown(name) + "' may contain only [a-z0-9._-]");
    }
  }
  return Status::Ok();
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!IsHex(s[i])) {
      return false;
    }
  }
  return true;
}

Status ValidateJobId(std::string_view id, std::string_view field) {
  const std::string f(field);
  if (id.empty()) return Status::InvalidArgument(f + " is required");
  if (!IsUuid(id)) {
    return Status::InvalidArgument(f + " '" + Shown(id) + "' is not a valid UUID");
  }
  return Status::Ok();
}

Status ValidatePriority(int priority) {
  if (priority < 0 || priority > 9) {
    return Status::InvalidArgument("priority " + std::to_string(priority) + " is out of range 0-9");
  }
  return Status::Ok();
}

Status ValidatePayloadSize(std::size_t size, std::size_t limit) {
  if (size > limit) {
    return Status::InvalidArgument("payload is " + std::to_string(size) +
                                   " bytes, over the limit of " + std::to_string(limit));
  }
  return Status::Ok();
}

Status ValidateNonNegative(long long value, std::string_view field) {
  if (value < 0) {
    return Status::InvalidArgument(std::string(field) + " must not be negative (got " +
                                   std::to_string(value) + ")");
  }
  return Status::Ok();
}

Status ValidateToken(std::string_view value, std::string_view field, std::size_t max_len) {
  const std::string f(field);
  if (value.empty()) return Status::InvalidArgument(f + " is required");
  if (value.size() > max_len) {
    return Status::InvalidArgument(f + " is longer than " + std::to_string(max_len) +
                                   " characters");
  }
  for (char c : value) {
    if (!std::isprint(static_cast<unsigned char>(c))) {
      return Status::InvalidArgument(f + " contains a non-printable character");
    }
  }
  return Status::Ok();
}

}  // namespace jq
