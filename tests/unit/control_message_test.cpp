// Control messages between replicas: every form round-trips, anything else is refused; what
// each does to a worker's session.
#include "server/control_message.h"

#include <gtest/gtest.h>

#include "server/dispatcher.h"

namespace jq::server {
namespace {

TEST(ControlMessageTest, EveryFormRoundTripsInItsWireForm) {
  const auto cancel = ControlMessage::Cancel("0190e8d0-0000-7000-8000-000000000001", "w-1");
  EXPECT_EQ(EncodeControl(cancel), "cancel 0190e8d0-0000-7000-8000-000000000001 w-1");
  EXPECT_EQ(EncodeControl(ControlMessage::Drain("w-1")), "drain w-1");
  EXPECT_EQ(EncodeControl(ControlMessage::Resume("w-1")), "resume w-1");
  EXPECT_EQ(EncodeControl(ControlMessage::Shutdown("w-1")), "shutdown w-1");
  EXPECT_EQ(EncodeControl(ControlMessage::Shutdown("w-1", /*now=*/true)), "shutdown w-1 now");
  for (const auto& m : {cancel, ControlMessage::Drain("w-2"), ControlMessage::Resume("w-2"),
                        ControlMessage::Shutdown("w-3"), ControlMessage::Shutdown("w-3", true)}) {
    const auto back = ParseControl(EncodeControl(m));
    ASSERT_TRUE(back.has_value()) << EncodeControl(m);
    EXPECT_EQ(back->kind, m.kind);
    EXPECT_EQ(back->worker_id, m.worker_id);
    EXPECT_EQ(back->job_id, m.job_id);
    EXPECT_EQ(back->now, m.now);
  }
}

TEST(ControlMessageTest, AnythingElseIsRefused) {
  for (const char* bad :
       {"", "cancel", "cancel j1", "cancel j1 w1 extra", "drain", "drain  w1", "drain w1 ",
        " drain w1", "shutdown", "reboot w1", "DRAIN w1", "resume", "resume w1 now",
        "shutdown w1 later", "shutdown w1 now extra", "shutdown w1 NOW"}) {
    EXPECT_FALSE(ParseControl(bad).has_value()) << "'" << bad << "'";
  }
}

// The control messages queued on a session, in order.
std::vector<jq::ControlType> Sent(WorkerSession& s) {
  std::vector<jq::ControlType> out;
  while (auto a = s.TryNext()) out.push_back(a->control().type());
  return out;
}

TEST(ControlMessageTest, ADrainStopsAssignmentsUntilResumedAndIsSentOnce) {
  WorkerSession s("w1", {"default"}, 4, /*supports_control=*/true);
  EXPECT_FALSE(ApplyControl(s, ControlMessage::Drain("w1")));
  EXPECT_EQ(s.FreeSlots(), 0);
  // The replica that served the drain applied it already; the NOTIFY changes nothing more.
  EXPECT_FALSE(ApplyControl(s, ControlMessage::Drain("w1")));
  EXPECT_EQ(Sent(s), std::vector<jq::ControlType>{jq::CONTROL_DRAIN});
  EXPECT_TRUE(ApplyControl(s, ControlMessage::Resume("w1")));
  EXPECT_EQ(s.FreeSlots(), 4);
  EXPECT_FALSE(ApplyControl(s, ControlMessage::Resume("w1")));
  EXPECT_EQ(Sent(s), std::vector<jq::ControlType>{jq::CONTROL_RESUME});
  EXPECT_FALSE(s.closed());
}

TEST(ControlMessageTest, AShutdownStopsAssignmentsAndSaysWhetherToWait) {
  WorkerSession graceful("w1", {"default"}, 4, /*supports_control=*/true);
  ApplyControl(graceful, ControlMessage::Shutdown("w1"));
  EXPECT_EQ(graceful.FreeSlots(), 0);
  EXPECT_EQ(Sent(graceful), std::vector<jq::ControlType>{jq::CONTROL_SHUTDOWN});
  WorkerSession now("w2", {"default"}, 4, /*supports_control=*/true);
  ApplyControl(now, ControlMessage::Shutdown("w2", /*now=*/true));
  EXPECT_EQ(now.FreeSlots(), 0);
  EXPECT_EQ(Sent(now), std::vector<jq::ControlType>{jq::CONTROL_SHUTDOWN_NOW});
}

TEST(ControlMessageTest, ASeedWorkerIsDrainedQuietlyAndShutDownByEndingItsStream) {
  WorkerSession seed("w1", {"default"}, 4, /*supports_control=*/false);
  ApplyControl(seed, ControlMessage::Drain("w1"));
  EXPECT_EQ(seed.FreeSlots(), 0);
  EXPECT_FALSE(seed.closed());
  EXPECT_TRUE(Sent(seed).empty());
  ApplyControl(seed, ControlMessage::Shutdown("w1"));
  EXPECT_TRUE(seed.closed());  // its read loop ends: it finishes its jobs and exits
  EXPECT_TRUE(Sent(seed).empty());
}

}  // namespace
}  // namespace jq::server
