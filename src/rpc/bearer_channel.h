// A client channel that sends `authorization: Bearer <key>` with every call (SPEC §11), for
// clients with many call sites (jq-worker, jq-bench, tests): a client interceptor adds it, so
// no call can forget it. gRPC's own call credentials would refuse to travel over a plaintext
// channel. Thread-safe, as channels are.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace jq::rpc {

// grpc::CreateCustomChannel, plus the bearer token when api_key is not empty.
std::shared_ptr<grpc::Channel> CreateChannelWithKey(
    const std::string& target, const std::shared_ptr<grpc::ChannelCredentials>& creds,
    const grpc::ChannelArguments& args, const std::string& api_key);

}  // namespace jq::rpc
