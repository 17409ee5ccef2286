// PgStore: the jobs table (submits, reads, lists) and what is read beside it: a job's events
// and its outputs.
#include <map>
#include <set>
#include <string>

#include "core/uuid.h"
#include "store/pg_common.h"
#include "store/pg_rows.h"

namespace jq::store {

using std::chrono::microseconds;

const std::vector<Statement>& JobStatements() {
  static const std::vector<Statement> kStatements = {
      {"job_insert_many",
       Sql("WITH v AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[],"
           "  $5::int[], $6::int[], $7::int[], $8::int[], $9::bigint[], $10::bigint[], $11::text[],"
           "  $12::text[]) AS v(id, tenant, queue, payload_hex, priority, max_retries, ttl, "
           "timeout,"
           "  delay_ms, run_at_us, idem, traceparent)),"
           " s AS (SELECT v.*, coalesce(timestamptz 'epoch' + run_at_us * interval "
           "  '1 microsecond', now() + delay_ms * interval '1 millisecond') AS nb FROM v),"
           " ins AS (INSERT INTO jobs (id, tenant, queue, payload, priority, status, "
           "  max_retries, ttl_seconds, timeout_seconds, not_before, expires_at, "
           "  idempotency_key, traceparent) "
           "  SELECT id, tenant, queue, decode(payload_hex, 'hex'), priority, {PENDING}, "
           "max_retries, "
           "   ttl, timeout, nb, CASE WHEN ttl > 0 THEN nb + ttl * interval '1 second' END, idem, "
           "   traceparent "
           "  FROM s ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL "
           "  DO NOTHING RETURNING id, tenant, queue),"
           " ev AS (INSERT INTO job_events (job_id, tenant, queue, to_status, reason) "
           "  SELECT id, tenant, queue, {PENDING}, 'SUBMITTED' FROM ins) "
           "SELECT id::text FROM ins")},
      // Leases a worker holds, and jobs in flight per tenant: both read jobs_worker_idx's rows.
      {"job_list_held_by", Sql("SELECT id::text, attempt FROM jobs WHERE worker_id = $1"
                               " AND status IN ({ASSIGNED}, {RUNNING})")},
      {"tenant_in_flight",
       Sql("SELECT tenant, count(*) FROM jobs WHERE status IN ({ASSIGNED}, {RUNNING})"
           " GROUP BY tenant")},
  };
  return kStatements;
}

namespace {

// Queue rows for the given names, locked FOR SHARE until the transaction ends.
std::map<std::string, QueueRecord> QueueDefaults(pqxx::work& tx,
                                                 const std::vector<JobInsertParams>& jobs) {
  std::set<std::string> names;
  for (const auto& j : jobs) names.insert(j.queue);
  std::map<std::string, QueueRecord> queues;
  for (const auto& row :
       tx.exec_prepared("queue_defaults_share", PgArray({names.begin(), names.end()}))) {
    auto q = QueueFromRow(row);
    queues.emplace(q.name, q);
  }
  return queues;
}

// Inserts jobs (every queue in `queues`) with their SUBMITTED events in one statement.
// REQUIRES: queues holds each job's queue.
Result<std::vector<JobInsertResult>> InsertJobs(pqxx::work& tx,
                                                const std::vector<const JobInsertParams*>& jobs,
                                                const std::map<std::string, QueueRecord>& queues) {
  const std::size_t n = jobs.size();
  std::vector<std::string> ids, tenants, names, payloads, priorities, max_retries, ttls, timeouts,
      delays;
  std::vector<std::optional<std::string>> run_ats, idems, traces;
  for (auto* v :
       {&ids, &tenants, &names, &payloads, &priorities, &max_retries, &ttls, &timeouts, &delays}) {
    v->reserve(n);
  }
  for (const JobInsertParams* j : jobs) {
    const auto& q = queues.at(j->queue);
    ids.push_back(NewUuidV7());
    tenants.push_back(j->tenant);
    names.push_back(j->queue);
    payloads.push_back(Hex(j->payload));
    priorities.push_back(std::to_string(j->priority));
    max_retries.push_back(std::to_string(j->max_retries.value_or(q.max_retries)));
    ttls.push_back(std::to_string(j->ttl_seconds.value_or(q.ttl_seconds)));
    timeouts.push_back(std::to_string(j->timeout_seconds.value_or(q.timeout_seconds)));
    delays.push_back(std::to_string(j->delay_ms));
    if (j->run_at) {
      run_ats.emplace_back(std::to_string(
          std::chrono::duration_cast<microseconds>(j->run_at->time_since_epoch()).count()));
    } else {
      run_ats.emplace_back(std::nullopt);
    }
    idems.push_back(j->idempotency_key.empty() ? std::nullopt
                                               : std::optional<std::string>(j->idempotency_key));
    traces.push_back(j->traceparent.empty() ? std::nullopt
                                            : std::optional<std::string>(j->traceparent));
  }
  std::set<std::string> inserted;
  for (const auto& row : tx.exec_prepared(
           "job_insert_many", PgArray(ids), PgArray(tenants), PgArray(names), PgArray(payloads),
           PgArray(priorities), PgArray(max_retries), PgArray(ttls), PgArray(timeouts),
           PgArray(delays), PgArrayOpt(run_ats), PgArrayOpt(idems), PgArrayOpt(traces))) {
    inserted.insert(row[0].as<std::string>());
  }
  std::vector<JobInsertResult> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (inserted.contains(ids[i])) {
      out.push_back({ids[i], false});
      continue;
    }
    // Lost to an existing job with the same idempotency key (in this batch or before it):
    // return that job.
    auto r = tx.exec_params("SELECT id::text FROM jobs WHERE tenant = $1 AND idempotency_key = $2",
                            jobs[i]->tenant, jobs[i]->idempotency_key);
    if (r.empty()) return Status::Internal("idempotent insert found no job");
    out.push_back({r[0][0].as<std::string>(), true});
  }
  return out;
}

}  // namespace

