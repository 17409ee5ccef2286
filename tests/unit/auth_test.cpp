// jq_auth: key secrets, JWT claims and signatures, and the Authenticator over the fake store.
#include <gtest/gtest.h>
#include <jwt.h>

#include "auth/api_key.h"
#include "auth/authenticator.h"
#include "auth/jwt_verifier.h"
#include "core/bearer.h"
#include "support/fake_job_store.h"

namespace jq::auth {
namespace {

TEST(ApiKey, GeneratedKeysParseAndMatchOnlyTheirOwnHash) {
  const NewApiKey a = GenerateApiKey(), b = GenerateApiKey();
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.token, b.token);
  auto parts = ParseApiKey(a.token);
  ASSERT_TRUE(parts.has_value()) << a.token;
  EXPECT_EQ(parts->id, a.id);
  EXPECT_EQ(a.secret_sha256.size(), 32u);
  EXPECT_EQ(a.token.find(a.secret_sha256), std::string::npos);
  EXPECT_TRUE(SecretMatches(parts->secret, a.secret_sha256));
  EXPECT_FALSE(SecretMatches(parts->secret, b.secret_sha256));
  EXPECT_FALSE(SecretMatches(std::string(parts->secret) + "x", a.secret_sha256));
  EXPECT_FALSE(SecretMatches(parts->secret, ""));
}

TEST(ApiKey, Sha256IsTheStandardDigest) {
  EXPECT_EQ(Sha256("abc"), std::string("\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae"
                                       "\x22\x23\xb0\x03\x61\xa3\x96\x17\x7a\x9c\xb4\x10\xff\x61"
                                       "\xf2\x00\x15\xad",
                                       32));
}

constexpr std::int64_t kNow = 1'800'000'000;

JwtConfig Rules() {
  JwtConfig c;
  c.hs256_secret = "unit-secret-0123456789abcdef0123456789";
  c.issuer = "issuer";
  c.audience = "jq";
  return c;
}

TEST(JwtClaims, TenantRoleAndSubjectMakeTheCaller) {
  auto p = PrincipalFromClaims(
      R"({"iss":"issuer","aud":["x","jq"],"exp":1800000060,"tenant":"acme","role":"worker","sub":"bob"})",
      Rules(), kNow);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(p->role, Role::kWorker);
  EXPECT_EQ(p->key_id, "jwt:bob");
}

TEST(JwtClaims, EachMissingOrWrongClaimIsNamed) {
  const std::string ok_tail = R"("tenant":"acme","role":"producer")";
  struct Case {
    std::string claims, why;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"iss":"issuer","aud":"jq",)" + ok_tail + "}", "no exp"},
           {R"({"iss":"issuer","aud":"jq","exp":1799999000,)" + ok_tail + "}", "expired"},
           {R"({"iss":"issuer","aud":"jq","exp":1800000060,"nbf":1800001000,)" + ok_tail + "}",
            "not valid yet"},
           {R"({"iss":"other","aud":"jq","exp":1800000060,)" + ok_tail + "}", "iss"},
           {R"({"aud":"jq","exp":1800000060,)" + ok_tail + "}", "iss"},
           {R"({"iss":"issuer","aud":"nope","exp":1800000060,)" + ok_tail + "}", "aud"},
           {R"({"iss":"issuer","aud":"jq","exp":1800000060,"role":"producer"})", "tenant"},
           {R"({"iss":"issuer","aud":"jq","exp":1800000060,"tenant":"Bad Name","role":"producer"})",
            "tenant"},
           {R"({"iss":"issuer","aud":"jq","exp":1800000060,"tenant":"acme","role":"root"})",
            "role"},
           {"[1,2]", "not a JSON object"},
           {"{", "not a JSON object"},
       }) {
    auto p = PrincipalFromClaims(c.claims, Rules(), kNow);
    ASSERT_FALSE(p.ok()) << c.claims;
    EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated);
    EXPECT_NE(p.status().message().find(c.why), std::string::npos)
        << c.claims << " -> " << p.status().message();
  }
  // Within the leeway, an expiry a few seconds ago still passes.
  EXPECT_TRUE(PrincipalFromClaims(R"({"iss":"issuer","aud":"jq","exp":1799999990,)" + ok_tail + "}",
                                  Rules(), kNow)
                  .ok());
}

std::string Sign(jwt_alg_t alg, const std::string& key, const std::string& claims) {
  jwt_t* jwt = nullptr;
  jwt_new(&jwt);
  jwt_add_grants_json(jwt, claims.c_str());
  jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(key.data()),
              static_cast<int>(key.size()));
  char* out = jwt_encode_str(jwt);
  std::string token = out != nullptr ? out : "";
  free(out);  // NOLINT: libjwt's allocation
  jwt_free(jwt);
  return token;
}

