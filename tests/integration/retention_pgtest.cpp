// Retention at volume (SPEC §11): a million finished jobs, written as jq writes them (four
// events each, an output per run), beside recent and unfinished ones and jobs whose events
// Kafka has not received. The retention loop runs as jq-server runs it (batches of 1,000,
// pausing between them) in windows while one client keeps submitting, claiming and completing
// jobs; then the run is finished without pauses, and the test checks that exactly the old
// finished jobs went, with their outputs and events, and that the rest go once published.
//
// It prints what docs/performance.md ("Retention") reports: time per batch, the deletion rate
// paced and unpaced, the hot path's latencies with and without retention running (in
// alternating windows), and n_dead_tup, free space and sizes of the three tables before,
// after, and after a VACUUM. The figures are printed, not asserted (SPEC §14: benchmarks, not
// timed tests). The private server runs with fsync off; set JQ_RETENTION_PGTEST_CONNINFO to a
// server of your own (e.g. with fsync on) to measure there: the test creates and drops a
// database of its own on it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "server/retention_loop.h"
#include "store/migrator.h"
#include "store/pg_store.h"
#include "support/test_servers.h"

namespace jq::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kOldDead = 100'000;    // DEAD_LETTERED 40 days ago
constexpr int kOldDone = 900'000;    // DONE 30 days ago
constexpr int kRecent = 10'000;      // DONE a day ago
constexpr int kPending = 10'000;     // submitted 60 days ago, delayed a year
constexpr int kRunning = 1'000;      // submitted 60 days ago, running now
constexpr int kUnpublished = 5'000;  // the newest old DONE jobs: their last event not yet in Kafka

// The history, generated in the server. Three statements that need nothing of each other, so
// that they can load in parallel: every id and time comes from a job's number and from :now,
// one fixed time (each connection's now() would differ). Finished jobs are 1 ms apart; event
// ids follow time, as the sequence gives them: the unfinished jobs' (60 days old) first.
const char* const kFunctions = R"sql(
CREATE FUNCTION pg_temp.v7(t timestamptz, i bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
  SELECT (lpad(to_hex(floor(extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7000' ||
          '8' || lpad(to_hex(i), 15, '0'))::uuid $$;
CREATE FUNCTION pg_temp.finished_at(i bigint) RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN i <= :dead THEN :now - interval '40 days'
              WHEN i <= :old THEN :now - interval '30 days'
              ELSE :now - interval '1 day' END + i * interval '1 ms' $$;
CREATE FUNCTION pg_temp.unfinished_id(i bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.v7(:now - interval '60 days', 10000000 + i) $$;
)sql";

const char* const kJobsSql = R"sql(
INSERT INTO jobs (id, queue, payload, status, max_retries, attempt, created_at, not_before,
                  started_at, completed_at, updated_at, worker_id, result, error_message)
SELECT pg_temp.v7(t, i), 'default', convert_to('{"command":["true"],"n":' || i || '}', 'UTF8'),
       CASE WHEN i <= :dead THEN 6 ELSE 4 END, 3, 1, t - interval '2 s', t - interval '2 s',
       t - interval '1 s', t, t, 'w1',
       CASE WHEN i > :dead THEN convert_to('done ' || i, 'UTF8') END,
       CASE WHEN i <= :dead THEN 'boom' END
FROM (SELECT i, pg_temp.finished_at(i) AS t FROM generate_series(1, :all) i) s;
-- Unfinished: pending (delayed a year) and running, submitted 60 days ago.
INSERT INTO jobs (id, queue, payload, status, max_retries, attempt, created_at, not_before,
                  started_at, worker_id, lease_expires_at)
SELECT pg_temp.unfinished_id(i), 'default', '\x7b7d', CASE WHEN i <= :pending THEN 1 ELSE 3 END,
       3, CASE WHEN i <= :pending THEN 0 ELSE 1 END, :now - interval '60 days',
       :now + interval '365 days', CASE WHEN i > :pending THEN :now END,
       CASE WHEN i > :pending THEN 'w2' END, CASE WHEN i > :pending THEN :now + interval '1 day' END
FROM generate_series(1, :pending + :running) i;
)sql";

// Four events per finished job; SUBMITTED for a pending one, three for a running one.
const char* const kEventsSql = R"sql(
INSERT INTO job_events (id, job_id, tenant, queue, from_status, to_status, reason, worker_id,
                        attempt, occurred_at)
SELECT CASE WHEN i <= :pending THEN i ELSE :pending + (i - :pending - 1) * 3 + e.k + 1 END,
       pg_temp.unfinished_id(i), 'default', 'default', e.from_status, e.to_status, e.reason,
       CASE WHEN e.k > 0 THEN 'w2' END, least(e.k, 1), :now - interval '60 days' + e.k * interval '1 us'
FROM generate_series(1, :pending + :running) i
CROSS JOIN (VALUES (0, NULL::smallint, 1::smallint, 'SUBMITTED'), (1, 1::smallint, 2::smallint, 'ASSIGNED'),
                   (2, 2::smallint, 3::smallint, 'STARTED')) AS e(k, from_status, to_status, reason)
WHERE e.k = 0 OR i > :pending;
INSERT INTO job_events (id, job_id, tenant, queue, from_status, to_status, reason, worker_id,
                        attempt, occurred_at)
SELECT :pending + 3 * :running + (i - 1) * 4 + e.k + 1, pg_temp.v7(t, i), 'default', 'default',
       e.from_status, CASE WHEN e.k < 3 THEN e.to_status WHEN i <= :dead THEN 6 ELSE 4 END,
       CASE WHEN e.k < 3 THEN e.reason WHEN i <= :dead THEN 'MAX_RETRIES_EXCEEDED' ELSE 'SUCCESS' END,
       CASE WHEN e.k > 0 THEN 'w1' END, least(e.k, 1), t - (3 - e.k) * interval '1 us'
FROM (SELECT i, pg_temp.finished_at(i) AS t FROM generate_series(1, :all) i) s
CROSS JOIN (VALUES (0, NULL::smallint, 1::smallint, 'SUBMITTED'), (1, 1::smallint, 2::smallint, 'ASSIGNED'),
                   (2, 2::smallint, 3::smallint, 'STARTED'), (3, 3::smallint, NULL::smallint, NULL))
  AS e(k, from_status, to_status, reason);
)sql";

// One output per finished job.
const char* const kOutputsSql = R"sql(
INSERT INTO job_outputs (job_id, attempt, worker_id, exit_code, stdout, stderr)
SELECT pg_temp.v7(pg_temp.finished_at(i), i), 1, 'w1', CASE WHEN i <= :dead THEN 1 ELSE 0 END,
       CASE WHEN i > :dead THEN convert_to('done ' || i, 'UTF8') ELSE '' END,
       CASE WHEN i <= :dead THEN convert_to('boom', 'UTF8') ELSE '' END
FROM generate_series(1, :all) i;
)sql";

// sql with :name replaced by its value.
std::string Fill(std::string sql, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    for (auto at = sql.find(name); at != std::string::npos; at = sql.find(name, at + 1)) {
      sql.replace(at, name.size(), value);
    }
  }
  return sql;
}

