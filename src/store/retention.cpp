// PgStore: retention (SPEC §11). Finished jobs are deleted with their outputs and events, a
// batch at a time, without getting in the hot path's way:
// - a batch reads jobs_finished_idx (migration 0010) from where the run's previous batch
//   stopped (a keyset), so it reads its own rows and never the dead entries earlier batches
//   left behind, nor the unfinished rows;
// - it waits for no row lock (SKIP LOCKED) and gives up on a table lock after kLockTimeout
//   (behind a migration's ALTER TABLE, waiting would queue every submit behind it too);
// - it commits without waiting for the WAL flush: a batch lost in a crash is deleted again.
// Unpublished events are never deleted: with a relay, a job whose events are not all at or
// below every outbox cursor is kept whole (see retention_loop.h for why the job stays too).
#include "core/job_state.h"
#include "store/pg_common.h"

namespace jq::store {
namespace {

constexpr const char* kBatchSettings =
    "SET LOCAL lock_timeout = '500ms'; SET LOCAL statement_timeout = '10s';"
    " SET LOCAL synchronous_commit = off";

// $1 status, $2 age in seconds, $3/$4 keyset (completed_at in µs, id; NULL: from the oldest),
// $5 limit, $6 keep unpublished events (and their jobs). `status IN (DONE, DEAD_LETTERED)`
// restates the index's predicate so that the planner may use it for `status = $1`.
const std::string& DeleteFinishedSql() {
  static const std::string kSql = Sql(
      "WITH cand AS MATERIALIZED ("
      "  SELECT id, completed_at FROM jobs"
      "  WHERE status IN ({DONE}, {DEAD_LETTERED}) AND status = $1"
      "    AND completed_at < now() - $2::bigint * interval '1 second'"
      "    AND ($3::bigint IS NULL OR (completed_at, id) >"
      "      (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::uuid))"
      "  ORDER BY completed_at, id LIMIT $5 FOR UPDATE SKIP LOCKED),"
      " bound AS (SELECT CASE WHEN $6::boolean THEN"
      "  coalesce((SELECT min(last_event_id) FROM outbox_cursors), 0) END AS id),"
      " gone AS MATERIALIZED (SELECT c.id FROM cand c, bound b WHERE b.id IS NULL OR NOT EXISTS"
      "  (SELECT 1 FROM job_events e WHERE e.job_id = c.id AND e.id > b.id)),"
      " del_outputs AS (DELETE FROM job_outputs o USING gone g WHERE o.job_id = g.id RETURNING 1),"
      " del_events AS (DELETE FROM job_events e USING gone g WHERE e.job_id = g.id RETURNING 1),"
      " del_jobs AS (DELETE FROM jobs j USING gone g WHERE j.id = g.id RETURNING 1),"
      // (An output named id would make the ORDER BY sort text.)
      " last AS (SELECT jq_us(completed_at) AS us, id::text AS last_id FROM cand"
      "  ORDER BY completed_at DESC, id DESC LIMIT 1) "
      "SELECT (SELECT count(*) FROM cand), (SELECT count(*) FROM del_jobs),"
      " (SELECT count(*) FROM del_outputs), (SELECT count(*) FROM del_events),"
      " (SELECT us FROM last), (SELECT last_id FROM last)");
  return kSql;
}

}  // namespace

Result<JobDeleteFinishedResult> PgStore::JobDeleteFinished(const JobDeleteFinishedParams& p) {
  if (!IsTerminal(p.status)) {
    return Status::InvalidArgument("retention deletes only DONE or DEAD_LETTERED jobs, not " +
                                   std::string(JobStatusName(p.status)));
  }
  if (p.older_than.count() < 0) return Status::InvalidArgument("retention age is negative");
  if (p.limit < 1) return Status::InvalidArgument("retention batch size must be at least 1");
  return RunTx<JobDeleteFinishedResult>(
      *pool_, config_, "JobDeleteFinished", [&](pqxx::work& tx) -> Result<JobDeleteFinishedResult> {
        JobDeleteFinishedResult out;
        const auto locked =
            tx.exec(std::string(kBatchSettings) + "; SELECT pg_try_advisory_xact_lock(" +
                    std::to_string(kRetentionLockKey) + ")");
        if (!locked[0][0].as<bool>()) {
          out.busy = true;
          return out;
        }
        std::optional<std::string> after_us;
        std::optional<std::string> after_id;
        if (p.after_completed_at) {
          after_us = std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                        p.after_completed_at->time_since_epoch())
                                        .count());
          after_id = p.after_id;
        }
        const auto r = tx.exec_params1(DeleteFinishedSql(), static_cast<int>(p.status),
                                       static_cast<long long>(p.older_than.count()), after_us,
                                       after_id, p.limit, p.keep_unpublished);
        out.examined = r[0].as<int>();
        out.jobs = r[1].as<int>();
        out.outputs = r[2].as<int>();
        out.events = r[3].as<int>();
        out.held_back = out.examined - out.jobs;
        if (!r[4].is_null()) {
          out.last_completed_at = FromUs(r[4].as<std::int64_t>());
          out.last_id = r[5].as<std::string>();
        }
        return out;
      });
}

}  // namespace jq::store