// No NOTIFY here: a NOTIFY in every submit transaction serialises commits on a cluster-wide
// lock. The server wakes its own dispatcher and signals other replicas, coalesced.
Result<std::vector<JobInsertResult>> PgStore::JobInsertMany(
    const std::vector<JobInsertParams>& jobs) {
  if (jobs.empty()) return std::vector<JobInsertResult>{};
  return RunTx<std::vector<JobInsertResult>>(
      *pool_, config_, "JobInsertMany",
      [&](pqxx::work& tx) -> Result<std::vector<JobInsertResult>> {
        const auto queues = QueueDefaults(tx, jobs);
        std::vector<const JobInsertParams*> all;
        for (const auto& j : jobs) {
          if (!queues.contains(j.queue))
            return Status::NotFound("queue '" + j.queue + "' not found");
          all.push_back(&j);
        }
        return InsertJobs(tx, all, queues);
      });
}

Result<std::vector<Result<JobInsertResult>>> PgStore::JobInsertEach(
    const std::vector<JobInsertParams>& jobs) {
  using Out = std::vector<Result<JobInsertResult>>;
  if (jobs.empty()) return Out{};
  return RunTx<Out>(*pool_, config_, "JobInsertEach", [&](pqxx::work& tx) -> Result<Out> {
    const auto queues = QueueDefaults(tx, jobs);
    std::vector<const JobInsertParams*> good;
    std::vector<std::size_t> good_index;
    Out out(jobs.size(), Result<JobInsertResult>(Status::Internal("not inserted")));
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (!queues.contains(jobs[i].queue)) {
        out[i] = Status::NotFound("queue '" + jobs[i].queue + "' not found");
        continue;
      }
      good.push_back(&jobs[i]);
      good_index.push_back(i);
    }
    if (good.empty()) return out;
    auto inserted = InsertJobs(tx, good, queues);
    if (!inserted.ok()) return inserted.status();
    for (std::size_t k = 0; k < good.size(); ++k) out[good_index[k]] = (*inserted)[k];
    return out;
  });
}

Result<JobRecord> PgStore::JobGet(const std::string& id, const std::string& tenant) {
  return RunTx<JobRecord>(*pool_, config_, "JobGet", [&](pqxx::work& tx) -> Result<JobRecord> {
    auto r = tx.exec_params(std::string("SELECT ") + kJobCols +
                                " FROM jobs j WHERE j.id = $1::uuid AND ($2 = '' OR j.tenant = $2)",
                            id, tenant);
    if (r.empty()) return Status::NotFound(JobNotFound(id));
    return JobFromRow(r[0]);
  });
}

