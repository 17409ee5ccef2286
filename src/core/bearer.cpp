#include "core/bearer.h"

#include <cctype>
#include <cstdint>

namespace jq {
namespace {

bool IsBase64Url(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

bool IsToken68(char c) {
  return IsBase64Url(c) || c == '.' || c == '~' || c == '+' || c == '/';
}

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

}  // namespace

std::optional<std::string_view> ParseBearer(std::string_view header) {
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view rest = header.substr(kScheme.size());
  if (rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  if (rest.empty()) return std::nullopt;
  std::size_t end = rest.size();
  while (end > 0 && rest[end - 1] == '=') --end;  // token68 padding, only at the end
  if (end == 0) return std::nullopt;
  for (std::size_t i = 0; i < end; ++i) {
    if (!IsToken68(rest[i])) return std::nullopt;
  }
  return rest;
}

std::optional<ApiKeyParts> ParseApiKey(std::string_view token) {
  constexpr std::string_view kPrefix = "jq_";
  if (token.size() != kPrefix.size() + kApiKeyIdLength + 1 + kApiKeySecretLength) {
    return std::nullopt;
  }
  if (token.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const std::string_view id = token.substr(kPrefix.size(), kApiKeyIdLength);
  if (token[kPrefix.size() + kApiKeyIdLength] != '_') return std::nullopt;
  const std::string_view secret = token.substr(kPrefix.size() + kApiKeyIdLength + 1);
  for (char c : id) {
    if (!IsLowerHex(c)) return std::nullopt;
  }
  for (char c : secret) {
    if (!IsBase64Url(c)) return std::nullopt;
  }
  return ApiKeyParts{id, secret};
}

bool LooksLikeJwt(std::string_view token) {
  int dots = 0;
  std::size_t segment = 0;
  for (char c : token) {
    if (c == '.') {
      if (segment == 0 && dots < 2) return false;  // header and payload are never empty
      ++dots;
      segment = 0;
    } else if (IsBase64Url(c)) {
      ++segment;
    } else {
      return false;
    }
  }
  return dots == 2 && segment > 0;
}

std::optional<std::string> DecodeBase64Url(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace jq
