#include "bench/clients.h"

#include "rpc/bearer_channel.h"

namespace jq::bench {

Clients::Clients(const std::string& server_addr, int channels,
                 const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                 const std::string& api_key)
    : server_addr_(server_addr) {
  for (int i = 0; i < std::max(channels, 1); ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("grpc.channel_id", i);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetMaxSendMessageSize(64 << 20);
    auto channel = rpc::CreateChannelWithKey(server_addr, credentials, args, api_key);
    channels_.push_back(channel);
    jobs_.push_back(jq::JobService::NewStub(channel));
    workers_.push_back(jq::WorkerService::NewStub(channel));
  }
  admin_ = jq::AdminService::NewStub(channels_.front());
}

bool Clients::WaitConnected(std::chrono::milliseconds timeout) {
  const auto start = std::chrono::system_clock::now();
  const auto deadline = start + timeout;
  for (auto& c : channels_) {
    for (;;) {
      const grpc_connectivity_state state = c->GetState(/*try_to_connect=*/true);
      if (state == GRPC_CHANNEL_READY) break;
      const auto now = std::chrono::system_clock::now();
      // Refused for a second: nothing listens there (a server still starting gets that long).
      if (now >= deadline ||
          (state == GRPC_CHANNEL_TRANSIENT_FAILURE && now - start >= std::chrono::seconds(1))) {
        return false;
      }
      c->WaitForStateChange(state, std::min(deadline, now + std::chrono::milliseconds(100)));
    }
  }
  return true;
}

}  // namespace jq::bench
