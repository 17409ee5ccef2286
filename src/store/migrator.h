// Versioned schema migrations from db/migrations, embedded at build time.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace jq::store {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// The migrations compiled into this binary, in version order.
const std::vector<Migration>& EmbeddedMigrations();

struct MigrateResult {
  std::vector<int> applied;  // versions applied by this call
  int current_version = 0;
};

// Applies pending migrations under a session advisory lock, so replicas starting together
// apply each migration once. Each migration runs in its own transaction.
Result<MigrateResult> Migrate(const std::string& conninfo);
// Highest applied version, 0 when none; used by /readyz and --dry-run.
Result<int> CurrentSchemaVersion(const std::string& conninfo);

}  // namespace jq::store