Result<JobListResult> PgStore::JobList(const JobListParams& p) {
  if (p.limit < 0) return Status::InvalidArgument("limit must not be negative");
  return RunTx<JobListResult>(
      *pool_, config_, "JobList", [&](pqxx::work& tx) -> Result<JobListResult> {
        std::optional<std::string> after_us;
        std::optional<std::string> after_id;
        if (p.after_created_us) {
          after_us = std::to_string(*p.after_created_us);
          after_id = p.after_id;
        }
        auto r = tx.exec_params(
            std::string("SELECT ") + kJobCols +
                " FROM jobs j WHERE ($1 = '' OR j.tenant = $1) AND ($2 = '' OR j.queue = $2) "
                "AND ($3 = 0 OR j.status = $3) "
                "AND ($4::bigint IS NULL OR (j.created_at, j.id) < "
                "  (timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5::uuid)) "
                "ORDER BY j.created_at DESC, j.id DESC LIMIT $6",
            p.tenant, p.queue, static_cast<int>(p.status), after_us, after_id, p.limit + 1);
        JobListResult out;
        for (const auto& row : r) out.jobs.push_back(JobFromRow(row));
        if (static_cast<int>(out.jobs.size()) > p.limit) {
          out.jobs.pop_back();
          out.more = true;
        }
        return out;
      });
}

Result<std::vector<JobEventRecord>> PgStore::JobEventList(const std::string& job_id,
                                                          std::int64_t after_event_id) {
  return RunTx<std::vector<JobEventRecord>>(
      *pool_, config_, "JobEventList", [&](pqxx::work& tx) -> Result<std::vector<JobEventRecord>> {
        std::vector<JobEventRecord> out;
        auto r =
            tx.exec_params(std::string("SELECT ") + kEventCols +
                               " FROM job_events WHERE job_id = $1::uuid AND id > $2 ORDER BY id",
                           job_id, after_event_id);
        for (const auto& row : r) out.push_back(EventFromRow(row));
        return out;
      });
}

Result<std::vector<JobEventRecord>> PgStore::JobEventListMany(
    const std::vector<std::pair<std::string, std::int64_t>>& cursors) {
  if (cursors.empty()) return std::vector<JobEventRecord>{};
  std::vector<std::string> ids, afters;
  for (const auto& [id, after] : cursors) {
    ids.push_back(CanonicalId(id));
    afters.push_back(std::to_string(after));
  }
  return RunTx<std::vector<JobEventRecord>>(
      *pool_, config_, "JobEventListMany",
      [&](pqxx::work& tx) -> Result<std::vector<JobEventRecord>> {
        std::vector<JobEventRecord> out;
        // One index range scan of (job_id, id) per job.
        auto r = tx.exec_params(
            std::string("SELECT ") + kEventCols +
                " FROM job_events e JOIN unnest($1::uuid[], $2::bigint[]) AS w(watched, after)"
                " ON e.job_id = w.watched AND e.id > w.after ORDER BY e.id",
            PgArray(ids), PgArray(afters));
        for (const auto& row : r) out.push_back(EventFromRow(row));
        return out;
      });
}

Result<std::vector<JobOutputRecord>> PgStore::JobOutputList(const std::string& job_id) {
  return RunTx<std::vector<JobOutputRecord>>(
      *pool_, config_, "JobOutputList",
      [&](pqxx::work& tx) -> Result<std::vector<JobOutputRecord>> {
        std::vector<JobOutputRecord> out;
        for (const auto& row :
             tx.exec_params(std::string("SELECT ") + kOutputCols +
                                " FROM job_outputs WHERE job_id = $1::uuid ORDER BY attempt",
                            job_id)) {
          out.push_back(OutputFromRow(row));
        }
        return out;
      });
}

Result<std::map<std::string, std::int64_t>> PgStore::TenantInFlight() {
  return RunTx<std::map<std::string, std::int64_t>>(
      *pool_, config_, "TenantInFlight",
      [&](pqxx::work& tx) -> Result<std::map<std::string, std::int64_t>> {
        std::map<std::string, std::int64_t> out;
        for (const auto& row : tx.exec_prepared("tenant_in_flight")) {
          out[row[0].as<std::string>()] = row[1].as<std::int64_t>();
        }
        return out;
      });
}

Result<std::vector<LeaseRef>> PgStore::JobListHeldBy(const std::string& worker_id) {
  return RunTx<std::vector<LeaseRef>>(
      *pool_, config_, "JobListHeldBy", [&](pqxx::work& tx) -> Result<std::vector<LeaseRef>> {
        std::vector<LeaseRef> out;
        for (const auto& row : tx.exec_prepared("job_list_held_by", worker_id)) {
          out.push_back({row[0].as<std::string>(), worker_id, row[1].as<int>()});
        }
        return out;
      });
}

}  // namespace jq::store
