#include "store/migrator.h"

#include <pqxx/pqxx>

#include <set>

#include "store/pg_errors.h"

namespace jq::store {
namespace {

// Arbitrary but fixed: every jq-server uses this key to serialize migrations.
constexpr long long kMigrationLockKey = 0x6a71'6d69'6772;  // "jqmigr"

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version integer PRIMARY KEY, name text NOT NULL,"
    "  applied_at timestamptz NOT NULL DEFAULT now())";

// The seed's migrations, V1__create_queues_table to V5__seed_default_queue: the schema
// db/seed converts from.
const std::vector<int> kSeedVersions = {1, 2, 3, 4, 5};

std::string JoinVersions(const std::vector<int>& versions) {
  std::string out;
  for (int v : versions) out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out.empty() ? "none" : out;
}

std::string SeedRefusal(const SchemaState& s) {
  return "this database was created by the seed system (distributed-job-queue: its "
         "schema_migrations, with a description column, records versions " +
         JoinVersions(s.versions) +
         "), not by jq, and jq-server cannot use it as it is. To keep its queues, jobs and "
         "events: stop the seed's servers and workers, back up the database, then run "
         "`jq-server migrate --from-seed` with the same configuration to convert it in place "
         "(docs/migrating.md)";
}

SchemaState Inspect(pqxx::transaction_base& tx) {
  SchemaState s;
  const bool has_table =
      tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>();
  if (!has_table) {
    if (tx.exec1("SELECT to_regclass('jobs') IS NOT NULL OR to_regclass('queues') IS NOT NULL")[0]
            .as<bool>()) {
      s.history = SchemaHistory::kForeign;
      s.detail = "tables named jobs or queues exist, but no schema_migrations table";
    }
    return s;
  }
  std::set<std::string> columns;
  std::string listed;
  for (const auto& row :
       tx.exec("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass('schema_migrations')"
               " AND attnum > 0 AND NOT attisdropped ORDER BY attnum")) {
    columns.insert(row[0].as<std::string>());
    listed += (listed.empty() ? "" : ", ") + row[0].as<std::string>();
  }
  if (columns.contains("version") && columns.contains("name")) {
    s.history = SchemaHistory::kJq;
  } else if (columns.contains("version") && columns.contains("description")) {
    s.history = SchemaHistory::kSeed;
  } else {
    s.history = SchemaHistory::kForeign;
    s.detail = "its schema_migrations table has the columns (" + listed +
               "), neither jq's (version, name) nor the seed system's (version, description)";
    return s;
  }
  for (const auto& row : tx.exec("SELECT version FROM schema_migrations ORDER BY version")) {
    s.versions.push_back(row[0].as<int>());
  }
  return s;
}

void Apply(pqxx::work& tx, const Migration& m) {
  tx.exec(m.sql);
  tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                 m.name);
}

// The whole conversion is one transaction: set aside, jq's migrations, copy, the rest.
SeedCounts ConvertSeed(pqxx::connection& conn) {
  const SeedConversion& seed = EmbeddedSeedConversion();
  pqxx::work tx(conn);
  // The seed's tables are locked exclusively: a seed server still using them makes this
  // fail instead of waiting for it indefinitely.
  tx.exec("SET LOCAL lock_timeout = '30s'");
  tx.exec(seed.set_aside);
  tx.exec(kCreateTable);
  for (const auto& m : EmbeddedMigrations()) {
    if (m.version <= seed.copy_schema_version) Apply(tx, m);
  }
  tx.exec(seed.copy);
  SeedCounts n;
  auto row = tx.exec1(
      "SELECT (SELECT count(*) FROM queues), (SELECT count(*) FROM jobs),"
      " (SELECT count(*) FROM job_events), (SELECT count(*) FROM workers)");
  n.queues = row[0].as<long long>();
  n.jobs = row[1].as<long long>();
  n.events = row[2].as<long long>();
  n.workers = row[3].as<long long>();
  for (const auto& m : EmbeddedMigrations()) {
    if (m.version > seed.copy_schema_version) Apply(tx, m);
  }
  tx.commit();
  return n;
}

// Why this call must change nothing, or OK to go on.
Status Refusal(const SchemaState& state, const MigrateOptions& options) {
  switch (state.history) {
    case SchemaHistory::kSeed:
      if (!options.from_seed) return Status::FailedPrecondition(SeedRefusal(state));
      if (state.versions != kSeedVersions) {
        return Status::FailedPrecondition(
            "the seed system's schema_migrations records versions " + JoinVersions(state.versions) +
            "; --from-seed converts the seed's schema at versions " + JoinVersions(kSeedVersions) +
            " (V5__seed_default_queue) only");
      }
      return Status::Ok();
    case SchemaHistory::kForeign:
      return Status::FailedPrecondition("this database is not jq's: " + state.detail +
                                        "; point db.* at a jq database (or an empty one)");
    case SchemaHistory::kNone:
      if (options.from_seed) {
        return Status::FailedPrecondition(
            "--from-seed: no seed system schema here (no schema_migrations table), nothing to "
            "convert; check that db.* names the seed's database");
      }
      return Status::Ok();
    case SchemaHistory::kJq: return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace

int RequiredSchemaVersion() {
  return EmbeddedMigrations().back().version;
}

Result<SchemaState> InspectSchema(const std::string& conninfo) {
  try {
    pqxx::connection conn(conninfo);
    pqxx::read_transaction tx(conn);
    return Inspect(tx);
  } catch (const std::exception& e) {
    return StatusFromException(e, "schema version");
  }
}

Status CheckSchemaVersion(const SchemaState& state, int required) {
  switch (state.history) {
    case SchemaHistory::kNone:
      return Status::FailedPrecondition(
          "the database has no jq schema yet (no schema_migrations table): start jq-server or "
          "run `jq-server migrate` to create it");
    case SchemaHistory::kSeed: return Status::FailedPrecondition(SeedRefusal(state));
    case SchemaHistory::kForeign: return Refusal(state, {});
    case SchemaHistory::kJq: break;
  }
  const int current = state.versions.empty() ? 0 : state.versions.back();
  if (current > required) {
    return Status::FailedPrecondition(
        "schema version " + std::to_string(current) + " is newer than this jq-server's (" +
        std::to_string(required) +
        "): a newer jq-server has migrated the database; upgrade this one");
  }
  std::vector<int> missing;
  const std::set<int> recorded(state.versions.begin(), state.versions.end());
  for (const auto& m : EmbeddedMigrations()) {
    if (m.version <= required && !recorded.contains(m.version)) missing.push_back(m.version);
  }
  if (!missing.empty()) {
    return Status::FailedPrecondition(
        "schema version " + std::to_string(current) + " is behind this jq-server's (" +
        std::to_string(required) + "; missing " + JoinVersions(missing) +
        "): restart jq-server or run `jq-server migrate` to apply them");
  }
  return Status::Ok();
}

Result<MigrateResult> Migrate(const std::string& conninfo, const MigrateOptions& options) {
  try {
    pqxx::connection conn(conninfo);
    // A session lock outlives the statement's transaction; libpqxx allows one open
    // transaction object at a time, so each lock call gets its own.
    auto session_lock = [&](const char* fn) {
      pqxx::nontransaction tx(conn);
      tx.exec_params(std::string("SELECT ") + fn + "($1)", kMigrationLockKey);
    };
    session_lock("pg_advisory_lock");
    MigrateResult out;
    Status refused;
    try {
      SchemaState state;
      {
        // Read under the lock: another replica may be converting or migrating right now.
        pqxx::read_transaction tx(conn);
        state = Inspect(tx);
      }
      refused = Refusal(state, options);
      if (refused.ok() && state.history == SchemaHistory::kSeed) {
        out.seed = ConvertSeed(conn);
        out.converted_from_seed = true;
        for (const auto& m : EmbeddedMigrations()) out.applied.push_back(m.version);
      }
      if (refused.ok()) {
        {
          pqxx::work tx(conn);
          tx.exec(kCreateTable);
          tx.commit();
        }
        for (const auto& m : EmbeddedMigrations()) {
          pqxx::work tx(conn);
          auto r = tx.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", m.version);
          if (!r.empty()) continue;
          Apply(tx, m);
          tx.commit();
          out.applied.push_back(m.version);
        }
        pqxx::work tx(conn);
        out.current_version =
            tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
        tx.commit();
      }
    } catch (...) {
      // Closing the connection releases the lock as well, should this fail.
      session_lock("pg_advisory_unlock");
      throw;
    }
    session_lock("pg_advisory_unlock");
    if (!refused.ok()) return refused;
    return out;
  } catch (const std::exception& e) {
    return StatusFromException(e, options.from_seed ? "migrate --from-seed" : "migrate");
  }
}

Result<int> CurrentSchemaVersion(const std::string& conninfo) {
  auto state = InspectSchema(conninfo);
  if (!state.ok()) return state.status();
  switch (state->history) {
    case SchemaHistory::kNone: return 0;
    case SchemaHistory::kJq: return state->versions.empty() ? 0 : state->versions.back();
    default: return CheckSchemaVersion(*state);
  }
}

}  // namespace jq::store
