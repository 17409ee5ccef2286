// Each operation follows its PgStore statements (src/store/*_table.cpp, job_transitions.cpp,
// leases.cpp) step by step; where PostgreSQL's behaviour is an accident of how a statement
// is written (the order of a batch), the comment says so and the fake does the same. Job ids
// are compared canonically (as uuids), as PgStore compares them.
//
// What happens to a job is decided by core/transitions.h (DecideStart, DecideReport,
// DecideFailure, DecideUndelivered, DecideCancel, DecideManualRetry), as in PgStore; Apply
// writes each transition as job_transitions.cpp's statement for that step does. Besides
// inserts and claims, only the batched success path of JobReportMany (report_done_many) and
// the reaper's TTL pass (reap_ttl) write job rows themselves, as those single statements do.
//
// Longer than the ~700 lines a fake usually needs: it mirrors all 36 operations of the port,
// and JobReportMany and the claim copy PgStore's batch order and limits, not a simplification
// of them, because that order is observable. One file keeps the shared row helpers
// (LockJob, Facts, Apply) next to every caller.
#include "support/fake_job_store.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <stdexcept>
#include <tuple>

#include "core/tenant_rooms.h"
#include "core/uuid.h"

namespace jq::testing {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

// PostgreSQL's uuid input: optional braces, 32 hex digits, a hyphen allowed after each group
// of four. Returns the canonical lower-case text, as id::text would.
std::optional<std::string> CanonicalUuid(std::string_view s) {
  std::size_t i = 0;
  const bool braces = !s.empty() && s[0] == '{';
  if (braces) ++i;
  std::string hex;
  for (int byte = 0; byte < 16; ++byte) {
    for (int k = 0; k < 2; ++k, ++i) {
      if (i >= s.size() || std::isxdigit(static_cast<unsigned char>(s[i])) == 0) return {};
      hex += static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    }
    if (i < s.size() && s[i] == '-' && byte % 2 == 1 && byte < 15) ++i;
  }
  if (braces && (i >= s.size() || s[i++] != '}')) return {};
  if (i != s.size()) return {};
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

// What StatusFromException makes of 22P02 (invalid_text_representation).
Status Malformed(std::string_view op) {
  return Status::InvalidArgument(std::string(op) + ": malformed value");
}
// What it makes of 23514 (check_violation).
Status CheckViolation(std::string_view op, const std::string& table, const std::string& column) {
  return Status::Internal(std::string(op) + ": database error 23514: new row for relation \"" +
                          table + "\" violates check constraint \"" + table + "_" + column +
                          "_check\"");
}

std::string JobNotFound(const std::string& id) {
  return "job " + id + " not found";
}
Status QueueNotFound(const std::string& name) {
  return Status::NotFound("queue '" + name + "' not found");
}

// PgStore's LiveStatus: a worker heard from with a pending drain or shutdown is DRAINING.
WorkerState LiveStatus(const WorkerRecord& w) {
  return w.drained || w.shutdown != ShutdownRequest::kNone ? WorkerState::kDraining
                                                           : WorkerState::kOnline;
}

bool Leased(JobState s) {
  return s == JobState::kAssigned || s == JobState::kRunning;
}
bool Unfinished(JobState s) {
  return s == JobState::kPending || Leased(s) || s == JobState::kFailed;
}
double Seconds(TimePoint::duration d) {
  return std::chrono::duration<double>(d).count();
}
// Claim order: priority DESC, created_at, id.
auto ClaimKey(const JobRecord& r) {
  return std::make_tuple(-r.priority, r.created_at, std::cref(r.id));
}
LeaseClaim Claim(const LeaseRef& lease) {
  return {lease.worker_id, lease.attempt};
}

}  // namespace

FakeJobStore::FakeJobStore(std::function<TimePoint()> now) : now_(std::move(now)) {
  std::lock_guard lock(mu_);
  // db/migrations/0001 creates the default queue with the column defaults.
  QueueRecord q;
  q.name = "default";
  q.created_at = Now();
  queues_.emplace(q.name, q);
}

TimePoint FakeJobStore::Now() {
  return std::chrono::floor<microseconds>(now_());
}

// UUIDv7 from the injected clock. The bits after the millisecond are a counter (RFC 9562
// method 1) rather than random as in NewUuidV7: with a stopped test clock every job has the
// same created_at, and the claim's id tie-break must still be submission order.
std::string FakeJobStore::NewJobId(TimePoint now) {
  const auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count());
  if (ms > last_id_ms_) {
    last_id_ms_ = ms;
    id_counter_ = rng_() >> 4;  // random start, room to count
  } else {
    ++id_counter_;
  }
  return FormatUuidV7(last_id_ms_, static_cast<std::uint16_t>(id_counter_ >> 62), id_counter_);
}

// job_lock: the row for an id, after PostgreSQL's ::uuid cast.
Result<FakeJobStore::Job*> FakeJobStore::LockJob(std::string_view op, const std::string& id) {
  const auto canonical = CanonicalUuid(id);
  if (!canonical) return Malformed(op);
  auto it = jobs_.find(*canonical);
  if (it == jobs_.end()) return Status::NotFound(JobNotFound(id));
  return &it->second;
}

void FakeJobStore::AddEvent(const Job& j, JobState from, JobState to, std::string_view why,
                            const std::string& worker_id, TimePoint now, const std::string& actor) {
  events_[j.rec.id].push_back({++last_event_id_, j.rec.id, j.rec.tenant, j.rec.queue, from, to,
                               std::string(why), worker_id, j.rec.attempt, now, actor});
}

std::int64_t FakeJobStore::InFlight(const std::string& queue) const {
  return std::count_if(jobs_.begin(), jobs_.end(), [&](const auto& kv) {
    return kv.second.rec.queue == queue && Leased(kv.second.rec.status);
  });
}

// claim_tenant_loads: each tenant with its own running limit or with jobs in flight.
std::vector<TenantLoad> FakeJobStore::TenantLoads(const std::string& only) const {
  std::map<std::string, TenantLoad> loads;
  for (const auto& [name, t] : tenants_) {
    if (t.max_running_jobs && (only.empty() || name == only)) {
      loads[name] = {name, t.max_running_jobs, 0};
    }
  }
  for (const auto& [id, j] : jobs_) {
    if (Leased(j.rec.status) && (only.empty() || j.rec.tenant == only)) {
      auto& l = loads[j.rec.tenant];
      l.name = j.rec.tenant;
      ++l.running;
    }
  }
  std::vector<TenantLoad> out;
  for (auto& [name, l] : loads) out.push_back(std::move(l));
  return out;
}

// ---------------------------------------------------------------------------- queues

