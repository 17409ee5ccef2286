#include "core/page_token.h"

#include <charconv>

#include "core/validation.h"

namespace jq {
namespace {
constexpr char kHex[] = "0123456789abcdef";
}

// Format: hex of "v1:<created_at_us>:<job_id>" so that clients treat it as opaque.
std::string EncodePageToken(const PageCursor& cursor) {
  const std::string plain = "v1:" + std::to_string(cursor.created_at_us) + ":" + cursor.job_id;
  std::string out;
  out.reserve(plain.size() * 2);
  for (unsigned char c : plain) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

std::optional<PageCursor> DecodePageToken(const std::string& token) {
  if (token.size() % 2 != 0 || token.size() > 256) return std::nullopt;
  std::string plain;
  for (std::size_t i = 0; i < token.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(token.data() + i, token.data() + i + 2, v, 16);
    if (ec != std::errc() || p != token.data() + i + 2) return std::nullopt;
    plain.push_back(static_cast<char>(v));
  }
  if (plain.rfind("v1:", 0) != 0) return std::nullopt;
  const auto colon = plain.find(':', 3);
  if (colon == std::string::npos) return std::nullopt;
  PageCursor c;
  auto [p, ec] = std::from_chars(plain.data() + 3, plain.data() + colon, c.created_at_us);
  if (ec != std::errc() || p != plain.data() + colon) return std::nullopt;
  // Only times PostgreSQL and system_clock can represent (1970 to 2255).
  if (c.created_at_us < 0 || c.created_at_us > 9'000'000'000'000'000LL) return std::nullopt;
  c.job_id = plain.substr(colon + 1);
  if (!IsUuid(c.job_id)) return std::nullopt;
  return c;
}

}  // namespace jq
