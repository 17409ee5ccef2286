#include "core/tenant_rooms.h"

#include <gtest/gtest.h>

namespace jq {
namespace {

using Names = std::vector<std::string>;

TEST(TenantRoomsTest, OwnLimitsCapTheirTenantsAndFullOnesAreNotWalked) {
  const auto r = ComputeTenantRooms({{"acme", 3, 1}, {"full", 2, 2}, {"over", 1, 4}}, 0, 100);
  EXPECT_EQ(r.capped, (Names{"acme", "full", "over"}));
  EXPECT_EQ(r.names, (Names{"acme"}));
  EXPECT_EQ(r.rooms, (std::vector<int>{2}));
  EXPECT_EQ(r.unlisted_room, kUnlimitedRoom);
  EXPECT_EQ(RoomOf(r, "acme"), 2);
  EXPECT_EQ(RoomOf(r, "full"), 0);
  EXPECT_EQ(RoomOf(r, "over"), 0);  // a limit lowered below what it holds: no room, not less
  EXPECT_EQ(RoomOf(r, "anyone"), kUnlimitedRoom);
}

TEST(TenantRoomsTest, TheDefaultAppliesUnlessATenantSaysUnlimited) {
  // "busy" has no limit of its own (nullopt) but holds jobs; "free" is explicitly unlimited.
  const auto r = ComputeTenantRooms({{"busy", std::nullopt, 3}, {"free", 0, 7}}, 5, 100);
  EXPECT_EQ(r.capped, (Names{"busy"}));
  EXPECT_EQ(RoomOf(r, "busy"), 2);
  EXPECT_EQ(RoomOf(r, "free"), kUnlimitedRoom);
  EXPECT_EQ(RoomOf(r, "idle"), 5);  // holds nothing, so the whole default
  EXPECT_FALSE(r.empty());
}

// Room for the whole claim needs no walk of its own, nor a cut: the claim cannot take more.
TEST(TenantRoomsTest, OnlyTenantsThatCannotFillTheClaimAreCapped) {
  const auto r = ComputeTenantRooms({{"roomy", 50, 10}, {"tight", 50, 47}}, 0, 8);
  EXPECT_EQ(r.capped, (Names{"tight"}));
  EXPECT_EQ(RoomOf(r, "roomy"), kUnlimitedRoom);
  EXPECT_EQ(RoomOf(r, "tight"), 3);
  // A default of at least the claim's slots cuts nobody who holds nothing.
  const auto d = ComputeTenantRooms({{"busy", std::nullopt, 3}}, 5, 4);
  EXPECT_EQ(d.capped, (Names{"busy"}));
  EXPECT_EQ(RoomOf(d, "busy"), 2);
  EXPECT_EQ(RoomOf(d, "idle"), kUnlimitedRoom);
}

TEST(TenantRoomsTest, NoLimitsAnywhereCutsNothing) {
  const auto r = ComputeTenantRooms({{"a", std::nullopt, 9}, {"b", 0, 1}}, 0, 100);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(RoomOf(r, "a"), kUnlimitedRoom);
}

}  // namespace
}  // namespace jq