Result<QueueRecord> FakeJobStore::QueueCreate(const QueueRecord& q) {
  std::lock_guard lock(mu_);
  const std::pair<const char*, int> checks[] = {
      {"max_retries", q.max_retries},         {"ttl_seconds", q.ttl_seconds},
      {"timeout_seconds", q.timeout_seconds}, {"backoff_base_ms", q.backoff_base_ms},
      {"backoff_max_ms", q.backoff_max_ms},   {"concurrency_limit", q.concurrency_limit}};
  for (const auto& [column, value] : checks) {
    if (value < 0) return CheckViolation("QueueCreate", "queues", column);
  }
  if (queues_.contains(q.name)) {
    return Status::AlreadyExists("queue '" + q.name + "' already exists");
  }
  QueueRecord row = q;
  row.created_at = Now();
  queues_.emplace(row.name, row);
  return row;
}

Result<QueueRecord> FakeJobStore::QueueGet(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = queues_.find(name);
  if (it == queues_.end()) return QueueNotFound(name);
  return it->second;
}

// Ordered by name in byte order; PostgreSQL orders by the database's collation.
Result<std::vector<QueueRecord>> FakeJobStore::QueueList() {
  std::lock_guard lock(mu_);
  std::vector<QueueRecord> out;
  for (const auto& [name, q] : queues_) out.push_back(q);
  return out;
}

Status FakeJobStore::QueueDelete(const std::string& name, bool force, const std::string& actor) {
  std::lock_guard lock(mu_);
  if (name == "default") return Status::FailedPrecondition("the default queue cannot be deleted");
  if (!queues_.contains(name)) return QueueNotFound(name);
  std::vector<Job*> unfinished;
  for (auto& [id, j] : jobs_) {
    if (j.rec.queue == name && Unfinished(j.rec.status)) unfinished.push_back(&j);
  }
  if (!unfinished.empty() && !force) {
    return Status::FailedPrecondition("queue '" + name + "' has " +
                                      std::to_string(unfinished.size()) +
                                      " unfinished jobs; delete with force to dead-letter them");
  }
  const TimePoint now = Now();
  for (Job* j : unfinished) {
    const JobState from = j->rec.status;
    DeadLetter(*j, "queue deleted", now);
    AddEvent(*j, from, JobState::kDeadLettered, reason::kQueueDeleted, j->rec.worker_id, now,
             actor);
  }
  queues_.erase(name);
  return Status::Ok();
}

Status FakeJobStore::QueueSetPaused(const std::string& name, bool paused) {
  std::lock_guard lock(mu_);
  auto it = queues_.find(name);
  if (it == queues_.end()) return QueueNotFound(name);
  it->second.paused = paused;
  return Status::Ok();
}

Result<QueueStatsRecord> FakeJobStore::QueueStats(const std::string& name) {
  std::lock_guard lock(mu_);
  auto q = queues_.find(name);
  if (q == queues_.end()) return QueueNotFound(name);
  const TimePoint now = Now();
  QueueStatsRecord s;
  s.queue = name;
  s.paused = q->second.paused;
  double done_ms = 0;
  std::int64_t timed = 0;
  std::optional<TimePoint> oldest;
  for (const auto& [id, j] : jobs_) {
    const JobRecord& r = j.rec;
    if (r.queue != name) continue;
    switch (r.status) {
      case JobState::kPending:
        ++s.pending;
        if (r.retry_count > 0) ++s.failed;  // waiting for a retry
        oldest = std::min(oldest.value_or(r.created_at), r.created_at);
        break;
      case JobState::kAssigned: ++s.assigned; break;
      case JobState::kRunning: ++s.running; break;
      case JobState::kDone:
        ++s.done;
        if (r.started_at && r.completed_at) {
          done_ms += Seconds(*r.completed_at - *r.started_at) * 1000;
          ++timed;
        }
        break;
      case JobState::kFailed: ++s.failed; break;
      case JobState::kDeadLettered: ++s.dead_lettered; break;
      case JobState::kUnspecified: break;
    }
  }
  s.total_processed = s.done + s.dead_lettered;
  s.error_rate = s.total_processed == 0 ? 0.0
                                        : static_cast<double>(s.dead_lettered) /
                                              static_cast<double>(s.total_processed);
  s.avg_duration_ms = timed == 0 ? 0.0 : done_ms / static_cast<double>(timed);
  s.oldest_pending_age_seconds = oldest ? Seconds(now - *oldest) : 0.0;
  return s;
}

// Like PgStore: one entry per queue, and per queue name that jobs still carry after their
// queue was deleted; only the counts are set (not paused, rates or ages).
Result<std::vector<QueueStatsRecord>> FakeJobStore::QueueDepths(bool include_finished) {
  std::lock_guard lock(mu_);
  std::map<std::string, QueueStatsRecord> by_queue;
  for (const auto& [name, q] : queues_) by_queue[name].queue = name;
  for (const auto& [id, j] : jobs_) {
    const JobRecord& r = j.rec;
    const bool finished = r.status == JobState::kDone || r.status == JobState::kDeadLettered;
    if (r.status == JobState::kFailed || (finished && !include_finished)) continue;
    auto& s = by_queue[r.queue];
    s.queue = r.queue;
    switch (r.status) {
      case JobState::kPending:
        ++s.pending;
        if (r.retry_count > 0) ++s.failed;
        break;
      case JobState::kAssigned: ++s.assigned; break;
      case JobState::kRunning: ++s.running; break;
      case JobState::kDone: ++s.done; break;
      case JobState::kDeadLettered: ++s.dead_lettered; break;
      default: break;
    }
  }
  std::vector<QueueStatsRecord> out;
  for (auto& [name, s] : by_queue) out.push_back(std::move(s));
  return out;
}

// ---------------------------------------------------------------------------- jobs

