// PgStore: the queues table, and the per-queue counts read from jobs.
#include <map>
#include <string>

#include "store/pg_common.h"
#include "store/pg_rows.h"

namespace jq::store {

const std::vector<Statement>& QueueStatements() {
  static const std::vector<Statement> kStatements = {
      // FOR SHARE holds off a concurrent delete of the queue until the insert commits.
      {"queue_defaults_share",
       std::string("SELECT ") + kQueueCols + " FROM queues WHERE name = ANY($1::text[]) FOR SHARE"},
  };
  return kStatements;
}

Result<QueueRecord> PgStore::QueueCreate(const QueueRecord& q) {
  return RunTx<QueueRecord>(
      *pool_, config_, "QueueCreate", [&](pqxx::work& tx) -> Result<QueueRecord> {
        auto r = tx.exec_params(
            std::string("INSERT INTO queues (name, max_retries, ttl_seconds, timeout_seconds, "
                        "backoff_base_ms, backoff_max_ms, concurrency_limit, paused) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING "
                        "RETURNING ") +
                kQueueCols,
            q.name, q.max_retries, q.ttl_seconds, q.timeout_seconds, q.backoff_base_ms,
            q.backoff_max_ms, q.concurrency_limit, q.paused);
        if (r.empty()) return Status::AlreadyExists("queue '" + q.name + "' already exists");
        return QueueFromRow(r[0]);
      });
}

Result<QueueRecord> PgStore::QueueGet(const std::string& name) {
  return RunTx<QueueRecord>(
      *pool_, config_, "QueueGet", [&](pqxx::work& tx) -> Result<QueueRecord> {
        auto r = tx.exec_params(
            std::string("SELECT ") + kQueueCols + " FROM queues WHERE name = $1", name);
        if (r.empty()) return Status::NotFound("queue '" + name + "' not found");
        return QueueFromRow(r[0]);
      });
}

Result<std::vector<QueueRecord>> PgStore::QueueList() {
  return RunTx<std::vector<QueueRecord>>(
      *pool_, config_, "QueueList", [&](pqxx::work& tx) -> Result<std::vector<QueueRecord>> {
        std::vector<QueueRecord> out;
        for (const auto& row :
             tx.exec(std::string("SELECT ") + kQueueCols + " FROM queues ORDER BY name")) {
          out.push_back(QueueFromRow(row));
        }
        return out;
      });
}

Status PgStore::QueueDelete(const std::string& name, bool force, const std::string& actor) {
  return RunTxStatus(*pool_, config_, "QueueDelete", [&](pqxx::work& tx) -> Status {
    if (name == "default") {
      return Status::FailedPrecondition("the default queue cannot be deleted");
    }
    if (tx.exec_params("SELECT 1 FROM queues WHERE name = $1 FOR UPDATE", name).empty()) {
      return Status::NotFound("queue '" + name + "' not found");
    }
    static const std::string kCount =
        Sql("SELECT count(*) FROM jobs WHERE queue = $1"
            " AND status IN ({PENDING}, {ASSIGNED}, {RUNNING}, {FAILED})");
    const auto unfinished = tx.exec_params1(kCount, name)[0].as<long long>();
    if (unfinished > 0 && !force) {
      return Status::FailedPrecondition("queue '" + name + "' has " + std::to_string(unfinished) +
                                        " unfinished jobs; delete with force to dead-letter them");
    }
    if (unfinished > 0) {
      // Every unfinished job -> DEAD_LETTERED (QUEUE_DELETED), each with its event.
      static const std::string kDeadLetterAll = Sql(
          "WITH old AS (SELECT id, status FROM jobs WHERE queue = $1"
          "  AND status IN ({PENDING}, {ASSIGNED}, {RUNNING}, {FAILED}) ORDER BY id FOR UPDATE),"
          " upd AS (UPDATE jobs j SET status = {DEAD_LETTERED}, completed_at = now(),"
          "  updated_at = now(), lease_expires_at = NULL, error_message = 'queue deleted'"
          "  FROM old WHERE j.id = old.id RETURNING j.id, j.tenant, j.queue,"
          "  old.status AS from_status, j.worker_id, j.attempt) "
          "INSERT INTO job_events (job_id, tenant, queue, from_status, to_status, reason,"
          "  worker_id, attempt, actor) "
          "SELECT id, tenant, queue, from_status, {DEAD_LETTERED}, $2, worker_id, attempt,"
          " nullif($3, '') FROM upd ORDER BY id");
      tx.exec_params(kDeadLetterAll, name, std::string(reason::kQueueDeleted), actor);
    }
    tx.exec_params("DELETE FROM queues WHERE name = $1", name);
    return Status::Ok();
  });
}

Status PgStore::QueueSetPaused(const std::string& name, bool paused) {
  return RunTxStatus(*pool_, config_, "QueueSetPaused", [&](pqxx::work& tx) -> Status {
    auto res = tx.exec_params("UPDATE queues SET paused = $2 WHERE name = $1", name, paused);
    if (res.affected_rows() == 0) return Status::NotFound("queue '" + name + "' not found");
    if (!paused) tx.exec(std::string("NOTIFY ") + kJobsChannel);
    return Status::Ok();
  });
}

namespace {

// Adds one (status, count) row to a queue's counts. `retrying` is how many PENDING jobs
// wait for a retry after a failure: they count as failed (FAILED itself is held only inside
// the transaction that decides the retry).
void AddCount(QueueStatsRecord& s, JobState status, std::int64_t n, std::int64_t retrying) {
  switch (status) {
    case JobState::kPending:
      s.pending = n;
      s.failed += retrying;
      break;
    case JobState::kAssigned: s.assigned = n; break;
    case JobState::kRunning: s.running = n; break;
    case JobState::kDone: s.done = n; break;
    case JobState::kFailed: s.failed += n; break;
    case JobState::kDeadLettered: s.dead_lettered = n; break;
    case JobState::kUnspecified: break;
  }
}

}  // namespace

Result<QueueStatsRecord> PgStore::QueueStats(const std::string& name) {
  return RunTx<QueueStatsRecord>(
      *pool_, config_, "QueueStats", [&](pqxx::work& tx) -> Result<QueueStatsRecord> {
        auto q = tx.exec_params("SELECT paused FROM queues WHERE name = $1", name);
        if (q.empty()) return Status::NotFound("queue '" + name + "' not found");
        QueueStatsRecord s;
        s.queue = name;
        s.paused = q[0][0].as<bool>();
        static const std::string kCounts =
            Sql("SELECT status, count(*), count(*) FILTER (WHERE status = {PENDING}"
                " AND retry_count > 0) FROM jobs WHERE queue = $1 GROUP BY status");
        for (const auto& row : tx.exec_params(kCounts, name)) {
          AddCount(s, static_cast<JobState>(row[0].as<int>()), row[1].as<std::int64_t>(),
                   row[2].as<std::int64_t>());
        }
        s.total_processed = s.done + s.dead_lettered;
        s.error_rate = s.total_processed == 0 ? 0.0
                                              : static_cast<double>(s.dead_lettered) /
                                                    static_cast<double>(s.total_processed);
        static const std::string kAggregates =
            Sql("SELECT coalesce((SELECT avg(extract(epoch FROM completed_at - started_at)) * 1000"
                "  FROM jobs WHERE queue = $1 AND status = {DONE} AND started_at IS NOT NULL),"
                "  0)::float8,"
                " coalesce((SELECT extract(epoch FROM now() - min(created_at)) FROM jobs"
                "  WHERE queue = $1 AND status = {PENDING}), 0)::float8");
        auto agg = tx.exec_params1(kAggregates, name);
        s.avg_duration_ms = agg[0].as<double>();
        s.oldest_pending_age_seconds = agg[1].as<double>();
        return s;
      });
}

Result<std::vector<QueueStatsRecord>> PgStore::QueueDepths(bool include_finished) {
  using Out = std::vector<QueueStatsRecord>;
  return RunTx<Out>(*pool_, config_, "QueueDepths", [&](pqxx::work& tx) -> Result<Out> {
    std::map<std::string, QueueStatsRecord> by_queue;
    for (const auto& row : tx.exec("SELECT name FROM queues")) {
      by_queue[row[0].as<std::string>()].queue = row[0].as<std::string>();
    }
    // Each branch matches one partial index's predicate, so none reads finished rows.
    static const std::string kUnfinished =
        Sql("SELECT queue, {PENDING}, count(*), count(*) FILTER (WHERE retry_count > 0) FROM jobs"
            " WHERE status = {PENDING} GROUP BY queue"
            " UNION ALL SELECT queue, status, count(*), 0 FROM jobs"
            " WHERE status IN ({ASSIGNED}, {RUNNING}) GROUP BY queue, status");
    static const std::string kFinished =
        Sql(" UNION ALL SELECT queue, status, count(*), 0 FROM jobs"
            " WHERE status IN ({DONE}, {DEAD_LETTERED}) GROUP BY queue, status");
    for (const auto& row : tx.exec(include_finished ? kUnfinished + kFinished : kUnfinished)) {
      auto& s = by_queue[row[0].as<std::string>()];
      s.queue = row[0].as<std::string>();
      AddCount(s, static_cast<JobState>(row[1].as<int>()), row[2].as<std::int64_t>(),
               row[3].as<std::int64_t>());
    }
    Out out;
    for (auto& [name, s] : by_queue) out.push_back(std::move(s));
    return out;
  });
}

}  // namespace jq::store
