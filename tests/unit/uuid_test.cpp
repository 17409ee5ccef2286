#include "core/uuid.h"

#include <gtest/gtest.h>

#include <set>

#include "core/validation.h"

namespace jq {
namespace {

TEST(UuidTest, FormatsVersion7WithTimestampPrefix) {
  const std::string id = FormatUuidV7(0x0190a3c41b2cULL, 0xfff, ~0ULL);
  EXPECT_EQ(id.substr(0, 13), "0190a3c4-1b2c");
  EXPECT_EQ(id[14], '7');                       // version
  EXPECT_TRUE(id[19] >= '8' && id[19] <= 'b');  // RFC variant
  EXPECT_TRUE(IsUuid(id));
}

TEST(UuidTest, NewIdsAreUniqueAndTimeOrdered) {
  std::set<std::string> seen;
  std::string prev;
  for (int i = 0; i < 10000; ++i) {
    std::string id = NewUuidV7();
    ASSERT_TRUE(IsUuid(id));
    ASSERT_TRUE(seen.insert(id).second);
    // Same millisecond may reorder the random tail; the 48-bit time prefix never goes back.
    if (!prev.empty()) {
      ASSERT_GE(id.substr(0, 13), prev.substr(0, 13));
    }
    prev = id;
  }
}

}  // namespace
}  // namespace jq
