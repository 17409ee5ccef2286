// Control messages between replicas: every form round-trips, anything else is refused.
#include "server/control_message.h"

#include <gtest/gtest.h>

namespace jq::server {
namespace {

TEST(ControlMessageTest, EveryFormRoundTripsInItsWireForm) {
  const auto cancel = ControlMessage::Cancel("0190e8d0-0000-7000-8000-000000000001", "w-1");
  EXPECT_EQ(EncodeControl(cancel), "cancel 0190e8d0-0000-7000-8000-000000000001 w-1");
  EXPECT_EQ(EncodeControl(ControlMessage::Drain("w-1")), "drain w-1");
  EXPECT_EQ(EncodeControl(ControlMessage::Shutdown("w-1")), "shutdown w-1");
  for (const auto& m : {cancel, ControlMessage::Drain("w-2"), ControlMessage::Shutdown("w-3")}) {
    const auto back = ParseControl(EncodeControl(m));
    ASSERT_TRUE(back.has_value()) << EncodeControl(m);
    EXPECT_EQ(back->kind, m.kind);
    EXPECT_EQ(back->worker_id, m.worker_id);
    EXPECT_EQ(back->job_id, m.job_id);
  }
}

TEST(ControlMessageTest, AnythingElseIsRefused) {
  for (const char* bad : {"", "cancel", "cancel j1", "cancel j1 w1 extra", "drain", "drain  w1",
                          "drain w1 ", " drain w1", "shutdown", "reboot w1", "DRAIN w1"}) {
    EXPECT_FALSE(ParseControl(bad).has_value()) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace jq::server
