#include "auth/authenticator.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "auth/api_key.h"
#include "core/bearer.h"

namespace jq::auth {
namespace {

constexpr auto kMissReloadGap = std::chrono::milliseconds(50);

Status Unauthenticated(std::string message) {
  return Status(StatusCode::kUnauthenticated, std::move(message));
}

// iat has whole seconds: a token issued in the revocation's second is refused too.
std::int64_t RevokedAtSeconds(const JwtRevocationRecord& r) {
  return std::chrono::duration_cast<std::chrono::seconds>(r.revoked_at.time_since_epoch()).count();
}

}  // namespace

Result<AuthenticatorConfig> AuthenticatorConfigFrom(const Config& config) {
  AuthenticatorConfig a;
  a.enabled = config.auth.enabled;
  a.bootstrap_key = config.auth.bootstrap_key;
  a.bootstrap_fleet_key = config.auth.bootstrap_fleet_key;
  a.bootstrap_tenant = config.auth.bootstrap_tenant;
  a.refresh = std::chrono::milliseconds(config.auth.key_refresh_ms);
  a.jwt.hs256_secret = config.auth.jwt_hs256_secret;
  a.jwt.issuer = config.auth.jwt_issuer;
  a.jwt.audience = config.auth.jwt_audience;
  if (const std::string& path = config.auth.jwt_rs256_public_key_file; !path.empty()) {
    std::ifstream in(path);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().find("-----BEGIN PUBLIC KEY-----") == std::string::npos) {
      return Status::InvalidArgument(
          "auth.jwt_rs256_public_key_file: cannot read a PEM public "
          "key from " +
          path);
    }
    a.jwt.rs256_public_key = pem.str();
  }
  return a;
}

Authenticator::Authenticator(JobStore& store, AuthenticatorConfig config)
    : store_(store),
      config_(std::move(config)),
      bootstrap_sha256_(config_.bootstrap_key.empty() ? "" : Sha256(config_.bootstrap_key)),
      bootstrap_fleet_sha256_(
          config_.bootstrap_fleet_key.empty() ? "" : Sha256(config_.bootstrap_fleet_key)),
      jwt_(config_.jwt),
      keys_(std::make_shared<Keys>()),
      revocations_(std::make_shared<Revocations>()),
      loop_({.name = "jq-auth-keys", .interval = config_.refresh}, [this] { return RunOnce(); }) {}

Authenticator::~Authenticator() {
  Stop();
}

void Authenticator::Start() {
  if (config_.enabled) loop_.Start();
}

void Authenticator::Stop() {
  loop_.Stop();
}

std::shared_ptr<const Authenticator::Keys> Authenticator::Snapshot() {
  std::lock_guard lock(mu_);
  return keys_;
}

Status Authenticator::Reload() {
  std::lock_guard reload(reload_mu_);
  auto rows = store_.ApiKeyList("");
  if (!rows.ok()) return rows.status();  // keep the last copy: keys go on working
  auto keys = std::make_shared<Keys>();
  for (const auto& r : *rows) {
    auto role = ParseRole(r.role);
    if (r.revoked_at || !role) continue;
    (*keys)[r.id] = Key{r.tenant, *role, r.secret_sha256};
  }
  std::shared_ptr<const Revocations> revocations;
  if (jwt_.enabled()) {
    auto listed = store_.JwtRevocationList();
    if (!listed.ok()) return listed.status();
    auto r = std::make_shared<Revocations>();
    for (const auto& rev : *listed) (*r)[rev.subject] = RevokedAtSeconds(rev);
    revocations = std::move(r);
  }
  std::lock_guard lock(mu_);
  keys_ = std::move(keys);
  if (revocations) revocations_ = std::move(revocations);
  loaded_at_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

void Authenticator::Remember(const JwtRevocationRecord& revocation) {
  std::lock_guard lock(mu_);
  auto r = std::make_shared<Revocations>(*revocations_);
  (*r)[revocation.subject] = RevokedAtSeconds(revocation);
  revocations_ = std::move(r);
}

void Authenticator::Remember(const ApiKeyRecord& key) {
  auto role = ParseRole(key.role);
  if (!role || key.revoked_at) return;
  std::lock_guard lock(mu_);
  auto keys = std::make_shared<Keys>(*keys_);
  (*keys)[key.id] = Key{key.tenant, *role, key.secret_sha256};
  keys_ = std::move(keys);
}

BackgroundLoop::Next Authenticator::RunOnce() {
  if (Status s = Reload(); !s.ok()) spdlog::warn("api keys: reload failed: {}", s.message());
  std::set<std::string> used;
  {
    std::lock_guard lock(mu_);
    used.swap(used_);
  }
  if (!used.empty()) {
    const std::vector<std::string> ids(used.begin(), used.end());
    if (Status s = store_.ApiKeyTouch(ids); !s.ok()) {
      spdlog::debug("api keys: last use not recorded: {}", s.message());
    }
  }
  return std::nullopt;
}

Result<Principal> Authenticator::Authenticate(std::string_view authorization) {
  if (!config_.enabled) return Principal{"anonymous", "default", Role::kAdmin};
  if (authorization.empty()) {
    return Unauthenticated(
        "no credentials: send the header 'authorization: Bearer <API key or JWT>'");
  }
  const auto token = ParseBearer(authorization);
  if (!token) return Unauthenticated("the authorization header is not 'Bearer <token>'");
  if (!bootstrap_sha256_.empty() && SecretMatches(*token, bootstrap_sha256_)) {
    return Principal{"bootstrap", config_.bootstrap_tenant, Role::kAdmin};
  }
  if (!bootstrap_fleet_sha256_.empty() && SecretMatches(*token, bootstrap_fleet_sha256_)) {
    return Principal{"bootstrap-fleet", config_.bootstrap_tenant, Role::kFleet};
  }
  if (LooksLikeJwt(*token)) {
    if (!jwt_.enabled()) {
      return Unauthenticated("JWT refused: this server accepts no JWTs (auth.jwt_* not set)");
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto p = jwt_.Verify(std::string(*token), now);
    if (!p.ok()) return p;
    std::shared_ptr<const Revocations> revocations;
    {
      std::lock_guard lock(mu_);
      revocations = revocations_;
    }
    // A token without iat cannot show it was issued after the revocation.
    auto it = revocations->find(p->key_id.substr(4));  // "jwt:<subject>"
    if (it != revocations->end() && p->issued_at <= it->second) {
      return Unauthenticated("JWT refused: its subject's tokens issued until " +
                             std::to_string(it->second) + " (iat) are revoked; get a new one");
    }
    return p;
  }
  const auto parts = ParseApiKey(*token);
  if (!parts) return Unauthenticated("the bearer token is not a jq API key or a JWT");
  const std::string id(parts->id);
  auto keys = Snapshot();
  auto it = keys->find(id);
  if (it == keys->end()) {
    bool stale = false;
    {
      std::lock_guard lock(mu_);
      stale = std::chrono::steady_clock::now() - loaded_at_ >= kMissReloadGap;
    }
    if (stale && Reload().ok()) {
      keys = Snapshot();
      it = keys->find(id);
    }
    if (it == keys->end()) return Unauthenticated("API key " + id + " is unknown or revoked");
  }
  if (!SecretMatches(parts->secret, it->second.secret_sha256)) {
    return Unauthenticated("API key " + id + ": wrong secret");
  }
  {
    std::lock_guard lock(mu_);
    used_.insert(id);
  }
  return Principal{id, it->second.tenant, it->second.role};
}

}  // namespace jq::auth
