// Batcher: group commit for independent calls (River's jobcompleter shape). Callers Add()
// items; `flushers` threads each take up to max_batch queued items and hand them to the flush
// function, which answers every item (through whatever callback the item carries). While the
// flushers are busy new items gather, so batches grow with the load and an idle system
// flushes at once: there is no fixed delay to wait out. Thread-safe. Start/Stop idempotent.
// Items added before Start wait for it (a server may take calls a moment before its batchers
// run); Stop flushes what is queued before it returns, and Add after Stop returns false.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace jq::server {

struct BatcherConfig {
  std::size_t max_batch = 500;
  int flushers = 2;
  // Wait up to this long for a batch to fill when fewer than max_batch items are queued and
  // another flush is already running (0: never wait).
  std::chrono::microseconds linger{0};
};

template <typename Item>
class Batcher {
 public:
  using FlushFn = std::function<void(std::vector<Item>& batch)>;

  Batcher(BatcherConfig config, FlushFn flush) : config_(config), flush_(std::move(flush)) {}
  ~Batcher() { Stop(); }
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  void Start() {
    std::lock_guard lock(mu_);
    if (!threads_.empty()) return;
    stop_ = false;
    for (int i = 0; i < std::max(1, config_.flushers); ++i) {
      threads_.emplace_back([this] { Run(); });
    }
  }

  void Stop() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cv_.notify_all();
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    // Never started: answer what was queued here, so no item is left without its flush.
    for (;;) {
      std::vector<Item> batch;
      {
        std::lock_guard lock(mu_);
        while (!queue_.empty() && batch.size() < config_.max_batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      if (batch.empty()) return;
      flush_(batch);
    }
  }

  bool Add(Item item) {
    std::lock_guard lock(mu_);
    if (stop_) return false;
    queue_.push_back(std::move(item));
    cv_.notify_one();
    return true;
  }

  std::size_t queued() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }

 private:
  void Run() {
    std::vector<Item> batch;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left to flush
        if (config_.linger.count() > 0 && busy_ > 0 && queue_.size() < config_.max_batch) {
          cv_.wait_for(lock, config_.linger,
                       [&] { return stop_ || queue_.size() >= config_.max_batch; });
        }
        const std::size_t n = std::min(queue_.size(), config_.max_batch);
        batch.clear();
        batch.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        ++busy_;
      }
      flush_(batch);
      std::lock_guard lock(mu_);
      --busy_;
    }
  }

  const BatcherConfig config_;
  const FlushFn flush_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;  // GUARDED_BY(mu_)
  int busy_ = 0;            // GUARDED_BY(mu_): flushes in progress
  bool stop_ = false;       // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace jq::server
