// PgListener: LISTEN on PostgreSQL channels from a dedicated connection and hand each
// notification to a callback, on the listener's own thread. Reconnects on its own; after a
// reconnect it calls the callback with an empty channel, since notifications may have been
// missed. Start/Stop are idempotent (core/background_loop.h); Stop blocks until the pass in
// progress has ended (≤ ~250 ms).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/background_loop.h"

namespace jq::store {

class PgListener {
 public:
  using Callback = std::function<void(const std::string& channel, const std::string& payload)>;

  PgListener(std::string conninfo, std::vector<std::string> channels, Callback callback);
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  void Start() { loop_.Start(); }
  void Stop();
  bool connected() const { return connected_.load(); }

 private:
  struct Session;  // the LISTEN connection and its receivers
  // Connects if needed, then waits up to 200 ms for notifications and delivers them.
  BackgroundLoop::Next RunOnce();

  const std::string conninfo_;
  const std::vector<std::string> channels_;
  const Callback callback_;
  std::atomic<bool> connected_{false};
  std::unique_ptr<Session> session_;  // the loop's thread only
  bool reconnected_ = false;          // the loop's thread only
  BackgroundLoop loop_;               // last: stopped before the members its passes use go away
};

}  // namespace jq::store
