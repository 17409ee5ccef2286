// JWT bearer tokens (SPEC §11), verified with libjwt: HS256 with a shared secret or RS256
// with a public key, whichever the token's header names and is configured (the key is chosen
// by algorithm, so an RS256 public key is never taken as an HS256 secret). Then the claims:
// `exp` required and in the future, `nbf` if present, `iss` and `aud` when configured, and
// the caller from `tenant` and `role` (`sub`, when present, names the actor). Thread-safe
// (immutable after construction); no I/O after it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/auth.h"
#include "core/status.h"

namespace jq::auth {

struct JwtConfig {
  std::string hs256_secret;         // empty: HS256 refused
  std::string rs256_public_key;     // PEM text; empty: RS256 refused
  std::string issuer;               // empty: any
  std::string audience;             // empty: any
  std::chrono::seconds leeway{30};  // clock skew allowed on exp and nbf
};

// The claims of a verified token (JSON text of its payload) as the caller, or UNAUTHENTICATED
// naming the claim that is missing, wrong or expired (never echoing the token). Pure.
Result<Principal> PrincipalFromClaims(std::string_view claims_json, const JwtConfig& config,
                                      std::int64_t now_seconds);

class JwtVerifier {
 public:
  explicit JwtVerifier(JwtConfig config);
  bool enabled() const {
    return !config_.hs256_secret.empty() || !config_.rs256_public_key.empty();
  }
  // UNAUTHENTICATED for a bad signature, an algorithm not configured, or bad claims.
  Result<Principal> Verify(const std::string& token, std::int64_t now_seconds) const;

 private:
  JwtConfig config_;
};

}  // namespace jq::auth
