#include "core/background_loop.h"

#include <pthread.h>

#include <algorithm>

namespace jq {

BackgroundLoop::BackgroundLoop(Options options, std::function<Next()> pass)
    : options_(std::move(options)), pass_(std::move(pass)) {}

BackgroundLoop::~BackgroundLoop() {
  Stop();
}

void BackgroundLoop::Start() {
  std::lock_guard life(life_mu_);
  if (!threads_.empty()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] { Run(); });
    // Linux limits thread names to 15 characters.
    pthread_setname_np(threads_.back().native_handle(), options_.name.substr(0, 15).c_str());
  }
}

void BackgroundLoop::Stop() {
  std::lock_guard life(life_mu_);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void BackgroundLoop::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

bool BackgroundLoop::stopping() const {
  std::lock_guard lock(mu_);
  return stop_;
}

void BackgroundLoop::WaitFor(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds d,
                             bool ignore_wake) {
  cv_.wait_for(lock, d, [&] { return stop_ || (!ignore_wake && wake_); });
}

void BackgroundLoop::Run() {
  std::unique_lock lock(mu_);
  Next next = options_.run_at_start ? Next(kAgain) : std::nullopt;
  for (;;) {
    const auto wait = next.value_or(options_.interval);
    if (wait > std::chrono::milliseconds(0)) WaitFor(lock, wait, /*ignore_wake=*/false);
    if (stop_) return;
    wake_ = false;
    lock.unlock();
    next = pass_();
    lock.lock();
    if (options_.min_gap.count() > 0 && !stop_) WaitFor(lock, options_.min_gap, true);
  }
}

}  // namespace jq
