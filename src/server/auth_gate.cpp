#include "server/auth_gate.h"

namespace jq::server {

Result<Principal> Admit(auth::Authenticator* auth, grpc::ServerContextBase* context,
                        Permission permission) {
  if (auth == nullptr) return Status::Internal("the server has no authenticator");
  std::string_view header;
  const auto& md = context->client_metadata();
  if (auto it = md.find("authorization"); it != md.end()) {
    header = std::string_view(it->second.data(), it->second.size());
  }
  auto caller = auth->Authenticate(header);
  if (!caller.ok()) return caller.status();
  if (!Allowed(caller->role, permission)) {
    return Status(StatusCode::kPermissionDenied, std::string("a ") + RoleName(caller->role) +
                                                     " key may not use " +
                                                     PermissionName(permission));
  }
  return caller;
}

}  // namespace jq::server
