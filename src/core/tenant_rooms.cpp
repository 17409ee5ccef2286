#include "core/tenant_rooms.h"

#include <algorithm>

namespace jq {

TenantRooms ComputeTenantRooms(const std::vector<TenantLoad>& loads, int default_limit, int slots) {
  TenantRooms out;
  const bool default_cuts = default_limit > 0 && default_limit < slots;
  out.unlisted_room = default_cuts ? default_limit : kUnlimitedRoom;
  for (const auto& t : loads) {
    const int limit = t.own_limit.value_or(default_limit);
    const std::int64_t room = std::max<std::int64_t>(limit - t.running, 0);
    if (limit <= 0 || room >= slots) {
      // Not cut by this claim; listed only when the default would otherwise cut it.
      if (default_cuts) {
        out.names.push_back(t.name);
        out.rooms.push_back(kUnlimitedRoom);
      }
      continue;
    }
    out.capped.push_back(t.name);
    if (room > 0) {
      out.names.push_back(t.name);
      out.rooms.push_back(static_cast<int>(room));
    }
  }
  return out;
}

int RoomOf(const TenantRooms& rooms, const std::string& tenant) {
  for (std::size_t i = 0; i < rooms.names.size(); ++i) {
    if (rooms.names[i] == tenant) return rooms.rooms[i];
  }
  if (std::find(rooms.capped.begin(), rooms.capped.end(), tenant) != rooms.capped.end()) return 0;
  return rooms.unlisted_room;
}

}  // namespace jq
