#include "ctl/errors.h"

namespace jq::ctl {

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: break;
  }
  return "";
}

int ExitCodeFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return kExitOk;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED: return kExitUnreachable;
    default: return kExitServerSaidNo;
  }
}

std::string ErrorLine(std::string_view what, const grpc::Status& status,
                      std::string_view server_addr) {
  std::string line = "jq-ctl: " + std::string(what) + ": ";
  std::string_view name = GrpcCodeName(status.error_code());
  if (name.empty()) {
    line += "CODE_" + std::to_string(static_cast<int>(status.error_code()));
  } else {
    line += std::string(name);
  }
  std::string message;
  for (char c : status.error_message()) {
    if (c == '\n') {
      message += "; ";
    } else if (c != '\r') {
      message += c;
    }
  }
  if (!message.empty()) line += ": " + message;
  if (ExitCodeFor(status.error_code()) == kExitUnreachable) {
    line += " (server " + std::string(server_addr) + ")";
  }
  return line;
}

std::string TlsHint(const grpc::Status& status, bool tls) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return "";
  const std::string& m = status.error_message();
  auto has = [&](std::string_view s) { return m.find(s) != std::string::npos; };
  // A TLS listener reads a plaintext HTTP/2 preface as garbage and closes the connection.
  if (!tls && has("Socket closed")) return "; does the server use TLS? pass --tls-ca";
  if (tls && has("certificate verify failed")) {
    return "; the server's certificate is not signed by the CA of --tls-ca";
  }
  if (tls && has("Hostname Verification")) {
    return "; the server's certificate does not name the host of --server-addr";
  }
  if (tls && has("wrong version number")) return "; the server does not use TLS";
  // With mTLS the server ends the handshake of a client whose certificate it does not accept.
  if (tls && has("Socket closed")) {
    return "; the server ended the TLS handshake: it may require a client certificate signed "
           "by its CA (--tls-cert, --tls-key)";
  }
  return "";
}

}  // namespace jq::ctl
