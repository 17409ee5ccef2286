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

PgListener::PgListener(std::string conninfo, std::vector<std::string> channels, Callback callback)
    : conninfo_(std::move(conninfo)),
      channels_(std::move(channels)),
      callback_(std::move(callback)) {}

PgListener::~PgListener() {
  Stop();
}

void PgListener::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void PgListener::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void PgListener::Run() {
  bool first = true;
  while (!stop_) {
    try {
      pqxx::connection conn(conninfo_);
      std::vector<std::unique_ptr<Receiver>> receivers;
      for (const auto& ch : channels_) {
        receivers.push_back(std::make_unique<Receiver>(conn, ch, callback_));
      }
      connected_ = true;
      if (!first) callback_("", "");  // may have missed notifications while away
      first = false;
      while (!stop_) conn.await_notification(0, 200'000);
      connected_ = false;
      return;
    } catch (const std::exception&) {
      connected_ = false;
      first = false;
      for (int i = 0; i < 10 && !stop_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
}

}  // namespace jq::store
