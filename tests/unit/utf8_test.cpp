#include "core/utf8.h"

#include <gtest/gtest.h>

namespace jq {
namespace {

TEST(Utf8Test, ValidTextIsUnchanged) {
  for (const std::string s : {"", "plain ascii\n", "caf\xC3\xA9", "\xE2\x82\xAC 5",
                              "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_EQ(ToValidUtf8(s), s);
  }
}

TEST(Utf8Test, InvalidBytesBecomeReplacementCharacters) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(ToValidUtf8("\xFF\xFE"
                        "bad"),
            r + r + "bad");                                                // binary
  EXPECT_EQ(ToValidUtf8("caf\xE9"), "caf" + r);                            // Latin-1
  EXPECT_EQ(ToValidUtf8("x\xE2\x82"), "x" + r + r);                        // cut at the tail
  EXPECT_EQ(ToValidUtf8("\x82\xACy"), r + r + "y");                        // cut at the head
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), r + r);                               // overlong '/'
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), r + r + r);                       // a surrogate
  EXPECT_EQ(ToValidUtf8("\xF4\x90\x80\x80"), r + r + r + r);               // above U+10FFFF
  EXPECT_EQ(ToValidUtf8(std::string("a\0b", 3)), std::string("a\0b", 3));  // NUL is valid
}

}  // namespace
}  // namespace jq