// job_insert_many. REQUIRES: every job's queue exists. The table's CHECKs are evaluated
// before ON CONFLICT, so a bad row fails the statement even when it would be a duplicate.
Result<std::vector<JobInsertResult>> FakeJobStore::InsertLocked(
    std::string_view op, const std::vector<const JobInsertParams*>& jobs, TimePoint now) {
  for (const JobInsertParams* p : jobs) {
    const QueueRecord& q = queues_.at(p->queue);
    if (p->priority < -32768 || p->priority > 32767) {
      return Status::Internal(std::string(op) + ": database error 22003: smallint out of range");
    }
    if (p->priority < 0 || p->priority > 9) return CheckViolation(op, "jobs", "priority");
    if (p->max_retries.value_or(q.max_retries) < 0) {
      return CheckViolation(op, "jobs", "max_retries");
    }
  }
  std::vector<JobInsertResult> out;
  for (const JobInsertParams* p : jobs) {
    const std::string id = NewJobId(now);  // taken by duplicates too, as in PgStore
    const auto key = std::make_pair(p->tenant, p->idempotency_key);
    if (!p->idempotency_key.empty()) {
      if (auto it = idem_.find(key); it != idem_.end()) {
        out.push_back({it->second, true});
        continue;
      }
    }
    const QueueRecord& q = queues_.at(p->queue);
    Job j;
    JobRecord& r = j.rec;
    r.id = id;
    r.tenant = p->tenant;
    r.queue = p->queue;
    r.payload = p->payload;
    r.priority = p->priority;
    r.status = JobState::kPending;
    r.max_retries = p->max_retries.value_or(q.max_retries);
    r.ttl_seconds = p->ttl_seconds.value_or(q.ttl_seconds);
    r.timeout_seconds = p->timeout_seconds.value_or(q.timeout_seconds);
    r.not_before =
        p->run_at
            ? TimePoint(std::chrono::duration_cast<microseconds>(p->run_at->time_since_epoch()))
            : now + milliseconds(p->delay_ms);
    r.created_at = r.updated_at = now;
    r.idempotency_key = p->idempotency_key;
    j.traceparent = p->traceparent;
    if (r.ttl_seconds > 0) j.expires_at = r.not_before + seconds(r.ttl_seconds);
    if (!p->idempotency_key.empty()) idem_.emplace(key, id);
    auto& row = jobs_.emplace(id, std::move(j)).first->second;
    AddEvent(row, JobState::kUnspecified, JobState::kPending, reason::kSubmitted, "", now);
    out.push_back({id, false});
  }
  return out;
}

Result<std::vector<JobInsertResult>> FakeJobStore::JobInsertMany(
    const std::vector<JobInsertParams>& jobs) {
  if (jobs.empty()) return std::vector<JobInsertResult>{};
  std::lock_guard lock(mu_);
  std::vector<const JobInsertParams*> all;
  for (const auto& j : jobs) {
    if (!queues_.contains(j.queue)) return QueueNotFound(j.queue);
    all.push_back(&j);
  }
  return InsertLocked("JobInsertMany", all, Now());
}

Result<std::vector<Result<JobInsertResult>>> FakeJobStore::JobInsertEach(
    const std::vector<JobInsertParams>& jobs) {
  using Out = std::vector<Result<JobInsertResult>>;
  if (jobs.empty()) return Out{};
  std::lock_guard lock(mu_);
  Out out(jobs.size(), Result<JobInsertResult>(Status::Internal("not inserted")));
  std::vector<const JobInsertParams*> good;
  std::vector<std::size_t> good_index;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!queues_.contains(jobs[i].queue)) {
      out[i] = QueueNotFound(jobs[i].queue);
      continue;
    }
    good.push_back(&jobs[i]);
    good_index.push_back(i);
  }
  if (good.empty()) return out;
  auto inserted = InsertLocked("JobInsertEach", good, Now());
  if (!inserted.ok()) return inserted.status();
  for (std::size_t k = 0; k < good.size(); ++k) out[good_index[k]] = (*inserted)[k];
  return out;
}

Result<JobRecord> FakeJobStore::JobGet(const std::string& id, const std::string& tenant) {
  std::lock_guard lock(mu_);
  auto j = LockJob("JobGet", id);
  if (!j.ok()) return j.status();
  if (!tenant.empty() && (*j)->rec.tenant != tenant) return Status::NotFound(JobNotFound(id));
  return (*j)->rec;
}

Result<JobListResult> FakeJobStore::JobList(const JobListParams& p) {
  if (p.limit < 0) return Status::InvalidArgument("limit must not be negative");
  std::lock_guard lock(mu_);
  std::optional<std::string> after_id;
  if (p.after_created_us) {
    after_id = CanonicalUuid(p.after_id);
    if (!after_id) return Malformed("JobList");
  }
  std::vector<const JobRecord*> rows;
  for (const auto& [id, j] : jobs_) {
    const JobRecord& r = j.rec;
    if (!p.tenant.empty() && r.tenant != p.tenant) continue;
    if (!p.queue.empty() && r.queue != p.queue) continue;
    if (p.status != JobState::kUnspecified && r.status != p.status) continue;
    if (p.after_created_us) {
      const TimePoint after{microseconds(*p.after_created_us)};
      if (std::tie(r.created_at, r.id) >= std::tie(after, *after_id)) continue;
    }
    rows.push_back(&r);
  }
  std::sort(rows.begin(), rows.end(), [](const JobRecord* a, const JobRecord* b) {
    return std::tie(a->created_at, a->id) > std::tie(b->created_at, b->id);
  });
  // PgStore asks for limit + 1 rows and drops the extra one, so limit 0 only says whether
  // any job matches.
  JobListResult out;
  const auto limit = static_cast<std::size_t>(p.limit);
  for (std::size_t i = 0; i < rows.size() && i < limit; ++i) out.jobs.push_back(*rows[i]);
  out.more = rows.size() > limit;
  return out;
}

Result<std::vector<JobEventRecord>> FakeJobStore::JobEventList(const std::string& job_id,
                                                               std::int64_t after_event_id) {
  std::lock_guard lock(mu_);
  const auto id = CanonicalUuid(job_id);
  if (!id) return Malformed("JobEventList");
  std::vector<JobEventRecord> out;
  if (auto it = events_.find(*id); it != events_.end()) {
    for (const auto& e : it->second) {
      if (e.id > after_event_id) out.push_back(e);
    }
  }
  return out;
}

