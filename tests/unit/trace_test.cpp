#include "core/trace.h"

#include <gtest/gtest.h>

namespace jq {
namespace {

TEST(TraceTest, ParsesValidAndRejectsInvalid) {
  const std::string good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto t = ParseTraceParent(good);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(t->ToString(), good);
  for (const char* bad : {"", "garbage", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"}) {
    EXPECT_FALSE(ParseTraceParent(bad).has_value()) << bad;
  }
}

TEST(TraceTest, ChildKeepsTheTraceAndChangesTheSpan) {
  auto root = NewTraceParent();
  EXPECT_TRUE(ParseTraceParent(root.ToString()).has_value());
  auto child = ChildOf(root);
  EXPECT_EQ(child.trace_id, root.trace_id);
  EXPECT_NE(child.parent_id, root.parent_id);
  EXPECT_NE(NewTraceParent().trace_id, root.trace_id);
}

}  // namespace
}  // namespace jq
