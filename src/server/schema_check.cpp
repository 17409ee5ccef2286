#include "server/schema_check.h"

namespace jq::server {

void SchemaCheck::Refresh() {
  auto state = inspect_();
  std::lock_guard lock(mu_);
  if (state.ok()) {
    status_ = store::CheckSchemaVersion(*state, required_);
    read_once_ = true;
    misses_ = 0;
    return;
  }
  if (read_once_ && ++misses_ <= kMissesTolerated) return;  // keep the last verdict
  status_ = Status::Unavailable("schema version unknown: " + state.status().message());
}

Status SchemaCheck::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

}  // namespace jq::server
