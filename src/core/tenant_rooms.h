// Per-tenant running limits at claim time (SPEC §6): how many more jobs each tenant may have
// ASSIGNED or RUNNING, from the tenants' own limits, the configuration's default and the jobs
// they hold now. Pure; both stores (PostgreSQL and the fake) claim with the same rooms.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace jq {

// One tenant the store knows of: it has its own limit (tenants.max_running_jobs), jobs in
// flight, or both.
struct TenantLoad {
  std::string name;
  std::optional<int> own_limit;  // nullopt: the default applies; 0: unlimited
  std::int64_t running = 0;      // jobs ASSIGNED or RUNNING
};

// Whether a claim enforces them at all (any tenant has a limit), and the limit of a tenant
// without its own (limits.tenant_max_running_jobs; 0 = unlimited).
struct TenantRunningLimits {
  bool on = false;
  int default_limit = 0;
};

inline constexpr int kUnlimitedRoom = -1;

// What a claim of `slots` jobs may take per tenant. A tenant with less room than that is
// "capped": the claim walks its ready jobs in a walk of its own that stops at its room, and
// the other tenants' in one shared walk that skips the capped ones, so a nearly full tenant's
// backlog at the head of a queue cannot take the others' places. Skipping costs a heap visit
// per skipped row, so only tenants that could not fill the claim are skipped.
struct TenantRooms {
  std::vector<std::string> capped;  // tenants with room < slots, full ones included
  // Tenants whose room is not `unlisted_room`, with their room (kUnlimitedRoom: more than
  // the claim can take). Full tenants are left out: capped and without room, they are not
  // walked at all.
  std::vector<std::string> names;
  std::vector<int> rooms;
  int unlisted_room = kUnlimitedRoom;  // any other tenant: it holds nothing, so the default
  bool empty() const { return capped.empty() && names.empty() && unlisted_room < 0; }
};

// default_limit: limits.tenant_max_running_jobs (0 = unlimited).
TenantRooms ComputeTenantRooms(const std::vector<TenantLoad>& loads, int default_limit, int slots);

// The room of `tenant` in `rooms` (kUnlimitedRoom: unlimited; 0: full).
int RoomOf(const TenantRooms& rooms, const std::string& tenant);

}  // namespace jq
