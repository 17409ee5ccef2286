#include "store/pg_outbox.h"

#include <pqxx/pqxx>

#include <string>
#include <utility>

#include "store/pg_errors.h"
#include "store/pg_rows.h"

namespace jq::store {
namespace {

// Why reading the outbox in id order is enough, and what the relay must wait for:
// job_events ids come from a sequence, so a transaction can commit a higher id before another
// commits a lower one; a missing id is in a transaction still open, or rolled back, or was
// never used. The relay therefore publishes only up to the first missing id, and skips one
// only when it is provably permanent (events/outbox_logic.h). Migration 0002 makes every
// inserting transaction own a transaction id before it takes an event id, which is what makes
// that proof work with the snapshot facts read here.
const std::vector<std::pair<std::string, std::string>>& Statements() {
  static const std::vector<std::pair<std::string, std::string>> kStatements = {
      {"outbox_lock", "SELECT pg_try_advisory_lock($1)"},
      {"outbox_unlock", "SELECT pg_advisory_unlock($1)"},
      // The inserted row is invisible to the second SELECT of the same statement, so exactly
      // one branch returns a row.
      {"outbox_cursor_get",
       "WITH ins AS (INSERT INTO outbox_cursors (name) VALUES ($1) ON CONFLICT (name) DO NOTHING "
       "  RETURNING last_event_id) "
       "SELECT last_event_id FROM ins UNION ALL "
       "SELECT last_event_id FROM outbox_cursors WHERE name = $1"},
      {"outbox_cursor_advance",
       "INSERT INTO outbox_cursors (name, last_event_id) VALUES ($1, $2) "
       "ON CONFLICT (name) DO UPDATE SET "
       "  last_event_id = greatest(outbox_cursors.last_event_id, excluded.last_event_id), "
       "  updated_at = now()"},
      {"outbox_events",
       std::string("SELECT ") + kEventCols + " FROM job_events WHERE id > $1 ORDER BY id LIMIT $2"},
      {"outbox_snapshot",
       "SELECT coalesce(max(id), 0), pg_snapshot_xmin(pg_current_snapshot())::text "
       "FROM job_events"},
      {"outbox_xid", "SELECT pg_current_xact_id()::text"},
      // The aggregate makes one row without a cursor row too. One statement, one snapshot.
      {"outbox_backlog",
       "SELECT c.last_event_id, coalesce((SELECT max(id) FROM job_events), 0), f.id, "
       "  coalesce(extract(epoch FROM clock_timestamp() - f.occurred_at)::float8, 0), "
       "  extract(epoch FROM clock_timestamp() - c.updated_at)::float8 "
       "FROM (SELECT coalesce(max(last_event_id), 0) AS last_event_id, "
       "             coalesce(max(updated_at), now()) AS updated_at "
       "      FROM outbox_cursors WHERE name = $1) c "
       "LEFT JOIN LATERAL (SELECT id, occurred_at FROM job_events WHERE id > c.last_event_id "
       "                   ORDER BY id LIMIT 1) f ON true"},
      // Oldest first by age(xid), which follows transaction id wraparound. $1: an xid8 as
      // text, '0' for no bound.
      {"outbox_open_transactions",
       "WITH open AS ("
       "  SELECT backend_xid AS xid, pid, '' AS gid, coalesce(usename::text, '') AS usr, "
       "         coalesce(datname::text, '') AS db, coalesce(application_name, '') AS app, "
       "         coalesce(state, '') AS state, xact_start AS started "
       "  FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() "
       "  UNION ALL "
       "  SELECT transaction, 0, gid, owner::text, database::text, '', 'prepared', prepared "
       "  FROM pg_prepared_xacts) "
       "SELECT xid::text, pid, gid, usr, db, app, state, "
       "  extract(epoch FROM started)::float8, "
       "  extract(epoch FROM clock_timestamp() - started)::float8, count(*) OVER () "
       "FROM open WHERE $1::text = '0' OR age(xid) > age($1::text::xid8::xid) "
       "ORDER BY age(xid) DESC LIMIT 1"},
  };
  return kStatements;
}

}  // namespace

struct PgOutbox::Session {
  explicit Session(const std::string& conninfo) : conn(conninfo) {
    // libpqxx 6 silently reconnects a broken connection at the next transaction. That would
    // drop the session lock while this object still believed it held it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    conn.inhibit_reactivation(true);
#pragma GCC diagnostic pop
    {
      pqxx::nontransaction tx(conn);
      // A hung statement would hold up the relay thread (and Stop) indefinitely.
      tx.exec("SET statement_timeout = '10s'");
    }
    for (const auto& [name, sql] : Statements()) conn.prepare(name, sql);
    pid = conn.backendpid();
  }
  pqxx::connection conn;
  int pid = 0;  // the backend the lock (if any) belongs to
};

PgOutbox::PgOutbox(std::string conninfo, std::string cursor_name)
    : conninfo_(std::move(conninfo)), cursor_name_(std::move(cursor_name)) {}

PgOutbox::~PgOutbox() {
  Close();
}

PgOutbox::Session& PgOutbox::Open() {
  if (session_ && (!session_->conn.is_open() || session_->conn.backendpid() != session_->pid)) {
    session_.reset();
  }
  if (!session_) {
    leader_ = false;  // a new session holds no lock
    session_ = std::make_unique<Session>(conninfo_);
  }
  return *session_;
}

Status PgOutbox::Fail(const std::exception& e, const char* op) {
  const bool broken = dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
                      dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr ||
                      (session_ && !session_->conn.is_open());
  if (broken) {
    session_.reset();
    leader_ = false;
  }
  return StatusFromException(e, op);
}

Result<bool> PgOutbox::LeaderTryAcquire() {
  if (leader_ && session_ && session_->conn.is_open()) return true;
  try {
    auto& s = Open();
    pqxx::nontransaction tx(s.conn);
    leader_ =
        tx.exec_prepared1("outbox_lock", static_cast<long long>(kOutboxRelayLockKey))[0].as<bool>();
    return leader_;
  } catch (const std::exception& e) {
    return Fail(e, "OutboxLeaderTryAcquire");
  }
}

void PgOutbox::Close() {
  if (session_ && leader_) {
    try {
      pqxx::nontransaction tx(session_->conn);
      tx.exec_prepared("outbox_unlock", static_cast<long long>(kOutboxRelayLockKey));
    } catch (const std::exception&) {
      // Closing the session below frees the lock anyway.
    }
  }
  leader_ = false;
  session_.reset();
}

Result<std::int64_t> PgOutbox::CursorGet() {
  try {
    auto& s = Open();
    pqxx::work tx(s.conn);
    const auto r = tx.exec_prepared1("outbox_cursor_get", cursor_name_);
    tx.commit();
    return r[0].as<std::int64_t>();
  } catch (const std::exception& e) {
    return Fail(e, "OutboxCursorGet");
  }
}

Status PgOutbox::CursorAdvance(std::int64_t last_event_id) {
  try {
    auto& s = Open();
    pqxx::work tx(s.conn);
    tx.exec_prepared("outbox_cursor_advance", cursor_name_, last_event_id);
    tx.commit();
    return Status::Ok();
  } catch (const std::exception& e) {
    return Fail(e, "OutboxCursorAdvance");
  }
}

Result<OutboxPage> PgOutbox::EventListAfter(std::int64_t after_id, int limit) {
  try {
    auto& s = Open();
    // One snapshot for the events, the max id and xmin: the gap decision compares them.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(s.conn);
    OutboxPage page;
    const auto rows = tx.exec_prepared("outbox_events", after_id, limit);
    page.events.reserve(rows.size());
    for (const auto& r : rows) {
      page.events.push_back(EventFromRow(r));
    }
    const auto snap = tx.exec_prepared1("outbox_snapshot");
    page.max_event_id = snap[0].as<std::int64_t>();
    page.snapshot_xmin = std::stoull(snap[1].as<std::string>());
    tx.commit();
    return page;
  } catch (const std::exception& e) {
    return Fail(e, "OutboxEventListAfter");
  }
}

Result<std::uint64_t> PgOutbox::XidHorizonAcquire() {
  try {
    auto& s = Open();
    pqxx::work tx(s.conn);
    const auto r = tx.exec_prepared1("outbox_xid");
    tx.commit();
    return static_cast<std::uint64_t>(std::stoull(r[0].as<std::string>()));
  } catch (const std::exception& e) {
    return Fail(e, "OutboxXidHorizonAcquire");
  }
}

Result<OutboxBacklog> PgOutbox::BacklogGet() {
  try {
    auto& s = Open();
    pqxx::nontransaction tx(s.conn);
    const auto r = tx.exec_prepared1("outbox_backlog", cursor_name_);
    OutboxBacklog b;
    b.cursor = r[0].as<std::int64_t>();
    b.max_event_id = r[1].as<std::int64_t>();
    if (!r[2].is_null()) b.first_event_id = r[2].as<std::int64_t>();
    b.first_event_age_seconds = r[3].as<double>();
    b.cursor_idle_seconds = r[4].as<double>();
    return b;
  } catch (const std::exception& e) {
    return Fail(e, "OutboxBacklogGet");
  }
}

Result<OpenTransactions> PgOutbox::OpenTransactionsGet(std::uint64_t below_xid) {
  try {
    auto& s = Open();
    pqxx::nontransaction tx(s.conn);
    const auto rows = tx.exec_prepared("outbox_open_transactions", std::to_string(below_xid));
    OpenTransactions out;
    if (rows.empty()) return out;
    const auto& r = rows[0];
    OpenTransaction t;
    t.xid = std::stoull(r[0].as<std::string>());
    t.pid = r[1].as<int>();
    t.prepared_gid = r[2].as<std::string>();
    t.user = r[3].as<std::string>();
    t.database = r[4].as<std::string>();
    t.application = r[5].as<std::string>();
    t.state = r[6].as<std::string>();
    if (!r[7].is_null()) {
      t.started_at = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::duration<double>(r[7].as<double>())));
    }
    if (!r[8].is_null()) t.age_seconds = r[8].as<double>();
    out.oldest = std::move(t);
    out.count = r[9].as<int>();
    return out;
  } catch (const std::exception& e) {
    return Fail(e, "OutboxOpenTransactionsGet");
  }
}

}  // namespace jq::store
