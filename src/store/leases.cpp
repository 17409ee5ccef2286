// PgStore: leases — claims (PENDING -> ASSIGNED for many workers at once), renewals, and the
// reaper's reclaim of expired leases, silent workers and TTLs.
#include <algorithm>
#include <functional>
#include <set>
#include <string>

#include "core/tenant_rooms.h"
#include "store/pg_common.h"
#include "store/pg_rows.h"
#include "store/pg_transitions.h"

namespace jq::store {
namespace {

// The claim for many workers (SPEC §5): $1 = one worker id per free slot, in fill order;
// $2 = queues; $3 = lease seconds; $4 = the only tenant ('' = all); $5..$8 = the tenants' rooms
// (TenantRooms: $5 capped tenants, $6/$7 tenants with their own room, -1 = unlimited, $8 the
// room of any other tenant). `candidates` selects and locks up to cardinality($1) ready jobs in
// claim order. Queues with a concurrency limit get `room` = limit - jobs ASSIGNED or RUNNING,
// and a claim takes at most `room` from each (ranked per queue in claim order); likewise per
// tenant. $2 lists only queues that may be claimed from (claim_allowed_queues): paused and full
// queues were filtered out per row before, as anti joins, which made the planner expect one
// row; once the table had statistics it chose a scan of every ready row plus a sort (690 ms
// instead of 4 ms for 100 of 95k ready jobs).
std::string ClaimSql(const std::string& candidates) {
  return Sql(
      "WITH lim AS ("
      "  SELECT q.name, q.concurrency_limit - (SELECT count(*) FROM jobs r"
      "    WHERE r.queue = q.name AND r.status IN ({ASSIGNED}, {RUNNING})) AS room"
      "  FROM queues q WHERE q.concurrency_limit > 0),"
      " cand AS (" +
      candidates +
      "),"
      " pick AS ("
      "  SELECT c.id, row_number() OVER (ORDER BY c.priority DESC, c.created_at, c.id) AS slot"
      "  FROM (SELECT c.*, row_number() OVER (PARTITION BY c.queue"
      "    ORDER BY c.priority DESC, c.created_at, c.id) AS rn, row_number() OVER (PARTITION BY"
      "    c.tenant ORDER BY c.priority DESC, c.created_at, c.id) AS tn FROM cand c) c"
      "  LEFT JOIN lim ON lim.name = c.queue"
      "  LEFT JOIN unnest($6::text[], $7::int[]) AS t(name, room) ON t.name = c.tenant"
      "  WHERE (lim.room IS NULL OR c.rn <= lim.room)"
      "  AND (coalesce(t.room, $8::int) < 0 OR c.tn <= coalesce(t.room, $8::int))),"
      " w AS (SELECT * FROM unnest($1::text[]) WITH ORDINALITY AS w(worker_id, slot)),"
      " upd AS ("
      "  UPDATE jobs j SET status = {ASSIGNED}, attempt = j.attempt + 1, worker_id = w.worker_id,"
      "    lease_expires_at = now() + $3::int * interval '1 second', updated_at = now()"
      "  FROM pick JOIN w ON w.slot = pick.slot WHERE j.id = pick.id"
      "  RETURNING j.id, j.tenant, j.queue, j.payload, j.priority, j.attempt,"
      "    j.timeout_seconds, j.created_at, j.not_before, j.traceparent, j.worker_id),"
      " ev AS ("
      "  INSERT INTO job_events (job_id, tenant, queue, from_status, to_status, reason,"
      "    worker_id, attempt)"
      "  SELECT id, tenant, queue, {PENDING}, {ASSIGNED}, 'ASSIGNED', worker_id, attempt FROM upd"
      "  ORDER BY id)"
      "SELECT " +
      kClaimedCols + " FROM upd ORDER BY priority DESC, created_at, id");
}

// The ready jobs of queue `q` that `tenants` admits, in claim order, at most `limit`: an
// ordered walk of jobs_ready_idx (queue, priority DESC, created_at, id) WHERE status = PENDING
// from its first entry. A tenant's worker takes only its tenant's jobs ($4; '' = every
// tenant's). Claims are planned for their parameters, so for '' and no limits this costs
// nothing.
std::string ReadyJobsOf(const std::string& q, const std::string& tenants,
                        const std::string& limit) {
  return "SELECT j.id, j.queue, j.tenant, j.priority, j.created_at FROM jobs j"
         " WHERE j.status = {PENDING} AND j.queue = " +
         q +
         "  AND j.not_before <= now() AND (j.expires_at IS NULL OR j.expires_at > now())"
         "  AND ($4::text = '' OR j.tenant = $4::text) AND " +
         tenants + " ORDER BY j.priority DESC, j.created_at, j.id LIMIT " + limit +
         " FOR UPDATE SKIP LOCKED";
}

// Each of the queues `q` ranges over: its jobs of uncapped tenants, in one walk that skips the
// capped ones ($5), and each capped tenant's with room ($6/$7), in a walk of its own that stops
// at its room (or the slots, whichever is less: each row walked is locked until commit). The
// skipped rows of a capped tenant's backlog still cost a heap visit each (jobs_ready_idx does not
// hold the tenant), but cannot take the other tenants' places.
std::string WalksOf(const std::string& q) {
  return "SELECT c.* FROM (" +
         ReadyJobsOf(q, "(cardinality($5::text[]) = 0 OR j.tenant <> ALL($5::text[]))",
                     "cardinality($1::text[])") +
         ") c UNION ALL SELECT c.* FROM unnest($6::text[], $7::int[]) AS t(name, room)"
         " CROSS JOIN LATERAL (" +
         ReadyJobsOf(q, "j.tenant = t.name", "least(t.room, cardinality($1::text[]))") +
         ") c WHERE t.room > 0";
}

// Several queues: the first n of each queue's own walks, then the first n of those. One scan
// over `queue = ANY($2)` returns rows out of claim order, so it sorted the whole backlog, or
// walked a global index through other queues' backlogs (100k rows filtered for 10 taken). The
// price: up to n locked rows per queue, held until the claim commits (SKIP LOCKED never waits).
std::string ManyQueueCandidates() {
  return "SELECT c.id, c.queue, c.tenant, c.priority, c.created_at"
         " FROM unnest($2::text[]) AS q(name) CROSS JOIN LATERAL (" +
         WalksOf("q.name") +
         ") c ORDER BY c.priority DESC, c.created_at, c.id LIMIT cardinality($1::text[])";
}

std::string OneQueueCandidates() {
  return "SELECT c.* FROM (" + WalksOf("($2::text[])[1]") +
         ") c ORDER BY c.priority DESC, c.created_at, c.id LIMIT cardinality($1::text[])";
}

std::string IntArray(const std::vector<int>& items) {
  std::vector<std::string> text;
  text.reserve(items.size());
  for (int i : items) text.push_back(std::to_string(i));
  return PgArray(text);
}

}  // namespace

const std::vector<Statement>& LeaseStatements() {
  static const std::vector<Statement> kStatements = {
      {"claim_lock_limited",
       "SELECT pg_advisory_xact_lock(hashtext('jq.queue.' || name)) FROM queues"
       " WHERE concurrency_limit > 0 AND (cardinality($1::text[]) = 0 OR name = ANY($1::text[]))"
       " ORDER BY name"},
      // Returns every listed lease its worker still holds, but rewrites only those past half
      // their time: most heartbeats write nothing, and lease_expires_at is in no index, so
      // the renewals that do write are HOT updates. A row another transaction holds (its
      // report, most likely) is renewed next time.
      {"lease_renew_many",
       Sql("WITH r AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[])"
           "  AS r(id, attempt, worker_id)),"
           " held AS (SELECT j.id, j.lease_expires_at FROM jobs j JOIN r ON j.id = r.id"
           "  WHERE j.attempt = r.attempt AND j.worker_id = r.worker_id"
           "  AND j.status IN ({ASSIGNED}, {RUNNING})"
           "  AND j.cancel_requested_at IS NULL),"
           // A row another transaction holds (its report, most likely) is renewed next time.
           " due AS (SELECT j.id FROM jobs j JOIN held ON j.id = held.id"
           "  WHERE held.lease_expires_at < now() + $4::int * interval '500 milliseconds'"
           "  ORDER BY j.id FOR UPDATE OF j SKIP LOCKED),"
           " upd AS (UPDATE jobs j SET lease_expires_at = now() + $4::int * interval '1 second'"
           "  FROM due WHERE j.id = due.id)"
           "SELECT id::text FROM held")},
      {"lease_renew_all_many",
       Sql("WITH due AS (SELECT id FROM jobs WHERE worker_id = ANY($1::text[])"
           " AND status IN ({ASSIGNED}, {RUNNING})"
           " AND lease_expires_at < now() + $2::int * interval '500 milliseconds'"
           " ORDER BY id FOR UPDATE SKIP LOCKED)"
           "UPDATE jobs j SET lease_expires_at = now() + $2::int * interval '1 second' "
           "FROM due WHERE j.id = due.id")},
      {"job_claim_many", ClaimSql(ManyQueueCandidates())},
      {"claim_lock_tenants", "SELECT pg_advisory_xact_lock(hashtext('jq.tenant_limits'))"},
      // TenantLoad: each tenant with its own running limit, or with jobs in flight ($1: only
      // this tenant; '' = all). The count walks jobs_worker_idx, which holds only those jobs.
      {"claim_tenant_loads",
       Sql("WITH run AS (SELECT tenant, count(*) AS n FROM jobs"
           "  WHERE status IN ({ASSIGNED}, {RUNNING}) AND ($1::text = '' OR tenant = $1::text)"
           "  GROUP BY tenant),"
           " own AS (SELECT name, max_running_jobs FROM tenants"
           "  WHERE max_running_jobs IS NOT NULL AND ($1::text = '' OR name = $1::text))"
           "SELECT coalesce(own.name, run.tenant), own.max_running_jobs, coalesce(run.n, 0)"
           " FROM own FULL JOIN run ON run.tenant = own.name")},
      // The queues a claim may take from now ($1: the worker's queues; empty: all).
      {"claim_allowed_queues",
       Sql("SELECT q.name FROM queues q WHERE NOT q.paused"
           " AND (cardinality($1::text[]) = 0 OR q.name = ANY($1::text[]))"
           " AND (q.concurrency_limit = 0 OR q.concurrency_limit > (SELECT count(*) FROM jobs r"
           "  WHERE r.queue = q.name AND r.status IN ({ASSIGNED}, {RUNNING})))")},
      {"job_claim_queue", ClaimSql(OneQueueCandidates())},
      {"reap_silent_workers",
       Sql("UPDATE workers SET status = {OFFLINE} WHERE status IN ({ONLINE}, {DRAINING})"
           " AND last_heartbeat < now() - $1::int * interval '1 second' RETURNING id")},
      // Only while the worker is still OFFLINE: if it registered again since it was marked,
      // the jobs it holds now are fresh.
      {"reap_worker_jobs",
       Sql("SELECT id::text FROM jobs WHERE worker_id = $1 AND status IN ({ASSIGNED}, {RUNNING})"
           " AND EXISTS (SELECT 1 FROM workers w WHERE w.id = $1 AND w.status = {OFFLINE})"
           " ORDER BY id FOR UPDATE SKIP LOCKED")},
      {"reap_expired_leases",
       Sql("SELECT id::text FROM jobs WHERE status IN ({ASSIGNED}, {RUNNING})"
           " AND lease_expires_at < now() ORDER BY lease_expires_at LIMIT 1000"
           " FOR UPDATE SKIP LOCKED")},
      // After an outage of the store (Reaper): every held lease gets a fresh term.
      {"renew_all_leases",
       Sql("UPDATE jobs SET lease_expires_at = now() + $1::int * interval '1 second'"
           " WHERE status IN ({ASSIGNED}, {RUNNING})"
           " AND lease_expires_at < now() + $1::int * interval '1 second'")},
      {"renew_all_workers",
       Sql("UPDATE workers SET last_heartbeat = now() WHERE status IN ({ONLINE}, {DRAINING})"
           " AND last_heartbeat < now()")},
      // Not started within its TTL: PENDING/ASSIGNED -> DEAD_LETTERED, many at once.
      {"reap_ttl",
       Sql("WITH old AS (SELECT id, status FROM jobs WHERE status IN ({PENDING}, {ASSIGNED})"
           "  AND expires_at < now() ORDER BY expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED),"
           " upd AS (UPDATE jobs j SET status = {DEAD_LETTERED}, completed_at = now(),"
           "  updated_at = now(), lease_expires_at = NULL,"
           "  error_message = 'not started within its TTL' FROM old WHERE j.id = old.id"
           "  RETURNING j.id, j.tenant, j.queue, old.status AS from_status, j.worker_id,"
           "  j.attempt) "
           "INSERT INTO job_events (job_id, tenant, queue, from_status, to_status, reason,"
           "  worker_id, attempt) "
           "SELECT id, tenant, queue, from_status, {DEAD_LETTERED}, $1, worker_id, attempt"
           " FROM upd")},
  };
  return kStatements;
}

std::string JobClaimSql(bool one_queue) {
  for (const auto& [name, sql] : LeaseStatements()) {
    if (name == (one_queue ? "job_claim_queue" : "job_claim_many")) return sql;
  }
  return {};
}

Result<std::vector<ClaimedJob>> PgStore::JobClaimAvailable(const JobClaimParams& p) {
  JobClaimManyParams many;
  many.slot_worker_ids.assign(static_cast<std::size_t>(std::max(p.limit, 0)), p.worker_id);
  many.queues = p.queues;
  many.lease = p.lease;
  many.tenant = p.tenant;
  return JobClaimMany(many);
}

Result<std::vector<ClaimedJob>> PgStore::JobClaimMany(const JobClaimManyParams& p) {
  if (p.slot_worker_ids.empty()) return std::vector<ClaimedJob>{};
  return RunTx<std::vector<ClaimedJob>>(
      *pool_, config_, "JobClaimMany", [&](pqxx::work& tx) -> Result<std::vector<ClaimedJob>> {
        std::vector<ClaimedJob> out;
        // Concurrent claims would each see the same room in a limited queue: serialize the
        // claims that may take from one (the lock ends with the transaction; the claim's
        // snapshot is taken after it, so it sees the other claimers' assignments).
        tx.exec_prepared("claim_lock_limited", PgArray(p.queues));
        tx.exec(kClaimPlanSettings);
        std::vector<std::string> allowed;
        for (const auto& row : tx.exec_prepared("claim_allowed_queues", PgArray(p.queues))) {
          allowed.push_back(row[0].as<std::string>());
        }
        if (allowed.empty()) return out;  // every queue paused, full or gone
        TenantRooms rooms;
        if (p.tenant_limits.on) {
          // As for queues: one claim at a time counts the tenants' jobs in flight, on every
          // replica. One lock for all tenants, because a claim for every tenant cannot know
          // whose jobs it will take; taken after the queues' locks, always.
          tx.exec_prepared("claim_lock_tenants");
          std::vector<TenantLoad> loads;
          for (const auto& row : tx.exec_prepared("claim_tenant_loads", p.tenant)) {
            loads.push_back({row[0].as<std::string>(),
                             row[1].is_null() ? std::nullopt : std::optional<int>(row[1].as<int>()),
                             row[2].as<std::int64_t>()});
          }
          rooms = ComputeTenantRooms(loads, p.tenant_limits.default_limit,
                                     static_cast<int>(p.slot_worker_ids.size()));
        }
        auto r = tx.exec_prepared(
            allowed.size() == 1 ? "job_claim_queue" : "job_claim_many", PgArray(p.slot_worker_ids),
            PgArray(allowed), static_cast<int>(p.lease.count()), p.tenant, PgArray(rooms.capped),
            PgArray(rooms.names), IntArray(rooms.rooms), rooms.unlisted_room);
        out.reserve(r.size());
        for (const auto& row : r) out.push_back(ClaimedFromRow(row));
        return out;
      });
}

Result<std::vector<std::string>> PgStore::JobLeaseRenew(const std::string& worker_id,
                                                        const std::vector<LeaseRef>& running,
                                                        std::chrono::seconds lease,
                                                        bool renew_all) {
  return RunTx<std::vector<std::string>>(
      *pool_, config_, "JobLeaseRenew", [&](pqxx::work& tx) -> Result<std::vector<std::string>> {
        if (renew_all) {
          tx.exec_prepared("lease_renew_all_many", PgArray({worker_id}),
                           static_cast<int>(lease.count()));
          return std::vector<std::string>{};
        }
        std::vector<std::string> ids, attempts, owners;
        for (const auto& l : running) {
          ids.push_back(CanonicalId(l.job_id));
          attempts.push_back(std::to_string(l.attempt));
          owners.push_back(worker_id);
        }
        std::set<std::string> renewed;
        for (const auto& row : tx.exec_prepared("lease_renew_many", PgArray(ids), PgArray(attempts),
                                                PgArray(owners), static_cast<int>(lease.count()))) {
          renewed.insert(row[0].as<std::string>());
        }
        std::vector<std::string> lost;  // as the caller spelled them
        for (const auto& l : running) {
          if (!renewed.contains(CanonicalId(l.job_id))) lost.push_back(l.job_id);
        }
        return lost;
      });
}

Result<ReapResult> PgStore::Reap(std::chrono::seconds worker_timeout, double jitter01) {
  ReapResult out;
  // Silent workers: OFFLINE, and their jobs reclaimed now rather than at lease expiry.
  auto workers = RunTx<std::vector<std::string>>(
      *pool_, config_, "Reap.workers", [&](pqxx::work& tx) -> Result<std::vector<std::string>> {
        std::vector<std::string> ids;
        for (const auto& row :
             tx.exec_prepared("reap_silent_workers", static_cast<int>(worker_timeout.count()))) {
          ids.push_back(row[0].as<std::string>());
        }
        return ids;
      });
  if (!workers.ok()) return workers.status();
  out.workers_offline = static_cast<int>(workers->size());

  // Fails each selected ASSIGNED/RUNNING job with `why`, then retries or dead-letters it.
  auto reclaim = [&](const char* op, const std::function<pqxx::result(pqxx::work&)>& select,
                     std::string_view why) -> Result<int> {
    return RunTx<int>(*pool_, config_, op, [&](pqxx::work& tx) -> Result<int> {
      int n = 0;
      for (const auto& row : select(tx)) {
        auto j = LockJob(tx, row[0].as<std::string>());
        if (!j) continue;
        const std::string message = why == reason::kWorkerLost ? "worker lost" : "lease expired";
        const Decision d = DecideFailure(j->facts, why, message, jitter01);
        if (!d.refusal.ok()) continue;  // no longer leased: finished meanwhile
        ApplyDecision(tx, *j, d);
        if (why == reason::kLeaseExpired) ++out.lease_expired_by_queue[j->queue];
        ++n;
      }
      return n;
    });
  };
  for (const auto& w : *workers) {
    auto n = reclaim(
        "Reap.worker_jobs", [&](pqxx::work& tx) { return tx.exec_prepared("reap_worker_jobs", w); },
        reason::kWorkerLost);
    if (!n.ok()) return n.status();
    out.worker_jobs_reclaimed += *n;
  }
  auto leases = reclaim(
      "Reap.leases", [](pqxx::work& tx) { return tx.exec_prepared("reap_expired_leases"); },
      reason::kLeaseExpired);
  if (!leases.ok()) return leases.status();
  out.lease_expired = *leases;

  auto ttl = RunTx<int>(*pool_, config_, "Reap.ttl", [&](pqxx::work& tx) -> Result<int> {
    auto r = tx.exec_prepared("reap_ttl", std::string(reason::kTtlExpired));
    return static_cast<int>(r.affected_rows());
  });
  if (!ttl.ok()) return ttl.status();
  out.ttl_expired = *ttl;
  return out;
}

Result<int> PgStore::RenewAllAfterOutage(std::chrono::seconds lease) {
  return RunTx<int>(*pool_, config_, "RenewAllAfterOutage", [&](pqxx::work& tx) -> Result<int> {
    // Workers' rows before jobs', as heartbeats and deregistrations lock them: every worker
    // heartbeats at once when the store comes back, and the other order deadlocks with them.
    tx.exec_prepared("renew_all_workers");
    auto r = tx.exec_prepared("renew_all_leases", static_cast<int>(lease.count()));
    return static_cast<int>(r.affected_rows());
  });
}

}  // namespace jq::store
