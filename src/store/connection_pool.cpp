#include "store/connection_pool.h"

#include <pqxx/pqxx>
#include <stdexcept>

namespace jq::store {

ConnectionPool::ConnectionPool(std::string conninfo, int size,
                               std::function<void(pqxx::connection&)> on_connect)
    : conninfo_(std::move(conninfo)), size_(size), on_connect_(std::move(on_connect)) {}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Handle::Handle(ConnectionPool* pool, std::unique_ptr<pqxx::connection> conn)
    : pool_(pool), conn_(std::move(conn)) {}

ConnectionPool::Handle::Handle(Handle&& o) noexcept
    : pool_(o.pool_), conn_(std::move(o.conn_)), broken_(o.broken_) {}

ConnectionPool::Handle::~Handle() {
  if (conn_) pool_->Release(std::move(conn_), broken_ || !conn_->is_open());
}

ConnectionPool::Handle ConnectionPool::Acquire(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (idle_.empty() && open_ >= size_) {
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= size_) {
      throw std::runtime_error("no database connection free within " +
                               std::to_string(timeout.count()) + " ms");
    }
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Handle(this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  try {
    auto conn = std::make_unique<pqxx::connection>(conninfo_);
    if (on_connect_) on_connect_(*conn);
    return Handle(this, std::move(conn));
  } catch (...) {
    std::lock_guard relock(mu_);
    --open_;
    cv_.notify_one();
    throw;
  }
}

void ConnectionPool::Release(std::unique_ptr<pqxx::connection> conn, bool broken) {
  std::lock_guard lock(mu_);
  if (broken) {
    --open_;
  } else {
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

}  // namespace jq::store
