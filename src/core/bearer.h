// Parsing of credentials a caller presents (SPEC §11): the `authorization` header's bearer
// token, and the shape of a jq API key. Pure and total: any bytes give a value or nullopt,
// never a crash (a fuzz target feeds them arbitrary input). No secret is ever copied into an
// error: callers say only which part was malformed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace jq {

// The token of an `authorization: Bearer <token>` header value: the scheme is matched
// case-insensitively (RFC 6750 §2.1, RFC 7235), one or more spaces follow, and the token is
// the rest without trailing spaces. nullopt: another scheme, no token, or a token with bytes
// outside RFC 6750's token68 set (letters, digits, "-._~+/" and trailing "=").
std::optional<std::string_view> ParseBearer(std::string_view header);

// A jq API key: "jq_" + id + "_" + secret, the id 16 lower-case hex digits (the key's row,
// shown by `apikey list`), the secret 43 characters of base64url (256 random bits). The
// views point into token.
struct ApiKeyParts {
  std::string_view id;
  std::string_view secret;
};
std::optional<ApiKeyParts> ParseApiKey(std::string_view token);

// Whether token has the shape of a JWT (three base64url segments separated by dots); it is
// then verified as one, not looked up as an API key.
bool LooksLikeJwt(std::string_view token);

// base64url without padding (RFC 4648 §5), as JWT segments are written; nullopt for any
// other byte or an impossible length.
std::optional<std::string> DecodeBase64Url(std::string_view text);

inline constexpr std::size_t kApiKeyIdLength = 16;
inline constexpr std::size_t kApiKeySecretLength = 43;

}  // namespace jq
