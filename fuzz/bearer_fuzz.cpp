// The `authorization` header (core/bearer.h): jq-server parses it on every RPC, from any
// caller, before it knows who the caller is. The input is the header's value. Invariants: an
// accepted token is a non-empty substring of the header (a view into it, after the scheme and
// its spaces) with no spaces and only token68 characters ("=" only as trailing padding), and
// parses back from "Bearer <token>"; a parsed API key's parts are views into the token that
// rebuild it, of the documented lengths and alphabets; a token taken for a JWT is three
// non-empty base64url segments, and never also an API key.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/bearer.h"
#include "fuzz/fuzz_check.h"

namespace {

// Written out again here, apart from core/bearer.cpp, so that the two check each other.
bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}
bool IsToken68Char(char c) {
  return IsBase64UrlChar(c) || c == '.' || c == '~' || c == '+' || c == '/';
}
bool IsToken68(std::string_view t) {
  std::size_t end = t.size();
  while (end > 0 && t[end - 1] == '=') --end;
  if (end == 0) return false;
  for (std::size_t i = 0; i < end; ++i) {
    if (!IsToken68Char(t[i])) return false;
  }
  return true;
}
bool Within(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void CheckApiKey(std::string_view token) {
  const auto key = jq::ParseApiKey(token);
  if (!key) return;
  JQ_FUZZ_CHECK(Within(key->id, token) && Within(key->secret, token), token);
  JQ_FUZZ_CHECK("jq_" + std::string(key->id) + "_" + std::string(key->secret) == token, token);
  JQ_FUZZ_CHECK(key->id.size() == jq::kApiKeyIdLength, token);
  JQ_FUZZ_CHECK(key->secret.size() == jq::kApiKeySecretLength, token);
  for (char c : key->id) JQ_FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), token);
  for (char c : key->secret) JQ_FUZZ_CHECK(IsBase64UrlChar(c), token);
  JQ_FUZZ_CHECK(!jq::LooksLikeJwt(token), token);
}

void CheckJwtShape(std::string_view token) {
  if (!jq::LooksLikeJwt(token)) return;
  int segments = 0;
  std::size_t start = 0;
  while (start <= token.size()) {
    std::size_t dot = token.find('.', start);
    if (dot == std::string_view::npos) dot = token.size();
    const std::string_view segment = token.substr(start, dot - start);
    JQ_FUZZ_CHECK(!segment.empty(), token);
    for (char c : segment) JQ_FUZZ_CHECK(IsBase64UrlChar(c), token);
    // Each segment either decodes or has a length no base64url text can have.
    JQ_FUZZ_CHECK(jq::DecodeBase64Url(segment).has_value() == (segment.size() % 4 != 1), token);
    ++segments;
    start = dot + 1;
  }
  JQ_FUZZ_CHECK(segments == 3, token);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view header(reinterpret_cast<const char*>(data), size);
  // A token may come from elsewhere than this parser (a JWT library's output, a test): the
  // key and JWT checks hold for any bytes.
  CheckApiKey(header);
  CheckJwtShape(header);

  const auto token = jq::ParseBearer(header);
  if (!token) return 0;
  JQ_FUZZ_CHECK(!token->empty() && Within(*token, header), header);
  JQ_FUZZ_CHECK(token->find(' ') == std::string_view::npos, header);
  JQ_FUZZ_CHECK(IsToken68(*token), header);
  // The token is the end of the header but for trailing spaces, after "bearer" and a space.
  JQ_FUZZ_CHECK(header.size() > 7 && header[6] == ' ', header);
  const std::string_view after = header.substr(token->data() - header.data() + token->size());
  JQ_FUZZ_CHECK(after.find_first_not_of(' ') == std::string_view::npos, header);
  const std::string again = "Bearer " + std::string(*token);
  const auto reparsed = jq::ParseBearer(again);
  JQ_FUZZ_CHECK(reparsed && *reparsed == *token, header);
  CheckApiKey(*token);
  CheckJwtShape(*token);
  return 0;
}
