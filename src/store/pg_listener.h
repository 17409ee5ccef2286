// PgListener: LISTEN on PostgreSQL channels from a dedicated connection and hand each
// notification to a callback, on the listener's own thread. Reconnects on its own; after a
// reconnect it calls the callback with an empty channel, since notifications may have been
// missed. Start/Stop are idempotent; Stop blocks until the thread has ended (≤ ~250 ms).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace jq::store {

class PgListener {
 public:
  using Callback = std::function<void(const std::string& channel, const std::string& payload)>;

  PgListener(std::string conninfo, std::vector<std::string> channels, Callback callback);
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  void Start();
  void Stop();
  bool connected() const { return connected_.load(); }

 private:
  void Run();

  const std::string conninfo_;
  const std::vector<std::string> channels_;
  const Callback callback_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace jq::store