struct TableFigures {
  std::int64_t live = 0, dead = 0, bytes = 0, autovacuums = 0;
  double free_percent = -1;  // of the heap, reusable by new rows (pgstattuple_approx); -1: n/a
};
using Figures = std::map<std::string, TableFigures>;

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct Percentiles {
  std::size_t n = 0;
  double p50 = 0, p99 = 0, max = 0;
};
Percentiles Summarize(std::vector<double> v) {
  Percentiles p;
  p.n = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  p.p50 = v[v.size() / 2];
  p.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  p.max = v.back();
  return p;
}

// One client's hot path, one operation at a time: submit a job, claim it, complete it. Each
// loop's latencies go to `on` or `off` by whether retention was running throughout it (loops
// that straddle a switch are dropped).
struct HotPathLatencies {
  std::vector<double> submit, claim, complete;  // ms
};
void RunHotPath(JobStore& store, const std::atomic<bool>& stop,
                const std::atomic<bool>& retention_on, HotPathLatencies& on,
                HotPathLatencies& off) {
  JobInsertParams submit;
  submit.queue = "hot";
  submit.payload = R"({"command":["true"]})";
  while (!stop.load()) {
    const bool was_on = retention_on.load();
    auto t0 = Clock::now();
    auto ins = store.JobInsertMany({submit});
    auto t1 = Clock::now();
    auto claimed = store.JobClaimAvailable({"hot-worker", {"hot"}, 1, std::chrono::seconds(30)});
    auto t2 = Clock::now();
    if (!ins.ok() || !claimed.ok() || claimed->size() != 1) {
      ADD_FAILURE() << "hot path: " << ins.status().ToString() << " / "
                    << claimed.status().ToString();
      return;
    }
    JobCompleteParams done;
    done.lease = {(*claimed)[0].id, "hot-worker", (*claimed)[0].attempt};
    done.success = true;
    auto completed = store.JobComplete(done);
    auto t3 = Clock::now();
    if (!completed.ok()) {
      ADD_FAILURE() << "hot path: " << completed.status().ToString();
      return;
    }
    if (retention_on.load() != was_on) continue;
    HotPathLatencies& out = was_on ? on : off;
    out.submit.push_back(Ms(t1 - t0));
    out.claim.push_back(Ms(t2 - t1));
    out.complete.push_back(Ms(t3 - t2));
  }
}

