// What the store's files share (internal to jq_store): the one transaction helper, SQL text
// with states written by name, the text encodings of arrays and bytes, and the registry of
// prepared statements (each table's file lists its own).
#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "store/connection_pool.h"
#include "store/pg_errors.h"
#include "store/pg_store.h"

namespace jq::store {

// SQL with states by name: "{RUNNING}" becomes the number of JobState::kRunning and
// "{OFFLINE}" that of WorkerState::kOffline, so no state number is written in SQL. Any other
// "{NAME}" throws std::logic_error; statements are built when the first connection is
// prepared, so a typo fails every test at once.
std::string Sql(std::string_view text);

// A named statement, prepared on every new connection.
using Statement = std::pair<std::string, std::string>;
const std::vector<Statement>& JobStatements();         // jobs_table.cpp
const std::vector<Statement>& QueueStatements();       // queues_table.cpp
const std::vector<Statement>& WorkerStatements();      // workers_table.cpp
const std::vector<Statement>& LeaseStatements();       // leases.cpp
const std::vector<Statement>& TransitionStatements();  // job_transitions.cpp

inline TimePoint FromUs(std::int64_t us) {
  return TimePoint(std::chrono::microseconds(us));
}
std::optional<TimePoint> OptTime(const pqxx::field& f);
std::string Bytes(const pqxx::field& f);  // bytea; NULL is empty
// A text[] literal ("{...}") of the items, quoted; unset items are NULL.
std::string PgArray(const std::vector<std::string>& items);
std::string PgArrayOpt(const std::vector<std::optional<std::string>>& items);
std::vector<std::string> ParsePgTextArray(const pqxx::field& f);
// Bytes as hex text, for decode(..., 'hex') inside array parameters.
std::string Hex(const std::string& data);

// A uuid's canonical text (lower case), as PostgreSQL prints it: what ids read back from the
// database are compared with.
inline std::string CanonicalId(std::string id) {
  for (char& c : id) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return id;
}

inline std::string JobNotFound(const std::string& id) {
  return "job " + id + " not found";
}

// Runs fn(tx) in one transaction and commits when it returns OK (anything else rolls back).
// A broken pooled connection (a PostgreSQL restart) is retried on a fresh one, and a
// serialization failure or deadlock is retried, up to three attempts in all; libpqxx
// exceptions become a Status. Reports the duration to config.on_query and each retry to
// config.on_retry under `op`.
template <typename T, typename Fn>
Result<T> RunTx(ConnectionPool& pool, const PgStoreConfig& config, std::string_view op, Fn&& fn) {
  constexpr int kAttempts = 3;
  struct Timer {
    const PgStoreConfig& config;
    std::string_view op;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    ~Timer() {
      if (config.on_query) {
        config.on_query(
            op, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    }
  } timer{config, op};
  const auto retry = [&](int attempt, std::string_view reason) {
    if (attempt >= kAttempts) return false;
    if (config.on_retry) config.on_retry(op, reason);
    return true;
  };
  for (int attempt = 1;; ++attempt) {
    try {
      auto conn = pool.Acquire(config.acquire_timeout);
      try {
        pqxx::work tx(*conn);
        Result<T> r = fn(tx);
        if (r.ok()) tx.commit();
        return r;
      } catch (const pqxx::broken_connection&) {
        conn.MarkBroken();
        throw;
      } catch (const pqxx::in_doubt_error&) {
        conn.MarkBroken();
        throw;
      }
    } catch (const pqxx::broken_connection& e) {
      // The statement did not commit: retry on a fresh connection.
      if (retry(attempt, "connection")) continue;
      return StatusFromException(e, op);
    } catch (const pqxx::deadlock_detected& e) {
      // libpqxx 6.4 throws these for 40P01 and 40001, and not as sql_error (their base is
      // transaction_rollback, a pqxx::failure): the transaction was rolled back whole.
      if (retry(attempt, "deadlock")) continue;
      return StatusFromException(e, op);
    } catch (const pqxx::serialization_failure& e) {
      if (retry(attempt, "serialization")) continue;
      return StatusFromException(e, op);
    } catch (const pqxx::sql_error& e) {
      const std::string state = e.sqlstate();
      if (state == "40001" && retry(attempt, "serialization")) continue;
      if (state == "40P01" && retry(attempt, "deadlock")) continue;
      return StatusFromException(e, op);
    } catch (const std::exception& e) {
      return StatusFromException(e, op);
    }
  }
}

// RunTx for an operation that returns only a Status.
template <typename Fn>
Status RunTxStatus(ConnectionPool& pool, const PgStoreConfig& config, std::string_view op,
                   Fn&& fn) {
  return RunTx<bool>(pool, config, op,
                     [&](pqxx::work& tx) -> Result<bool> {
                       if (Status s = fn(tx); !s.ok()) return s;
                       return true;
                     })
      .status();
}

}  // namespace jq::store
