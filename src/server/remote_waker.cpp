#include "server/remote_waker.h"

#include <spdlog/spdlog.h>

#include "store/pg_store.h"

namespace jq::server {

RemoteWaker::RemoteWaker(JobStore& store, std::chrono::milliseconds window)
    : store_(store), window_(window) {}

RemoteWaker::~RemoteWaker() {
  Stop();
}

void RemoteWaker::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void RemoteWaker::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void RemoteWaker::Poke() {
  std::lock_guard lock(mu_);
  if (pending_) return;
  pending_ = true;
  cv_.notify_one();
}

void RemoteWaker::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || pending_; });
    if (stop_) return;
    pending_ = false;
    lock.unlock();
    if (Status s = store_.Notify(store::kJobsChannel, ""); !s.ok()) {
      spdlog::debug("notify other replicas: {}", s.ToString());
    }
    lock.lock();
    // Pokes during the window are answered by one NOTIFY at its end.
    cv_.wait_for(lock, window_, [&] { return stop_; });
  }
}

}  // namespace jq::server
