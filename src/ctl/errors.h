// jq-ctl's exit codes and its one-line error messages (SPEC §10). Pure.
#pragma once

#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

namespace jq::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitServerSaidNo = 1;  // any gRPC error but the two below
inline constexpr int kExitUsage = 2;         // bad flags or arguments
inline constexpr int kExitUnreachable = 3;   // UNAVAILABLE, DEADLINE_EXCEEDED
// `status` (and `system status`): the server answered that the system is unhealthy (its
// database is unreachable); the report is printed all the same.
inline constexpr int kExitUnhealthy = 4;

// "INVALID_ARGUMENT", "UNAVAILABLE", ...; "" for a code gRPC does not define.
std::string_view GrpcCodeName(grpc::StatusCode code);
int ExitCodeFor(grpc::StatusCode code);
// "jq-ctl: <what>: <CODE>: <message>" on one line (newlines in the message become "; "). For
// UNAVAILABLE and DEADLINE_EXCEEDED the server address is appended, since that is what to check.
std::string ErrorLine(std::string_view what, const grpc::Status& status,
                      std::string_view server_addr);
// What a connection that failed for a TLS reason most likely means, from gRPC's message, to
// append to the ErrorLine; "" when it was not that. tls: jq-ctl dialled with TLS.
std::string TlsHint(const grpc::Status& status, bool tls);

}  // namespace jq::ctl
