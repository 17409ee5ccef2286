// gRPC keepalive on every jq connection (issue 7): HTTP/2 pings notice a cut network (a
// half-open TCP connection, which otherwise goes unnoticed for minutes to hours) within
// about time + timeout, so a worker reconnects (to another server) and a server stops
// assigning jobs to a dead stream.
#pragma once

#include <chrono>

#include <grpcpp/server_builder.h>
#include <grpcpp/support/channel_arguments.h>

namespace jq::rpc {

struct Keepalive {
  std::chrono::milliseconds time{10000};    // ping after this long without activity
  std::chrono::milliseconds timeout{5000};  // and give the connection up if unanswered
};

// Clients (jq-worker, jq-ctl, jq-bench): ping even with no call in flight.
void ApplyKeepalive(grpc::ChannelArguments& args, const Keepalive& k = {});
// jq-server: pings its clients too, and accepts their pings as often as `k.time` allows
// (gRPC's default refuses pings more often than every 5 minutes with GOAWAY).
void ApplyKeepalive(grpc::ServerBuilder& builder, const Keepalive& k = {});

}  // namespace jq::rpc
