// Who may do what (SPEC §6, §11): the roles an API key or JWT carries, the permission each
// RPC needs, and the caller a request runs as. Pure; the policy lives here and nowhere else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jq {

enum class Role : int { kAdmin = 1, kProducer = 2, kWorker = 3, kFleet = 4 };

// "admin", "producer", "worker", "fleet"; nullopt for anything else.
std::optional<Role> ParseRole(std::string_view name);
const char* RoleName(Role role);

// What an RPC needs. Each handler names one; Allowed() is the whole policy.
enum class Permission {
  kSubmit,      // JobService.SubmitJob, SubmitJobs
  kReadJobs,    // JobService status, list, logs, output, watch
  kControlJob,  // JobService.CancelJob, RetryJob
  kWork,        // every WorkerService method
  kAdminister,  // every AdminService method
};

// admin: everything. producer: submit, read and control its tenant's jobs. worker: the
// WorkerService only (it neither submits nor reads jobs it was not given). fleet: the
// WorkerService for every tenant, and nothing else (a shared worker pool's key).
bool Allowed(Role role, Permission permission);
const char* PermissionName(Permission permission);

// The caller of one request, once authenticated.
struct Principal {
  std::string key_id;  // API key id, "jwt:<sub>", "bootstrap", or "anonymous" (auth off)
  std::string tenant;  // the tenant it acts for; its jobs and idempotency keys live there
  Role role = Role::kProducer;
  std::int64_t issued_at = 0;  // a JWT's iat (seconds since the epoch); 0: none, or not a JWT
  // Whose jobs a worker stream is given: every tenant's for an admin or a fleet key.
  bool serves_all_tenants() const { return role == Role::kAdmin || role == Role::kFleet; }
  // The tenant filter of reads: "" (all) for an admin, else its own.
  std::string ReadScope() const { return role == Role::kAdmin ? "" : tenant; }
};

// Tenant names share queue names' shape: [a-z0-9][a-z0-9._-]{0,63}.
bool ValidTenantName(std::string_view name);

}  // namespace jq
