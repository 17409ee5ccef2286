// Credentials' shapes (core/bearer.h) and the role policy (core/auth.h).
#include "core/bearer.h"

#include <gtest/gtest.h>

#include "core/auth.h"

namespace jq {
namespace {

TEST(ParseBearer, TakesTheTokenOfABearerHeader) {
  EXPECT_EQ(ParseBearer("Bearer abc.DEF-_~+/=="), "abc.DEF-_~+/==");
  EXPECT_EQ(ParseBearer("bearer tok"), "tok");  // the scheme is case-insensitive
  EXPECT_EQ(ParseBearer("BEARER   tok  "), "tok");
}

TEST(ParseBearer, RefusesOtherSchemesAndMalformedTokens) {
  for (std::string_view bad : {"", "Bearer", "Bearer ", "Bearer    ", "Basic dXNlcjpwYXNz",
                               "Bearertok", "Bearer\ttok", "Bearer a b", "Bearer tok\n",
                               "Bearer ====", "Bearer a=b", "Bearer \xff\xfe", "Token tok"}) {
    EXPECT_FALSE(ParseBearer(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ParseBearer(std::string_view("Bearer a\0b", 10)).has_value());
}

TEST(ParseApiKey, SplitsIdAndSecret) {
  const std::string secret(43, 'x');
  const std::string key = "jq_0123456789abcdef_" + secret;
  auto parts = ParseApiKey(key);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->id, "0123456789abcdef");
  EXPECT_EQ(parts->secret, secret);
}

TEST(ParseApiKey, RefusesAnythingElse) {
  const std::string secret(43, 'x');
  for (const std::string& bad :
       {std::string(""), "jq_0123456789abcdef_" + secret.substr(1),  // short
        "jq_0123456789abcdef_" + secret + "x",                       // long
        "jq_0123456789ABCDEF_" + secret,                             // upper-case id
        "jx_0123456789abcdef_" + secret, "jq_0123456789abcdef-" + secret,
        "jq_0123456789abcdef_" + secret.substr(1) + "=", "jq_0123456789abcdeg_" + secret}) {
    EXPECT_FALSE(ParseApiKey(bad).has_value()) << bad;
  }
}

TEST(LooksLikeJwt, ThreeBase64UrlSegments) {
  EXPECT_TRUE(LooksLikeJwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"));
  EXPECT_TRUE(LooksLikeJwt("a.b.c"));
  for (std::string_view bad : {"", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.", "a.b.c=", "jq_x"}) {
    EXPECT_FALSE(LooksLikeJwt(bad)) << bad;
  }
}

TEST(DecodeBase64Url, DecodesUnpaddedText) {
  EXPECT_EQ(DecodeBase64Url("eyJhbGciOiJIUzI1NiJ9"), R"({"alg":"HS256"})");
  EXPECT_EQ(DecodeBase64Url(""), "");
  EXPECT_EQ(DecodeBase64Url("-_8"), std::string("\xfb\xff", 2));
  EXPECT_FALSE(DecodeBase64Url("a").has_value());     // no such length
  EXPECT_FALSE(DecodeBase64Url("ab=c").has_value());  // padding is not base64url's
  EXPECT_FALSE(DecodeBase64Url("ab+c").has_value());
}

TEST(RolePolicy, AdminEverythingProducerJobsWorkerAndFleetTheWorkerService) {
  using P = Permission;
  for (P p : {P::kSubmit, P::kReadJobs, P::kControlJob, P::kWork, P::kAdminister}) {
    EXPECT_TRUE(Allowed(Role::kAdmin, p));
  }
  EXPECT_TRUE(Allowed(Role::kProducer, P::kSubmit));
  EXPECT_TRUE(Allowed(Role::kProducer, P::kReadJobs));
  EXPECT_TRUE(Allowed(Role::kProducer, P::kControlJob));
  EXPECT_FALSE(Allowed(Role::kProducer, P::kWork));
  EXPECT_FALSE(Allowed(Role::kProducer, P::kAdminister));
  EXPECT_TRUE(Allowed(Role::kWorker, P::kWork));
  EXPECT_TRUE(Allowed(Role::kFleet, P::kWork));
  for (P p : {P::kSubmit, P::kReadJobs, P::kControlJob, P::kAdminister}) {
    EXPECT_FALSE(Allowed(Role::kWorker, p));
    EXPECT_FALSE(Allowed(Role::kFleet, p));
  }
  EXPECT_EQ(ParseRole("admin"), Role::kAdmin);
  EXPECT_EQ(ParseRole("worker"), Role::kWorker);
  EXPECT_EQ(ParseRole("fleet"), Role::kFleet);
  EXPECT_STREQ(RoleName(Role::kFleet), "fleet");
  EXPECT_FALSE(ParseRole("Admin").has_value());
  EXPECT_FALSE(ParseRole("").has_value());
}

TEST(Principal, AnAdminReadsEveryTenantOthersTheirOwn) {
  EXPECT_EQ((Principal{"k", "acme", Role::kAdmin}).ReadScope(), "");
  EXPECT_EQ((Principal{"k", "acme", Role::kProducer}).ReadScope(), "acme");
  EXPECT_EQ((Principal{"k", "acme", Role::kWorker}).ReadScope(), "acme");
  EXPECT_EQ((Principal{"k", "acme", Role::kFleet}).ReadScope(), "acme");
}

TEST(Principal, AdminAndFleetKeysServeEveryTenantsWorkersAWorkerKeyItsOwn) {
  EXPECT_TRUE((Principal{"k", "acme", Role::kAdmin}).serves_all_tenants());
  EXPECT_TRUE((Principal{"k", "acme", Role::kFleet}).serves_all_tenants());
  EXPECT_FALSE((Principal{"k", "acme", Role::kWorker}).serves_all_tenants());
  EXPECT_FALSE((Principal{"k", "acme", Role::kProducer}).serves_all_tenants());
}

}  // namespace
}  // namespace jq
