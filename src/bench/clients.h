// The persistent gRPC connections jq-bench drives its load through.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "admin_service.grpc.pb.h"
#include "job_service.grpc.pb.h"
#include "worker_service.grpc.pb.h"

namespace jq::bench {

// `channels` separate channels to one server, each its own TCP connection (a local subchannel
// pool and a distinct channel id keep gRPC from sharing one). Stubs are thread-safe; pick one
// with any index (taken modulo the channel count) to spread calls. Immutable after
// construction.
class Clients {
 public:
  // api_key: sent with every call when not empty.
  Clients(const std::string& server_addr, int channels,
          const std::shared_ptr<grpc::ChannelCredentials>& credentials,
          const std::string& api_key = "");

  // Connects every channel; false when any is not READY within the timeout, or has been
  // refused for a second.
  bool WaitConnected(std::chrono::milliseconds timeout);

  int size() const { return static_cast<int>(channels_.size()); }
  jq::JobService::Stub& jobs(std::size_t i) { return *jobs_[i % jobs_.size()]; }
  jq::WorkerService::Stub& workers(std::size_t i) { return *workers_[i % workers_.size()]; }
  jq::AdminService::Stub& admin() { return *admin_; }
  const std::string& server_addr() const { return server_addr_; }

 private:
  std::string server_addr_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<jq::JobService::Stub>> jobs_;
  std::vector<std::unique_ptr<jq::WorkerService::Stub>> workers_;
  std::unique_ptr<jq::AdminService::Stub> admin_;
};

// A deadline for unary calls: long enough for an overloaded server, short enough that a hung
// one ends the run.
inline void SetCallDeadline(grpc::ClientContext& ctx,
                            std::chrono::seconds timeout = std::chrono::seconds(60)) {
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}

}  // namespace jq::bench
