// A gRPC server interceptor that times every request into jq_grpc_request_duration_seconds
// {method, status_code}.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include "server/server_metrics.h"

namespace jq::server {

class GrpcMetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcMetricsInterceptorFactory(ServerMetrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  ServerMetrics& metrics_;
};

}  // namespace jq::server
