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

#include <cstdint>
#include <exception>
#include <memory>
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

  // max(job_events.id) - cursor: events not yet published (gaps count as events). Needs no
  // lock; standby replicas report it too.
  Result<std::int64_t> LagGet();

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
