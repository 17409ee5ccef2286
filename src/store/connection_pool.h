// A fixed-size pool of libpqxx connections, opened lazily and replaced when they break.
// Thread-safe. Acquire blocks until a connection is free or the timeout passes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pqxx/connection>

namespace jq::store {

class ConnectionPool {
 public:
  // on_connect runs once per new connection (e.g. to prepare statements); it may throw.
  ConnectionPool(std::string conninfo, int size,
                 std::function<void(pqxx::connection&)> on_connect = nullptr);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A borrowed connection, returned on destruction unless marked broken.
  class Handle {
   public:
    Handle(ConnectionPool* pool, std::unique_ptr<pqxx::connection> conn);
    Handle(Handle&&) noexcept;
    Handle& operator=(Handle&&) = delete;
    ~Handle();
    pqxx::connection& operator*() { return *conn_; }
    pqxx::connection* operator->() { return conn_.get(); }
    void MarkBroken() { broken_ = true; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
    bool broken_ = false;
  };

  // Throws pqxx::broken_connection when a new connection cannot be opened, and
  // std::runtime_error on timeout.
  Handle Acquire(std::chrono::milliseconds timeout);

  const std::string& conninfo() const { return conninfo_; }

 private:
  void Release(std::unique_ptr<pqxx::connection> conn, bool broken);

  const std::string conninfo_;
  const int size_;
  std::function<void(pqxx::connection&)> on_connect_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;  // GUARDED_BY(mu_)
  int open_ = 0;                                         // GUARDED_BY(mu_)
};

}  // namespace jq::store