Result<std::vector<JobEventRecord>> FakeJobStore::JobEventListMany(
    const std::vector<std::pair<std::string, std::int64_t>>& cursors) {
  std::lock_guard lock(mu_);
  std::vector<JobEventRecord> out;
  for (const auto& [job_id, after] : cursors) {
    const auto id = CanonicalUuid(job_id);
    if (!id) return Malformed("JobEventListMany");
    if (auto it = events_.find(*id); it != events_.end()) {
      for (const auto& e : it->second) {
        if (e.id > after) out.push_back(e);
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<std::vector<JobOutputRecord>> FakeJobStore::JobOutputList(const std::string& job_id) {
  std::lock_guard lock(mu_);
  const auto id = CanonicalUuid(job_id);
  if (!id) return Malformed("JobOutputList");
  std::vector<JobOutputRecord> out;
  for (auto it = outputs_.lower_bound({*id, std::numeric_limits<int>::min()});
       it != outputs_.end() && it->first.first == *id; ++it) {
    out.push_back(it->second);
  }
  return out;
}

// ---------------------------------------------------------------------------- leases

Result<std::vector<ClaimedJob>> FakeJobStore::JobClaimAvailable(const JobClaimParams& p) {
  JobClaimManyParams many;
  many.slot_worker_ids.assign(static_cast<std::size_t>(std::max(p.limit, 0)), p.worker_id);
  many.queues = p.queues;
  many.lease = p.lease;
  many.tenant = p.tenant;
  return JobClaimMany(many);
}

// ClaimSql: the candidates are the first `slots` ready jobs in claim order of each queue's
// walks (one for the uncapped tenants, one per capped tenant that has room, which stops at its
// room); only then is each limited queue and tenant cut to its room, so a claim can return
// fewer jobs than are ready.
Result<std::vector<ClaimedJob>> FakeJobStore::JobClaimMany(const JobClaimManyParams& p) {
  std::vector<ClaimedJob> out;
  if (p.slot_worker_ids.empty()) return out;
  std::lock_guard lock(mu_);
  const TimePoint now = Now();
  std::map<std::string, std::int64_t> room;  // allowed queues; -1: unlimited
  for (const auto& [name, q] : queues_) {
    if (q.paused) continue;
    if (!p.queues.empty() && std::find(p.queues.begin(), p.queues.end(), name) == p.queues.end()) {
      continue;
    }
    const std::int64_t in_flight = InFlight(name);
    if (q.concurrency_limit > 0 && q.concurrency_limit <= in_flight) continue;
    room[name] = q.concurrency_limit > 0 ? q.concurrency_limit - in_flight : -1;
  }
  TenantRooms rooms;
  if (p.tenant_limits.on) {
    rooms = ComputeTenantRooms(TenantLoads(p.tenant), p.tenant_limits.default_limit,
                               static_cast<int>(p.slot_worker_ids.size()));
  }
  auto capped = [&](const std::string& tenant) {
    return std::find(rooms.capped.begin(), rooms.capped.end(), tenant) != rooms.capped.end();
  };
  std::vector<Job*> ready;
  for (auto& [id, j] : jobs_) {
    if (j.rec.status == JobState::kPending && room.contains(j.rec.queue) &&
        j.rec.not_before <= now && (!j.expires_at || *j.expires_at > now) &&
        (p.tenant.empty() || j.rec.tenant == p.tenant)) {
      ready.push_back(&j);
    }
  }
  const auto by_claim_order = [](const Job* a, const Job* b) {
    return ClaimKey(a->rec) < ClaimKey(b->rec);
  };
  std::sort(ready.begin(), ready.end(), by_claim_order);
  const auto slots = static_cast<std::int64_t>(p.slot_worker_ids.size());
  std::vector<Job*> cand;
  std::map<std::pair<std::string, std::string>, std::int64_t> walked;  // (queue, capped tenant)
  for (Job* j : ready) {
    const bool own_walk = capped(j->rec.tenant);
    const std::int64_t walk_limit = own_walk ? RoomOf(rooms, j->rec.tenant) : slots;
    if (++walked[{j->rec.queue, own_walk ? j->rec.tenant : ""}] <= walk_limit) cand.push_back(j);
  }
  if (cand.size() > p.slot_worker_ids.size()) cand.resize(p.slot_worker_ids.size());
  std::vector<Job*> pick;
  std::map<std::string, std::int64_t> taken, taken_by_tenant;
  for (Job* j : cand) {
    const std::int64_t r = room.at(j->rec.queue);
    const std::int64_t t = RoomOf(rooms, j->rec.tenant);
    const bool queue_ok = r < 0 || ++taken[j->rec.queue] <= r;
    const bool tenant_ok = t < 0 || ++taken_by_tenant[j->rec.tenant] <= t;
    if (queue_ok && tenant_ok) pick.push_back(j);
  }
  for (std::size_t slot = 0; slot < pick.size(); ++slot) {
    JobRecord& r = pick[slot]->rec;
    r.status = JobState::kAssigned;
    ++r.attempt;
    r.worker_id = p.slot_worker_ids[slot];
    r.updated_at = now;
    pick[slot]->lease_expires_at = now + p.lease;
    out.push_back({r.id, r.tenant, r.queue, r.payload, r.priority, r.attempt, r.timeout_seconds,
                   r.created_at, r.not_before, pick[slot]->traceparent, r.worker_id});
  }
  std::vector<Job*> by_id = pick;  // the events are inserted in job id order
  std::sort(by_id.begin(), by_id.end(),
            [](const Job* a, const Job* b) { return a->rec.id < b->rec.id; });
  for (Job* j : by_id) {
    AddEvent(*j, JobState::kPending, JobState::kAssigned, reason::kAssigned, j->rec.worker_id, now);
  }
  return out;
}

JobFacts FakeJobStore::Facts(const Job& j) const {
  JobFacts f{.id = j.rec.id,
             .status = j.rec.status,
             .worker_id = j.rec.worker_id,
             .attempt = j.rec.attempt,
             .retry_count = j.rec.retry_count,
             .max_retries = j.rec.max_retries,
             .cancel_requested = j.cancel_requested};
  if (auto q = queues_.find(j.rec.queue); q != queues_.end()) {
    f.backoff.base = milliseconds(q->second.backoff_base_ms);
    f.backoff.max = milliseconds(q->second.backoff_max_ms);
  }
  return f;
}

// job_dead_letter (and reap_ttl): the message is kept when none is given.
void FakeJobStore::DeadLetter(Job& j, std::optional<std::string> error_message, TimePoint now) {
  j.rec.status = JobState::kDeadLettered;
  j.rec.completed_at = now;
  j.rec.updated_at = now;
  j.lease_expires_at.reset();
  if (error_message) j.rec.error_message = std::move(*error_message);
}

void FakeJobStore::Apply(Job& j, const Decision& d, const std::string& result, TimePoint now,
                         const std::string& actor) {
  JobRecord& r = j.rec;
  const std::string holder = r.worker_id;  // the events name the worker the row was locked with
  for (const Transition& step : d.steps) {
    if (step.from != r.status || !IsTransitionAllowed(step.from, step.to)) {
      throw std::logic_error(
          "job " + r.id + ": no transition " + std::string(JobStatusName(step.from)) + " -> " +
          std::string(JobStatusName(step.to)) + " from " + std::string(JobStatusName(r.status)));
    }
    switch (step.to) {
      case JobState::kRunning:  // job_set_running: a started job no longer has a TTL
        r.started_at = now;
        j.expires_at.reset();
        break;
      case JobState::kDone:  // job_set_done
        r.result = result;
        r.error_message.clear();
        r.completed_at = now;
        j.lease_expires_at.reset();
        r.started_at = r.started_at.value_or(now);
        break;
      case JobState::kFailed:  // job_set_failed
        r.result = result;
        r.error_message = step.error_message.value_or("");
        j.lease_expires_at.reset();
        if (!r.started_at && step.from == JobState::kRunning) r.started_at = now;
        break;
      case JobState::kPending:
        if (step.reason == reason::kManualRetry) {  // job_manual_retry
          // attempt, started_at, result and error_message are kept.
          r.retry_count = 0;
          r.worker_id.clear();
          r.not_before = now;
          j.expires_at.reset();
          if (r.ttl_seconds > 0) j.expires_at = now + seconds(r.ttl_seconds);
          r.completed_at.reset();
          j.cancel_requested = false;
          j.lease_expires_at.reset();
        } else {  // job_retry_after
          r.retry_count += step.uses_retry ? 1 : 0;
          r.worker_id.clear();
          r.not_before = now + step.delay;
        }
        break;
      case JobState::kDeadLettered: DeadLetter(j, step.error_message, now); break;
      default: throw std::logic_error("job " + r.id + ": claims are not single transitions");
    }
    r.status = step.to;
    r.updated_at = now;
    // An operator's retry is nobody's worker's doing; every other step is the lease holder's.
    AddEvent(j, step.from, step.to, step.reason, step.reason == reason::kManualRetry ? "" : holder,
             now, actor);
  }
  if (d.request_cancel && r.status == JobState::kRunning) {  // job_request_cancel
    j.cancel_requested = true;
    r.updated_at = now;
  }
}

void FakeJobStore::WriteOutput(const Job& j, const std::string& worker_id, const JobOutputRecord& o,
                               TimePoint now) {
  JobOutputRecord row = o;
  row.job_id = j.rec.id;
  row.attempt = j.rec.attempt;
  row.worker_id = worker_id;
  row.recorded_at = now;
  outputs_[{j.rec.id, j.rec.attempt}] = std::move(row);
}

Status FakeJobStore::SetRunningLocked(const LeaseRef& lease, TimePoint now) {
  auto found = LockJob("JobSetRunning", lease.job_id);
  if (!found.ok()) return found.status();
  Job& j = **found;
  const Decision d = DecideStart(Facts(j), Claim(lease));
  if (!d.refusal.ok()) return d.refusal;
  Apply(j, d, {}, now);
  return Status::Ok();
}

// CompleteInTx: decide, record the output, write the outcome; nothing when refused.
Result<JobCompleteResult> FakeJobStore::CompleteLocked(const JobCompleteParams& p, TimePoint now) {
  auto found = LockJob("JobComplete", p.lease.job_id);
  if (!found.ok()) return found.status();
  Job& j = **found;
  const WorkerReport report{.lease = Claim(p.lease),
                            .success = p.success,
                            .reason = p.reason,
                            .error_message = p.error_message};
  const Decision d = DecideReport(Facts(j), report, p.jitter01);
  if (!d.refusal.ok()) return d.refusal;
  JobCompleteResult out;
  out.queue = j.rec.queue;
  // Read before the start below, as job_lock reads it: a retried job that reports without a
  // start still carries its previous attempt's started_at here.
  out.run_seconds = j.rec.started_at ? Seconds(now - *j.rec.started_at) : 0.0;
  if (p.output) WriteOutput(j, j.rec.worker_id, *p.output, now);
  Apply(j, d, p.result, now);
  out.final_status = j.rec.status;
  return out;
}

Status FakeJobStore::JobSetRunning(const LeaseRef& lease) {
  std::lock_guard lock(mu_);
  return SetRunningLocked(lease, Now());
}

Result<JobCompleteResult> FakeJobStore::JobComplete(const JobCompleteParams& p) {
  std::lock_guard lock(mu_);
  return CompleteLocked(p, Now());
}

// PgStore's order, which decides conflicting reports in one batch: starts first (one
// statement for the first start of each job, the rest one by one in job id order), a start
// whose success is in the batch deferred to the end; then the first success of each job in
// one statement; then every other result in job id order. So a failure and a success for
// one lease answer the success. Every id is taken in its canonical form first, so two
// spellings of one id are one job.
Result<JobReportBatchResult> FakeJobStore::JobReportMany(const JobReportBatch& given) {
  JobReportBatch batch = given;
  std::vector<std::string*> ids;
  for (auto& l : batch.started) ids.push_back(&l.job_id);
  for (auto& p : batch.results) ids.push_back(&p.lease.job_id);
  for (std::string* id : ids) {
    auto canonical = CanonicalUuid(*id);
    if (!canonical) return Malformed("JobReportMany");
    *id = std::move(*canonical);
  }
  std::lock_guard lock(mu_);
  const TimePoint now = Now();
  JobReportBatchResult out;
  out.started.assign(batch.started.size(), Status::Ok());
  out.results.assign(batch.results.size(),
                     Result<JobCompleteResult>(Status::Internal("not reported")));
  // The batch statements' WHERE: a current lease (jq::CheckLease).
  auto current = [&](const LeaseRef& l) -> Job* {
    auto it = jobs_.find(l.job_id);
    if (it == jobs_.end() || !CheckLease(Facts(it->second), Claim(l)).ok()) return nullptr;
    return &it->second;
  };
  const auto by_job = [](const auto& items, auto id_of) {
    return [&items, id_of](std::size_t a, std::size_t b) {
      return std::make_pair(id_of(items[a]), a) < std::make_pair(id_of(items[b]), b);
    };
  };
  std::map<std::string, std::pair<int, std::size_t>> succeeding;  // id -> (attempt, index)
  for (std::size_t k = 0; k < batch.results.size(); ++k) {
    const auto& p = batch.results[k];
    if (p.success) succeeding.emplace(p.lease.job_id, std::make_pair(p.lease.attempt, k));
  }
  std::vector<std::size_t> merged, slow_started;
  std::set<std::string> seen, started;
  for (std::size_t i = 0; i < batch.started.size(); ++i) {
    const auto& l = batch.started[i];
    if (auto it = succeeding.find(l.job_id);
        it != succeeding.end() && it->second.first == l.attempt && l.attempt != 0) {
      merged.push_back(i);
      continue;
    }
    if (!seen.insert(l.job_id).second) continue;
    if (Job* j = current(l); j != nullptr && j->rec.status == JobState::kAssigned) {
      Apply(*j, DecideStart(Facts(*j), Claim(l)), {}, now);  // report_started_many's one step
      started.insert(j->rec.id);
    }
  }
  for (std::size_t i = 0; i < batch.started.size(); ++i) {
    if (std::find(merged.begin(), merged.end(), i) != merged.end()) continue;
    if (started.erase(batch.started[i].job_id) == 0) slow_started.push_back(i);
  }
  std::sort(
      slow_started.begin(), slow_started.end(),
      by_job(batch.started, [](const LeaseRef& l) -> const std::string& { return l.job_id; }));
  for (std::size_t i : slow_started) out.started[i] = SetRunningLocked(batch.started[i], now);

  std::vector<std::size_t> fast, slow;
  seen.clear();
  for (std::size_t i = 0; i < batch.results.size(); ++i) {
    const auto& p = batch.results[i];
    (p.success && seen.insert(p.lease.job_id).second ? fast : slow).push_back(i);
  }
  std::map<std::string, JobCompleteResult> done;  // report_done_many's rows, by id
  for (std::size_t i : fast) {
    Job* j = current(batch.results[i].lease);
    if (j == nullptr) continue;
    JobRecord& r = j->rec;
    const JobState from = r.status;
    done[r.id] = {JobState::kDone, r.queue, r.started_at ? Seconds(now - *r.started_at) : 0.0};
    r.status = JobState::kDone;
    r.result = batch.results[i].result;
    r.error_message.clear();
    r.completed_at = r.updated_at = now;
    r.started_at = r.started_at.value_or(now);  // unlike JobComplete: a retry's stays
    j->lease_expires_at.reset();
    j->expires_at.reset();
    if (from == JobState::kAssigned) {
      AddEvent(*j, JobState::kAssigned, JobState::kRunning, reason::kStarted, r.worker_id, now);
    }
    AddEvent(*j, JobState::kRunning, JobState::kDone, reason::kSuccess, r.worker_id, now);
  }
  for (std::size_t i : fast) {
    const auto& p = batch.results[i];
    auto it = done.find(p.lease.job_id);
    if (it == done.end()) {
      slow.push_back(i);
      continue;
    }
    out.results[i] = it->second;
    if (p.output) WriteOutput(jobs_.at(it->first), p.lease.worker_id, *p.output, now);
  }
  std::sort(slow.begin(), slow.end(),
            by_job(batch.results, [](const JobCompleteParams& p) -> const std::string& {
              return p.lease.job_id;
            }));
  for (std::size_t i : slow) out.results[i] = CompleteLocked(batch.results[i], now);
  for (std::size_t i : merged) {
    const auto& l = batch.started[i];
    const bool taken = out.results[succeeding.at(l.job_id).second].ok();
    out.started[i] = taken ? Status::Ok() : SetRunningLocked(l, now);
  }
  return out;
}

Status FakeJobStore::JobReleaseUndelivered(const LeaseRef& lease) {
  std::lock_guard lock(mu_);
  auto found = LockJob("JobReleaseUndelivered", lease.job_id);
  if (!found.ok()) return found.status();
  Job& j = **found;
  const Decision d = DecideUndelivered(Facts(j), Claim(lease));
  if (!d.refusal.ok()) return d.refusal;
  Apply(j, d, {}, Now());
  return Status::Ok();
}

Result<std::map<std::string, std::int64_t>> FakeJobStore::TenantInFlight() {
  std::lock_guard lock(mu_);
  std::map<std::string, std::int64_t> out;
  for (const auto& [id, j] : jobs_) {
    if (Leased(j.rec.status)) ++out[j.rec.tenant];
  }
  return out;
}

Result<std::vector<LeaseRef>> FakeJobStore::JobListHeldBy(const std::string& worker_id) {
  std::lock_guard lock(mu_);
  std::vector<LeaseRef> out;
  for (const auto& [id, j] : jobs_) {
    if (j.rec.worker_id == worker_id && Leased(j.rec.status)) {
      out.push_back({id, worker_id, j.rec.attempt});
    }
  }
  return out;
}

// lease_renew_many: the listed leases still held (exact attempt, not cancelled), by id;
// only those past half their time are rewritten.
std::set<std::string> FakeJobStore::RenewHeld(const std::vector<HeldLease>& leases, seconds lease,
                                              TimePoint now) {
  std::set<std::string> held;
  for (const auto& l : leases) {
    auto it = jobs_.find(*CanonicalUuid(l.job_id));
    if (it == jobs_.end()) continue;
    const Job& j = it->second;
    if (j.rec.attempt == l.attempt && j.rec.worker_id == l.worker_id && Leased(j.rec.status) &&
        !j.cancel_requested) {
      held.insert(j.rec.id);
    }
  }
  for (const auto& id : held) {
    Job& j = jobs_.at(id);
    if (j.lease_expires_at && *j.lease_expires_at < now + milliseconds(lease.count() * 500)) {
      j.lease_expires_at = now + lease;
    }
  }
  return held;
}

// lease_renew_all_many: every lease the workers hold, cancelled or not.
void FakeJobStore::RenewAll(const std::set<std::string>& worker_ids, seconds lease, TimePoint now) {
  for (auto& [id, j] : jobs_) {
    if (worker_ids.contains(j.rec.worker_id) && Leased(j.rec.status) && j.lease_expires_at &&
        *j.lease_expires_at < now + milliseconds(lease.count() * 500)) {
      j.lease_expires_at = now + lease;
    }
  }
}

Result<std::vector<std::string>> FakeJobStore::JobLeaseRenew(const std::string& worker_id,
                                                             const std::vector<LeaseRef>& running,
                                                             seconds lease, bool renew_all) {
  std::lock_guard lock(mu_);
  if (!reachable_) return Status::Unavailable("fake store unreachable");
  const TimePoint now = Now();
  if (renew_all) {
    RenewAll({worker_id}, lease, now);
    return std::vector<std::string>{};
  }
  std::vector<HeldLease> leases;
  for (const auto& l : running) {
    if (!CanonicalUuid(l.job_id)) return Malformed("JobLeaseRenew");
    leases.push_back({l.job_id, l.attempt, worker_id});
  }
  const auto held = RenewHeld(leases, lease, now);
  std::vector<std::string> lost;
  for (const auto& l : running) {
    if (!held.contains(*CanonicalUuid(l.job_id))) lost.push_back(l.job_id);  // named as given
  }
  return lost;
}

Result<JobRecord> FakeJobStore::JobCancel(const std::string& id, const std::string& tenant,
                                          const std::string& actor) {
  std::lock_guard lock(mu_);
  auto found = LockJob("JobCancel", id);
  if (!found.ok()) return found.status();
  Job& j = **found;
  if (!tenant.empty() && j.rec.tenant != tenant) return Status::NotFound(JobNotFound(id));
  bool takes_control = true;
  if (j.rec.status == JobState::kRunning) {
    auto w = workers_.find(j.rec.worker_id);
    takes_control = w == workers_.end() || w->second.supports_control;
  }
  const Decision d = DecideCancel(Facts(j), takes_control);
  if (!d.refusal.ok()) return d.refusal;
  Apply(j, d, {}, Now(), actor);
  return j.rec;
}

Result<JobRecord> FakeJobStore::JobRetry(const std::string& id, const std::string& tenant,
                                         const std::string& actor) {
  std::lock_guard lock(mu_);
  auto found = LockJob("JobRetry", id);
  if (!found.ok()) return found.status();
  Job& j = **found;
  if (!tenant.empty() && j.rec.tenant != tenant) return Status::NotFound(JobNotFound(id));
  const Decision d = DecideManualRetry(Facts(j));
  if (!d.refusal.ok()) return d.refusal;
  if (!queues_.contains(j.rec.queue)) {
    return Status::FailedPrecondition("job " + id + " belongs to queue '" + j.rec.queue +
                                      "', which no longer exists");
  }
  Apply(j, d, {}, Now(), actor);
  return j.rec;
}

// PgStore's passes in its order: silent workers (and their jobs), expired leases (at most
// 1000), then TTLs (at most 1000), so a job can lose its lease and then its TTL in one call.
Result<ReapResult> FakeJobStore::Reap(seconds worker_timeout, double jitter01) {
  std::lock_guard lock(mu_);
  if (!reachable_) return Status::Unavailable("fake store unreachable");
  const TimePoint now = Now();
  ReapResult out;
  std::vector<std::string> offline;
  for (auto& [id, w] : workers_) {
    if ((w.status == WorkerState::kOnline || w.status == WorkerState::kDraining) &&
        w.last_heartbeat < now - worker_timeout) {
      w.status = WorkerState::kOffline;
      offline.push_back(id);
    }
  }
  out.workers_offline = static_cast<int>(offline.size());
  // Fails a selected ASSIGNED/RUNNING job with `why`, then retries or dead-letters it.
  auto reclaim = [&](Job& j, std::string_view why, std::string_view message) {
    const Decision d = DecideFailure(Facts(j), why, message, jitter01);
    if (!d.refusal.ok()) return false;
    Apply(j, d, {}, now);
    return true;
  };
  for (const auto& w : offline) {
    for (auto& [id, j] : jobs_) {  // reap_worker_jobs: in id order
      if (j.rec.worker_id == w && Leased(j.rec.status) &&
          reclaim(j, reason::kWorkerLost, "worker lost")) {
        ++out.worker_jobs_reclaimed;
      }
    }
  }
  auto oldest_first = [](std::vector<std::pair<TimePoint, Job*>>& v) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      return std::tie(a.first, a.second->rec.id) < std::tie(b.first, b.second->rec.id);
    });
    if (v.size() > 1000) v.resize(1000);
  };
  std::vector<std::pair<TimePoint, Job*>> expired;
  for (auto& [id, j] : jobs_) {
    if (Leased(j.rec.status) && j.lease_expires_at && *j.lease_expires_at < now) {
      expired.emplace_back(*j.lease_expires_at, &j);
    }
  }
  oldest_first(expired);
  for (auto& [at, j] : expired) {
    if (!reclaim(*j, reason::kLeaseExpired, "lease expired")) continue;
    ++out.lease_expired_by_queue[j->rec.queue];
    ++out.lease_expired;
  }
  std::vector<std::pair<TimePoint, Job*>> ttl;
  for (auto& [id, j] : jobs_) {
    if ((j.rec.status == JobState::kPending || j.rec.status == JobState::kAssigned) &&
        j.expires_at && *j.expires_at < now) {
      ttl.emplace_back(*j.expires_at, &j);
    }
  }
  oldest_first(ttl);
  for (auto& [at, j] : ttl) {
    const JobState from = j->rec.status;
    DeadLetter(*j, "not started within its TTL", now);
    AddEvent(*j, from, JobState::kDeadLettered, reason::kTtlExpired, j->rec.worker_id, now);
    ++out.ttl_expired;
  }
  return out;
}

Result<int> FakeJobStore::RenewAllAfterOutage(seconds lease) {
  std::lock_guard lock(mu_);
  if (!reachable_) return Status::Unavailable("fake store unreachable");
  const TimePoint now = Now();
  int n = 0;
  for (auto& [id, j] : jobs_) {
    if (Leased(j.rec.status) && j.lease_expires_at && *j.lease_expires_at < now + lease) {
      j.lease_expires_at = now + lease;
      ++n;
    }
  }
  for (auto& [id, w] : workers_) {
    if ((w.status == WorkerState::kOnline || w.status == WorkerState::kDraining) &&
        w.last_heartbeat < now) {
      w.last_heartbeat = now;
    }
  }
  return n;
}

// retention.cpp's one statement: the oldest candidates after the keyset, then the ones whose
// events are all published go, with their outputs, events and idempotency key. No other
// replica exists here, so a batch is never busy.
Result<JobDeleteFinishedResult> FakeJobStore::JobDeleteFinished(const JobDeleteFinishedParams& p) {
  if (!IsTerminal(p.status)) {
    return Status::InvalidArgument("retention deletes only DONE or DEAD_LETTERED jobs, not " +
                                   std::string(JobStatusName(p.status)));
  }
  if (p.older_than.count() < 0) return Status::InvalidArgument("retention age is negative");
  if (p.limit < 1) return Status::InvalidArgument("retention batch size must be at least 1");
  std::lock_guard lock(mu_);
  const TimePoint cutoff = Now() - p.older_than;
  const auto key = [](const Job& j) { return std::make_tuple(*j.rec.completed_at, j.rec.id); };
  std::vector<const Job*> cand;
  for (const auto& [id, j] : jobs_) {
    if (j.rec.status != p.status || !j.rec.completed_at || *j.rec.completed_at >= cutoff) continue;
    if (p.after_completed_at && key(j) <= std::make_tuple(*p.after_completed_at, p.after_id)) {
      continue;
    }
    cand.push_back(&j);
  }
  std::sort(cand.begin(), cand.end(),
            [&](const Job* a, const Job* b) { return key(*a) < key(*b); });
  if (cand.size() > static_cast<std::size_t>(p.limit)) cand.resize(p.limit);
  JobDeleteFinishedResult out;
  out.examined = static_cast<int>(cand.size());
  if (!cand.empty()) {
    out.last_completed_at = cand.back()->rec.completed_at;
    out.last_id = cand.back()->rec.id;
  }
  std::vector<std::string> gone;
  for (const Job* j : cand) {
    const auto ev = events_.find(j->rec.id);
    const bool unpublished =
        p.keep_unpublished && ev != events_.end() &&
        std::any_of(ev->second.begin(), ev->second.end(),
                    [&](const JobEventRecord& e) { return e.id > outbox_cursor_; });
    if (!unpublished) gone.push_back(j->rec.id);
  }
  for (const std::string& id : gone) {
    const Job& j = jobs_.at(id);
    if (!j.rec.idempotency_key.empty()) idem_.erase({j.rec.tenant, j.rec.idempotency_key});
    if (auto ev = events_.find(id); ev != events_.end()) {
      out.events += static_cast<int>(ev->second.size());
      events_.erase(ev);
    }
    auto first = outputs_.lower_bound({id, std::numeric_limits<int>::min()});
    auto last = first;
    while (last != outputs_.end() && last->first.first == id) ++last;
    out.outputs += static_cast<int>(std::distance(first, last));
    outputs_.erase(first, last);
    jobs_.erase(id);
    ++out.jobs;
  }
  out.held_back = out.examined - out.jobs;
  return out;
}

void FakeJobStore::SetOutboxCursor(std::int64_t last_event_id) {
  std::lock_guard lock(mu_);
  outbox_cursor_ = last_event_id;
}

void FakeJobStore::SetReachable(bool reachable) {
  std::lock_guard lock(mu_);
  reachable_ = reachable;
}

// ---------------------------------------------------------------------------- workers

Status FakeJobStore::WorkerUpsert(const WorkerUpsertParams& p) {
  std::lock_guard lock(mu_);
  if (!p.supports_control) {  // a seed worker's registration ends its earlier run's leases
    const TimePoint now = Now();
    for (auto& [job_id, j] : jobs_) {
      if (j.rec.worker_id != p.id || !Leased(j.rec.status)) continue;
      const Decision d = DecideFailure(Facts(j), reason::kWorkerLost,
                                       "worker registered again: its earlier run ended", 0);
      if (d.refusal.ok()) Apply(j, d, {}, now);
    }
  }
  auto [it, inserted] = workers_.try_emplace(p.id);
  WorkerRecord& w = it->second;
  w.id = p.id;
  w.hostname = p.hostname;
  // A drain outlives a reconnect or a restart; a shutdown lapses if the worker was OFFLINE.
  if (!inserted && w.status == WorkerState::kOffline) w.shutdown = ShutdownRequest::kNone;
  w.status = LiveStatus(w);
  w.concurrency = p.concurrency;
  w.queues = p.queues;
  w.server_id = p.server_id;
  w.supports_control = p.supports_control;
  w.last_heartbeat = Now();
  return Status::Ok();
}

Status FakeJobStore::WorkerHeartbeat(const std::string& id, int active_job_count) {
  std::lock_guard lock(mu_);
  if (!reachable_) return Status::Unavailable("fake store unreachable");
  auto it = workers_.find(id);
  if (it == workers_.end()) return Status::NotFound("worker " + id + " is not registered");
  it->second.last_heartbeat = Now();
  it->second.active_job_count = active_job_count;
  if (it->second.status == WorkerState::kOffline) it->second.status = LiveStatus(it->second);
  return Status::Ok();
}

// The leases of every beat are checked together, so a job is "still held" for each beat
// that names it when any worker in the batch holds it (PgStore keeps one set of ids).
Result<std::vector<Result<std::vector<std::string>>>> FakeJobStore::WorkerHeartbeatMany(
    const std::vector<WorkerHeartbeatParams>& beats, seconds lease) {
  using Out = std::vector<Result<std::vector<std::string>>>;
  if (beats.empty()) return Out{};
  std::lock_guard lock(mu_);
  if (!reachable_) return Status::Unavailable("fake store unreachable");
  const TimePoint now = Now();
  std::vector<HeldLease> leases;
  std::set<std::string> seed_workers;
  for (const auto& b : beats) {
    if (!workers_.contains(b.worker_id)) continue;
    if (b.renew_all) seed_workers.insert(b.worker_id);
    for (const auto& l : b.running) {
      if (!CanonicalUuid(l.job_id)) return Malformed("WorkerHeartbeatMany");
      leases.push_back({l.job_id, l.attempt, b.worker_id});
    }
  }
  for (const auto& b : beats) {  // a worker beating twice in one batch: the last one wins
    auto it = workers_.find(b.worker_id);
    if (it == workers_.end()) continue;
    it->second.last_heartbeat = now;
    it->second.active_job_count = b.active_job_count;
    if (it->second.status == WorkerState::kOffline) it->second.status = LiveStatus(it->second);
  }
  const auto held = RenewHeld(leases, lease, now);
  if (!seed_workers.empty()) RenewAll(seed_workers, lease, now);
  Out out;
  for (const auto& b : beats) {
    if (!workers_.contains(b.worker_id)) {
      out.emplace_back(Status::NotFound("worker " + b.worker_id + " is not registered"));
      continue;
    }
    std::vector<std::string> lost;
    for (const auto& l : b.running) {
      if (!held.contains(*CanonicalUuid(l.job_id))) lost.push_back(l.job_id);  // as given
    }
    out.emplace_back(std::move(lost));
  }
  return out;
}

Status FakeJobStore::WorkerSetStatus(const std::string& id, WorkerState status) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return Status::NotFound("worker " + id + " not found");
  it->second.status = status;
  return Status::Ok();
}

