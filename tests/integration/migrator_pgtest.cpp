#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "store/migrator.h"
#include "store/pg_store.h"
#include "support/test_servers.h"

namespace jq::testing {
namespace {

TEST(MigratorTest, AppliesOnceAndIsIdempotent) {
  const std::string db = TestServers::Get().CreateDatabase();
  auto before = store::CurrentSchemaVersion(db);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(*before, 0);
  auto first = store::Migrate(db);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->applied.size(), store::EmbeddedMigrations().size());
  EXPECT_EQ(first->current_version, store::EmbeddedMigrations().back().version);
  auto second = store::Migrate(db);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->applied.empty());
  EXPECT_EQ(second->current_version, first->current_version);

  pqxx::connection c(db);
  pqxx::work tx(c);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM queues WHERE name = 'default'")[0].as<int>(), 1);
}

TEST(MigratorTest, ConcurrentStartsApplyEachMigrationOnce) {
  const std::string db = TestServers::Get().CreateDatabase();
  constexpr int kServers = 6;
  std::vector<Result<store::MigrateResult>> results(kServers, Status::Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kServers; ++i) {
    threads.emplace_back([&, i] { results[i] = store::Migrate(db); });
  }
  for (auto& t : threads) t.join();
  std::size_t applied = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    applied += r->applied.size();
  }
  EXPECT_EQ(applied, store::EmbeddedMigrations().size());
}

TEST(MigratorTest, UnreachableDatabaseIsUnavailable) {
  auto r = store::Migrate("host=127.0.0.1 port=1 user=postgres dbname=x connect_timeout=2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

// --- The schema version check behind /readyz ------------------------------------------------

pqxx::result Exec(const std::string& db, const std::string& sql) {
  pqxx::connection c(db);
  pqxx::work tx(c);
  auto r = tx.exec(sql);
  tx.commit();
  return r;
}

Status Readiness(const std::string& db) {
  auto state = store::InspectSchema(db);
  if (!state.ok()) return state.status();
  return store::CheckSchemaVersion(*state);
}

TEST(SchemaCheckTest, MigratedDatabaseIsExactlyTheRequiredVersion) {
  const std::string db = TestServers::Get().CreateDatabase();
  EXPECT_FALSE(Readiness(db).ok());  // empty: nothing to serve yet
  ASSERT_TRUE(store::Migrate(db).ok());
  EXPECT_TRUE(Readiness(db).ok()) << Readiness(db).message();
  EXPECT_EQ(store::RequiredSchemaVersion(), store::EmbeddedMigrations().back().version);
}

TEST(SchemaCheckTest, DatabaseAheadOfTheBinaryFailsReadiness) {
  const std::string db = TestServers::Get().CreateDatabase();
  ASSERT_TRUE(store::Migrate(db).ok());
  const int ahead = store::RequiredSchemaVersion() + 1;
  Exec(db, "INSERT INTO schema_migrations (version, name) VALUES (" + std::to_string(ahead) +
               ", 'from_a_newer_build')");
  const Status s = Readiness(db);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("schema version " + std::to_string(ahead) + " is newer"),
            std::string::npos)
      << s.message();
  // Starting does not roll it back or refuse: an older replica keeps running, not ready.
  auto m = store::Migrate(db);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->current_version, ahead);
}

TEST(SchemaCheckTest, DatabaseBehindTheBinaryFailsReadinessUntilMigrated) {
  const std::string db = TestServers::Get().CreateDatabase();
  ASSERT_TRUE(store::Migrate(db).ok());
  const int last = store::RequiredSchemaVersion();
  Exec(db, "DELETE FROM schema_migrations WHERE version = " + std::to_string(last));
  const Status s = Readiness(db);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("behind"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("missing " + std::to_string(last)), std::string::npos) << s.message();
}

TEST(SchemaCheckTest, ForeignHistoryIsNamedAndRefused) {
  const std::string db = TestServers::Get().CreateDatabase();
  Exec(db, "CREATE TABLE schema_migrations (id text PRIMARY KEY, checksum text)");
  auto state = store::InspectSchema(db);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->history, store::SchemaHistory::kForeign);
  EXPECT_NE(Readiness(db).message().find("(id, checksum)"), std::string::npos)
      << Readiness(db).message();
  auto m = store::Migrate(db);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Exec(db, "SELECT to_regclass('jobs') IS NULL")[0][0].as<bool>(), true);
}

// --- A seed system's database ----------------------------------------------------------------

