// PgOutbox: the outbox relay's door to PostgreSQL (SPEC §8). job_events is the outbox; this
// reads it in id order, keeps the relay's cursor in outbox_cursors, and holds the session
// advisory lock that makes one relay at a time the publisher across replicas.
//
// It owns one dedicated connection, since the lock belongs to the session: if the process
// dies, the connection closes and PostgreSQL frees the lock for another replica. A broken
// connection is reopened on the next call, without the lock (leader() turns false).
//
// Not thread-safe: one relay thread owns it. Every call blocks on the database (bounded by
// the connection string's connect_timeout and a 10 s statement_timeout). libpqxx exceptions
// never escape; they become a Status (UNAVAILABLE when retryable).
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace jq::store {

// What one read of the outbox saw, all in one snapshot.
struct OutboxPage {
  std::vector<JobEventRecord> events;  // ids > after_id, ascending, at most limit
  std::int64_t max_event_id = 0;       // max(job_events.id) in the snapshot; 0 when empty
  // pg_snapshot_xmin of the snapshot: every transaction id below it had ended when it was
  // taken, so their rows are visible in it unless they rolled back.
  std::uint64_t snapshot_xmin = 0;
};

// What waits to be published, as one statement's snapshot sees it: the relay's stall report.
// Ages are by the database's clock, so a skewed jq-server clock does not distort them.
struct OutboxBacklog {
  std::int64_t cursor = 0;        // outbox_cursors.last_event_id (0 without the row)
  std::int64_t max_event_id = 0;  // max(job_events.id); 0 when empty
  // The first visible event after the cursor: the oldest one waiting (ids follow time closely
  // enough). Empty when nothing waits.
  std::optional<std::int64_t> first_event_id;
  double first_event_age_seconds = 0;  // since that event was written; 0 without one
  double cursor_idle_seconds = 0;      // since any relay last moved the cursor
  std::int64_t lag() const { return max_event_id - cursor; }
};

// An open transaction that holds a transaction id, as pg_stat_activity (or, for a prepared
// transaction, pg_prepared_xacts) shows it to this session's role. Without pg_read_all_stats
// (or membership in its owner's role) PostgreSQL hides a session's state and start time.
struct OpenTransaction {
  std::uint64_t xid = 0;  // 32 bits, as pg_stat_activity.backend_xid shows it
  int pid = 0;            // 0 for a prepared transaction
  std::string prepared_gid;
  std::string user, database, application;
  std::string state;  // "idle in transaction", "active", "prepared"; empty when hidden
  std::optional<std::chrono::system_clock::time_point> started_at;  // empty when hidden
  std::optional<double> age_seconds;                                // empty when hidden
};

struct OpenTransactions {
  std::optional<OpenTransaction> oldest;  // the one with the oldest transaction id
  int count = 0;                          // how many match
};

class PgOutbox {
 public:
  // cursor_name: the outbox_cursors row this relay advances.
  explicit PgOutbox(std::string conninfo, std::string cursor_name = "kafka");
  ~PgOutbox();
  PgOutbox(const PgOutbox&) = delete;
  PgOutbox& operator=(const PgOutbox&) = delete;

  // pg_try_advisory_lock on this session: true when this object holds the relay lock (now or
  // already). Never waits for the lock.
  Result<bool> LeaderTryAcquire();
  // Whether the lock is held, as far as this object knows: false after any connection error.
  bool leader() const { return leader_; }
  // Unlocks and closes the session. Idempotent.
  void Close();

  // The cursor's last_event_id; creates the row (at 0) when missing.
  Result<std::int64_t> CursorGet();
  // Moves the cursor forward to last_event_id; never backwards. Safe from any relay that has
  // delivered (or proven to be permanent gaps) every id up to last_event_id, leader or not.
  Status CursorAdvance(std::int64_t last_event_id);

  // Up to limit events with id > after_id, with the snapshot facts the gap decision needs.
  Result<OutboxPage> EventListAfter(std::int64_t after_id, int limit);

  // A transaction id assigned now (pg_current_xact_id in a transaction of its own). Every
  // transaction that took an event id before this call has a smaller transaction id.
  Result<std::uint64_t> XidHorizonAcquire();

  // The cursor, the newest id and the oldest waiting event, in one snapshot (two index probes);
  // lag() is what is not yet published (gaps count as events). Needs no lock: standby replicas
  // report it too.
  Result<OutboxBacklog> BacklogGet();

  // The open transactions with a transaction id older than below_xid (a pg_current_xact_id
  // value; 0: all of them), other than this session: the transactions a gap's proof waits for
  // (events/outbox_logic.h). Reads pg_stat_activity and pg_prepared_xacts, which any role may.
  Result<OpenTransactions> OpenTransactionsGet(std::uint64_t below_xid);

 private:
  struct Session;  // the libpqxx connection
  // Opens the connection when there is none; throws like libpqxx.
  Session& Open();
  // Maps e to a Status; drops the connection (and with it the lock) when it broke.
  Status Fail(const std::exception& e, const char* op);

  const std::string conninfo_;
  const std::string cursor_name_;
  std::unique_ptr<Session> session_;
  bool leader_ = false;
};

// The advisory lock key every relay uses (pg_try_advisory_lock(bigint)); exposed for tests.
inline constexpr std::int64_t kOutboxRelayLockKey = 0x6a71'6f75'7462;  // "jqoutb"

}  // namespace jq::store
