// SchemaCheck: whether this replica may serve the database's schema (/readyz, GetSystemStatus).
#pragma once

#include <functional>
#include <mutex>

#include "core/status.h"
#include "store/migrator.h"

namespace jq::server {

// Whether the database's schema is the one this binary runs against (store::
// CheckSchemaVersion: jq's, at exactly the highest embedded migration). A newer jq-server may
// migrate it ahead, or an operator restore one behind, while this replica runs. Refresh()
// reads it (a connection and a few small queries) and is called on the stats poller's
// cadence; status() returns the last reading, so /readyz probes and GetSystemStatus never
// query for it. A reading that fails (no connection, a timeout) keeps the last verdict for
// kMissesTolerated more: one refused connection is not a schema change, and /readyz checks
// the database itself (Ping) on every probe anyway. Thread-safe.
class SchemaCheck {
 public:
  using Inspect = std::function<Result<store::SchemaState>()>;
  SchemaCheck(Inspect inspect, int required_version)
      : inspect_(std::move(inspect)), required_(required_version) {}

  static constexpr int kMissesTolerated = 2;

  void Refresh();
  int required() const { return required_; }
  // OK, or why this replica cannot serve the database. UNAVAILABLE before the first Refresh.
  Status status() const;

 private:
  const Inspect inspect_;
  const int required_;
  mutable std::mutex mu_;
  Status status_ = Status::Unavailable("schema not checked yet");  // guarded by mu_
  bool read_once_ = false;                                         // guarded by mu_
  int misses_ = 0;  // failed readings in a row                     // guarded by mu_
};

}  // namespace jq::server
