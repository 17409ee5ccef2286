// PgStore: transitions of one job at a time — reports, cancels, manual retries — decided by
// core/transitions.h and written by ApplyDecision; and the batched report path, whose
// statements take the common case (a current lease starting or succeeding) many rows at once.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "store/pg_common.h"
#include "store/pg_rows.h"
#include "store/pg_transitions.h"

namespace jq::store {

const std::vector<Statement>& TransitionStatements() {
  static const std::vector<Statement> kStatements = {
      {"job_lock",
       "SELECT j.id::text AS id, j.tenant, j.queue, coalesce(j.worker_id, '') AS worker_id,"
       " j.status, j.attempt, j.retry_count, j.max_retries,"
       " j.cancel_requested_at IS NOT NULL AS cancel_requested,"
       " coalesce(extract(epoch FROM now() - j.started_at), 0)::float8 AS run_seconds,"
       " q.backoff_base_ms, q.backoff_max_ms"
       " FROM jobs j LEFT JOIN queues q ON q.name = j.queue WHERE j.id = $1::uuid FOR UPDATE OF j"},
      {"event_insert",
       "INSERT INTO job_events (job_id, tenant, queue, from_status, to_status, reason, worker_id, "
       "attempt, actor) VALUES ($1::uuid, $2, $3, $4, $5, $6, nullif($7, ''), $8, nullif($9, ''))"},
      // One guarded statement per kind of step: $1 job, $2 the step's `from` state.
      {"job_set_running",
       // TTL is "not started in time": a started job no longer has one.
       "UPDATE jobs SET status = " + Sql("{RUNNING}") +
           ", started_at = now(), updated_at = now(), expires_at = NULL"
           " WHERE id = $1::uuid AND status = $2"},
      {"job_set_done",
       Sql("UPDATE jobs SET status = {DONE}, result = $3, error_message = NULL,"
           " completed_at = now(), updated_at = now(), lease_expires_at = NULL,"
           " started_at = coalesce(started_at, now()) WHERE id = $1::uuid AND status = $2")},
      {"job_set_failed",
       Sql("UPDATE jobs SET status = {FAILED}, result = $3, error_message = $4,"
           " updated_at = now(), lease_expires_at = NULL, started_at = coalesce(started_at,"
           " CASE WHEN status = {RUNNING} THEN now() END) WHERE id = $1::uuid AND status = $2")},
      {"job_retry_after",
       Sql("UPDATE jobs SET status = {PENDING}, retry_count = retry_count + $4, worker_id = NULL,"
           " not_before = now() + $3::bigint * interval '1 millisecond', updated_at = now()"
           " WHERE id = $1::uuid AND status = $2")},
      {"job_manual_retry",
       Sql("UPDATE jobs SET status = {PENDING}, retry_count = 0, worker_id = NULL,"
           " not_before = now(), expires_at = CASE WHEN ttl_seconds > 0"
           " THEN now() + ttl_seconds * interval '1 second' END, completed_at = NULL,"
           " cancel_requested_at = NULL, lease_expires_at = NULL, updated_at = now()"
           " WHERE id = $1::uuid AND status = $2")},
      {"job_dead_letter",
       Sql("UPDATE jobs SET status = {DEAD_LETTERED}, completed_at = now(), updated_at = now(),"
           " lease_expires_at = NULL, error_message = coalesce($3, error_message)"
           " WHERE id = $1::uuid AND status = $2")},
      {"job_request_cancel",
       Sql("UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, now()),"
           " updated_at = now() WHERE id = $1::uuid AND status = {RUNNING}")},
      {"output_upsert",
       "INSERT INTO job_outputs (job_id, attempt, worker_id, exit_code, stdout, stderr, "
       "stdout_truncated, stderr_truncated) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8) "
       "ON CONFLICT (job_id, attempt) DO UPDATE SET worker_id = excluded.worker_id, "
       "exit_code = excluded.exit_code, stdout = excluded.stdout, stderr = excluded.stderr, "
       "stdout_truncated = excluded.stdout_truncated, "
       "stderr_truncated = excluded.stderr_truncated, recorded_at = now()"},
      // Every job a batch of reports touches, locked first and in id order: the batch runs
      // several statements, each locking in id order, but together they would not be, and two
      // replicas' batches that share jobs (a reclaimed lease's stale report) deadlocked.
      {"report_lock_many", "SELECT id FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"},
      // The common start: ASSIGNED -> RUNNING for every current lease in the batch.
      {"report_started_many",
       Sql("WITH r AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[])"
           "  AS r(id, worker_id, attempt)),"
           // Rows are locked in id order, as by every statement that locks several jobs, so
           // concurrent batches cannot deadlock.
           " lk AS (SELECT j.id FROM jobs j JOIN r ON j.id = r.id WHERE j.status = {ASSIGNED}"
           "  AND j.worker_id = r.worker_id AND (r.attempt = 0 OR j.attempt = r.attempt)"
           "  ORDER BY j.id FOR UPDATE OF j),"
           " upd AS (UPDATE jobs j SET status = {RUNNING}, started_at = now(), updated_at = now(),"
           "  expires_at = NULL FROM lk WHERE j.id = lk.id"
           "  RETURNING j.id, j.tenant, j.queue, j.worker_id, j.attempt),"
           " ev AS (INSERT INTO job_events (job_id, tenant, queue, from_status, to_status,"
           "  reason, worker_id, attempt) SELECT id, tenant, queue, {ASSIGNED}, {RUNNING},"
           "  'STARTED', worker_id, attempt FROM upd ORDER BY id)"
           "SELECT id::text FROM upd")},
      // The common result: RUNNING (or ASSIGNED, from a worker that skips the start report)
      // -> DONE for every current lease in the batch, with its events in order.
      {"report_done_many",
       Sql("WITH r AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[])"
           "  AS r(id, worker_id, attempt, result_hex)),"
           " old AS (SELECT j.id, j.status, j.started_at, decode(r.result_hex, 'hex') AS result"
           "  FROM jobs j JOIN r ON j.id = r.id WHERE j.status IN ({ASSIGNED}, {RUNNING})"
           "  AND j.worker_id = r.worker_id AND (r.attempt = 0 OR j.attempt = r.attempt)"
           "  ORDER BY j.id FOR UPDATE OF j),"
           " upd AS (UPDATE jobs j SET status = {DONE}, result = old.result,"
           "  error_message = NULL, completed_at = now(), updated_at = now(),"
           "  lease_expires_at = NULL, expires_at = NULL,"
           "  started_at = coalesce(j.started_at, now()) FROM old WHERE j.id = old.id"
           "  RETURNING j.id, j.tenant, j.queue, j.worker_id, j.attempt,"
           "  old.status AS from_status,"
           "  coalesce(extract(epoch FROM now() - old.started_at), 0)::float8 AS run_s),"
           " ev AS (INSERT INTO job_events (job_id, tenant, queue, from_status, to_status,"
           "  reason, worker_id, attempt) SELECT id, tenant, queue, f, t, why, worker_id,"
           "  attempt FROM ("
           "   SELECT id, tenant, queue, {ASSIGNED} AS f, {RUNNING} AS t, 'STARTED' AS why,"
           "    worker_id, attempt, 0 AS ord FROM upd WHERE from_status = {ASSIGNED}"
           "   UNION ALL SELECT id, tenant, queue, {RUNNING}, {DONE}, 'SUCCESS', worker_id,"
           "    attempt, 1 FROM upd"
           "  ) e ORDER BY id, ord)"
           "SELECT id::text, queue, attempt, run_s FROM upd")},
      {"output_insert_many",
       "INSERT INTO job_outputs (job_id, attempt, worker_id, exit_code, stdout, stderr,"
       " stdout_truncated, stderr_truncated)"
       " SELECT id, attempt, worker_id, exit_code, decode(so, 'hex'), decode(se, 'hex'), sot, set"
       " FROM unnest($1::uuid[], $2::int[], $3::text[], $4::int[], $5::text[], $6::text[],"
       "  $7::bool[], $8::bool[]) AS o(id, attempt, worker_id, exit_code, so, se, sot, set)"
       " ON CONFLICT (job_id, attempt) DO UPDATE SET worker_id = excluded.worker_id,"
       " exit_code = excluded.exit_code, stdout = excluded.stdout, stderr = excluded.stderr,"
       " stdout_truncated = excluded.stdout_truncated,"
       " stderr_truncated = excluded.stderr_truncated, recorded_at = now()"},
  };
  return kStatements;
}

std::optional<LockedJob> LockJob(pqxx::work& tx, const std::string& id) {
  auto r = tx.exec_prepared("job_lock", id);
  if (r.empty()) return std::nullopt;
  const auto& row = r[0];
  LockedJob j;
  j.facts.id = row["id"].as<std::string>();
  j.facts.status = static_cast<JobState>(row["status"].as<int>());
  j.facts.worker_id = row["worker_id"].as<std::string>();
  j.facts.attempt = row["attempt"].as<int>();
  j.facts.retry_count = row["retry_count"].as<int>();
  j.facts.max_retries = row["max_retries"].as<int>();
  j.facts.cancel_requested = row["cancel_requested"].as<bool>();
  // A job whose queue was deleted under it keeps the default backoff.
  if (!row["backoff_base_ms"].is_null()) {
    j.facts.backoff.base = std::chrono::milliseconds(row["backoff_base_ms"].as<int>());
    j.facts.backoff.max = std::chrono::milliseconds(row["backoff_max_ms"].as<int>());
  }
  j.tenant = row["tenant"].as<std::string>();
  j.queue = row["queue"].as<std::string>();
  j.run_seconds = row["run_seconds"].as<double>();
  return j;
}

void ApplyDecision(pqxx::work& tx, LockedJob& j, const Decision& d, const std::string& result,
                   const std::string& actor) {
  const std::string& id = j.facts.id;
  for (const Transition& step : d.steps) {
    if (step.from != j.facts.status || !IsTransitionAllowed(step.from, step.to)) {
      throw std::logic_error("job " + id + ": no transition " +
                             std::string(JobStatusName(step.from)) + " -> " +
                             std::string(JobStatusName(step.to)) + " from " +
                             std::string(JobStatusName(j.facts.status)));
    }
    const int from = static_cast<int>(step.from);
    const std::optional<std::string>& message = step.error_message;
    pqxx::result r;
    switch (step.to) {
      case JobState::kRunning: r = tx.exec_prepared("job_set_running", id, from); break;
      case JobState::kDone:
        r = tx.exec_prepared("job_set_done", id, from, pqxx::binarystring(result));
        break;
      case JobState::kFailed:
        r = tx.exec_prepared("job_set_failed", id, from, pqxx::binarystring(result),
                             message.value_or(""));
        break;
      case JobState::kPending:
        r = step.reason == reason::kManualRetry
                ? tx.exec_prepared("job_manual_retry", id, from)
                : tx.exec_prepared("job_retry_after", id, from,
                                   static_cast<long long>(step.delay.count()),
                                   step.uses_retry ? 1 : 0);
        break;
      case JobState::kDeadLettered:
        r = message ? tx.exec_prepared("job_dead_letter", id, from, *message)
                    : tx.exec_prepared("job_dead_letter", id, from, nullptr);
        break;
      default: throw std::logic_error("job " + id + ": claims are not single transitions");
    }
    if (r.affected_rows() != 1) {
      throw std::logic_error("job " + id + ": guarded update matched no row");
    }
    // An operator's retry is nobody's worker's doing; every other step is the lease holder's.
    const std::string worker = step.reason == reason::kManualRetry ? "" : j.facts.worker_id;
    tx.exec_prepared("event_insert", id, j.tenant, j.queue, from, static_cast<int>(step.to),
                     std::string(step.reason), worker, j.facts.attempt, actor);
    j.facts.status = step.to;
  }
  if (d.request_cancel) tx.exec_prepared("job_request_cancel", id);
}

namespace {

Status SetRunningInTx(pqxx::work& tx, const LeaseRef& lease) {
  auto j = LockJob(tx, lease.job_id);
  if (!j) return Status::NotFound(JobNotFound(lease.job_id));
  const Decision d = DecideStart(j->facts, {lease.worker_id, lease.attempt});
  if (!d.refusal.ok()) return d.refusal;
  ApplyDecision(tx, *j, d);
  return Status::Ok();
}

// One report, the general path: lock, decide, record the output and the outcome. Writes
// nothing when the report is refused.
Result<JobCompleteResult> CompleteInTx(pqxx::work& tx, const JobCompleteParams& p) {
  auto j = LockJob(tx, p.lease.job_id);
  if (!j) return Status::NotFound(JobNotFound(p.lease.job_id));
  const WorkerReport report{.lease = {p.lease.worker_id, p.lease.attempt},
                            .success = p.success,
                            .reason = p.reason,
                            .error_message = p.error_message};
  const Decision d = DecideReport(j->facts, report, p.jitter01);
  if (!d.refusal.ok()) return d.refusal;
  if (p.output) {
    const auto& o = *p.output;
    tx.exec_prepared("output_upsert", j->facts.id, j->facts.attempt, j->facts.worker_id,
                     o.exit_code, pqxx::binarystring(o.stdout_data),
                     pqxx::binarystring(o.stderr_data), o.stdout_truncated, o.stderr_truncated);
  }
  ApplyDecision(tx, *j, d, p.result);
  JobCompleteResult out;
  out.final_status = j->facts.status;
  out.queue = j->queue;
  out.run_seconds = j->run_seconds;
  return out;
}

Result<JobRecord> ReadJob(pqxx::work& tx, const std::string& id) {
  auto r =
      tx.exec_params(std::string("SELECT ") + kJobCols + " FROM jobs j WHERE j.id = $1::uuid", id);
  if (r.empty()) return Status::NotFound(JobNotFound(id));
  return JobFromRow(r[0]);
}

}  // namespace

Status PgStore::JobSetRunning(const LeaseRef& lease) {
  return RunTxStatus(*pool_, config_, "JobSetRunning",
                     [&](pqxx::work& tx) { return SetRunningInTx(tx, lease); });
}

Result<JobCompleteResult> PgStore::JobComplete(const JobCompleteParams& p) {
  return RunTx<JobCompleteResult>(
      *pool_, config_, "JobComplete",
      [&](pqxx::work& tx) -> Result<JobCompleteResult> { return CompleteInTx(tx, p); });
}

Status PgStore::JobReleaseUndelivered(const LeaseRef& lease) {
  return RunTxStatus(*pool_, config_, "JobReleaseUndelivered", [&](pqxx::work& tx) -> Status {
    auto j = LockJob(tx, lease.job_id);
    if (!j) return Status::NotFound(JobNotFound(lease.job_id));
    const Decision d = DecideUndelivered(j->facts, {lease.worker_id, lease.attempt});
    if (!d.refusal.ok()) return d.refusal;
    ApplyDecision(tx, *j, d);
    tx.exec(std::string("NOTIFY ") + kJobsChannel);
    return Status::Ok();
  });
}

Result<JobRecord> PgStore::JobCancel(const std::string& id, const std::string& tenant,
                                     const std::string& actor) {
  return RunTx<JobRecord>(*pool_, config_, "JobCancel", [&](pqxx::work& tx) -> Result<JobRecord> {
    auto j = LockJob(tx, id);
    if (!j || (!tenant.empty() && j->tenant != tenant)) return Status::NotFound(JobNotFound(id));
    bool takes_control = true;
    if (j->facts.status == JobState::kRunning) {
      auto w =
          tx.exec_params("SELECT supports_control FROM workers WHERE id = $1", j->facts.worker_id);
      takes_control = w.empty() || w[0][0].as<bool>();
    }
    const Decision d = DecideCancel(j->facts, takes_control);
    if (!d.refusal.ok()) return d.refusal;
    ApplyDecision(tx, *j, d, {}, actor);
    return ReadJob(tx, j->facts.id);
  });
}

Result<JobRecord> PgStore::JobRetry(const std::string& id, const std::string& tenant,
                                    const std::string& actor) {
  return RunTx<JobRecord>(*pool_, config_, "JobRetry", [&](pqxx::work& tx) -> Result<JobRecord> {
    auto j = LockJob(tx, id);
    if (!j || (!tenant.empty() && j->tenant != tenant)) return Status::NotFound(JobNotFound(id));
    const Decision d = DecideManualRetry(j->facts);
    if (!d.refusal.ok()) return d.refusal;
    if (tx.exec_params("SELECT 1 FROM queues WHERE name = $1 FOR SHARE", j->queue).empty()) {
      return Status::FailedPrecondition("job " + id + " belongs to queue '" + j->queue +
                                        "', which no longer exists");
    }
    ApplyDecision(tx, *j, d, {}, actor);
    tx.exec(std::string("NOTIFY ") + kJobsChannel);
    return ReadJob(tx, j->facts.id);
  });
}

Result<JobReportBatchResult> PgStore::JobReportMany(const JobReportBatch& reports) {
  // Ids are matched against PostgreSQL's text form of a uuid (lower case). A batch that spells
  // one otherwise is copied once with its ids lowered; the usual batch is not copied at all.
  const auto upper = [](const std::string& id) {
    return std::any_of(id.begin(), id.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  };
  std::optional<JobReportBatch> lowered;
  if (std::any_of(reports.started.begin(), reports.started.end(),
                  [&](const LeaseRef& l) { return upper(l.job_id); }) ||
      std::any_of(reports.results.begin(), reports.results.end(),
                  [&](const JobCompleteParams& p) { return upper(p.lease.job_id); })) {
    lowered = reports;
    for (auto& l : lowered->started) l.job_id = CanonicalId(l.job_id);
    for (auto& p : lowered->results) p.lease.job_id = CanonicalId(p.lease.job_id);
  }
  const JobReportBatch& batch = lowered ? *lowered : reports;
  std::set<std::string> touched;  // the batch's jobs, locked first (report_lock_many)
  for (const auto& l : batch.started) touched.insert(l.job_id);
  for (const auto& p : batch.results) touched.insert(p.lease.job_id);
  const std::string touched_ids = PgArray(std::vector<std::string>(touched.begin(), touched.end()));
  return RunTx<JobReportBatchResult>(
      *pool_, config_, "JobReportMany", [&](pqxx::work& tx) -> Result<JobReportBatchResult> {
        if (touched.size() > 1) tx.exec_prepared("report_lock_many", touched_ids);
        JobReportBatchResult out;
        out.started.assign(batch.started.size(), Status::Ok());
        out.results.assign(batch.results.size(),
                           Result<JobCompleteResult>(Status::Internal("not reported")));

        // A start whose success is in the same batch is written by the success statement
        // (ASSIGNED -> DONE with both events): one row version instead of two.
        // job id -> (attempt, index) of its first success report
        std::map<std::string, std::pair<int, std::size_t>> succeeding;
        for (std::size_t k = 0; k < batch.results.size(); ++k) {
          const auto& p = batch.results[k];
          if (p.success) succeeding.emplace(p.lease.job_id, std::make_pair(p.lease.attempt, k));
        }
        std::vector<std::size_t> merged_started;
        // Starts: one statement for every current ASSIGNED lease; the rest (repeats, stale
        // or unknown leases) take the single-report path for its exact answer.
        std::vector<std::size_t> slow_started;
        if (!batch.started.empty()) {
          std::vector<std::string> ids, workers, attempts;
          std::set<std::string> seen;
          for (std::size_t i = 0; i < batch.started.size(); ++i) {
            const auto& l = batch.started[i];
            if (auto it = succeeding.find(l.job_id);
                it != succeeding.end() && it->second.first == l.attempt && l.attempt != 0) {
              merged_started.push_back(i);
              continue;
            }
            if (!seen.insert(l.job_id).second) continue;
            ids.push_back(l.job_id);
            workers.push_back(l.worker_id);
            attempts.push_back(std::to_string(l.attempt));
          }
          std::set<std::string> started;
          for (const auto& row : tx.exec_prepared("report_started_many", PgArray(ids),
                                                  PgArray(workers), PgArray(attempts))) {
            started.insert(row[0].as<std::string>());
          }
          std::set<std::size_t> merged(merged_started.begin(), merged_started.end());
          for (std::size_t i = 0; i < batch.started.size(); ++i) {
            if (merged.contains(i)) continue;
            if (started.erase(batch.started[i].job_id) == 0) slow_started.push_back(i);
          }
        }
        // The single-report paths lock one row each: in job id order too (stable, so a
        // job's reports keep their order).
        const auto by_job = [](const auto& items, auto id_of) {
          return [&items, id_of](std::size_t a, std::size_t b) {
            return std::make_pair(id_of(items[a]), a) < std::make_pair(id_of(items[b]), b);
          };
        };
        std::sort(slow_started.begin(), slow_started.end(),
                  by_job(batch.started,
                         [](const LeaseRef& l) -> const std::string& { return l.job_id; }));
        for (std::size_t i : slow_started) out.started[i] = SetRunningInTx(tx, batch.started[i]);

        // Results: successes in one statement (outputs in one more), failures and anything the
        // statement did not take through the single-report path.
        std::vector<std::size_t> fast, slow;
        {
          std::set<std::string> seen;
          for (std::size_t i = 0; i < batch.results.size(); ++i) {
            const auto& p = batch.results[i];
            if (p.success && seen.insert(p.lease.job_id).second) {
              fast.push_back(i);
            } else {
              slow.push_back(i);
            }
          }
        }
        if (!fast.empty()) {
          std::vector<std::string> ids, workers, attempts, results;
          for (std::size_t i : fast) {
            const auto& p = batch.results[i];
            ids.push_back(p.lease.job_id);
            workers.push_back(p.lease.worker_id);
            attempts.push_back(std::to_string(p.lease.attempt));
            results.push_back(Hex(p.result));
          }
          std::map<std::string, std::pair<int, JobCompleteResult>> done;  // id -> attempt, result
          for (const auto& row :
               tx.exec_prepared("report_done_many", PgArray(ids), PgArray(workers),
                                PgArray(attempts), PgArray(results))) {
            JobCompleteResult r;
            r.final_status = JobState::kDone;
            r.queue = row[1].as<std::string>();
            r.run_seconds = row[3].as<double>();
            done.emplace(row[0].as<std::string>(), std::make_pair(row[2].as<int>(), r));
          }
          std::vector<std::string> o_ids, o_attempts, o_workers, o_codes, o_out, o_err, o_out_t,
              o_err_t;
          for (std::size_t i : fast) {
            const auto& p = batch.results[i];
            auto it = done.find(p.lease.job_id);
            if (it == done.end()) {
              slow.push_back(i);
              continue;
            }
            out.results[i] = it->second.second;
            if (p.output) {
              o_ids.push_back(p.lease.job_id);
              o_attempts.push_back(std::to_string(it->second.first));
              o_workers.push_back(p.lease.worker_id);
              o_codes.push_back(std::to_string(p.output->exit_code));
              o_out.push_back(Hex(p.output->stdout_data));
              o_err.push_back(Hex(p.output->stderr_data));
              o_out_t.push_back(p.output->stdout_truncated ? "t" : "f");
              o_err_t.push_back(p.output->stderr_truncated ? "t" : "f");
            }
          }
          if (!o_ids.empty()) {
            tx.exec_prepared("output_insert_many", PgArray(o_ids), PgArray(o_attempts),
                             PgArray(o_workers), PgArray(o_codes), PgArray(o_out), PgArray(o_err),
                             PgArray(o_out_t), PgArray(o_err_t));
          }
        }
        std::sort(slow.begin(), slow.end(),
                  by_job(batch.results, [](const JobCompleteParams& p) -> const std::string& {
                    return p.lease.job_id;
                  }));
        for (std::size_t i : slow) out.results[i] = CompleteInTx(tx, batch.results[i]);
        // A merged start is answered as its own call would have been: OK when the job did
        // start under that lease (its success was taken), else the single-report answer.
        for (std::size_t i : merged_started) {
          const auto& l = batch.started[i];
          const bool taken = out.results[succeeding.at(l.job_id).second].ok();
          out.started[i] = taken ? Status::Ok() : SetRunningInTx(tx, l);
        }
        return out;
      });
}

}  // namespace jq::store
