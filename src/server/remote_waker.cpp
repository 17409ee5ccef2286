#include "server/remote_waker.h"

#include <spdlog/spdlog.h>

#include "store/pg_store.h"

namespace jq::server {

// Pokes during a pass or the window after it are answered by one NOTIFY at the window's end
// (min_gap). With nothing poked the loop sleeps: the hour-long interval only bounds the wait.
RemoteWaker::RemoteWaker(JobStore& store, std::chrono::milliseconds window)
    : store_(store),
      loop_({.name = "jq-waker",
             .interval = std::chrono::hours(1),
             .run_at_start = false,
             .min_gap = window},
            [this] {
              RunOnce();
              return BackgroundLoop::Next();
            }) {}

void RemoteWaker::Poke() {
  if (pending_.exchange(true)) return;
  loop_.Wake();
}

bool RemoteWaker::RunOnce() {
  if (!pending_.exchange(false)) return false;
  if (Status s = store_.Notify(store::kJobsChannel, ""); !s.ok()) {
    spdlog::debug("notify other replicas: {}", s.ToString());
  }
  return true;
}

}  // namespace jq::server