std::string ReadSource(const std::string& relative) {
  std::ifstream f(SourcePath(relative));
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A database as the seed system's migrator leaves it (V1-V5).
std::string SeedDatabase() {
  const std::string db = TestServers::Get().CreateDatabase();
  const std::string ddl = ReadSource("tests/integration/data/seed_schema_v1_v5.sql");
  EXPECT_FALSE(ddl.empty());
  Exec(db, ddl);
  return db;
}

constexpr const char* kWorker = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr const char* kPending = "10000000-0000-4000-8000-000000000001";
constexpr const char* kRetried = "10000000-0000-4000-8000-000000000002";
constexpr const char* kRunning = "10000000-0000-4000-8000-000000000003";
constexpr const char* kDone = "10000000-0000-4000-8000-000000000004";
constexpr const char* kDeadLettered = "10000000-0000-4000-8000-000000000005";
constexpr const char* kFailed = "10000000-0000-4000-8000-000000000006";
constexpr const char* kAssigned = "10000000-0000-4000-8000-000000000007";
constexpr const char* kCancelled = "10000000-0000-4000-8000-000000000008";

// Rows written the way the seed writes them: a job row and one job_events row per transition,
// with the seed's reasons (its scheduler assigns without a worker id; the worker's id appears
// from STARTED on), the events one second apart from the job's creation.
void FillSeed(const std::string& db) {
  Exec(db, R"sql(
INSERT INTO queues (name, max_retries, ttl_seconds, created_at)
VALUES ('emails', 5, 3600, '2026-01-02 03:04:05.123456+00');
INSERT INTO workers (worker_id, hostname, status, concurrency, last_heartbeat, registered_at)
VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'seed-host-1', 'ONLINE', 8,
        now() - interval '1 hour', '2026-01-01 00:00:00+00');

INSERT INTO jobs (job_id, queue_name, payload, status, priority, max_retries, retry_count,
                  worker_id, result, error_message, not_before, created_at, started_at,
                  completed_at, updated_at)
SELECT id, queue, convert_to('{"command":["echo","' || id || '"]}', 'UTF8'),
       status::job_status, priority, max_retries, retry_count,
       CASE WHEN by_worker THEN 'aaaaaaaa-0000-4000-8000-000000000001'::uuid END,
       result, error, not_before, created,
       CASE WHEN started THEN created + interval '2.5 seconds' END,
       CASE WHEN completed THEN created + interval '7 seconds' END,
       created + interval '8 seconds'
FROM (VALUES
  -- id, queue, status, priority, max_retries, retry_count, by_worker, result, error,
  -- not_before, created, started, completed
  ('10000000-0000-4000-8000-000000000001'::uuid, 'default', 'PENDING', 5, 3, 0, false,
   NULL::bytea, NULL, NULL::timestamptz, '2026-01-03 10:00:00.000001+00'::timestamptz,
   false, false),
  ('10000000-0000-4000-8000-000000000002', 'emails', 'PENDING', 2, 5, 1, true,
   '', 'exit status 1', '2030-01-01 00:00:00+00', now() - interval '10 minutes', true, false),
  ('10000000-0000-4000-8000-000000000003', 'default', 'RUNNING', 0, 3, 0, true,
   NULL, NULL, NULL, '2026-01-03 11:00:00+00', true, false),
  ('10000000-0000-4000-8000-000000000004', 'default', 'DONE', 0, 3, 0, true,
   convert_to(E'hello\n', 'UTF8'), '', NULL, '2026-01-03 12:00:00+00', true, true),
  ('10000000-0000-4000-8000-000000000005', 'default', 'DEAD_LETTERED', 0, 0, 0, true,
   '', 'boom', NULL, '2026-01-03 13:00:00+00', true, true),
  ('10000000-0000-4000-8000-000000000006', 'default', 'FAILED', 0, 3, 0, true,
   '', 'killed', NULL, '2026-01-03 14:00:00+00', true, true),
  ('10000000-0000-4000-8000-000000000007', 'default', 'ASSIGNED', 0, 3, 0, false,
   NULL, NULL, NULL, '2026-01-03 15:00:00+00', false, false),
  ('10000000-0000-4000-8000-000000000008', 'emails', 'DEAD_LETTERED', 0, 5, 0, false,
   NULL, NULL, NULL, '2026-01-03 16:00:00+00', false, true)
) AS v(id, queue, status, priority, max_retries, retry_count, by_worker, result, error,
       not_before, created, started, completed);

INSERT INTO job_events (job_id, from_status, to_status, reason, worker_id, occurred_at)
SELECT e.job_id, e.from_status::job_status, e.to_status::job_status, e.reason,
       CASE WHEN e.by_worker THEN j.worker_id END, j.created_at + e.n * interval '1 second'
FROM (VALUES
  ('10000000-0000-4000-8000-000000000001'::uuid, 0, NULL, 'PENDING', 'SUBMITTED', false),
  ('10000000-0000-4000-8000-000000000002', 0, NULL, 'PENDING', 'SUBMITTED', false),
  ('10000000-0000-4000-8000-000000000002', 1, 'PENDING', 'ASSIGNED', 'ASSIGNED', false),
  ('10000000-0000-4000-8000-000000000002', 2, 'ASSIGNED', 'RUNNING', 'STARTED', true),
  ('10000000-0000-4000-8000-000000000002', 3, 'RUNNING', 'FAILED', 'FAILURE', true),
  ('10000000-0000-4000-8000-000000000002', 4, 'FAILED', 'PENDING', 'RETRY', false),
  ('10000000-0000-4000-8000-000000000003', 0, NULL, 'PENDING', 'SUBMITTED', false),
  ('10000000-0000-4000-8000-000000000003', 1, 'PENDING', 'ASSIGNED', 'ASSIGNED', false),
  ('10000000-0000-4000-8000-000000000003', 2, 'ASSIGNED', 'RUNNING', 'STARTED', true),
  ('10000000-0000-4000-8000-000000000004', 0, NULL, 'PENDING', 'SUBMITTED', false),
  ('10000000-0000-4000-8000-000000000004', 1, 'PENDING', 'ASSIGNED', 'ASSIGNED', false),
  ('10000000-0000-4000-8000-000000000004', 2, 'ASSIGNED', 'RUNNING', 'STARTED', true),
  ('10000000-0000-4000-8000-000000000004', 3, 'RUNNING', 'DONE', 'SUCCESS', true),
  ('10000000-0000-4000-8000-000000000005', 0, NULL, 'PENDING', 'SUBMITTED', false),
  ('10000000-0000-4000-8000-000000000005', 1, 'PENDING', 'ASSIGNED', 'ASSIGNED', false),
  ('10000000-0000-4000-8000-000000000005', 2, 'ASSIGNED', 'RUNNING', 'STARTED', true),
  ('10000000-0000-4000-8000-000000000005', 3, 'RUNNING', 'FAILED', 'FAILURE', true),
  ('10000000-0000-4000-8000-000000000005', 4, 'FAILED', 'DEAD_LETTERED',
   'MAX_RETRIES_EXCEEDED', false),
  ('10000000-0000-4000-8000-000000000006', 0, NULL, 'PENDING', 'SUBMITTED', false),
  ('10000000-0000-4000-8000-000000000006', 1, 'PENDING', 'ASSIGNED', 'ASSIGNED', false),
  ('10000000-0000-4000-8000-000000000006', 2, 'ASSIGNED', 'RUNNING', 'STARTED', true),
  ('10000000-0000-4000-8000-000000000006', 3, 'RUNNING', 'FAILED', 'FAILURE', true),
  ('10000000-0000-4000-8000-000000000007', 0, NULL, 'PENDING', 'SUBMITTED', false),
  ('10000000-0000-4000-8000-000000000007', 1, 'PENDING', 'ASSIGNED', 'ASSIGNED', false),
  ('10000000-0000-4000-8000-000000000008', 0, NULL, 'PENDING', 'SUBMITTED', false),
  ('10000000-0000-4000-8000-000000000008', 1, 'PENDING', 'DEAD_LETTERED', 'CANCELLED', false)
) AS e(job_id, n, from_status, to_status, reason, by_worker)
JOIN jobs j ON j.job_id = e.job_id
ORDER BY e.job_id, e.n;
)sql");
}

