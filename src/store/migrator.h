// Versioned schema migrations from db/migrations, embedded at build time, and the in-place
// conversion of a seed system's database (db/seed). Blocking: every call opens its own
// connection. Thread-safe.
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
// The schema version this binary runs against: its highest embedded migration.
int RequiredSchemaVersion();

// db/seed: converts a database the seed system (distributed-job-queue) created — its
// migrations V1-V5 applied — into a jq database. set_aside moves the seed's tables out of
// the way, jq's migrations up to copy_schema_version create jq's, copy fills them.
struct SeedConversion {
  std::string set_aside;
  std::string copy;
  int copy_schema_version;
};
const SeedConversion& EmbeddedSeedConversion();

// Whose migration history the database holds. Both systems keep a schema_migrations table:
// jq's has a `name` column, the seed's a `description` column.
enum class SchemaHistory {
  kNone,     // no schema_migrations and none of jq's tables: an empty database
  kJq,       // jq's
  kSeed,     // the seed system's
  kForeign,  // something else: a table of another shape, or jq's tables without a history
};

struct SchemaState {
  SchemaHistory history = SchemaHistory::kNone;
  std::vector<int> versions;  // recorded versions, ascending (kJq and kSeed)
  std::string detail;         // kForeign: what was found
};

// Reads the history (two small queries). UNAVAILABLE when the database cannot be reached.
Result<SchemaState> InspectSchema(const std::string& conninfo);

// OK when the database is jq's with every embedded migration applied and none newer, i.e.
// this binary can serve it. Otherwise FAILED_PRECONDITION saying what is wrong (behind, ahead,
// the seed's, foreign) and what to do. Pure.
Status CheckSchemaVersion(const SchemaState& state, int required = RequiredSchemaVersion());

struct MigrateOptions {
  // Convert a seed database first (jq-server migrate --from-seed). Without it a seed database
  // is refused; with it a database that is neither the seed's nor jq's is refused.
  bool from_seed = false;
};

struct SeedCounts {
  long long queues = 0, jobs = 0, events = 0, workers = 0;
};

struct MigrateResult {
  std::vector<int> applied;  // versions applied by this call
  int current_version = 0;
  bool converted_from_seed = false;
  SeedCounts seed;  // rows converted, when converted_from_seed
};

// Applies pending migrations under a session advisory lock, so replicas starting together
// apply each migration once. Each migration runs in its own transaction; a seed conversion
// (with its migrations) runs in one, so it either completes or changes nothing. A seed or
// foreign history is FAILED_PRECONDITION with what to do; nothing is changed then.
Result<MigrateResult> Migrate(const std::string& conninfo, const MigrateOptions& options = {});
// Highest version of jq's history, 0 when there is none; FAILED_PRECONDITION for a seed or
// foreign history.
Result<int> CurrentSchemaVersion(const std::string& conninfo);

}  // namespace jq::store
