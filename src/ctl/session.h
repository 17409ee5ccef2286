// jq-ctl's connection to jq-server (SPEC §10): the global options, the channel and its stubs,
// the context every call carries (deadline, API key, trace), and the one way a unary call is made
// and its failure reported (Session::Call). Not thread-safe; calls block.
#pragma once

#include <grpcpp/grpcpp.h>

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "admin_service.grpc.pb.h"
#include "core/trace.h"
#include "ctl/errors.h"
#include "ctl/format.h"
#include "job_service.grpc.pb.h"

namespace jq::ctl {

// The options before the command.
struct GlobalOptions {
  std::string server_addr = "127.0.0.1:50051";
  std::string output = "table";
  double timeout_seconds = 10;  // deadline of each unary call
  std::string api_key;          // sent as "authorization: Bearer <key>" when set
  std::string tls_ca;           // PEM files; TLS is used when any is set
  std::string tls_cert;
  std::string tls_key;
};

// One channel to jq-server, and the streams output and errors go to. Not thread-safe.
class Session {
 public:
  Session(GlobalOptions options, std::ostream& out, std::ostream& err);

  // Creates the channel; false (with the error printed) when the TLS files cannot be read.
  bool Connect();

  // A context carrying the API key, and the --timeout deadline unless `deadline` is false
  // (streams that last as long as a job).
  std::unique_ptr<grpc::ClientContext> NewContext(bool deadline = true) const;

  // For streams; unary calls go through Invoke or Call.
  jq::JobService::Stub& jobs() { return *jobs_; }
  OutputFormat format() const { return format_; }
  std::ostream& out() { return out_; }

  // A generated stub's blocking unary method, e.g. &jq::JobService::Stub::GetJobStatus.
  template <typename Stub, typename Request, typename Response>
  using UnaryMethod = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

  // Calls `method` on its service's stub with a NewContext(). Blocks up to --timeout.
  template <typename Stub, typename Request, typename Response>
  grpc::Status Invoke(UnaryMethod<Stub, Request, Response> method,
                      const std::type_identity_t<Request>& req, Response* resp) {
    auto ctx = NewContext();
    return (stub<Stub>().*method)(ctx.get(), req, resp);
  }

  // The whole of a unary command once its request is built: Invoke, then print
  // render(response, format()) and return kExitOk; on failure print the error line naming `what`
  // and return the status's exit code (Fail).
  template <typename Stub, typename Request, typename Response, typename Render>
  int Call(std::string_view what, UnaryMethod<Stub, Request, Response> method,
           const std::type_identity_t<Request>& req, Render render) {
    Response resp;
    grpc::Status st = Invoke(method, req, &resp);
    if (!st.ok()) return Fail(what, st);
    out_ << render(resp, format_);
    return kExitOk;
  }

  // Prints the error line for a failed call and returns its exit code.
  int Fail(std::string_view what, const grpc::Status& status);
  // Prints "jq-ctl: <what>: <message>".
  void PrintError(std::string_view what, std::string_view message);
  // PrintError, then returns the usage exit code.
  int UsageError(std::string_view what, std::string_view message);

 private:
  template <typename Stub>
  Stub& stub() {
    if constexpr (std::is_same_v<Stub, jq::JobService::Stub>) {
      return *jobs_;
    } else {
      static_assert(std::is_same_v<Stub, jq::AdminService::Stub>, "a jq-server service");
      return *admin_;
    }
  }

  GlobalOptions options_;
  OutputFormat format_ = OutputFormat::kTable;
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<jq::JobService::Stub> jobs_;
  std::unique_ptr<jq::AdminService::Stub> admin_;
  TraceParent trace_;  // this invocation's span, sent with every call
};

}  // namespace jq::ctl
