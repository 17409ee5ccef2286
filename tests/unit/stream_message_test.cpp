#include "worker/stream_message.h"

#include <gtest/gtest.h>

namespace jq::worker {
namespace {

using K = StreamAction::Kind;

StreamMessage Job(std::string id, int attempt) {
  return {.job_id = std::move(id), .attempt = attempt};
}
StreamMessage Control(ControlType type, std::string job_id = "") {
  return {.has_control = true,
          .control_type = static_cast<int>(type),
          .control_job_id = std::move(job_id)};
}

TEST(StreamMessageTest, NewJobStarts) {
  const auto a = DecideStreamMessage(Job("j1", 1), std::nullopt, false);
  EXPECT_EQ(a.kind, K::kStart);
  EXPECT_EQ(a.job_id, "j1");
}

TEST(StreamMessageTest, RepeatedDeliveryIsIgnoredNewerAttemptReplaces) {
  EXPECT_EQ(DecideStreamMessage(Job("j1", 2), 2, false).kind, K::kIgnore);
  EXPECT_EQ(DecideStreamMessage(Job("j1", 1), 2, false).kind, K::kIgnore);
  const auto a = DecideStreamMessage(Job("j1", 3), 2, false);
  EXPECT_EQ(a.kind, K::kReplace);
  EXPECT_EQ(a.job_id, "j1");
  // The old attempt's lease is gone even while shutting down: it is still stopped.
  EXPECT_EQ(DecideStreamMessage(Job("j1", 3), 2, true).kind, K::kReplace);
}

// The agent used to start a job with an empty id (and report a result for job "") when a
// message carried neither a job nor a control.
TEST(StreamMessageTest, MessageWithoutJobOrControlIsIgnored) {
  const auto a = DecideStreamMessage(StreamMessage{}, std::nullopt, false);
  EXPECT_EQ(a.kind, K::kIgnore);
  EXPECT_NE(a.why.find("without a job id"), std::string::npos);
}

// A message read after a shutdown --now (the stream is cancelled, but one may be buffered)
// used to spawn a process only for the settle to kill it.
TEST(StreamMessageTest, NoNewJobDuringShutdownNow) {
  const auto a = DecideStreamMessage(Job("j1", 1), std::nullopt, true);
  EXPECT_EQ(a.kind, K::kIgnore);
  EXPECT_EQ(a.job_id, "j1");
  EXPECT_NE(a.why.find("shutting down now"), std::string::npos);
}

TEST(StreamMessageTest, ControlMessages) {
  const auto cancel =
      DecideStreamMessage(Control(ControlType::kCancelJob, "j9"), std::nullopt, false);
  EXPECT_EQ(cancel.kind, K::kCancel);
  EXPECT_EQ(cancel.job_id, "j9");
  EXPECT_EQ(DecideStreamMessage(Control(ControlType::kCancelJob), std::nullopt, false).kind,
            K::kIgnore);
  EXPECT_EQ(DecideStreamMessage(Control(ControlType::kDrain), std::nullopt, false).kind, K::kDrain);
  EXPECT_EQ(DecideStreamMessage(Control(ControlType::kResume), std::nullopt, false).kind,
            K::kResume);
  EXPECT_EQ(DecideStreamMessage(Control(ControlType::kShutdown), std::nullopt, true).kind,
            K::kShutdown);
  EXPECT_EQ(DecideStreamMessage(Control(ControlType::kShutdownNow), std::nullopt, false).kind,
            K::kShutdownNow);
  const auto unknown =
      DecideStreamMessage({.has_control = true, .control_type = 42}, std::nullopt, false);
  EXPECT_EQ(unknown.kind, K::kIgnore);
  EXPECT_NE(unknown.why.find("42"), std::string::npos);
  EXPECT_EQ(DecideStreamMessage(Control(ControlType::kUnspecified), std::nullopt, false).kind,
            K::kIgnore);
}

// The proto sends control messages with job_id empty; one with a job id is an assignment.
TEST(StreamMessageTest, JobIdWinsOverControl) {
  StreamMessage m = Control(ControlType::kShutdownNow);
  m.job_id = "j1";
  m.attempt = 1;
  EXPECT_EQ(DecideStreamMessage(m, std::nullopt, false).kind, K::kStart);
}

}  // namespace
}  // namespace jq::worker