TEST(JwtVerifier, VerifiesTheSignatureWithTheKeyOfItsAlgorithm) {
  const JwtVerifier v(Rules());
  const std::string claims =
      R"({"iss":"issuer","aud":"jq","exp":1800000060,"tenant":"acme","role":"producer"})";
  EXPECT_TRUE(v.Verify(Sign(JWT_ALG_HS256, Rules().hs256_secret, claims), kNow).ok());
  auto forged = v.Verify(Sign(JWT_ALG_HS256, "some-other-secret-0123456789abcdef", claims), kNow);
  EXPECT_EQ(forged.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(forged.status().message().find("bad signature"), std::string::npos);
  // HS512 is not configured, nor is RS256 (no public key), nor an unsigned token.
  for (jwt_alg_t alg : {JWT_ALG_HS512, JWT_ALG_NONE}) {
    auto r = v.Verify(Sign(alg, alg == JWT_ALG_NONE ? "" : Rules().hs256_secret, claims), kNow);
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
    EXPECT_NE(r.status().message().find("is not accepted"), std::string::npos)
        << r.status().message();
  }
  EXPECT_FALSE(v.Verify("a.b.c", kNow).ok());
}

TEST(Authenticator, KeysFromTheStoreTheBootstrapKeyAndRevocation) {
  testing::FakeJobStore store;
  AuthenticatorConfig config;
  config.bootstrap_key = "bootstrap-key-for-the-unit-test-0123456789";
  config.bootstrap_fleet_key = "bootstrap-fleet-key-for-the-unit-test-0123456789";
  config.bootstrap_tenant = "ops";
  Authenticator auth(store, config);
  const NewApiKey key = GenerateApiKey();
  ASSERT_TRUE(
      store.ApiKeyInsert({key.id, "acme", "producer", key.secret_sha256, "", {}, {}, {}}).ok());
  auth.RunOnce();

  auto p = auth.Authenticate("Bearer " + key.token);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->key_id, key.id);
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(p->role, Role::kProducer);
  auto boot = auth.Authenticate("Bearer " + config.bootstrap_key);
  ASSERT_TRUE(boot.ok());
  EXPECT_EQ(boot->key_id, "bootstrap");
  EXPECT_EQ(boot->tenant, "ops");
  EXPECT_EQ(boot->role, Role::kAdmin);
  auto fleet = auth.Authenticate("Bearer " + config.bootstrap_fleet_key);
  ASSERT_TRUE(fleet.ok());
  EXPECT_EQ(fleet->key_id, "bootstrap-fleet");
  EXPECT_EQ(fleet->role, Role::kFleet);
  EXPECT_TRUE(fleet->serves_all_tenants());
  EXPECT_EQ(fleet->ReadScope(), "ops");  // reads are refused anyway; never every tenant's

  // The pass records the use.
  auth.RunOnce();
  EXPECT_TRUE(store.ApiKeyList("acme")->at(0).last_used_at.has_value());

  // Every refusal says why, and none repeats the secret.
  const std::string secret = key.token.substr(20);
  std::string wrong = key.token;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  for (const std::string& header : {std::string(""), std::string("Basic x"),
                                    std::string("Bearer nonsense"), "Bearer " + wrong}) {
    auto r = auth.Authenticate(header);
    ASSERT_FALSE(r.ok()) << header;
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(r.status().message().find(secret), std::string::npos);
    EXPECT_EQ(r.status().message().find(secret.substr(0, 42)), std::string::npos);
  }
  ASSERT_TRUE(store.ApiKeyRevoke(key.id).ok());
  auth.RunOnce();
  auto revoked = auth.Authenticate("Bearer " + key.token);
  EXPECT_EQ(revoked.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(revoked.status().message().find("unknown or revoked"), std::string::npos);
}

TEST(Authenticator, ARevokedJwtSubjectIsRefusedUntilItsNextToken) {
  testing::FakeJobStore store;  // system clock: the verifier checks exp against it too
  AuthenticatorConfig config;
  config.jwt = Rules();
  Authenticator auth(store, config);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto token = [&](const std::string& sub, long iat) {
    std::string claims = R"({"iss":"issuer","aud":"jq","tenant":"acme","role":"producer",)"
                         R"("exp":)" +
                         std::to_string(now + 600);
    if (!sub.empty()) claims += R"(,"sub":")" + sub + R"(")";
    if (iat != 0) claims += R"(,"iat":)" + std::to_string(iat);
    return "Bearer " + Sign(JWT_ALG_HS256, Rules().hs256_secret, claims + "}");
  };
  ASSERT_TRUE(auth.Authenticate(token("alice", now - 10)).ok());

  // Another replica revokes alice: in force here after the next reload.
  auto revoked = store.JwtRevoke("alice", "ops-key");
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(auth.Authenticate(token("alice", now - 10)).ok());  // not reloaded yet
  auth.RunOnce();
  for (const long iat : {now - 10, 0L}) {  // before the revocation, or no iat to tell
    auto r = auth.Authenticate(token("alice", iat));
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << iat;
    EXPECT_NE(r.status().message().find("are revoked"), std::string::npos) << r.status().message();
  }
  EXPECT_TRUE(auth.Authenticate(token("bob", now - 10)).ok());   // another subject
  EXPECT_TRUE(auth.Authenticate(token("alice", now + 2)).ok());  // issued afterwards
  // A token without sub acts as "jwt:<tenant>", so its tenant's name is its subject.
  EXPECT_TRUE(auth.Authenticate(token("", now - 10)).ok());
  ASSERT_TRUE(store.JwtRevoke("acme", "ops-key").ok());
  auth.RunOnce();
  EXPECT_FALSE(auth.Authenticate(token("", now - 10)).ok());

  // Revoked here: in force at once, before any reload.
  auth.Remember(JwtRevocationRecord{"bob", std::chrono::system_clock::now(), "ops-key"});
  EXPECT_FALSE(auth.Authenticate(token("bob", now - 10)).ok());
}

TEST(Authenticator, AuthOffMakesEveryoneAnAnonymousAdmin) {
  testing::FakeJobStore store;
  AuthenticatorConfig config;
  config.enabled = false;
  Authenticator auth(store, config);
  auto p = auth.Authenticate("");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->role, Role::kAdmin);
  EXPECT_EQ(p->key_id, "anonymous");
}

}  // namespace
}  // namespace jq::auth