class RetentionAtVolume : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* own = std::getenv("JQ_RETENTION_PGTEST_CONNINFO"); own && *own) {
      admin_ = own;
      db_name_ = "jq_retention_" + std::to_string(::getpid());
      pqxx::connection c(admin_);
      pqxx::nontransaction(c).exec("CREATE DATABASE " + db_name_);
      conninfo_ = admin_ + " dbname=" + db_name_;
    } else {
      conninfo_ = TestServers::Get().CreateDatabase();
    }
    auto m = store::Migrate(conninfo_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    store::PgStoreConfig sc{conninfo_, 8};
    sc.on_query = [this](std::string_view op, double seconds) {
      if (op != "JobDeleteFinished") return;
      std::lock_guard lock(mu_);
      batch_ms_.push_back(seconds * 1000);
    };
    store_ = std::make_unique<store::PgStore>(sc);
    try {
      Sql("CREATE EXTENSION IF NOT EXISTS pgstattuple");
      has_pgstattuple_ = true;
    } catch (const std::exception&) {
      // Free space is then not reported; the rest is.
    }
  }
  void TearDown() override {
    store_.reset();
    if (!db_name_.empty()) {
      pqxx::connection c(admin_);
      pqxx::nontransaction(c).exec("DROP DATABASE IF EXISTS " + db_name_);
    }
  }

  pqxx::result Sql(const std::string& sql) {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    auto r = tx.exec(sql);
    tx.commit();
    return r;
  }
  std::int64_t Count(const std::string& sql) { return Sql(sql)[0][0].as<std::int64_t>(); }

  // The statistics of the three tables. A backend reports its counts about a second after its
  // last transaction: wait for them to settle.
  Figures Measure() {
    Figures f, previous;
    for (int i = 0; i < 10; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1100));
      pqxx::connection c(conninfo_);
      pqxx::nontransaction tx(c);
      f.clear();
      for (const auto& row :
           tx.exec("SELECT relname, n_live_tup, n_dead_tup, pg_total_relation_size(relid),"
                   " autovacuum_count FROM pg_stat_user_tables"
                   " WHERE relname IN ('jobs', 'job_events', 'job_outputs')")) {
        f[row[0].as<std::string>()] = {row[1].as<std::int64_t>(), row[2].as<std::int64_t>(),
                                       row[3].as<std::int64_t>(), row[4].as<std::int64_t>()};
      }
      if (has_pgstattuple_) {
        for (auto& [name, t] : f) {
          t.free_percent =
              tx.exec1("SELECT approx_free_percent FROM pgstattuple_approx('" + name + "')")[0]
                  .as<double>();
        }
      }
      bool same = !previous.empty();
      for (const auto& [name, t] : f) {
        same = same && previous[name].dead == t.dead && previous[name].live == t.live;
      }
      if (same) break;
      previous = f;
    }
    return f;
  }

  std::string admin_, db_name_, conninfo_;
  bool has_pgstattuple_ = false;
  std::unique_ptr<store::PgStore> store_;
  std::mutex mu_;
  std::vector<double> batch_ms_;  // GUARDED_BY(mu_)
};

void PrintFigures(const char* when, const Figures& f) {
  for (const auto& [name, t] : f) {
    std::printf(
        "  %-14s %-11s live %8lld  dead %8lld  size %6.1f MB  heap free %5.1f%%  autovacuums "
        "%lld\n",
        when, name.c_str(), static_cast<long long>(t.live), static_cast<long long>(t.dead),
        static_cast<double>(t.bytes) / (1 << 20), t.free_percent,
        static_cast<long long>(t.autovacuums));
  }
}
void PrintLatencies(const char* when, const HotPathLatencies& l) {
  for (auto [op, v] : {std::pair<const char*, const std::vector<double>*>{"submit", &l.submit},
                       {"claim", &l.claim},
                       {"complete", &l.complete}}) {
    const Percentiles p = Summarize(*v);
    std::printf("  %-18s %-9s n %6zu  p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms\n", when, op, p.n,
                p.p50, p.p99, p.max);
  }
}

