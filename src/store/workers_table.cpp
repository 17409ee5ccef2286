// PgStore: the workers table — registration, heartbeats (with the lease renewals they
// carry), status, operators' drain and shutdown requests, and deregistration, which releases
// a worker's jobs.
#include <map>
#include <set>
#include <string>

#include "store/pg_common.h"
#include "store/pg_rows.h"
#include "store/pg_transitions.h"

namespace jq::store {
namespace {

// The status of a worker heard from again after it was OFFLINE: an operator's pending drain
// or shutdown shows as DRAINING. `row`: the columns' qualifier.
std::string LiveStatus(const std::string& row) {
  return "CASE WHEN " + row + "drained OR " + row +
         "shutdown_requested > 0 THEN {DRAINING} ELSE {ONLINE} END";
}

}  // namespace

const std::vector<Statement>& WorkerStatements() {
  static const std::vector<Statement> kStatements = {
      {"worker_upsert",
       Sql("INSERT INTO workers (id, hostname, status, concurrency, queues, server_id,"
           " supports_control)"
           " VALUES ($1, $2, {ONLINE}, $3, $4::text[], $5, $6) ON CONFLICT (id) DO UPDATE SET"
           " hostname = excluded.hostname,"
           // A drain outlives a reconnect or a restart: the worker is told again when its
           // stream opens. A shutdown lapses if the worker went away (OFFLINE) before it.
           " status = CASE WHEN workers.drained OR (workers.shutdown_requested > 0"
           " AND workers.status <> {OFFLINE}) THEN {DRAINING} ELSE {ONLINE} END,"
           " shutdown_requested = CASE WHEN workers.status = {OFFLINE} THEN 0"
           " ELSE workers.shutdown_requested END,"
           " concurrency = excluded.concurrency, queues = excluded.queues,"
           " server_id = excluded.server_id, supports_control = excluded.supports_control,"
           " last_heartbeat = now()")},
      {"worker_heartbeat", Sql("UPDATE workers SET last_heartbeat = now(), active_job_count = $2,"
                               " status = CASE WHEN status = {OFFLINE} THEN " +
                               LiveStatus("") + " ELSE status END WHERE id = $1")},
      {"worker_heartbeat_many",
       Sql("UPDATE workers w SET last_heartbeat = now(), active_job_count = v.active,"
           " status = CASE WHEN w.status = {OFFLINE} THEN " +
           LiveStatus("w.") +
           " ELSE w.status END FROM unnest($1::text[], $2::int[]) AS v(id, active)"
           " WHERE w.id = v.id RETURNING w.id")},
      {"worker_set_drained",
       Sql("UPDATE workers SET drained = $2, status = CASE WHEN status = {OFFLINE} THEN {OFFLINE}"
           " WHEN $2 OR shutdown_requested > 0 THEN {DRAINING} ELSE {ONLINE} END WHERE id = $1")},
      {"worker_request_shutdown",
       Sql("UPDATE workers SET shutdown_requested = greatest(shutdown_requested, $2),"
           " status = {DRAINING} WHERE id = $1 AND status <> {OFFLINE}")},
      {"worker_deregister",
       Sql("UPDATE workers w SET status = {OFFLINE}, active_job_count = 0, shutdown_requested = 0"
           " FROM (SELECT id, shutdown_requested FROM workers WHERE id = $1 FOR UPDATE) old"
           " WHERE w.id = old.id RETURNING old.shutdown_requested")},
      // A drained worker's row is its drain: kept until resumed, however long it is away.
      {"worker_prune", Sql("DELETE FROM workers w WHERE w.status = {OFFLINE} AND NOT w.drained"
                           " AND w.last_heartbeat < now() - $1::int * interval '1 second'"
                           " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.worker_id = w.id"
                           "  AND j.status IN ({ASSIGNED}, {RUNNING}))")},
      {"worker_jobs_lock",
       Sql("SELECT id::text FROM jobs WHERE worker_id = $1 AND status IN ({ASSIGNED}, {RUNNING})"
           " ORDER BY id FOR UPDATE")},
  };
  return kStatements;
}

Status PgStore::WorkerUpsert(const WorkerUpsertParams& p) {
  return RunTxStatus(*pool_, config_, "WorkerUpsert", [&](pqxx::work& tx) -> Status {
    if (!p.supports_control) {
      // A seed worker registers once per process: what its id still holds was running in a
      // process that has ended, and its heartbeats (which name no jobs) would renew it forever.
      for (const auto& row : tx.exec_prepared("worker_jobs_lock", p.id)) {
        auto j = LockJob(tx, row[0].as<std::string>());
        if (!j) continue;
        const Decision d = DecideFailure(j->facts, reason::kWorkerLost,
                                         "worker registered again: its earlier run ended", 0);
        if (d.refusal.ok()) ApplyDecision(tx, *j, d);
      }
    }
    tx.exec_prepared("worker_upsert", p.id, p.hostname, p.concurrency, PgArray(p.queues),
                     p.server_id, p.supports_control);
    return Status::Ok();
  });
}

Status PgStore::WorkerHeartbeat(const std::string& id, int active_job_count) {
  return RunTxStatus(*pool_, config_, "WorkerHeartbeat", [&](pqxx::work& tx) -> Status {
    auto res = tx.exec_prepared("worker_heartbeat", id, active_job_count);
    if (res.affected_rows() == 0) return Status::NotFound("worker " + id + " is not registered");
    return Status::Ok();
  });
}

Result<std::vector<Result<std::vector<std::string>>>> PgStore::WorkerHeartbeatMany(
    const std::vector<WorkerHeartbeatParams>& beats, std::chrono::seconds lease) {
  using Out = std::vector<Result<std::vector<std::string>>>;
  if (beats.empty()) return Out{};
  return RunTx<Out>(*pool_, config_, "WorkerHeartbeatMany", [&](pqxx::work& tx) -> Result<Out> {
    // Duplicates (a worker beating twice in one batch) are written once: the last one wins.
    std::map<std::string, int> active;
    for (const auto& b : beats) active[b.worker_id] = b.active_job_count;
    std::vector<std::string> ids, actives;
    for (const auto& [id, n] : active) {
      ids.push_back(id);
      actives.push_back(std::to_string(n));
    }
    std::set<std::string> known;
    for (const auto& row :
         tx.exec_prepared("worker_heartbeat_many", PgArray(ids), PgArray(actives))) {
      known.insert(row[0].as<std::string>());
    }
    std::vector<std::string> job_ids, attempts, owners, seed_workers;
    for (const auto& b : beats) {
      if (!known.contains(b.worker_id)) continue;
      if (b.renew_all) seed_workers.push_back(b.worker_id);
      for (const auto& l : b.running) {
        job_ids.push_back(CanonicalId(l.job_id));
        attempts.push_back(std::to_string(l.attempt));
        owners.push_back(b.worker_id);
      }
    }
    const int lease_s = static_cast<int>(lease.count());
    std::set<std::string> held;
    if (!job_ids.empty()) {
      for (const auto& row : tx.exec_prepared("lease_renew_many", PgArray(job_ids),
                                              PgArray(attempts), PgArray(owners), lease_s)) {
        held.insert(row[0].as<std::string>());
      }
    }
    if (!seed_workers.empty()) {
      tx.exec_prepared("lease_renew_all_many", PgArray(seed_workers), lease_s);
    }
    Out out;
    out.reserve(beats.size());
    for (const auto& b : beats) {
      if (!known.contains(b.worker_id)) {
        out.emplace_back(Status::NotFound("worker " + b.worker_id + " is not registered"));
        continue;
      }
      std::vector<std::string> lost;
      for (const auto& l : b.running) {
        if (!held.contains(CanonicalId(l.job_id))) lost.push_back(l.job_id);  // as spelled
      }
      out.emplace_back(std::move(lost));
    }
    return out;
  });
}

Status PgStore::WorkerSetStatus(const std::string& id, WorkerState status) {
  return RunTxStatus(*pool_, config_, "WorkerSetStatus", [&](pqxx::work& tx) -> Status {
    auto res = tx.exec_params("UPDATE workers SET status = $2 WHERE id = $1", id,
                              static_cast<int>(status));
    if (res.affected_rows() == 0) return Status::NotFound("worker " + id + " not found");
    return Status::Ok();
  });
}

Status PgStore::WorkerSetDrained(const std::string& id, bool drained) {
  return RunTxStatus(*pool_, config_, "WorkerSetDrained", [&](pqxx::work& tx) -> Status {
    if (tx.exec_prepared("worker_set_drained", id, drained).affected_rows() == 0) {
      return Status::NotFound("worker " + id + " not found");
    }
    return Status::Ok();
  });
}

Status PgStore::WorkerRequestShutdown(const std::string& id, bool now) {
  const int request = static_cast<int>(now ? ShutdownRequest::kNow : ShutdownRequest::kGraceful);
  return RunTxStatus(*pool_, config_, "WorkerRequestShutdown", [&](pqxx::work& tx) -> Status {
    if (tx.exec_prepared("worker_request_shutdown", id, request).affected_rows() > 0) {
      return Status::Ok();
    }
    if (tx.exec_params("SELECT 1 FROM workers WHERE id = $1", id).empty()) {
      return Status::NotFound("worker " + id + " not found");
    }
    return Status::FailedPrecondition("worker " + id + " is OFFLINE");
  });
}

Result<WorkerRecord> PgStore::WorkerGet(const std::string& id) {
  return RunTx<WorkerRecord>(
      *pool_, config_, "WorkerGet", [&](pqxx::work& tx) -> Result<WorkerRecord> {
        auto r = tx.exec_params(
            std::string("SELECT ") + kWorkerCols + " FROM workers WHERE id = $1", id);
        if (r.empty()) return Status::NotFound("worker " + id + " not found");
        return WorkerFromRow(r[0]);
      });
}

Result<std::vector<WorkerRecord>> PgStore::WorkerList() {
  return RunTx<std::vector<WorkerRecord>>(
      *pool_, config_, "WorkerList", [&](pqxx::work& tx) -> Result<std::vector<WorkerRecord>> {
        std::vector<WorkerRecord> out;
        for (const auto& row :
             tx.exec(std::string("SELECT ") + kWorkerCols + " FROM workers ORDER BY id")) {
          out.push_back(WorkerFromRow(row));
        }
        return out;
      });
}

Status PgStore::WorkerDeregister(const std::string& id, double jitter01) {
  return RunTxStatus(*pool_, config_, "WorkerDeregister", [&](pqxx::work& tx) -> Status {
    auto res = tx.exec_prepared("worker_deregister", id);
    if (res.empty()) return Status::NotFound("worker " + id + " not found");
    const bool shut_down = res[0][0].as<int>() != static_cast<int>(ShutdownRequest::kNone);
    for (const auto& row : tx.exec_prepared("worker_jobs_lock", id)) {
      auto j = LockJob(tx, row[0].as<std::string>());
      if (!j) continue;
      const Decision d = DecideDeregistered(j->facts, shut_down, jitter01);
      if (d.refusal.ok()) ApplyDecision(tx, *j, d);
    }
    return Status::Ok();
  });
}

Result<int> PgStore::WorkerPrune(std::chrono::seconds offline_for) {
  return RunTx<int>(*pool_, config_, "WorkerPrune", [&](pqxx::work& tx) -> Result<int> {
    return static_cast<int>(
        tx.exec_prepared("worker_prune", static_cast<int>(offline_for.count())).affected_rows());
  });
}

}  // namespace jq::store
