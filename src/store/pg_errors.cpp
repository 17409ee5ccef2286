#include "store/pg_errors.h"

#include <pqxx/pqxx>

namespace jq::store {

Status StatusFromException(const std::exception& e, std::string_view operation) {
  const std::string op(operation);
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return Status::Unavailable(op + ": database unreachable: " + e.what());
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return Status::Unavailable(op + ": database connection lost during commit");
  }
  // libpqxx 6.4's classes for 40P01 and 40001 are not sql_errors: rolled back, worth retrying.
  if (dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr) {
    return Status::Unavailable(op + ": database busy or unavailable (40P01, deadlock)");
  }
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr) {
    return Status::Unavailable(op + ": database busy or unavailable (40001, serialization)");
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e); sql != nullptr) {
    const std::string state = sql->sqlstate();
    // Class 08 (connection), 57P0x (shutting down), 53 (out of disk, memory or connections),
    // serialization failures, deadlocks and cancelled statements: the request was fine and
    // succeeds later, so callers retry (a worker keeps its report) instead of failing the job.
    if (state.rfind("53", 0) == 0) {  // what ran out is in PostgreSQL's message: say it
      std::string what = sql->what();
      what = what.substr(0, what.find('\n'));
      return Status::Unavailable(op + ": database out of resources (" + state + "): " + what);
    }
    if (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03" ||
        state == "40001" || state == "40P01" || state == "57014") {
      return Status::Unavailable(op + ": database busy or unavailable (" + state + ")");
    }
    if (state == "22P02") return Status::InvalidArgument(op + ": malformed value");
    if (state == "23505") return Status::AlreadyExists(op + ": already exists");
    return Status::Internal(op + ": database error " + state + ": " + sql->what());
  }
  const std::string what = e.what();
  if (what.find("no database connection free") != std::string::npos) {
    return Status::Unavailable(op + ": " + what);
  }
  return Status::Internal(op + ": " + what);
}

}  // namespace jq::store