std::int64_t Us(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// The seed's timestamps, in microseconds, before the conversion touches them.
std::map<std::string, std::int64_t> SeedTimes(const std::string& db, const std::string& id) {
  auto r = Exec(db,
                "SELECT floor(extract(epoch FROM created_at) * 1000000)::bigint,"
                " floor(extract(epoch FROM started_at) * 1000000)::bigint,"
                " floor(extract(epoch FROM completed_at) * 1000000)::bigint,"
                " floor(extract(epoch FROM coalesce(not_before, created_at)) * 1000000)::bigint"
                " FROM jobs WHERE job_id = '" +
                    id + "'");
  std::map<std::string, std::int64_t> out;
  out["created"] = r[0][0].as<std::int64_t>();
  if (!r[0][1].is_null()) out["started"] = r[0][1].as<std::int64_t>();
  if (!r[0][2].is_null()) out["completed"] = r[0][2].as<std::int64_t>();
  out["not_before"] = r[0][3].as<std::int64_t>();
  return out;
}

std::string SeedFingerprint(const std::string& db) {
  auto r = Exec(db,
                "SELECT (SELECT string_agg(version || ':' || description, ',' ORDER BY version)"
                "  FROM schema_migrations) || '|' ||"
                " (SELECT count(*) FROM jobs) || '|' || (SELECT count(*) FROM job_events) || '|' ||"
                " (SELECT count(*) FROM queues) || '|' || (SELECT count(*) FROM workers) || '|' ||"
                " (SELECT string_agg(job_id || status::text, ',' ORDER BY job_id) FROM jobs)");
  return r[0][0].as<std::string>();
}

TEST(SeedDatabaseTest, StartWithoutFromSeedRefusesAndSaysWhatToDo) {
  const std::string db = SeedDatabase();
  FillSeed(db);
  const std::string before = SeedFingerprint(db);

  auto state = store::InspectSchema(db);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->history, store::SchemaHistory::kSeed);
  EXPECT_EQ(state->versions, (std::vector<int>{1, 2, 3, 4, 5}));

  auto m = store::Migrate(db);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("jq-server migrate --from-seed"), std::string::npos)
      << m.status().message();
  EXPECT_NE(m.status().message().find("seed system"), std::string::npos);
  // /readyz's check says the same, and --dry-run's reading of the version refuses too.
  EXPECT_NE(Readiness(db).message().find("jq-server migrate --from-seed"), std::string::npos);
  EXPECT_FALSE(store::CurrentSchemaVersion(db).ok());
  // Nothing changed: the seed still runs on it.
  EXPECT_EQ(SeedFingerprint(db), before);
  EXPECT_TRUE(Exec(db, "SELECT to_regclass('outbox_cursors') IS NULL")[0][0].as<bool>());
}

