// Authenticator: turns an `authorization` header into the caller (SPEC §11). API keys are
// checked against an in-memory copy of the api_keys table that a background loop reloads
// every auth.key_refresh_ms, so a request costs a hash lookup and one SHA-256, never a query,
// and a revocation reaches every replica within one refresh. A key id not in the copy (made
// a moment ago on another replica) reloads it at once, at most every 50 ms (so unknown ids
// cost at most 20 small reads a second); a key made on this replica is in its copy at once
// (Remember). The loop also
// writes the keys' last use. JWTs go to the JwtVerifier; the bootstrap key (environment only)
// is an admin of auth.bootstrap_tenant, the bootstrap fleet key a fleet key. Thread-safe. Nothing
// it logs or returns contains a secret.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/jwt_verifier.h"
#include "core/auth.h"
#include "core/background_loop.h"
#include "core/config.h"
#include "core/job_store.h"

namespace jq::auth {

struct AuthenticatorConfig {
  bool enabled = true;              // false: everyone is an admin of tenant "default" ("anonymous")
  std::string bootstrap_key;        // an admin of bootstrap_tenant
  std::string bootstrap_fleet_key;  // a fleet key: workers of every tenant
  std::string bootstrap_tenant = "default";
  std::chrono::milliseconds refresh{1000};
  JwtConfig jwt;
};

// The auth.* settings; reads auth.jwt_rs256_public_key_file (INVALID_ARGUMENT naming the key
// when it cannot be read).
Result<AuthenticatorConfig> AuthenticatorConfigFrom(const Config& config);

class Authenticator {
 public:
  Authenticator(JobStore& store, AuthenticatorConfig config);
  ~Authenticator();

  void Start();  // the first load runs at once
  void Stop();

  // authorization: the header's value, "" when absent. UNAUTHENTICATED says what was wrong
  // (missing, not a bearer token, unknown or revoked key, bad JWT), never with the secret.
  Result<Principal> Authenticate(std::string_view authorization);

  bool enabled() const { return config_.enabled; }
  // A key just created here: usable on this replica at once, before the next reload.
  void Remember(const ApiKeyRecord& key);
  // A JWT revocation just made here: in force on this replica at once.
  void Remember(const JwtRevocationRecord& revocation);
  // One pass of the loop: reload the keys, record last use. Public for tests.
  BackgroundLoop::Next RunOnce();

 private:
  struct Key {
    std::string tenant;
    Role role = Role::kProducer;
    std::string secret_sha256;
  };
  using Keys = std::unordered_map<std::string, Key>;
  // Subject -> revoked_at in seconds since the epoch: JWTs issued until then are refused.
  using Revocations = std::unordered_map<std::string, std::int64_t>;
  Status Reload();
  std::shared_ptr<const Keys> Snapshot();

  JobStore& store_;
  const AuthenticatorConfig config_;
  const std::string bootstrap_sha256_;  // of the bootstrap key; empty when none
  const std::string bootstrap_fleet_sha256_;
  JwtVerifier jwt_;
  std::mutex reload_mu_;  // one reload at a time
  std::mutex mu_;
  std::shared_ptr<const Keys> keys_;                   // GUARDED_BY(mu_)
  std::shared_ptr<const Revocations> revocations_;     // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point loaded_at_{};  // GUARDED_BY(mu_)
  std::set<std::string> used_;                         // GUARDED_BY(mu_): since the last pass
  BackgroundLoop loop_;
};

}  // namespace jq::auth
