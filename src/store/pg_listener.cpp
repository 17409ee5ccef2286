#include "store/pg_listener.h"

#include <pqxx/pqxx>

#include <chrono>
#include <memory>

namespace jq::store {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection& c, const std::string& channel, const PgListener::Callback& cb)
      : pqxx::notification_receiver(c, channel), cb_(cb) {}
  void operator()(const std::string& payload, int /*backend_pid*/) override {
    cb_(channel(), payload);
  }

 private:
  const PgListener::Callback& cb_;
};

}  // namespace

struct PgListener::Session {
  pqxx::connection conn;
  std::vector<std::unique_ptr<Receiver>> receivers;
  explicit Session(const std::string& conninfo) : conn(conninfo) {}
};

PgListener::PgListener(std::string conninfo, std::vector<std::string> channels, Callback callback)
    : conninfo_(std::move(conninfo)),
      channels_(std::move(channels)),
      callback_(std::move(callback)),
      loop_({.name = "jq-listen", .interval = std::chrono::seconds(1)},
            [this] { return RunOnce(); }) {}

PgListener::~PgListener() {
  Stop();
}

void PgListener::Stop() {
  loop_.Stop();
  session_.reset();
  connected_ = false;
}

BackgroundLoop::Next PgListener::RunOnce() {
  try {
    if (!session_) {
      auto s = std::make_unique<Session>(conninfo_);
      for (const auto& ch : channels_) {
        s->receivers.push_back(std::make_unique<Receiver>(s->conn, ch, callback_));
      }
      session_ = std::move(s);
      connected_ = true;
      if (reconnected_) callback_("", "");  // may have missed notifications while away
    }
    session_->conn.await_notification(0, 200'000);
    return BackgroundLoop::kAgain;
  } catch (const std::exception&) {
    // Drop the connection and try again after the interval.
    session_.reset();
    connected_ = false;
    reconnected_ = true;
    return std::nullopt;
  }
}

}  // namespace jq::store