TEST(SeedDatabaseTest, FromSeedConvertsQueuesJobsAndEventsInPlace) {
  const std::string db = SeedDatabase();
  FillSeed(db);
  std::map<std::string, std::map<std::string, std::int64_t>> times;
  for (const char* id :
       {kPending, kRetried, kRunning, kDone, kDeadLettered, kFailed, kAssigned, kCancelled}) {
    times[id] = SeedTimes(db, id);
  }
  const auto max_event = Exec(db, "SELECT max(id) FROM job_events")[0][0].as<std::int64_t>();

  auto m = store::Migrate(db, {.from_seed = true});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->converted_from_seed);
  EXPECT_EQ(m->current_version, store::RequiredSchemaVersion());
  EXPECT_EQ(m->seed.jobs, 8);
  EXPECT_EQ(m->seed.queues, 2);
  EXPECT_EQ(m->seed.workers, 1);
  EXPECT_EQ(m->seed.events, max_event);
  EXPECT_TRUE(Readiness(db).ok()) << Readiness(db).message();
  // The seed's tables and types are gone, not left beside jq's.
  EXPECT_TRUE(Exec(db,
                   "SELECT to_regnamespace('jq_seed_import') IS NULL"
                   " AND to_regtype('job_status') IS NULL")[0][0]
                  .as<bool>());

  store::PgStore store({db, 4});
  auto get = [&](const char* id) {
    auto j = store.JobGet(id, "");
    EXPECT_TRUE(j.ok()) << id << ": " << j.status().ToString();
    return j.ok() ? *j : JobRecord{};
  };
  auto expect_times = [&](const JobRecord& j) {
    const auto& t = times[j.id];
    EXPECT_EQ(Us(j.created_at), t.at("created")) << j.id;
    EXPECT_EQ(Us(j.not_before), t.at("not_before")) << j.id;
    EXPECT_EQ(j.started_at.has_value(), t.contains("started")) << j.id;
    if (j.started_at) {
      EXPECT_EQ(Us(*j.started_at), t.at("started")) << j.id;
    }
    EXPECT_EQ(j.completed_at.has_value(), t.contains("completed")) << j.id;
    if (j.completed_at) {
      EXPECT_EQ(Us(*j.completed_at), t.at("completed")) << j.id;
    }
  };

  const JobRecord pending = get(kPending);
  EXPECT_EQ(pending.status, JobState::kPending);
  EXPECT_EQ(pending.queue, "default");
  EXPECT_EQ(pending.tenant, "default");
  EXPECT_EQ(pending.priority, 5);
  EXPECT_EQ(pending.max_retries, 3);
  EXPECT_EQ(pending.attempt, 0);
  EXPECT_EQ(pending.payload, std::string("{\"command\":[\"echo\",\"") + kPending + "\"]}");
  expect_times(pending);

  const JobRecord retried = get(kRetried);
  EXPECT_EQ(retried.status, JobState::kPending);
  EXPECT_EQ(retried.queue, "emails");
  EXPECT_EQ(retried.retry_count, 1);
  EXPECT_EQ(retried.max_retries, 5);
  EXPECT_EQ(retried.attempt, 1);
  EXPECT_EQ(retried.ttl_seconds, 3600);  // the seed's TTL is its queue's
  EXPECT_EQ(retried.error_message, "exit status 1");
  expect_times(retried);

  const JobRecord running = get(kRunning);
  EXPECT_EQ(running.status, JobState::kRunning);
  EXPECT_EQ(running.worker_id, kWorker);
  EXPECT_EQ(running.attempt, 1);
  expect_times(running);

  const JobRecord done = get(kDone);
  EXPECT_EQ(done.status, JobState::kDone);
  EXPECT_EQ(done.result, "hello\n");
  expect_times(done);

  const JobRecord dead = get(kDeadLettered);
  EXPECT_EQ(dead.status, JobState::kDeadLettered);
  EXPECT_EQ(dead.error_message, "boom");
  EXPECT_EQ(dead.max_retries, 0);
  expect_times(dead);

  EXPECT_EQ(get(kFailed).status, JobState::kFailed);
  EXPECT_EQ(get(kAssigned).status, JobState::kAssigned);
  EXPECT_EQ(get(kCancelled).status, JobState::kDeadLettered);
  expect_times(get(kCancelled));

  // Events: the seed's ids, order, reasons and times, with jq's statuses and attempts.
  auto events = store.JobEventList(kRetried, 0);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 5u);
  const std::vector<std::string> reasons = {"SUBMITTED", "ASSIGNED", "STARTED", "FAILURE", "RETRY"};
  const std::vector<JobState> to = {JobState::kPending, JobState::kAssigned, JobState::kRunning,
                                    JobState::kFailed, JobState::kPending};
  const std::vector<int> attempts = {0, 1, 1, 1, 1};
  for (std::size_t i = 0; i < events->size(); ++i) {
    const auto& e = (*events)[i];
    EXPECT_EQ(e.reason, reasons[i]);
    EXPECT_EQ(e.to_status, to[i]);
    EXPECT_EQ(e.attempt, attempts[i]);
    EXPECT_EQ(e.queue, "emails");
    EXPECT_EQ(e.tenant, "default");
    EXPECT_EQ(Us(e.occurred_at),
              times[kRetried].at("created") + static_cast<std::int64_t>(i) * 1'000'000);
  }
  EXPECT_EQ((*events)[0].from_status, JobState::kUnspecified);
  EXPECT_EQ((*events)[4].from_status, JobState::kFailed);
  EXPECT_EQ((*events)[2].worker_id, kWorker);

  // Queues and workers.
  auto emails = store.QueueGet("emails");
  ASSERT_TRUE(emails.ok()) << emails.status().ToString();
  EXPECT_EQ(emails->max_retries, 5);
  EXPECT_EQ(emails->ttl_seconds, 3600);
  auto queues = store.QueueList();
  ASSERT_TRUE(queues.ok());
  EXPECT_EQ(queues->size(), 2u);
  auto worker = store.WorkerGet(kWorker);
  ASSERT_TRUE(worker.ok()) << worker.status().ToString();
  EXPECT_EQ(worker->hostname, "seed-host-1");
  EXPECT_EQ(worker->concurrency, 8);

  // What broke before: submits (the missing timeout_seconds column), claims, the relay.
  JobInsertParams p;
  p.queue = "default";
  p.payload = R"({"command":["true"]})";
  auto submitted = store.JobInsertMany({p});
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();
  auto new_events = store.JobEventList((*submitted)[0].job_id, 0);
  ASSERT_TRUE(new_events.ok());
  ASSERT_EQ(new_events->size(), 1u);
  EXPECT_GT((*new_events)[0].id, max_event);  // after the seed's history
  EXPECT_EQ(Exec(db, "SELECT last_event_id FROM outbox_cursors WHERE name = 'kafka'")[0][0]
                .as<std::int64_t>(),
            max_event);  // the seed already published its history

  auto claimed = store.JobClaimAvailable({"w-new", {}, 10, std::chrono::seconds(30)});
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  ASSERT_EQ(claimed->size(), 2u);         // the retried job waits for its not_before
  EXPECT_EQ((*claimed)[0].id, kPending);  // priority 5 first
  EXPECT_EQ((*claimed)[0].attempt, 1);

  // The jobs in flight when the seed stopped go back to the retry rules at once.
  auto reaped = store.Reap(std::chrono::seconds(30), 0);
  ASSERT_TRUE(reaped.ok()) << reaped.status().ToString();
  EXPECT_EQ(reaped->workers_offline, 1);
  for (const char* id : {kRunning, kAssigned}) {
    const JobRecord j = get(id);
    EXPECT_EQ(j.status, JobState::kPending) << id;
    EXPECT_EQ(j.retry_count, 1) << id;
  }
  // A FAILED job the seed left between its failure and its retry can be retried by hand.
  auto retry = store.JobRetry(kFailed, "");
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(retry->status, JobState::kPending);
}

