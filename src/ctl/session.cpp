#include "ctl/session.h"

#include <chrono>
#include <cstdlib>

#include "ctl/args.h"
#include "rpc/keepalive.h"
#include "rpc/tls.h"

namespace jq::ctl {

Session::Session(GlobalOptions options, std::ostream& out, std::ostream& err)
    : options_(std::move(options)), out_(out), err_(err) {
  format_ = ParseOutputFormat(options_.output).value_or(OutputFormat::kTable);
  const char* parent = std::getenv("TRACEPARENT");
  auto caller = parent != nullptr ? ParseTraceParent(parent) : std::nullopt;
  trace_ = caller ? ChildOf(*caller) : NewTraceParent();
}

bool Session::Connect() {
  const rpc::ClientTls tls =
      rpc::ClientTlsFromFlags(options_.tls_ca, options_.tls_cert, options_.tls_key);
  if (Status s = rpc::CheckClientTls(tls); !s.ok()) {
    UsageError("tls", s.message());
    return false;
  }
  auto creds = rpc::MakeChannelCredentials(tls);
  // An operator asked for what comes back (a noisy job's output over every attempt can pass
  // gRPC's default 4 MiB): accept any size; the server bounds what it stores.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  rpc::ApplyKeepalive(args);  // `job watch` holds a stream open as long as the job runs
  auto channel = grpc::CreateCustomChannel(options_.server_addr, creds, args);
  jobs_ = jq::JobService::NewStub(channel);
  admin_ = jq::AdminService::NewStub(channel);
  return true;
}

std::unique_ptr<grpc::ClientContext> Session::NewContext(bool deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (deadline) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(
                          std::chrono::duration<double>(options_.timeout_seconds)));
  }
  if (!options_.api_key.empty()) ctx->AddMetadata("authorization", "Bearer " + options_.api_key);
  // One trace per invocation (W3C trace context): a TRACEPARENT in jq-ctl's own environment
  // continues the caller's trace; a submitted job's TRACEPARENT then shares its trace id.
  ctx->AddMetadata("traceparent", trace_.ToString());
  return ctx;
}

int Session::Fail(std::string_view what, const grpc::Status& status) {
  const bool tls =
      rpc::ClientTlsFromFlags(options_.tls_ca, options_.tls_cert, options_.tls_key).enabled();
  err_ << ErrorLine(what, status, options_.server_addr) << TlsHint(status, tls) << "\n";
  return ExitCodeFor(status.error_code());
}

void Session::PrintError(std::string_view what, std::string_view message) {
  err_ << "jq-ctl: " << what << ": " << message << "\n";
}

int Session::UsageError(std::string_view what, std::string_view message) {
  PrintError(what, message);
  return kExitUsage;
}

}  // namespace jq::ctl
