#include "store/migrator.h"

#include <pqxx/pqxx>

#include "store/pg_errors.h"

namespace jq::store {
namespace {

// Arbitrary but fixed: every jq-server uses this key to serialize migrations.
constexpr long long kMigrationLockKey = 0x6a71'6d69'6772;  // "jqmigr"

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version integer PRIMARY KEY, name text NOT NULL,"
    "  applied_at timestamptz NOT NULL DEFAULT now())";

}  // namespace

Result<MigrateResult> Migrate(const std::string& conninfo) {
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
    try {
      {
        pqxx::work tx(conn);
        tx.exec(kCreateTable);
        tx.commit();
      }
      for (const auto& m : EmbeddedMigrations()) {
        pqxx::work tx(conn);
        auto r = tx.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", m.version);
        if (!r.empty()) continue;
        tx.exec(m.sql);
        tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                       m.name);
        tx.commit();
        out.applied.push_back(m.version);
      }
      pqxx::work tx(conn);
      out.current_version =
          tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
      tx.commit();
    } catch (...) {
      // Closing the connection releases the lock as well, should this fail.
      session_lock("pg_advisory_unlock");
      throw;
    }
    session_lock("pg_advisory_unlock");
    return out;
  } catch (const std::exception& e) {
    return StatusFromException(e, "migrate");
  }
}

Result<int> CurrentSchemaVersion(const std::string& conninfo) {
  try {
    pqxx::connection conn(conninfo);
    pqxx::work tx(conn);
    auto exists = tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>();
    if (!exists) return 0;
    return tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
  } catch (const std::exception& e) {
    return StatusFromException(e, "schema version");
  }
}

}  // namespace jq::store