TEST(SeedDatabaseTest, FromSeedAgainIsANoOpAndPlainStartsWork) {
  const std::string db = SeedDatabase();
  FillSeed(db);
  ASSERT_TRUE(store::Migrate(db, {.from_seed = true}).ok());
  auto again = store::Migrate(db, {.from_seed = true});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->converted_from_seed);
  EXPECT_TRUE(again->applied.empty());
  auto start = store::Migrate(db);
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  EXPECT_TRUE(start->applied.empty());
  EXPECT_EQ(Exec(db, "SELECT count(*) FROM jobs")[0][0].as<int>(), 8);
}

TEST(SeedDatabaseTest, AnEmptySeedDatabaseConvertsToItsDefaultQueue) {
  const std::string db = SeedDatabase();
  auto m = store::Migrate(db, {.from_seed = true});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->seed.jobs, 0);
  EXPECT_EQ(Exec(db, "SELECT string_agg(name, ',') FROM queues")[0][0].as<std::string>(),
            "default");
  store::PgStore store({db, 2});
  JobInsertParams p;
  p.queue = "default";
  p.payload = "{}";
  auto submitted = store.JobInsertMany({p});
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();
  auto events = store.JobEventList((*submitted)[0].job_id, 0);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ((*events)[0].id, 1);
}

