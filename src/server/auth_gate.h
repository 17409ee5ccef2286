// The one authorization check of jq-server's RPCs (SPEC §11, docs/security.md). Every handler
// of JobService, WorkerService and AdminService starts with Admit(context, permission) and
// answers with its status when it fails; the policy itself is core/auth.h's Allowed().
//
// Why in the handlers and not in a gRPC interceptor or AuthMetadataProcessor: gRPC 1.51's
// server interceptors cannot end a call (no Hijack on the server side, grpc/grpc#24017), and
// an AuthMetadataProcessor cannot be set on InsecureServerCredentials (it asserts), so on a
// plaintext port neither can refuse a call. A handler needs the caller anyway (its tenant
// scopes every read and write, its key id is the actor of what it changes), so the check is
// the line that fetches it. tests/e2e/auth_e2etest.cpp calls every method of the three
// services without credentials and expects UNAUTHENTICATED, so a handler that forgets the
// line fails it. gRPC health and reflection are other services: reachable without a key.
#pragma once

#include <grpcpp/grpcpp.h>

#include "auth/authenticator.h"
#include "core/auth.h"
#include "core/status.h"

namespace jq::server {

// The caller of this call, or UNAUTHENTICATED (no, malformed, unknown, revoked or wrong
// credentials) or PERMISSION_DENIED (its role may not do this). auth null: INTERNAL (a
// server wired without an authenticator refuses everything rather than allow it).
Result<Principal> Admit(auth::Authenticator* auth, grpc::ServerContextBase* context,
                        Permission permission);

}  // namespace jq::server
