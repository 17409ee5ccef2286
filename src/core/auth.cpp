#include "core/auth.h"

#include "core/validation.h"

namespace jq {

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "producer") return Role::kProducer;
  if (name == "worker") return Role::kWorker;
  if (name == "fleet") return Role::kFleet;
  return std::nullopt;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kProducer: return "producer";
    case Role::kWorker: return "worker";
    case Role::kFleet: return "fleet";
  }
  return "unknown";
}

bool Allowed(Role role, Permission permission) {
  switch (role) {
    case Role::kAdmin: return true;
    case Role::kProducer:
      return permission == Permission::kSubmit || permission == Permission::kReadJobs ||
             permission == Permission::kControlJob;
    case Role::kWorker:
    case Role::kFleet: return permission == Permission::kWork;
  }
  return false;
}

const char* PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kSubmit: return "submitting jobs";
    case Permission::kReadJobs: return "reading jobs";
    case Permission::kControlJob: return "cancelling or retrying jobs";
    case Permission::kWork: return "the WorkerService";
    case Permission::kAdminister: return "the AdminService";
  }
  return "this call";
}

bool ValidTenantName(std::string_view name) {
  return ValidateQueueName(name).ok();
}

}  // namespace jq