TEST(SeedDatabaseTest, AFailedConversionChangesNothing) {
  const std::string db = SeedDatabase();
  FillSeed(db);
  // A table of jq's name that is not jq's makes one of jq's migrations fail midway.
  Exec(db, "CREATE TABLE outbox_cursors (something_else int)");
  const std::string before = SeedFingerprint(db);
  auto m = store::Migrate(db, {.from_seed = true});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("outbox_cursors"), std::string::npos) << m.status().message();
  EXPECT_EQ(SeedFingerprint(db), before);
  EXPECT_TRUE(Exec(db, "SELECT to_regnamespace('jq_seed_import') IS NULL")[0][0].as<bool>());
  EXPECT_TRUE(Exec(db, "SELECT to_regtype('job_status') IS NOT NULL")[0][0].as<bool>());
  auto state = store::InspectSchema(db);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->history, store::SchemaHistory::kSeed);
}

TEST(SeedDatabaseTest, FromSeedRefusesWhatItCannotConvert) {
  const std::string empty = TestServers::Get().CreateDatabase();
  auto none = store::Migrate(empty, {.from_seed = true});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("nothing to convert"), std::string::npos);
  EXPECT_TRUE(Exec(empty, "SELECT to_regclass('schema_migrations') IS NULL")[0][0].as<bool>());

  const std::string newer = SeedDatabase();
  Exec(newer, "INSERT INTO schema_migrations (version, description) VALUES (6, 'something')");
  auto v6 = store::Migrate(newer, {.from_seed = true});
  ASSERT_FALSE(v6.ok());
  EXPECT_NE(v6.status().message().find("versions 1, 2, 3, 4, 5, 6"), std::string::npos)
      << v6.status().message();
  EXPECT_TRUE(Exec(newer, "SELECT to_regtype('job_status') IS NOT NULL")[0][0].as<bool>());
}

}  // namespace
}  // namespace jq::testing
