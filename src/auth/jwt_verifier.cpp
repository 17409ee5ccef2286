#include "auth/jwt_verifier.h"

#include <jwt.h>

#include <nlohmann/json.hpp>

#include "core/bearer.h"

namespace jq::auth {
namespace {

Status Refused(const std::string& why) {
  return Status(StatusCode::kUnauthenticated, "JWT refused: " + why);
}

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

bool AudienceMatches(const nlohmann::json& aud, const std::string& want) {
  if (aud.is_string()) return aud.get<std::string>() == want;
  if (aud.is_array()) {
    for (const auto& a : aud) {
      if (a.is_string() && a.get<std::string>() == want) return true;
    }
  }
  return false;
}

// The "alg" of a JWT's header; "" when there is none to read.
std::string HeaderAlg(const std::string& token) {
  const auto header = DecodeBase64Url(std::string_view(token).substr(0, token.find('.')));
  if (!header) return "";
  const auto json = nlohmann::json::parse(*header, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("alg") || !json["alg"].is_string()) return "";
  return json["alg"].get<std::string>();
}

}  // namespace

Result<Principal> PrincipalFromClaims(std::string_view claims_json, const JwtConfig& config,
                                      std::int64_t now) {
  const auto claims = nlohmann::json::parse(claims_json, nullptr, /*allow_exceptions=*/false);
  if (!claims.is_object()) return Refused("its payload is not a JSON object");
  const auto number = [&](const char* name) -> std::optional<std::int64_t> {
    auto it = claims.find(name);
    if (it == claims.end() || !it->is_number()) return std::nullopt;
    return static_cast<std::int64_t>(it->get<double>());
  };
  const auto text = [&](const char* name) -> std::optional<std::string> {
    auto it = claims.find(name);
    if (it == claims.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  const std::int64_t leeway = config.leeway.count();
  const auto exp = number("exp");
  if (!exp) return Refused("no exp claim (an expiry is required)");
  if (now > *exp + leeway) return Refused("expired (exp is in the past)");
  if (auto nbf = number("nbf"); nbf && now + leeway < *nbf) {
    return Refused("not valid yet (nbf is in the future)");
  }
  if (!config.issuer.empty() && text("iss") != config.issuer) {
    return Refused("iss is not '" + config.issuer + "'");
  }
  if (!config.audience.empty()) {
    auto it = claims.find("aud");
    if (it == claims.end() || !AudienceMatches(*it, config.audience)) {
      return Refused("aud does not name '" + config.audience + "'");
    }
  }
  const auto tenant = text("tenant");
  if (!tenant || !ValidTenantName(*tenant)) return Refused("no valid tenant claim");
  const auto role_name = text("role");
  const auto role = role_name ? ParseRole(*role_name) : std::nullopt;
  if (!role) return Refused("role claim is not admin, producer, worker or fleet");
  Principal p;
  p.tenant = *tenant;
  p.role = *role;
  const std::string sub = text("sub").value_or("");
  p.key_id = "jwt:" + (sub.empty() ? *tenant : sub.substr(0, 128));
  p.issued_at = number("iat").value_or(0);
  return p;
}

JwtVerifier::JwtVerifier(JwtConfig config) : config_(std::move(config)) {}

Result<Principal> JwtVerifier::Verify(const std::string& token, std::int64_t now) const {
  // The header's alg, read before anything is verified, only to choose the key for it.
  const std::string alg_name = HeaderAlg(token);
  const jwt_alg_t alg = jwt_str_alg(alg_name.c_str());
  const std::string* key = nullptr;
  if (alg == JWT_ALG_HS256 && !config_.hs256_secret.empty()) key = &config_.hs256_secret;
  if (alg == JWT_ALG_RS256 && !config_.rs256_public_key.empty()) key = &config_.rs256_public_key;
  if (key == nullptr) {
    const bool printable =
        alg_name.size() <= 16 && alg_name.find_first_not_of(
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                     "qrstuvwxyz0123456789") == std::string::npos;
    return Refused("algorithm '" + (printable ? alg_name : std::string("?")) +
                   "' is not accepted (HS256 and RS256 are, when configured)");
  }
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key->data()),
                 static_cast<int>(key->size())) != 0) {
    return Refused("bad signature");
  }
  JwtPtr verified(raw);
  if (jwt_get_alg(verified.get()) != alg) return Refused("bad signature");
  char* claims = jwt_get_grants_json(verified.get(), nullptr);
  if (claims == nullptr) return Refused("no claims");
  std::string json(claims);
  free(claims);  // NOLINT: libjwt allocates with malloc
  return PrincipalFromClaims(json, config_, now);
}

}  // namespace jq::auth
