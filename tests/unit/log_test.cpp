#include "telemetry/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace jq::telemetry {
namespace {

std::string ReadBack(const std::string& escaped) {
  return nlohmann::json::parse("\"" + escaped + "\"").get<std::string>();
}

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonEscape("a\"b\\c\nd\te\x01"), "a\\\"b\\\\c\\nd\\te\\u0001");
  EXPECT_EQ(ReadBack(JsonEscape("caf\xc3\xa9 \xf0\x9f\x98\x80")), "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

// Found by fuzz/log_escape_fuzz.cpp: bytes that are not UTF-8 went into the line as they were,
// so the line was not JSON (the worker logs a job's error cut to 200 bytes, which can end
// inside a character).
TEST(JsonEscapeTest, InvalidUtf8BecomesReplacementCharacters) {
  const std::string cut = std::string("exit status 1\n\xe2\x82\xac\xe2\x82\xac").substr(0, 19);
  std::string back;
  ASSERT_NO_THROW(back = ReadBack(JsonEscape(cut)));
  EXPECT_EQ(back, "exit status 1\n\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd");
  ASSERT_NO_THROW(back = ReadBack(JsonEscape("\xff\xc0\xaf")));
  EXPECT_EQ(back, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

}  // namespace
}  // namespace jq::telemetry