Status FakeJobStore::WorkerSetDrained(const std::string& id, bool drained) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return Status::NotFound("worker " + id + " not found");
  it->second.drained = drained;
  if (it->second.status != WorkerState::kOffline) it->second.status = LiveStatus(it->second);
  return Status::Ok();
}

Status FakeJobStore::WorkerRequestShutdown(const std::string& id, bool now) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return Status::NotFound("worker " + id + " not found");
  WorkerRecord& w = it->second;
  if (w.status == WorkerState::kOffline)
    return Status::FailedPrecondition("worker " + id + " is OFFLINE");
  w.shutdown = std::max(w.shutdown, now ? ShutdownRequest::kNow : ShutdownRequest::kGraceful);
  w.status = WorkerState::kDraining;
  return Status::Ok();
}

Result<WorkerRecord> FakeJobStore::WorkerGet(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return Status::NotFound("worker " + id + " not found");
  return it->second;
}

Result<std::vector<WorkerRecord>> FakeJobStore::WorkerList() {
  std::lock_guard lock(mu_);
  std::vector<WorkerRecord> out;
  for (const auto& [id, w] : workers_) out.push_back(w);
  return out;
}

Status FakeJobStore::WorkerDeregister(const std::string& id, double jitter01) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return Status::NotFound("worker " + id + " not found");
  it->second.status = WorkerState::kOffline;
  it->second.active_job_count = 0;
  const bool shut_down = it->second.shutdown != ShutdownRequest::kNone;
  it->second.shutdown = ShutdownRequest::kNone;
  const TimePoint now = Now();
  for (auto& [job_id, j] : jobs_) {  // worker_jobs_lock: in id order
    if (j.rec.worker_id != id || !Leased(j.rec.status)) continue;
    const Decision d = DecideDeregistered(Facts(j), shut_down, jitter01);
    if (d.refusal.ok()) Apply(j, d, {}, now);
  }
  return Status::Ok();
}

Result<int> FakeJobStore::WorkerPrune(seconds offline_for) {
  std::lock_guard lock(mu_);
  const TimePoint cutoff = Now() - offline_for;
  int n = 0;
  for (auto it = workers_.begin(); it != workers_.end();) {
    const bool holds = std::any_of(jobs_.begin(), jobs_.end(), [&](const auto& kv) {
      return kv.second.rec.worker_id == it->first && Leased(kv.second.rec.status);
    });
    if (it->second.status == WorkerState::kOffline && !it->second.drained &&
        it->second.last_heartbeat < cutoff && !holds) {
      it = workers_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

Status FakeJobStore::Notify(const std::string& /*channel*/, const std::string& /*payload*/) {
  return Status::Ok();
}

Status FakeJobStore::Ping() {
  std::lock_guard lock(mu_);
  if (!reachable_) return Status::Unavailable("fake store unreachable");
  return Status::Ok();
}

}  // namespace jq::testing
