#include "core/job_state.h"

#include <gtest/gtest.h>

namespace jq {
namespace {

using S = JobState;

TEST(JobStateTest, AllowsExactlyTheTransitionsOfTheSpec) {
  const std::pair<S, S> allowed[] = {
      {S::kPending, S::kAssigned},      {S::kAssigned, S::kRunning},
      {S::kRunning, S::kDone},          {S::kRunning, S::kFailed},
      {S::kAssigned, S::kFailed},       {S::kFailed, S::kPending},
      {S::kFailed, S::kDeadLettered},   {S::kPending, S::kDeadLettered},
      {S::kAssigned, S::kDeadLettered}, {S::kRunning, S::kDeadLettered},
      {S::kDeadLettered, S::kPending},
  };
  int count = 0;
  for (int f = 0; f <= 6; ++f) {
    for (int t = 0; t <= 6; ++t) {
      const auto from = static_cast<S>(f), to = static_cast<S>(t);
      bool expected = false;
      for (auto [a, b] : allowed) expected |= (a == from && b == to);
      EXPECT_EQ(IsTransitionAllowed(from, to), expected)
          << JobStatusName(from) << " -> " << JobStatusName(to);
      count += expected;
    }
  }
  EXPECT_EQ(count, 11);
}

TEST(JobStateTest, DoneIsFinal) {
  for (int t = 0; t <= 6; ++t) EXPECT_FALSE(IsTransitionAllowed(S::kDone, static_cast<S>(t)));
  EXPECT_TRUE(IsTerminal(S::kDone));
  EXPECT_TRUE(IsTerminal(S::kDeadLettered));
  EXPECT_FALSE(IsTerminal(S::kFailed));
}

TEST(JobStateTest, ParsesNamesAndAliases) {
  EXPECT_EQ(ParseJobStatus("pending"), S::kPending);
  EXPECT_EQ(ParseJobStatus("DEAD_LETTERED"), S::kDeadLettered);
  EXPECT_EQ(ParseJobStatus("dead-lettered"), S::kDeadLettered);
  EXPECT_EQ(ParseJobStatus("DLQ"), S::kDeadLettered);
  EXPECT_EQ(ParseJobStatus("Running"), S::kRunning);
  EXPECT_FALSE(ParseJobStatus("finished").has_value());
  EXPECT_FALSE(ParseJobStatus("").has_value());
  for (int i = 1; i <= 6; ++i) {
    EXPECT_EQ(ParseJobStatus(JobStatusName(static_cast<S>(i))), static_cast<S>(i));
  }
}

}  // namespace
}  // namespace jq