TEST_F(RetentionAtVolume, AMillionOldFinishedJobsGoAndEverythingElseStays) {
  auto t = Clock::now();
  const std::map<std::string, std::string> values = {
      {":now", "timestamptz '" + Sql("SELECT now()::text")[0][0].as<std::string>() + "'"},
      {":dead", std::to_string(kOldDead)},
      {":old", std::to_string(kOldDead + kOldDone)},
      {":all", std::to_string(kOldDead + kOldDone + kRecent)},
      {":pending", std::to_string(kPending)},
      {":running", std::to_string(kRunning)}};
  {
    std::vector<std::string> errors(3);
    std::vector<std::thread> loaders;
    for (int i = 0; i < 3; ++i) {
      loaders.emplace_back([&, i] {
        try {
          pqxx::connection c(conninfo_);
          pqxx::work tx(c);
          tx.exec(Fill(kFunctions, values));
          tx.exec(Fill(i == 0 ? kJobsSql : i == 1 ? kEventsSql : kOutputsSql, values));
          tx.commit();
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    }
    for (auto& l : loaders) l.join();
    for (const auto& e : errors) ASSERT_EQ(e, "");
  }
  Sql("SELECT setval('job_events_id_seq', (SELECT max(id) FROM job_events));"
      " ANALYZE jobs; ANALYZE job_events; ANALYZE job_outputs");
  const double load_s = Ms(Clock::now() - t) / 1000;
  ASSERT_TRUE(store_->QueueCreate({.name = "hot"}).ok());
  // Kafka has every event except the last ones of the kUnpublished newest old DONE jobs.
  const std::int64_t cursor = Count(
      "SELECT min(e.id) - 1 FROM job_events e WHERE e.reason = 'SUCCESS' AND e.job_id IN"
      " (SELECT id FROM jobs WHERE status = 4 AND completed_at < now() - interval '7 days'"
      "  ORDER BY completed_at DESC LIMIT " +
      std::to_string(kUnpublished) + ")");
  Sql("UPDATE outbox_cursors SET last_event_id = " + std::to_string(cursor));
  const std::int64_t events_before = Count("SELECT count(*) FROM job_events");
  const std::string above_cursor = "SELECT count(*) FROM job_events WHERE id > " +
                                   std::to_string(cursor) + " AND queue = 'default'";
  const std::int64_t unpublished_before = Count(above_cursor);
  const std::int64_t jobs_before = Count("SELECT count(*) FROM jobs");
  ASSERT_EQ(jobs_before, kOldDead + kOldDone + kRecent + kPending + kRunning);
  const Figures before = Measure();

  // The hot path runs while retention runs as jq-server runs it, in windows of 3 s with 1 s
  // without it between them, so that the latencies with and without retention are measured
  // under the same load from the rest of the machine. After kWindows windows the run is
  // finished without pauses (RunOnce), which also gives the full-speed rate.
  constexpr int kWindows = 5;
  std::atomic<bool> stop{false}, retention_on{false};
  HotPathLatencies with, without;
  std::thread hot;
  struct Joiner {  // also when an assertion below returns early
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joiner() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } joiner{stop, hot};
  hot = std::thread([&] { RunHotPath(*store_, stop, retention_on, with, without); });

  server::RetentionConfig rc;  // jq-server's defaults: 7 / 30 days, 1,000 a batch, 10 ms pause
  rc.interval = std::chrono::milliseconds(50);
  rc.keep_unpublished = true;
  std::atomic<std::int64_t> deleted{0};
  std::atomic<bool> run_over{false};
  server::RetentionLoop loop(
      *store_, rc,
      {.on_batch = [&](const JobDeleteFinishedResult& r) { deleted += r.jobs; },
       .on_run = [&](const server::RetentionRunTotals&) { run_over = true; }});
  double paced_s = 0;  // time with the loop running
  for (int w = 0; w < kWindows && !run_over; ++w) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    t = Clock::now();
    retention_on = true;
    loop.Start();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    loop.Stop();  // returns once the batch under way has committed
    retention_on = false;
    paced_s += Ms(Clock::now() - t) / 1000;
  }
  stop = true;
  hot.join();
  ASSERT_FALSE(run_over) << "the run ended within the windows: make kWindows smaller";
  const std::int64_t paced_jobs = deleted;
  t = Clock::now();
  auto rest = loop.RunOnce();  // the same run, on from where the loop stopped
  const double full_s = Ms(Clock::now() - t) / 1000;
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  const server::RetentionRunTotals totals = *rest;
  std::vector<double> batches;
  {
    std::lock_guard lock(mu_);
    batches = batch_ms_;
  }

  // Exactly the old finished jobs went, with their outputs and events.
  EXPECT_EQ(totals.jobs, kOldDead + kOldDone - kUnpublished);
  EXPECT_EQ(totals.outputs, kOldDead + kOldDone - kUnpublished);
  EXPECT_EQ(totals.events, 4LL * (kOldDead + kOldDone - kUnpublished));
  // Counted for the batch that found them: a run stops at the first it has to keep.
  EXPECT_EQ(totals.held_back, std::min(kUnpublished, rc.batch_size));
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE status = 6"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE status = 4 AND queue = 'default'"),
            kUnpublished + kRecent);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE status = 4 AND queue = 'default'"
                  " AND completed_at < now() - interval '7 days'"),
            kUnpublished);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE status = 1 AND queue = 'default'"), kPending);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE status = 3"), kRunning);
  // Every job kept has all its events and outputs; no event or output lost its job; the
  // unpublished events are all there.
  EXPECT_EQ(Count("SELECT count(*) FROM job_events e JOIN jobs j ON j.id = e.job_id"
                  " WHERE j.queue = 'default'"),
            4LL * (kUnpublished + kRecent) + kPending + 3LL * kRunning);
  EXPECT_EQ(Count("SELECT count(*) FROM job_events e WHERE NOT EXISTS"
                  " (SELECT 1 FROM jobs j WHERE j.id = e.job_id)"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM job_outputs o WHERE NOT EXISTS"
                  " (SELECT 1 FROM jobs j WHERE j.id = o.job_id)"),
            0);
  EXPECT_EQ(Count(above_cursor), unpublished_before);
  EXPECT_EQ(Count("SELECT count(*) FROM job_outputs"),
            kUnpublished + kRecent +
                Count("SELECT count(*) FROM job_outputs o JOIN jobs j"
                      " ON j.id = o.job_id WHERE j.queue = 'hot'"));

  const Figures after = Measure();
  t = Clock::now();
  {
    pqxx::connection c(conninfo_);
    pqxx::nontransaction tx(c);  // VACUUM cannot run in a transaction block
    for (const char* table : {"jobs", "job_events", "job_outputs"}) {
      tx.exec(std::string("VACUUM (ANALYZE) ") + table);
    }
  }
  const double vacuum_s = Ms(Clock::now() - t) / 1000;
  const Figures vacuumed = Measure();

  // Once Kafka has the rest, the held-back jobs go too.
  Sql("UPDATE outbox_cursors SET last_event_id = (SELECT max(id) FROM job_events)");
  server::RetentionLoop again(*store_, rc);
  auto released = again.RunOnce();
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  EXPECT_EQ(released->jobs, kUnpublished);
  EXPECT_EQ(released->held_back, 0);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs WHERE completed_at < now() - interval '7 days'"), 0);

  const Percentiles b = Summarize(batches);
  std::printf("retention at volume (%s)\n",
              db_name_.empty() ? "private test server, fsync off" : "JQ_RETENTION_PGTEST_CONNINFO");
  std::printf("  load: %lld jobs, %lld events in %.1f s\n", static_cast<long long>(jobs_before),
              static_cast<long long>(events_before), load_s);
  std::printf(
      "  run: %lld jobs, %lld outputs, %lld events deleted in %d batches; %d held back\n"
      "  paced by the loop (with the hot path): %lld jobs in %.1f s, %.0f jobs/s\n"
      "  without pauses (RunOnce): %lld jobs in %.1f s, %.0f jobs/s\n",
      static_cast<long long>(totals.jobs), static_cast<long long>(totals.outputs),
      static_cast<long long>(totals.events), totals.batches, totals.held_back,
      static_cast<long long>(paced_jobs), paced_s, paced_jobs / paced_s,
      static_cast<long long>(totals.jobs - paced_jobs), full_s,
      (totals.jobs - paced_jobs) / full_s);
  std::printf("  batch: p50 %.1f ms  p99 %.1f ms  max %.1f ms (n %zu)\n", b.p50, b.p99, b.max, b.n);
  std::printf("  vacuum of the three tables: %.1f s\n", vacuum_s);
  PrintFigures("before", before);
  PrintFigures("after the run", after);
  PrintFigures("after VACUUM", vacuumed);
  PrintLatencies("without retention", without);
  PrintLatencies("with retention", with);
  std::fflush(stdout);
}

}  // namespace
}  // namespace jq::testing
