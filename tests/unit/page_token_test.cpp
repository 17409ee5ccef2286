#include "core/page_token.h"

#include <gtest/gtest.h>

namespace jq {
namespace {

TEST(PageTokenTest, RoundTrips) {
  PageCursor c{1732300000123456, "0190a3c4-1b2c-7d3e-8f40-123456789abc"};
  auto back = DecodePageToken(EncodePageToken(c));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->created_at_us, c.created_at_us);
  EXPECT_EQ(back->job_id, c.job_id);
}

TEST(PageTokenTest, RejectsGarbage) {
  EXPECT_FALSE(DecodePageToken("").has_value());
  EXPECT_FALSE(DecodePageToken("zz").has_value());
  EXPECT_FALSE(DecodePageToken("abc").has_value());
  EXPECT_FALSE(DecodePageToken(std::string(1000, 'a')).has_value());
  // Valid hex, wrong content.
  EXPECT_FALSE(DecodePageToken("76313a31323a6e6f74").has_value());  // "v1:12:not"
}

}  // namespace
}  // namespace jq
