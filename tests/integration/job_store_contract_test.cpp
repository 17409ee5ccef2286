// The JobStore contract (STYLE.md §4): one typed suite, run against the in-memory
// FakeJobStore and against PgStore on a fresh migrated PostgreSQL database, so the fake that
// unit tests rely on cannot drift from the real store. PostgreSQL is the truth: when the two
// disagree, the fake is wrong. Long by nature: one test per behaviour of the port.
//
// No test sleeps. Each environment lets time pass with Advance(): the fake's clock moves
// forward; on PostgreSQL every stored timestamp moves back by the same amount, which to the
// store's comparisons with now() is the same thing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <map>
#include <memory>
#include <ostream>
#include <pqxx/pqxx>
#include <set>
#include <tuple>

#include "core/job_store.h"
#include "store/migrator.h"
#include "store/pg_store.h"
#include "support/fake_job_store.h"
#include "support/test_servers.h"

namespace jq {
void PrintTo(JobState s, std::ostream* os) {
  *os << JobStatusName(s);
}
}  // namespace jq

namespace jq::testing {
namespace {

using std::chrono::seconds;
using S = JobState;

constexpr const char* kUnknownId = "0190a3c4-1b2c-7d3e-8f40-123456789abc";

// Another spelling of a job id: the same uuid in upper case.
std::string Upper(std::string id) {
  for (char& ch : id) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return id;
}

class FakeEnv {
 public:
  static constexpr const char* kName = "Fake";
  void SetUp() {
    store_ = std::make_unique<FakeJobStore>([this] { return now_; });
  }
  JobStore& store() { return *store_; }
  TimePoint Now() const { return now_; }
  void Advance(seconds s) { now_ += s; }
  void SetOutboxCursor(std::int64_t id) { store_->SetOutboxCursor(id); }

 private:
  TimePoint now_ = std::chrono::floor<seconds>(std::chrono::system_clock::now());
  std::unique_ptr<FakeJobStore> store_;
};

class PgEnv {
 public:
  static constexpr const char* kName = "Postgres";
  void SetUp() {
    conninfo_ = TestServers::Get().CreateDatabase();
    auto m = store::Migrate(conninfo_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    store_ = std::make_unique<store::PgStore>(store::PgStoreConfig{conninfo_, 4});
  }
  JobStore& store() { return *store_; }
  TimePoint Now() const { return std::chrono::system_clock::now(); }
  void Advance(seconds s) {
    const std::string i = "interval '" + std::to_string(s.count()) + " seconds'";
    auto back = [&](std::initializer_list<const char*> columns) {
      std::string set;
      for (const char* c : columns)
        set += std::string(set.empty() ? "" : ", ") + c + " = " + c + " - " + i;
      return set;
    };
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    tx.exec("UPDATE jobs SET " +
            back({"not_before", "expires_at", "lease_expires_at", "created_at", "started_at",
                  "completed_at", "updated_at", "cancel_requested_at"}));
    tx.exec("UPDATE workers SET " + back({"registered_at", "last_heartbeat"}));
    tx.exec("UPDATE queues SET " + back({"created_at"}));
    tx.exec("UPDATE job_events SET " + back({"occurred_at"}));
    tx.exec("UPDATE job_outputs SET " + back({"recorded_at"}));
    tx.commit();
  }
  // What the Kafka relay does as it publishes: outbox_cursors' row moves to id.
  void SetOutboxCursor(std::int64_t id) {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    tx.exec_params("UPDATE outbox_cursors SET last_event_id = $1", static_cast<long long>(id));
    tx.commit();
  }

 private:
  std::string conninfo_;
  std::unique_ptr<store::PgStore> store_;
};

// One job_events row, without its id and time.
struct Ev {
  JobState from, to;
  std::string reason, worker;
  int attempt;
  bool operator==(const Ev&) const = default;
};
void PrintTo(const Ev& e, std::ostream* os) {
  *os << "{" << JobStatusName(e.from) << "->" << JobStatusName(e.to) << " " << e.reason << " '"
      << e.worker << "' " << e.attempt << "}";
}

template <typename Env>
class JobStoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.SetUp();
    ASSERT_FALSE(this->HasFatalFailure());
  }

  JobStore& Store() { return env_.store(); }
  TimePoint Now() { return env_.Now(); }
  void Advance(seconds s) { env_.Advance(s); }
  void SetOutboxCursor(std::int64_t id) { env_.SetOutboxCursor(id); }

  std::string SubmitWith(const JobInsertParams& p) {
    auto r = Store().JobInsertMany({p});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)[0].job_id : "";
  }
  std::string Submit(const std::string& queue = "default", int priority = 0,
                     std::optional<int> max_retries = std::nullopt) {
    JobInsertParams p;
    p.queue = queue;
    p.payload = R"({"command":["true"]})";
    p.priority = priority;
    p.max_retries = max_retries;
    return SubmitWith(p);
  }
  std::vector<ClaimedJob> Claim(const std::string& worker, int limit,
                                std::vector<std::string> queues = {}, seconds lease = seconds(30)) {
    auto r = Store().JobClaimAvailable({worker, std::move(queues), limit, lease});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<ClaimedJob>{};
  }
  // Claims the one job expected next and returns its id.
  std::string ClaimOne(const std::string& worker, seconds lease = seconds(30)) {
    auto c = Claim(worker, 1, {}, lease);
    EXPECT_EQ(c.size(), 1u);
    return c.empty() ? "" : c[0].id;
  }
  JobRecord Get(const std::string& id) {
    auto r = Store().JobGet(id, "");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : JobRecord{};
  }
  Result<JobCompleteResult> Report(const std::string& id, const std::string& worker, int attempt,
                                   bool success, std::string why = "", std::string error = "") {
    JobCompleteParams p;
    p.lease = {id, worker, attempt};
    p.success = success;
    p.reason = std::move(why);
    p.error_message = std::move(error);
    return Store().JobComplete(p);
  }
  std::vector<Ev> Events(const std::string& id) {
    std::vector<Ev> out;
    auto r = Store().JobEventList(id, 0);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) {
      for (const auto& e : *r)
        out.push_back({e.from_status, e.to_status, e.reason, e.worker_id, e.attempt});
    }
    return out;
  }
  std::vector<std::string> Reasons(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& e : Events(id)) out.push_back(e.reason);
    return out;
  }

  Env env_;
};

struct EnvNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

using Envs = ::testing::Types<FakeEnv, PgEnv>;
TYPED_TEST_SUITE(JobStoreContract, Envs, EnvNames);

using Strings = std::vector<std::string>;

// ---------------------------------------------------------------------------- queues

TYPED_TEST(JobStoreContract, DefaultQueueExistsFromTheStart) {
  auto list = this->Store().QueueList();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  const QueueRecord& q = (*list)[0];
  EXPECT_EQ(q.name, "default");
  EXPECT_EQ(q.max_retries, 3);
  EXPECT_EQ(q.ttl_seconds, 0);
  EXPECT_EQ(q.timeout_seconds, 0);
  EXPECT_EQ(q.backoff_base_ms, 5000);
  EXPECT_EQ(q.backoff_max_ms, 300000);
  EXPECT_EQ(q.concurrency_limit, 0);
  EXPECT_FALSE(q.paused);
  Status s = this->Store().QueueDelete("default", true);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "the default queue cannot be deleted");
}

TYPED_TEST(JobStoreContract, QueueCreateGetAndList) {
  auto& st = this->Store();
  auto c = st.QueueCreate({.name = "emails",
                           .max_retries = 5,
                           .ttl_seconds = 60,
                           .timeout_seconds = 9,
                           .backoff_base_ms = 100,
                           .backoff_max_ms = 800,
                           .concurrency_limit = 2});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto g = st.QueueGet("emails");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->max_retries, 5);
  EXPECT_EQ(g->ttl_seconds, 60);
  EXPECT_EQ(g->timeout_seconds, 9);
  EXPECT_EQ(g->backoff_base_ms, 100);
  EXPECT_EQ(g->backoff_max_ms, 800);
  EXPECT_EQ(g->concurrency_limit, 2);
  EXPECT_EQ(g->created_at, c->created_at);
  auto dup = st.QueueCreate({.name = "emails"});
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "queue 'emails' already exists");
  auto list = st.QueueList();
  ASSERT_TRUE(list.ok());
  Strings names;
  for (const auto& q : *list) names.push_back(q.name);
  EXPECT_EQ(names, (Strings{"default", "emails"}));
  auto missing = st.QueueGet("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "queue 'nope' not found");
}

TYPED_TEST(JobStoreContract, QueueDeleteRefusedWithUnfinishedJobsUnlessForced) {
  auto& st = this->Store();
  ASSERT_TRUE(st.QueueCreate({.name = "tmp"}).ok());
  const std::string done = this->Submit("tmp");
  ASSERT_EQ(this->ClaimOne("w1"), done);
  ASSERT_TRUE(this->Report(done, "w1", 1, true).ok());
  const std::string running = this->Submit("tmp");
  ASSERT_EQ(this->ClaimOne("w1"), running);
  ASSERT_TRUE(st.JobSetRunning({running, "w1", 1}).ok());
  const std::string pending = this->Submit("tmp");

  Status refused = st.QueueDelete("tmp", false);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            "queue 'tmp' has 2 unfinished jobs; delete with force to dead-letter them");
  EXPECT_TRUE(st.QueueGet("tmp").ok());

  ASSERT_TRUE(st.QueueDelete("tmp", true).ok());
  EXPECT_EQ(st.QueueGet("tmp").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->Get(done).status, S::kDone);
  for (const auto& id : {running, pending}) {
    EXPECT_EQ(this->Get(id).status, S::kDeadLettered);
    EXPECT_EQ(this->Get(id).error_message, "queue deleted");
  }
  EXPECT_EQ(this->Events(running).back(),
            (Ev{S::kRunning, S::kDeadLettered, "QUEUE_DELETED", "w1", 1}));
  EXPECT_EQ(this->Events(pending).back(),
            (Ev{S::kPending, S::kDeadLettered, "QUEUE_DELETED", "", 0}));
  // The worker's late report is refused; the job cannot be retried into a missing queue.
  EXPECT_EQ(this->Report(running, "w1", 1, true).status().code(), StatusCode::kFailedPrecondition);
  auto retry = st.JobRetry(pending, "");
  EXPECT_EQ(retry.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(retry.status().message(),
            "job " + pending + " belongs to queue 'tmp', which no longer exists");
  // Its finished jobs still show in the depths of every queue name.
  auto depths = st.QueueDepths(true);
  ASSERT_TRUE(depths.ok());
  ASSERT_EQ(depths->size(), 2u);
  EXPECT_EQ((*depths)[1].queue, "tmp");
  EXPECT_EQ((*depths)[1].done, 1);
  EXPECT_EQ((*depths)[1].dead_lettered, 2);

  EXPECT_EQ(st.QueueDelete("tmp", false).code(), StatusCode::kNotFound);
  ASSERT_TRUE(st.QueueCreate({.name = "empty"}).ok());
  EXPECT_TRUE(st.QueueDelete("empty", false).ok());
}

TYPED_TEST(JobStoreContract, QueueStatsAndDepthsCountEachState) {
  auto& st = this->Store();
  const std::string a = this->Submit();  // DONE after 2 s
  ASSERT_EQ(this->ClaimOne("w1"), a);
  ASSERT_TRUE(st.JobSetRunning({a, "w1", 1}).ok());
  const std::string b = this->Submit();  // RUNNING
  ASSERT_EQ(this->ClaimOne("w1"), b);
  ASSERT_TRUE(st.JobSetRunning({b, "w1", 1}).ok());
  const std::string c = this->Submit();  // ASSIGNED
  ASSERT_EQ(this->ClaimOne("w1"), c);
  const std::string f = this->Submit("default", 0, 0);  // DEAD_LETTERED
  ASSERT_EQ(this->ClaimOne("w1"), f);
  ASSERT_TRUE(this->Report(f, "w1", 1, false).ok());
  const std::string e = this->Submit();  // PENDING, waiting for its retry
  ASSERT_EQ(this->ClaimOne("w1"), e);
  ASSERT_TRUE(this->Report(e, "w1", 1, false).ok());
  this->Submit();  // PENDING
  this->Advance(seconds(2));
  ASSERT_TRUE(this->Report(a, "w1", 1, true).ok());
  ASSERT_TRUE(st.QueueSetPaused("default", true).ok());

  auto s = st.QueueStats("default");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->pending, 2);
  EXPECT_EQ(s->failed, 1);
  EXPECT_EQ(s->assigned, 1);
  EXPECT_EQ(s->running, 1);
  EXPECT_EQ(s->done, 1);
  EXPECT_EQ(s->dead_lettered, 1);
  EXPECT_EQ(s->total_processed, 2);
  EXPECT_DOUBLE_EQ(s->error_rate, 0.5);
  EXPECT_NEAR(s->avg_duration_ms, 2000, 500);
  EXPECT_GE(s->oldest_pending_age_seconds, 2.0);
  EXPECT_LT(s->oldest_pending_age_seconds, 10.0);
  EXPECT_TRUE(s->paused);
  EXPECT_EQ(st.QueueStats("nope").status().code(), StatusCode::kNotFound);

  auto live = st.QueueDepths(false);
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  const auto& d = (*live)[0];
  EXPECT_EQ(d.queue, "default");
  EXPECT_EQ(std::make_tuple(d.pending, d.failed, d.assigned, d.running, d.done, d.dead_lettered),
            std::make_tuple(2, 1, 1, 1, 0, 0));
  auto all = st.QueueDepths(true);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].done, 1);
  EXPECT_EQ((*all)[0].dead_lettered, 1);
}

// ---------------------------------------------------------------------------- submit

TYPED_TEST(JobStoreContract, InsertRoundTripsAndQueueDefaultsApply) {
  auto& st = this->Store();
  ASSERT_TRUE(
      st.QueueCreate(
            {.name = "reports", .max_retries = 7, .ttl_seconds = 600, .timeout_seconds = 30})
          .ok());
  JobInsertParams p;
  p.tenant = "acme";
  p.queue = "reports";
  p.payload = std::string("{\"command\":[\"echo\"]}\0binary\xff", 28);
  p.priority = 7;
  p.idempotency_key = "k1";
  p.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const std::string id = this->SubmitWith(p);
  auto j = st.JobGet(id, "acme");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->id, id);
  EXPECT_EQ(j->tenant, "acme");
  EXPECT_EQ(j->queue, "reports");
  EXPECT_EQ(j->payload, p.payload);
  EXPECT_EQ(j->priority, 7);
  EXPECT_EQ(j->status, S::kPending);
  EXPECT_EQ(j->max_retries, 7);
  EXPECT_EQ(j->ttl_seconds, 600);
  EXPECT_EQ(j->timeout_seconds, 30);
  EXPECT_EQ(j->retry_count, 0);
  EXPECT_EQ(j->attempt, 0);
  EXPECT_EQ(j->idempotency_key, "k1");
  EXPECT_TRUE(j->worker_id.empty());
  EXPECT_FALSE(j->started_at.has_value());
  EXPECT_FALSE(j->completed_at.has_value());
  EXPECT_LT(std::chrono::abs(j->created_at - this->Now()), seconds(5));
  EXPECT_EQ(j->not_before, j->created_at);
  EXPECT_EQ(this->Events(id),
            (std::vector<Ev>{{S::kUnspecified, S::kPending, "SUBMITTED", "", 0}}));

  auto c = this->Claim("w1", 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].tenant, "acme");
  EXPECT_EQ(c[0].payload, p.payload);
  EXPECT_EQ(c[0].priority, 7);
  EXPECT_EQ(c[0].timeout_seconds, 30);
  EXPECT_EQ(c[0].traceparent, p.traceparent);
  EXPECT_EQ(c[0].created_at, j->created_at);
  EXPECT_EQ(c[0].not_before, j->not_before);

  JobInsertParams q;  // explicit values win, 0 included
  q.queue = "reports";
  q.max_retries = 0;
  q.ttl_seconds = 0;
  q.timeout_seconds = 5;
  auto k = this->Get(this->SubmitWith(q));
  EXPECT_EQ(std::make_tuple(k.max_retries, k.ttl_seconds, k.timeout_seconds),
            std::make_tuple(0, 0, 5));
}

TYPED_TEST(JobStoreContract, MissingQueueFailsTheWholeInsertMany) {
  JobInsertParams a, b;
  a.queue = "default";
  b.queue = "nope";
  auto r = this->Store().JobInsertMany({a, b});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "queue 'nope' not found");
  auto list = this->Store().JobList({});
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->jobs.empty());
}

TYPED_TEST(JobStoreContract, InsertEachAnswersEveryItem) {
  std::vector<JobInsertParams> batch(4);
  batch[0].queue = "default";
  batch[1].queue = "no-such-queue";
  batch[2].queue = "default";
  batch[2].idempotency_key = "k1";
  batch[3].queue = "default";
  batch[3].idempotency_key = "k1";
  auto r = this->Store().JobInsertEach(batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  ASSERT_TRUE((*r)[0].ok());
  EXPECT_EQ((*r)[1].status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*r)[1].status().message(), "queue 'no-such-queue' not found");
  ASSERT_TRUE((*r)[2].ok());
  ASSERT_TRUE((*r)[3].ok());
  EXPECT_FALSE((*r)[2]->duplicate);
  EXPECT_TRUE((*r)[3]->duplicate);
  EXPECT_EQ((*r)[2]->job_id, (*r)[3]->job_id);
  EXPECT_EQ(this->Reasons((*r)[0]->job_id), Strings{"SUBMITTED"});
  auto list = this->Store().JobList({});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->jobs.size(), 2u);
}

TYPED_TEST(JobStoreContract, IdempotencyKeyReturnsTheFirstJobPerTenant) {
  auto& st = this->Store();
  JobInsertParams p;
  p.queue = "default";
  p.idempotency_key = "order-42";
  const std::string first = this->SubmitWith(p);
  ASSERT_EQ(this->ClaimOne("w1"), first);
  ASSERT_TRUE(this->Report(first, "w1", 1, true).ok());
  auto again = st.JobInsertMany({p, p});  // still the first, though it has finished
  ASSERT_TRUE(again.ok());
  for (const auto& r : *again) {
    EXPECT_EQ(r.job_id, first);
    EXPECT_TRUE(r.duplicate);
  }
  p.tenant = "other";
  auto other = st.JobInsertMany({p});
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)[0].job_id, first);
  EXPECT_FALSE((*other)[0].duplicate);
  auto list = st.JobList({});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->jobs.size(), 2u);
  EXPECT_EQ(this->Reasons(first), (Strings{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
}

TYPED_TEST(JobStoreContract, JobLookupsAreScopedAndCheckTheId) {
  auto& st = this->Store();
  JobInsertParams p;
  p.tenant = "acme";
  p.queue = "default";
  const std::string id = this->SubmitWith(p);
  EXPECT_TRUE(st.JobGet(id, "acme").ok());
  auto other = st.JobGet(id, "other");
  EXPECT_EQ(other.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(other.status().message(), "job " + id + " not found");
  EXPECT_EQ(st.JobCancel(id, "other").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(st.JobGet(kUnknownId, "").status().code(), StatusCode::kNotFound);
  auto bad = st.JobGet("not-a-uuid", "");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "JobGet: malformed value");
  EXPECT_EQ(st.JobEventList("nope", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.JobCancel("nope", "").status().code(), StatusCode::kInvalidArgument);
  // Ids are uuids: another spelling finds the same job, named canonically.
  auto found = st.JobGet("{" + Upper(id) + "}", "");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->id, id);
  auto events = st.JobEventList(kUnknownId, 0);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

TYPED_TEST(JobStoreContract, JobListFiltersAndPagesNewestFirst) {
  auto& st = this->Store();
  ASSERT_TRUE(st.QueueCreate({.name = "other"}).ok());
  Strings ids;
  for (int i = 0; i < 5; ++i) ids.push_back(this->Submit());
  JobInsertParams t2;
  t2.tenant = "t2";
  t2.queue = "other";
  ids.push_back(this->SubmitWith(t2));
  ids.push_back(this->SubmitWith(t2));
  const Strings newest_first(ids.rbegin(), ids.rend());

  Strings seen;
  JobListParams p;
  p.limit = 3;
  std::vector<bool> more;
  for (;;) {
    auto r = st.JobList(p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& j : r->jobs) seen.push_back(j.id);
    more.push_back(r->more);
    if (!r->more) break;
    p.after_created_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             r->jobs.back().created_at.time_since_epoch())
                             .count();
    p.after_id = r->jobs.back().id;
  }
  EXPECT_EQ(seen, newest_first);
  EXPECT_EQ(more, (std::vector<bool>{true, true, false}));

  auto count = [&](JobListParams f) {
    f.limit = 100;
    auto r = st.JobList(f);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->jobs.size() : 0u;
  };
  EXPECT_EQ(count({.tenant = "t2"}), 2u);
  EXPECT_EQ(count({.queue = "default"}), 5u);
  ASSERT_EQ(this->ClaimOne("w1"), ids[0]);
  EXPECT_EQ(count({.status = S::kAssigned}), 1u);
  EXPECT_EQ(count({.tenant = "t2", .status = S::kAssigned}), 0u);
  JobListParams bad;
  bad.after_created_us = 1;
  bad.after_id = "x";
  auto r = st.JobList(bad);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "JobList: malformed value");
}

TYPED_TEST(JobStoreContract, JobListRefusesANegativeLimit) {
  auto& st = this->Store();
  this->Submit();
  for (int limit : {-1, -2}) {
    auto r = st.JobList({.limit = limit});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << limit;
    EXPECT_EQ(r.status().message(), "limit must not be negative") << limit;
  }
}

// Limit 0 returns no jobs; `more` says whether any job matches.
TYPED_TEST(JobStoreContract, JobListLimitZeroOnlySaysWhetherAnyJobMatches) {
  auto& st = this->Store();
  auto list = [&](JobListParams p) {
    p.limit = 0;
    auto r = st.JobList(p);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return false;
    EXPECT_TRUE(r->jobs.empty());
    return r->more;
  };
  EXPECT_FALSE(list({}));
  this->Submit();
  this->Submit();
  EXPECT_TRUE(list({}));
  EXPECT_TRUE(list({.queue = "default"}));
  EXPECT_FALSE(list({.tenant = "nobody"}));
  EXPECT_FALSE(list({.status = S::kRunning}));
}

// ---------------------------------------------------------------------------- claims

TYPED_TEST(JobStoreContract, SuccessfulRunRecordsEveryTransition) {
  auto& st = this->Store();
  const std::string id = this->Submit();
  auto c = this->Claim("w1", 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].id, id);
  EXPECT_EQ(c[0].attempt, 1);
  EXPECT_EQ(c[0].worker_id, "w1");
  EXPECT_EQ(c[0].queue, "default");
  EXPECT_EQ(this->Get(id).status, S::kAssigned);
  ASSERT_TRUE(st.JobSetRunning({id, "w1", 1}).ok());
  auto running = this->Get(id);
  EXPECT_EQ(running.status, S::kRunning);
  EXPECT_TRUE(running.started_at.has_value());
  this->Advance(seconds(3));
  JobCompleteParams p;
  p.lease = {id, "w1", 1};
  p.success = true;
  p.result = "hello\n";
  p.output = JobOutputRecord{.exit_code = 0, .stdout_data = "hello\n", .stderr_data = "warn"};
  auto r = st.JobComplete(p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->final_status, S::kDone);
  EXPECT_EQ(r->queue, "default");
  EXPECT_NEAR(r->run_seconds, 3.0, 0.5);
  auto j = this->Get(id);
  EXPECT_EQ(j.status, S::kDone);
  EXPECT_EQ(j.result, "hello\n");
  EXPECT_EQ(j.worker_id, "w1");
  EXPECT_EQ(j.attempt, 1);
  ASSERT_TRUE(j.completed_at.has_value());
  EXPECT_NEAR(std::chrono::duration<double>(*j.completed_at - *j.started_at).count(), 3.0, 0.5);
  EXPECT_EQ(this->Events(id), (std::vector<Ev>{{S::kUnspecified, S::kPending, "SUBMITTED", "", 0},
                                               {S::kPending, S::kAssigned, "ASSIGNED", "w1", 1},
                                               {S::kAssigned, S::kRunning, "STARTED", "w1", 1},
                                               {S::kRunning, S::kDone, "SUCCESS", "w1", 1}}));
  auto events = st.JobEventList(id, 0);
  ASSERT_TRUE(events.ok());
  auto tail = st.JobEventList(id, (*events)[1].id);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].reason, "STARTED");
  EXPECT_EQ((*tail)[0].tenant, "default");
  EXPECT_EQ((*tail)[0].job_id, id);
  auto out = st.JobOutputList(id);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].attempt, 1);
  EXPECT_EQ((*out)[0].worker_id, "w1");
  EXPECT_EQ((*out)[0].stdout_data, "hello\n");
  EXPECT_EQ((*out)[0].stderr_data, "warn");
  // A second report for the finished job changes nothing.
  auto again = st.JobComplete(p);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(), "stale lease for job " + id +
                                          ": report from worker w1 attempt 1, but the job is "
                                          "DONE, attempt 1 held by worker w1");
}

TYPED_TEST(JobStoreContract, ClaimsByPriorityThenFifo) {
  const std::string low1 = this->Submit("default", 1);
  const std::string high = this->Submit("default", 9);
  const std::string low2 = this->Submit("default", 1);
  const std::string mid = this->Submit("default", 5);
  auto claimed = this->Claim("w1", 10);
  Strings order;
  for (const auto& c : claimed) order.push_back(c.id);
  EXPECT_EQ(order, (Strings{high, mid, low1, low2}));
  EXPECT_TRUE(this->Claim("w2", 10).empty());
  EXPECT_EQ(this->Get(high).worker_id, "w1");
  EXPECT_EQ(this->Store().JobClaimAvailable({"w1", {}, 0, seconds(30)})->size(), 0u);
}

TYPED_TEST(JobStoreContract, DelayedAndScheduledJobsWaitForTheirTime) {
  JobInsertParams later, past;
  later.queue = past.queue = "default";
  later.delay_ms = 3600 * 1000;
  past.run_at = this->Now() - seconds(5);
  auto r = this->Store().JobInsertMany({later, past});
  ASSERT_TRUE(r.ok());
  auto claimed = this->Claim("w1", 10);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, (*r)[1].job_id);
  EXPECT_GT(this->Get((*r)[0].job_id).not_before, this->Now() + std::chrono::minutes(59));
  this->Advance(seconds(3500));
  EXPECT_TRUE(this->Claim("w1", 10).empty());
  this->Advance(seconds(101));
  EXPECT_EQ(this->ClaimOne("w1"), (*r)[0].job_id);
}

TYPED_TEST(JobStoreContract, PausedQueueAndQueueFilterAreRespected) {
  auto& st = this->Store();
  ASSERT_TRUE(st.QueueCreate({.name = "emails"}).ok());
  const std::string e = this->Submit("emails");
  const std::string d = this->Submit("default");
  EXPECT_TRUE(this->Claim("w1", 10, {"nope"}).empty());
  auto only_emails = this->Claim("w1", 10, {"emails"});
  ASSERT_EQ(only_emails.size(), 1u);
  EXPECT_EQ(only_emails[0].id, e);
  ASSERT_TRUE(st.QueueSetPaused("default", true).ok());
  EXPECT_TRUE(this->Claim("w1", 10).empty());
  EXPECT_EQ(this->Get(d).status, S::kPending);
  ASSERT_TRUE(st.QueueSetPaused("default", false).ok());
  EXPECT_EQ(this->ClaimOne("w1"), d);
  Status missing = st.QueueSetPaused("nope", true);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "queue 'nope' not found");
}

TYPED_TEST(JobStoreContract, ConcurrencyLimitHoldsAtClaimTime) {
  auto& st = this->Store();
  ASSERT_TRUE(st.QueueCreate({.name = "narrow", .concurrency_limit = 2}).ok());
  Strings ids;
  for (int i = 0; i < 5; ++i) ids.push_back(this->Submit("narrow"));
  const std::string other = this->Submit("default");
  auto first = this->Claim("w1", 10);
  Strings got;
  for (const auto& c : first) got.push_back(c.id);
  EXPECT_EQ(got, (Strings{ids[0], ids[1], other}));
  EXPECT_TRUE(this->Claim("w2", 10).empty());
  ASSERT_TRUE(this->Report(ids[0], "w1", 1, true).ok());
  auto next = this->Claim("w2", 10);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, ids[2]);
}

// As PgStore: the claim takes the first `limit` ready jobs in claim order, then cuts each
// limited queue to its room, so it may return fewer jobs than are ready.
TYPED_TEST(JobStoreContract, ConcurrencyLimitIsAppliedAfterTheClaimLimit) {
  ASSERT_TRUE(this->Store().QueueCreate({.name = "narrow", .concurrency_limit = 1}).ok());
  const std::string n1 = this->Submit("narrow");
  this->Submit("narrow");
  const std::string d = this->Submit("default");
  auto c = this->Claim("w1", 2);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].id, n1);
  EXPECT_EQ(this->ClaimOne("w1"), d);
}

TYPED_TEST(JobStoreContract, ClaimManyFillsSlotsInClaimOrder) {
  Strings ids;
  for (int prio : {9, 8, 7, 6, 5}) ids.push_back(this->Submit("default", prio));
  const Strings slots{"w1", "w2", "w1", "w2", "w3", "w3"};
  auto r = this->Store().JobClaimMany({slots, {}, seconds(30)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 5u);  // fewer jobs than slots: the last slot gets none
  for (std::size_t i = 0; i < r->size(); ++i) {
    EXPECT_EQ((*r)[i].id, ids[i]);
    EXPECT_EQ((*r)[i].worker_id, slots[i]);
    EXPECT_EQ((*r)[i].attempt, 1);
    EXPECT_EQ(this->Get(ids[i]).worker_id, slots[i]);
    EXPECT_EQ(this->Events(ids[i]).back(),
              (Ev{S::kPending, S::kAssigned, "ASSIGNED", slots[i], 1}));
  }
  auto none = this->Store().JobClaimMany({{}, {}, seconds(30)});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// Per-tenant running limits (SPEC §6): jobs ASSIGNED or RUNNING per tenant, at claim time.
std::vector<ClaimedJob> ClaimForTenants(JobStore& st, int slots, TenantRunningLimits limits,
                                        const std::string& tenant = "") {
  JobClaimManyParams p;
  p.slot_worker_ids.assign(static_cast<std::size_t>(slots), "w1");
  p.tenant = tenant;
  p.tenant_limits = limits;
  auto r = st.JobClaimMany(p);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<ClaimedJob>{};
}
std::map<std::string, int> CountByTenant(const std::vector<ClaimedJob>& claimed) {
  std::map<std::string, int> out;
  for (const auto& c : claimed) ++out[c.tenant];
  return out;
}

TYPED_TEST(JobStoreContract, TenantRunningLimitHoldsAtClaimTime) {
  auto& st = this->Store();
  ASSERT_TRUE(st.TenantCreate({.name = "acme", .max_running_jobs = 2}).ok());
  JobInsertParams acme;
  acme.tenant = "acme";
  acme.queue = "default";
  acme.payload = R"({"command":["true"]})";
  Strings ids;
  for (int i = 0; i < 5; ++i) ids.push_back(this->SubmitWith(acme));
  const TenantRunningLimits on{.on = true};
  auto first = ClaimForTenants(st, 10, on);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, ids[0]);
  EXPECT_EQ(first[1].id, ids[1]);
  EXPECT_TRUE(ClaimForTenants(st, 10, on).empty());
  EXPECT_TRUE(ClaimForTenants(st, 10, on, "acme").empty());  // a tenant's own worker too
  ASSERT_TRUE(st.JobSetRunning({ids[0], "w1", 1}).ok());     // RUNNING counts as well
  EXPECT_TRUE(ClaimForTenants(st, 10, on).empty());
  ASSERT_TRUE(this->Report(ids[0], "w1", 1, true).ok());
  auto next = ClaimForTenants(st, 10, on);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, ids[2]);
  // Without enforcement (no tenant has a limit, as far as the caller knows) nothing is cut.
  EXPECT_EQ(ClaimForTenants(st, 10, {}).size(), 2u);
}

// A capped tenant's backlog at the head of the queue must not take the others' places: its
// own walk stops at its room, and the shared walk skips it.
TYPED_TEST(JobStoreContract, ACappedTenantsBacklogDoesNotCrowdOutOthers) {
  auto& st = this->Store();
  ASSERT_TRUE(st.TenantCreate({.name = "noisy", .max_running_jobs = 1}).ok());
  JobInsertParams noisy, quiet;
  noisy.tenant = "noisy";
  quiet.tenant = "quiet";
  noisy.queue = quiet.queue = "default";
  noisy.payload = quiet.payload = R"({"command":["true"]})";
  noisy.priority = 5;  // ahead of every quiet job in claim order
  for (int i = 0; i < 6; ++i) this->SubmitWith(noisy);
  for (int i = 0; i < 4; ++i) this->SubmitWith(quiet);
  const TenantRunningLimits on{.on = true};
  auto first = ClaimForTenants(st, 3, on);
  EXPECT_EQ(CountByTenant(first), (std::map<std::string, int>{{"noisy", 1}, {"quiet", 2}}));
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first[0].tenant, "noisy");  // still in claim order
  auto second = ClaimForTenants(st, 3, on);
  EXPECT_EQ(CountByTenant(second), (std::map<std::string, int>{{"quiet", 2}}));
}

TYPED_TEST(JobStoreContract, TheDefaultRunningLimitAppliesToTenantsWithoutTheirOwn) {
  auto& st = this->Store();
  ASSERT_TRUE(st.TenantCreate({.name = "free", .max_running_jobs = 0}).ok());  // 0: unlimited
  ASSERT_TRUE(st.TenantCreate({.name = "listed"}).ok());  // a row, but no limit of its own
  for (const char* tenant : {"free", "listed", "unlisted"}) {
    JobInsertParams p;
    p.tenant = tenant;
    p.queue = "default";
    p.payload = R"({"command":["true"]})";
    for (int i = 0; i < 4; ++i) this->SubmitWith(p);
  }
  const TenantRunningLimits two{.on = true, .default_limit = 2};
  EXPECT_EQ(CountByTenant(ClaimForTenants(st, 20, two)),
            (std::map<std::string, int>{{"free", 4}, {"listed", 2}, {"unlisted", 2}}));
  EXPECT_TRUE(ClaimForTenants(st, 20, two).empty());
}

// ---------------------------------------------------------------------------- reports

TYPED_TEST(JobStoreContract, StartIsIdempotentAndChecksTheJob) {
  auto& st = this->Store();
  const std::string id = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), id);
  ASSERT_TRUE(st.JobSetRunning({id, "w1", 1}).ok());
  ASSERT_TRUE(st.JobSetRunning({id, "w1", 1}).ok());
  EXPECT_EQ(this->Reasons(id), (Strings{"SUBMITTED", "ASSIGNED", "STARTED"}));
  Status unknown = st.JobSetRunning({kUnknownId, "w1", 1});
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.message(), std::string("job ") + kUnknownId + " not found");
  Status bad = st.JobSetRunning({"x", "w1", 1});
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "JobSetRunning: malformed value");
  // A start that arrives after its own result is no news.
  ASSERT_TRUE(this->Report(id, "w1", 1, true).ok());
  EXPECT_TRUE(st.JobSetRunning({id, "w1", 1}).ok());
  EXPECT_EQ(st.JobSetRunning({id, "w2", 1}).code(), StatusCode::kFailedPrecondition);
}

TYPED_TEST(JobStoreContract, SeedWorkerLeasesWithAttemptZero) {
  auto& st = this->Store();
  const std::string a = this->Submit(), b = this->Submit(), c = this->Submit();
  ASSERT_EQ(this->Claim("seed", 3).size(), 3u);
  ASSERT_TRUE(this->Report(a, "seed", 0, true).ok());  // no start report, no attempt
  EXPECT_EQ(this->Reasons(a), (Strings{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
  ASSERT_TRUE(st.JobSetRunning({b, "seed", 0}).ok());
  EXPECT_EQ(this->Get(b).status, S::kRunning);
  ASSERT_TRUE(st.JobReleaseUndelivered({c, "seed", 0}).ok());
  EXPECT_EQ(this->Get(c).status, S::kPending);
  EXPECT_EQ(this->Report(b, "other", 0, true).status().code(), StatusCode::kFailedPrecondition);
  // Renewals name exact attempts; a seed worker renews with renew_all instead.
  auto lost = st.JobLeaseRenew("seed", {{b, "seed", 0}}, seconds(30));
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(*lost, Strings{b});
}

TYPED_TEST(JobStoreContract, StaleLeaseReportsAreRefusedAndWriteNothing) {
  auto& st = this->Store();
  const std::string id = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), id);
  this->Advance(seconds(31));
  auto reaped = st.Reap(seconds(3600), 0);
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(reaped->lease_expired, 1);
  auto c2 = this->Claim("w2", 1);
  ASSERT_EQ(c2.size(), 1u);
  EXPECT_EQ(c2[0].attempt, 2);
  const auto before = this->Events(id);

  JobCompleteParams zombie;
  zombie.lease = {id, "w1", 1};
  zombie.success = true;
  zombie.output = JobOutputRecord{.stdout_data = "zombie"};
  auto r = st.JobComplete(zombie);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "stale lease for job " + id +
                                      ": report from worker w1 attempt 1, but the job is "
                                      "ASSIGNED, attempt 2 held by worker w2");
  EXPECT_EQ(st.JobSetRunning({id, "w1", 1}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.JobSetRunning({id, "w2", 1}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.JobReleaseUndelivered({id, "w1", 1}).code(), StatusCode::kFailedPrecondition);
  auto batch = st.JobReportMany({{{id, "w1", 1}}, {zombie}});
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->started[0].code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(batch->results[0].status().code(), StatusCode::kFailedPrecondition);
  auto j = this->Get(id);
  EXPECT_EQ(j.status, S::kAssigned);
  EXPECT_EQ(j.worker_id, "w2");
  EXPECT_EQ(j.attempt, 2);
  EXPECT_EQ(this->Events(id), before);
  EXPECT_TRUE(st.JobOutputList(id)->empty());
  auto lost = st.JobLeaseRenew("w1", {{id, "w1", 1}}, seconds(30));
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(*lost, Strings{id});
  zombie.lease = {id, "w2", 2};
  EXPECT_TRUE(st.JobComplete(zombie).ok());
}

TYPED_TEST(JobStoreContract, FailureRetriesWithBackoffThenDeadLetters) {
  const std::string id = this->Submit("default", 0, 2);
  ASSERT_EQ(this->ClaimOne("w1"), id);
  ASSERT_TRUE(this->Store().JobSetRunning({id, "w1", 1}).ok());
  auto r = this->Report(id, "w1", 1, false, "", "exit status 3");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->final_status, S::kPending);
  auto j = this->Get(id);
  EXPECT_EQ(j.status, S::kPending);
  EXPECT_EQ(j.retry_count, 1);
  EXPECT_EQ(j.error_message, "exit status 3");
  EXPECT_TRUE(j.worker_id.empty());
  EXPECT_GT(j.not_before, this->Now() + seconds(4));  // 5 s base backoff
  EXPECT_LE(j.not_before, this->Now() + seconds(5));
  EXPECT_TRUE(this->Claim("w1", 1).empty());
  this->Advance(seconds(4));
  EXPECT_TRUE(this->Claim("w1", 1).empty());
  this->Advance(seconds(2));
  auto c = this->Claim("w2", 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].attempt, 2);

  r = this->Report(id, "w2", 2, false, "TIMEOUT");  // second retry: 10 s
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->final_status, S::kPending);
  this->Advance(seconds(9));
  EXPECT_TRUE(this->Claim("w1", 1).empty());
  this->Advance(seconds(2));
  ASSERT_EQ(this->ClaimOne("w1"), id);

  r = this->Report(id, "w1", 3, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->final_status, S::kDeadLettered);
  j = this->Get(id);
  EXPECT_EQ(j.status, S::kDeadLettered);
  EXPECT_EQ(j.retry_count, 2);
  EXPECT_TRUE(j.completed_at.has_value());
  EXPECT_EQ(this->Reasons(id),
            (Strings{"SUBMITTED", "ASSIGNED", "STARTED", "FAILED_EXIT_CODE", "RETRY", "ASSIGNED",
                     "STARTED", "TIMEOUT", "RETRY", "ASSIGNED", "STARTED", "FAILED_EXIT_CODE",
                     "MAX_RETRIES_EXCEEDED"}));
  EXPECT_EQ(this->Events(id)[4], (Ev{S::kFailed, S::kPending, "RETRY", "w1", 1}));
  EXPECT_EQ(this->Events(id).back(),
            (Ev{S::kFailed, S::kDeadLettered, "MAX_RETRIES_EXCEEDED", "w1", 3}));
}

TYPED_TEST(JobStoreContract, BackoffFollowsTheQueueAndTheJitter) {
  auto& st = this->Store();
  ASSERT_TRUE(st.QueueCreate({.name = "fast", .backoff_base_ms = 0, .backoff_max_ms = 0}).ok());
  const std::string fast = this->Submit("fast");
  ASSERT_EQ(this->ClaimOne("w1"), fast);
  ASSERT_TRUE(this->Report(fast, "w1", 1, false).ok());
  EXPECT_EQ(this->ClaimOne("w1"), fast);  // no backoff: claimable at once

  const std::string slow = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), slow);
  JobCompleteParams p;
  p.lease = {slow, "w1", 1};
  p.jitter01 = 0.5;  // 5 s + half of a 5 s jitter
  ASSERT_TRUE(st.JobComplete(p).ok());
  const auto wait = this->Get(slow).not_before - this->Now();
  EXPECT_GT(wait, seconds(7));
  EXPECT_LE(wait, std::chrono::milliseconds(7500));
  this->Advance(seconds(7));
  EXPECT_TRUE(this->Claim("w1", 1).empty());
  this->Advance(seconds(1));
  EXPECT_EQ(this->ClaimOne("w1"), slow);
}

TYPED_TEST(JobStoreContract, InvalidPayloadIsDeadLetteredAtOnce) {
  const std::string id = this->Submit("default", 0, 3);
  ASSERT_EQ(this->ClaimOne("w1"), id);
  auto r = this->Report(id, "w1", 1, false, "INVALID_PAYLOAD", "not json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->final_status, S::kDeadLettered);
  auto j = this->Get(id);
  EXPECT_EQ(j.retry_count, 0);
  EXPECT_EQ(j.error_message, "not json");
  EXPECT_EQ(this->Events(id).back(),
            (Ev{S::kFailed, S::kDeadLettered, "INVALID_PAYLOAD", "w1", 1}));
}

TYPED_TEST(JobStoreContract, ReleaseUndeliveredRequeuesWithoutUsingARetry) {
  auto& st = this->Store();
  const std::string id = this->Submit("default", 0, 0);
  ASSERT_EQ(this->ClaimOne("w1"), id);
  EXPECT_EQ(st.JobReleaseUndelivered({id, "w2", 1}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(st.JobReleaseUndelivered({id, "w1", 1}).ok());
  auto j = this->Get(id);
  EXPECT_EQ(j.status, S::kPending);
  EXPECT_EQ(j.retry_count, 0);  // max_retries 0, yet it is not dead-lettered
  EXPECT_TRUE(j.worker_id.empty());
  EXPECT_EQ(j.error_message, "assignment not delivered");
  auto events = this->Events(id);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[2], (Ev{S::kAssigned, S::kFailed, "UNDELIVERED", "w1", 1}));
  EXPECT_EQ(events[3], (Ev{S::kFailed, S::kPending, "RETRY", "w1", 1}));
  auto again = this->Claim("w2", 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2);
  EXPECT_EQ(st.JobReleaseUndelivered({id, "w1", 1}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(st.JobSetRunning({id, "w2", 2}).ok());
  Status running = st.JobReleaseUndelivered({id, "w2", 2});
  EXPECT_EQ(running.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(running.message(), "job " + id + " is RUNNING, attempt 2 held by worker w2");
}

TYPED_TEST(JobStoreContract, ReportManyAnswersEachReportAsItsSingleCallWould) {
  auto& st = this->Store();
  for (int i = 0; i < 4; ++i) this->Submit("default", 0, 0);
  auto claimed = this->Claim("w1", 4);
  ASSERT_EQ(claimed.size(), 4u);
  const auto& a = claimed[0];  // started, then succeeds in the same batch
  const auto& b = claimed[1];  // succeeds without a start report (seed worker)
  const auto& c = claimed[2];  // fails: no retries left, dead-lettered
  const auto& d = claimed[3];  // a stale start (wrong attempt)
  JobReportBatch batch;
  batch.started = {{a.id, "w1", a.attempt}, {d.id, "w1", d.attempt + 7}};
  JobCompleteParams ok_a{{a.id, "w1", a.attempt}, true, "out-a"};
  ok_a.output = JobOutputRecord{.stdout_data = "out-a"};
  JobCompleteParams ok_b{{b.id, "w1", 0}, true, "out-b"};
  JobCompleteParams fail_c{{c.id, "w1", c.attempt}, false, "", "boom"};
  JobCompleteParams dup_a{{a.id, "w1", a.attempt}, true, "again"};
  batch.results = {ok_a, ok_b, fail_c, dup_a};
  auto r = st.JobReportMany(batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->started[0].ok());
  EXPECT_EQ(r->started[1].code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(r->results[0].ok());
  EXPECT_EQ(r->results[0]->final_status, S::kDone);
  EXPECT_EQ(r->results[0]->queue, "default");
  ASSERT_TRUE(r->results[1].ok());
  ASSERT_TRUE(r->results[2].ok());
  EXPECT_EQ(r->results[2]->final_status, S::kDeadLettered);
  EXPECT_EQ(r->results[3].status().code(), StatusCode::kFailedPrecondition);  // already DONE

  EXPECT_EQ(this->Get(a.id).result, "out-a");
  EXPECT_EQ(this->Reasons(a.id), (Strings{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
  EXPECT_EQ(this->Reasons(b.id), (Strings{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
  EXPECT_EQ(this->Reasons(c.id), (Strings{"SUBMITTED", "ASSIGNED", "STARTED", "FAILED_EXIT_CODE",
                                          "MAX_RETRIES_EXCEEDED"}));
  EXPECT_EQ(this->Get(c.id).error_message, "boom");
  EXPECT_EQ(this->Get(d.id).status, S::kAssigned);
  auto outputs = st.JobOutputList(a.id);
  ASSERT_TRUE(outputs.ok());
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].stdout_data, "out-a");
  EXPECT_EQ((*outputs)[0].attempt, a.attempt);
  auto late = st.JobReportMany({{{a.id, "w1", a.attempt}, {kUnknownId, "w1", 1}}, {}});
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(late->started[0].ok());
  EXPECT_EQ(late->started[1].code(), StatusCode::kNotFound);
}

// As PgStore: a batch writes every job's first success before any other result, so a
// failure and a success for the same lease in one batch answer the success.
TYPED_TEST(JobStoreContract, ReportManyWritesSuccessesBeforeFailures) {
  const std::string id = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), id);
  JobCompleteParams fail{{id, "w1", 1}, false, "", "boom"};
  JobCompleteParams ok{{id, "w1", 1}, true, "fine"};
  auto r = this->Store().JobReportMany({{{id, "w1", 1}, {id, "w1", 1}}, {fail, ok}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->started[0].ok());
  EXPECT_TRUE(r->started[1].ok());
  EXPECT_EQ(r->results[0].status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(r->results[1].ok());
  EXPECT_EQ(r->results[1]->final_status, S::kDone);
  EXPECT_EQ(this->Get(id).result, "fine");
  EXPECT_EQ(this->Reasons(id), (Strings{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
}

TYPED_TEST(JobStoreContract, ReportManyWithAMalformedIdWritesNothing) {
  const std::string id = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), id);
  JobCompleteParams bad{{"not-a-uuid", "w1", 1}, false};
  auto r = this->Store().JobReportMany({{{id, "w1", 1}}, {bad}});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "JobReportMany: malformed value");
  EXPECT_EQ(this->Get(id).status, S::kAssigned);
}

// A report names its job by any spelling of its id: an upper-case id is the same job.
TYPED_TEST(JobStoreContract, SingleReportsAcceptAnUpperCaseJobId) {
  auto& st = this->Store();
  const std::string id = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), id);
  ASSERT_TRUE(st.JobSetRunning({Upper(id), "w1", 1}).ok());
  EXPECT_EQ(this->Get(id).status, S::kRunning);
  EXPECT_TRUE(st.JobSetRunning({Upper(id), "w1", 1}).ok());  // a repeat writes nothing
  JobCompleteParams p{{Upper(id), "w1", 1}, true, "out"};
  p.output = JobOutputRecord{.exit_code = 0, .stdout_data = "out"};
  auto r = st.JobComplete(p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->final_status, S::kDone);
  EXPECT_EQ(r->queue, "default");
  auto j = this->Get(id);
  EXPECT_EQ(j.status, S::kDone);
  EXPECT_EQ(j.result, "out");
  auto outputs = st.JobOutputList(id);
  ASSERT_TRUE(outputs.ok());
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].job_id, id);
  EXPECT_EQ((*outputs)[0].stdout_data, "out");
  EXPECT_EQ(this->Events(id), (std::vector<Ev>{{S::kUnspecified, S::kPending, "SUBMITTED", "", 0},
                                               {S::kPending, S::kAssigned, "ASSIGNED", "w1", 1},
                                               {S::kAssigned, S::kRunning, "STARTED", "w1", 1},
                                               {S::kRunning, S::kDone, "SUCCESS", "w1", 1}}));
}

TYPED_TEST(JobStoreContract, ReportManyAcceptsUpperCaseJobIds) {
  auto& st = this->Store();
  for (int i = 0; i < 4; ++i) this->Submit("default", 0, 0);
  auto claimed = this->Claim("w1", 4);
  ASSERT_EQ(claimed.size(), 4u);
  const std::string a = claimed[0].id;  // started, then succeeds in the same batch
  const std::string b = claimed[1].id;  // succeeds without a start report (seed worker)
  const std::string c = claimed[2].id;  // started, then fails: no retries left
  const std::string d = claimed[3].id;  // only started
  JobReportBatch batch;
  batch.started = {{Upper(a), "w1", 1}, {Upper(c), "w1", 1}, {Upper(d), "w1", 1}};
  JobCompleteParams ok_a{{Upper(a), "w1", 1}, true, "out-a"};
  ok_a.output = JobOutputRecord{.stdout_data = "out-a"};
  JobCompleteParams ok_b{{Upper(b), "w1", 0}, true, "out-b"};
  ok_b.output = JobOutputRecord{.stdout_data = "out-b"};
  JobCompleteParams fail_c{{Upper(c), "w1", 1}, false, "", "boom"};
  batch.results = {ok_a, ok_b, fail_c};
  auto r = st.JobReportMany(batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (std::size_t i = 0; i < r->started.size(); ++i) {
    EXPECT_TRUE(r->started[i].ok()) << i << ": " << r->started[i].ToString();
  }
  ASSERT_TRUE(r->results[0].ok()) << r->results[0].status().ToString();
  EXPECT_EQ(r->results[0]->final_status, S::kDone);
  EXPECT_EQ(r->results[0]->queue, "default");
  ASSERT_TRUE(r->results[1].ok()) << r->results[1].status().ToString();
  EXPECT_EQ(r->results[1]->final_status, S::kDone);
  ASSERT_TRUE(r->results[2].ok()) << r->results[2].status().ToString();
  EXPECT_EQ(r->results[2]->final_status, S::kDeadLettered);

  for (const auto& [id, out] : {std::pair{a, "out-a"}, std::pair{b, "out-b"}}) {
    auto j = this->Get(id);
    EXPECT_EQ(j.status, S::kDone);
    EXPECT_EQ(j.result, out);
    EXPECT_EQ(this->Reasons(id), (Strings{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
    auto outputs = st.JobOutputList(id);
    ASSERT_TRUE(outputs.ok());
    ASSERT_EQ(outputs->size(), 1u) << id;
    EXPECT_EQ((*outputs)[0].job_id, id);
    EXPECT_EQ((*outputs)[0].stdout_data, out);
  }
  EXPECT_EQ(this->Reasons(c), (Strings{"SUBMITTED", "ASSIGNED", "STARTED", "FAILED_EXIT_CODE",
                                       "MAX_RETRIES_EXCEEDED"}));
  EXPECT_EQ(this->Get(c).error_message, "boom");
  EXPECT_EQ(this->Get(d).status, S::kRunning);
  EXPECT_EQ(this->Reasons(d), (Strings{"SUBMITTED", "ASSIGNED", "STARTED"}));
}

// Two spellings of one id in a batch are one job: its first success is the one taken, the
// second is a report for a finished job, and a start merges with the success.
TYPED_TEST(JobStoreContract, ReportManyTreatsTwoSpellingsOfAnIdAsOneJob) {
  const std::string id = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), id);
  JobCompleteParams first{{id, "w1", 1}, true, "first"};
  first.output = JobOutputRecord{.stdout_data = "first"};
  JobCompleteParams again{{Upper(id), "w1", 1}, true, "again"};
  again.output = JobOutputRecord{.stdout_data = "again"};
  auto r = this->Store().JobReportMany({{{Upper(id), "w1", 1}}, {first, again}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->started[0].ok()) << r->started[0].ToString();
  ASSERT_TRUE(r->results[0].ok()) << r->results[0].status().ToString();
  EXPECT_EQ(r->results[0]->final_status, S::kDone);
  EXPECT_EQ(r->results[1].status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->Get(id).result, "first");
  EXPECT_EQ(this->Reasons(id), (Strings{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
  auto outputs = this->Store().JobOutputList(id);
  ASSERT_TRUE(outputs.ok());
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].stdout_data, "first");
}

// ---------------------------------------------------------------------------- cancel, retry

TYPED_TEST(JobStoreContract, CancelPendingAndAssignedDeadLettersAtOnce) {
  auto& st = this->Store();
  const std::string assigned = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), assigned);
  const std::string pending = this->Submit();
  auto c = st.JobCancel(pending, "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->status, S::kDeadLettered);
  EXPECT_EQ(c->error_message, "cancelled");
  EXPECT_TRUE(c->completed_at.has_value());
  EXPECT_EQ(this->Events(pending).back(), (Ev{S::kPending, S::kDeadLettered, "CANCELLED", "", 0}));
  auto again = st.JobCancel(pending, "");
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(), "job " + pending +
                                          " is DEAD_LETTERED; only PENDING, ASSIGNED or RUNNING "
                                          "jobs can be cancelled");
  auto a = st.JobCancel(assigned, "");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->status, S::kDeadLettered);
  EXPECT_EQ(this->Events(assigned).back(),
            (Ev{S::kAssigned, S::kDeadLettered, "CANCELLED", "w1", 1}));
  EXPECT_EQ(st.JobSetRunning({assigned, "w1", 1}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.JobCancel(kUnknownId, "").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(JobStoreContract, CancelRunningWaitsForTheWorker) {
  auto& st = this->Store();
  ASSERT_TRUE(st.WorkerUpsert({"w1", "host", 2, {}, "s1"}).ok());
  const std::string id = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), id);
  ASSERT_TRUE(st.JobSetRunning({id, "w1", 1}).ok());
  auto rc = st.JobCancel(id, "");
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(rc->status, S::kRunning);  // the worker must stop it
  EXPECT_EQ(this->Get(id).status, S::kRunning);
  EXPECT_EQ(this->Reasons(id).back(), "STARTED");  // nothing recorded yet
  // Its lease is no longer renewed: the worker learns on its next heartbeat.
  auto lost = st.JobLeaseRenew("w1", {{id, "w1", 1}}, seconds(30));
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(*lost, Strings{id});
  auto beats = st.WorkerHeartbeatMany({{"w1", 1, {{id, "w1", 1}}}}, seconds(30));
  ASSERT_TRUE(beats.ok());
  ASSERT_TRUE((*beats)[0].ok());
  EXPECT_EQ(*(*beats)[0], Strings{id});
  auto r = this->Report(id, "w1", 1, false, "CANCELLED");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->final_status, S::kDeadLettered);
  auto j = this->Get(id);
  EXPECT_EQ(j.status, S::kDeadLettered);
  EXPECT_EQ(j.error_message, "cancelled");
  EXPECT_EQ(this->Events(id).back(), (Ev{S::kRunning, S::kDeadLettered, "CANCELLED", "w1", 1}));

  const std::string done = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), done);
  ASSERT_TRUE(this->Report(done, "w1", 1, true).ok());
  EXPECT_EQ(st.JobCancel(done, "").status().code(), StatusCode::kFailedPrecondition);
}

TYPED_TEST(JobStoreContract, CancelOfASeedWorkersRunningJobIsRefusedAndChangesNothing) {
  auto& st = this->Store();
  WorkerUpsertParams seed{"w1", "host", 2, {}, "s1"};
  seed.supports_control = false;
  ASSERT_TRUE(st.WorkerUpsert(seed).ok());
  EXPECT_FALSE(st.WorkerGet("w1")->supports_control);
  const std::string id = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), id);
  ASSERT_TRUE(st.JobSetRunning({id, "w1", 1}).ok());
  auto rc = st.JobCancel(id, "");
  EXPECT_EQ(rc.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->Reasons(id).back(), "STARTED");
  auto lost = st.JobLeaseRenew("w1", {}, seconds(30), /*renew_all=*/true);
  ASSERT_TRUE(lost.ok());
  ASSERT_TRUE(this->Report(id, "w1", 0, true).ok());  // a seed report: attempt 0
  EXPECT_EQ(this->Get(id).status, S::kDone);
}

TYPED_TEST(JobStoreContract, ASeedWorkersRegistrationEndsWhatItsIdHeldBefore) {
  auto& st = this->Store();
  WorkerUpsertParams seed{"w1", "host", 2, {}, "s1"};
  seed.supports_control = false;
  ASSERT_TRUE(st.WorkerUpsert(seed).ok());
  const std::string running = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), running);
  ASSERT_TRUE(st.JobSetRunning({running, "w1", 1}).ok());
  const std::string assigned = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), assigned);
  // A jq-worker registering again (a reconnect) keeps its jobs: they still run.
  ASSERT_TRUE(st.WorkerUpsert({"w1", "host", 2, {}, "s1"}).ok());
  EXPECT_EQ(this->Get(running).status, S::kRunning);
  ASSERT_TRUE(st.WorkerUpsert(seed).ok());  // the seed worker restarted
  for (const auto& id : {running, assigned}) {
    const auto j = this->Get(id);
    EXPECT_EQ(j.status, S::kPending) << id;
    EXPECT_EQ(j.retry_count, 1) << id;
    EXPECT_EQ(j.error_message, "worker registered again: its earlier run ended");
    EXPECT_EQ(this->Reasons(id)[this->Reasons(id).size() - 2], "WORKER_LOST");
  }
  EXPECT_TRUE(st.JobListHeldBy("w1")->empty());
  EXPECT_EQ(st.WorkerGet("w1")->status, WorkerState::kOnline);
}

TYPED_TEST(JobStoreContract, CancelledJobIsNotRetriedAndCancelReasonNeedsACancel) {
  auto& st = this->Store();
  const std::string id = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), id);
  ASSERT_TRUE(st.JobSetRunning({id, "w1", 1}).ok());
  ASSERT_TRUE(st.JobCancel(id, "").ok());
  auto r = this->Report(id, "w1", 1, false, "", "killed");  // failed before it was stopped
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->final_status, S::kDeadLettered);
  EXPECT_EQ(this->Get(id).error_message, "cancelled");
  auto events = this->Events(id);
  EXPECT_EQ(events[events.size() - 2], (Ev{S::kRunning, S::kFailed, "FAILED_EXIT_CODE", "w1", 1}));
  EXPECT_EQ(events.back(), (Ev{S::kFailed, S::kDeadLettered, "CANCELLED", "w1", 1}));

  // CANCELLED from a worker nobody asked to cancel is an ordinary failure.
  const std::string other = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), other);
  r = this->Report(other, "w1", 1, false, "CANCELLED");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->final_status, S::kPending);
  EXPECT_EQ(this->Reasons(other).back(), "RETRY");
  EXPECT_EQ(this->Reasons(other)[3], "FAILED_EXIT_CODE");
}

TYPED_TEST(JobStoreContract, ManualRetryResetsRetryCount) {
  auto& st = this->Store();
  const std::string id = this->Submit("default", 0, 0);
  ASSERT_EQ(this->ClaimOne("w1"), id);
  ASSERT_TRUE(this->Report(id, "w1", 1, false, "", "boom").ok());
  ASSERT_EQ(this->Get(id).status, S::kDeadLettered);
  auto r = st.JobRetry(id, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, S::kPending);
  EXPECT_EQ(r->retry_count, 0);
  EXPECT_EQ(r->attempt, 1);
  EXPECT_TRUE(r->worker_id.empty());
  EXPECT_FALSE(r->completed_at.has_value());
  EXPECT_EQ(r->error_message, "boom");  // kept until the next attempt ends
  EXPECT_EQ(this->Events(id).back(), (Ev{S::kDeadLettered, S::kPending, "MANUAL_RETRY", "", 1}));
  auto again = st.JobRetry(id, "");
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(),
            "job " + id + " is PENDING; only FAILED or DEAD_LETTERED jobs can be retried");
  auto c = this->Claim("w1", 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].attempt, 2);
  ASSERT_TRUE(this->Report(id, "w1", 2, true).ok());
  EXPECT_EQ(st.JobRetry(id, "").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.JobRetry(kUnknownId, "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(st.JobRetry(id, "other-tenant").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(JobStoreContract, ManualRetryRestartsTheTtl) {
  auto& st = this->Store();
  JobInsertParams p;
  p.queue = "default";
  p.ttl_seconds = 60;
  const std::string id = this->SubmitWith(p);
  this->Advance(seconds(61));
  ASSERT_TRUE(st.Reap(seconds(3600), 0).ok());
  ASSERT_EQ(this->Get(id).status, S::kDeadLettered);
  ASSERT_TRUE(st.JobRetry(id, "").ok());
  this->Advance(seconds(50));
  auto r = st.Reap(seconds(3600), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ttl_expired, 0);
  this->Advance(seconds(11));
  r = st.Reap(seconds(3600), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ttl_expired, 1);
}

// ---------------------------------------------------------------------------- leases, reaper

TYPED_TEST(JobStoreContract, LeaseRenewalExtendsOnlyLeasesPastHalfTheirTime) {
  auto& st = this->Store();
  const std::string early = this->Submit(), late = this->Submit();
  ASSERT_EQ(this->Claim("w1", 2).size(), 2u);  // 30 s leases
  this->Advance(seconds(5));
  auto lost = st.JobLeaseRenew("w1", {{early, "w1", 1}}, seconds(30));
  ASSERT_TRUE(lost.ok());
  EXPECT_TRUE(lost->empty());  // still held, though not rewritten
  this->Advance(seconds(15));  // 20 s in
  lost = st.JobLeaseRenew("w1", {{late, "w1", 1}}, seconds(30));
  ASSERT_TRUE(lost.ok());
  EXPECT_TRUE(lost->empty());
  lost = st.JobLeaseRenew("w1", {{early, "w1", 2}}, seconds(30));
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(*lost, Strings{early});  // the wrong attempt is not held, nor renewed
  this->Advance(seconds(11));        // 31 s in: early's lease ran out, late's runs to 50 s
  auto r = st.Reap(seconds(3600), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lease_expired, 1);
  EXPECT_EQ(this->Get(early).status, S::kPending);
  EXPECT_EQ(this->Get(late).status, S::kAssigned);
  auto bad = st.JobLeaseRenew("w1", {{"x", "w1", 1}}, seconds(30));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST(JobStoreContract, HeartbeatManyRenewsLeasesAndNamesLostOnes) {
  auto& st = this->Store();
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 2, {}, "s1"}).ok());
  ASSERT_TRUE(st.WorkerUpsert({"w2", "h2", 1, {}, "s1"}).ok());
  ASSERT_TRUE(st.WorkerUpsert({"seed", "h3", 1, {}, "s1"}).ok());
  const std::string a = this->Submit(), b = this->Submit(), c = this->Submit(), d = this->Submit();
  ASSERT_EQ(this->Claim("w1", 2).size(), 2u);  // a, b
  ASSERT_EQ(this->ClaimOne("w2"), c);
  ASSERT_EQ(this->ClaimOne("seed"), d);
  ASSERT_TRUE(st.WorkerSetStatus("w2", WorkerState::kOffline).ok());
  this->Advance(seconds(20));
  std::vector<WorkerHeartbeatParams> beats = {
      {"w1", 2, {{a, "w1", 1}, {b, "w1", 5}}},
      {"ghost", 0, {}},
      {"w2", 1, {{c, "w2", 1}}},
      {"seed", 1, {}, true},
  };
  auto r = st.WorkerHeartbeatMany(beats, seconds(30));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  ASSERT_TRUE((*r)[0].ok());
  EXPECT_EQ(*(*r)[0], Strings{b});
  EXPECT_EQ((*r)[1].status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*r)[1].status().message(), "worker ghost is not registered");
  ASSERT_TRUE((*r)[2].ok());
  EXPECT_TRUE((*r)[2]->empty());
  ASSERT_TRUE((*r)[3].ok());
  EXPECT_TRUE((*r)[3]->empty());
  auto w2 = st.WorkerGet("w2");
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ(w2->status, WorkerState::kOnline);  // a heartbeat brings it back
  EXPECT_EQ(w2->active_job_count, 1);
  this->Advance(seconds(20));  // 40 s in: only b's lease ran out
  auto reaped = st.Reap(seconds(30), 0);
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(reaped->workers_offline, 0);
  EXPECT_EQ(reaped->lease_expired, 1);
  EXPECT_EQ(this->Get(b).status, S::kPending);
  for (const auto& id : {a, c, d}) EXPECT_EQ(this->Get(id).status, S::kAssigned);
  auto held = st.JobListHeldBy("w1");
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ((*held)[0].job_id, a);
  EXPECT_EQ((*held)[0].attempt, 1);
  auto none = st.WorkerHeartbeatMany({}, seconds(30));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// A renewal names its job by any spelling of its id; a lost lease is named as given.
TYPED_TEST(JobStoreContract, LeaseRenewalAcceptsAnUpperCaseJobIdAndNamesLostOnesAsGiven) {
  auto& st = this->Store();
  const std::string held = this->Submit(), stale = this->Submit();
  ASSERT_EQ(this->Claim("w1", 2).size(), 2u);  // 30 s leases
  this->Advance(seconds(20));
  auto lost =
      st.JobLeaseRenew("w1", {{Upper(held), "w1", 1}, {Upper(stale), "w1", 2}}, seconds(30));
  ASSERT_TRUE(lost.ok()) << lost.status().ToString();
  EXPECT_EQ(*lost, Strings{Upper(stale)});  // the wrong attempt is not held
  this->Advance(seconds(20));               // 40 s in: held's lease runs to 50 s
  auto r = st.Reap(seconds(3600), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lease_expired, 1);
  EXPECT_EQ(this->Get(held).status, S::kAssigned);
  EXPECT_EQ(this->Get(stale).status, S::kPending);
}

TYPED_TEST(JobStoreContract, HeartbeatManyAcceptsAnUpperCaseJobIdAndNamesLostOnesAsGiven) {
  auto& st = this->Store();
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 2, {}, "s1"}).ok());
  const std::string held = this->Submit(), stale = this->Submit();
  ASSERT_EQ(this->Claim("w1", 2).size(), 2u);  // 30 s leases
  this->Advance(seconds(20));
  auto r = st.WorkerHeartbeatMany({{"w1", 2, {{Upper(held), "w1", 1}, {Upper(stale), "w1", 2}}}},
                                  seconds(30));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  ASSERT_TRUE((*r)[0].ok()) << (*r)[0].status().ToString();
  EXPECT_EQ(*(*r)[0], Strings{Upper(stale)});
  this->Advance(seconds(20));  // 40 s in
  auto reaped = st.Reap(seconds(3600), 0);
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(reaped->lease_expired, 1);
  EXPECT_EQ(this->Get(held).status, S::kAssigned);
  EXPECT_EQ(this->Get(stale).status, S::kPending);
}

TYPED_TEST(JobStoreContract, SeedWorkerRenewAllRenewsEveryLease) {
  auto& st = this->Store();
  for (int i = 0; i < 2; ++i) this->Submit();
  ASSERT_EQ(this->Claim("seed", 2).size(), 2u);
  this->Advance(seconds(20));
  auto r = st.JobLeaseRenew("seed", {}, seconds(30), true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  this->Advance(seconds(20));
  auto reaped = st.Reap(seconds(3600), 0);
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(reaped->lease_expired, 0);
}

TYPED_TEST(JobStoreContract, ReapExpiresLeasesAndRetriesAtOnce) {
  auto& st = this->Store();
  ASSERT_TRUE(st.QueueCreate({.name = "q1"}).ok());
  const std::string a = this->Submit("q1");
  ASSERT_EQ(this->Claim("w1", 1, {}, seconds(10)).size(), 1u);
  const std::string last = this->Submit("q1", 0, 0);
  ASSERT_EQ(this->Claim("w1", 1, {}, seconds(10)).size(), 1u);
  const std::string b = this->Submit();
  ASSERT_EQ(this->Claim("w2", 1, {}, seconds(60)).size(), 1u);
  ASSERT_TRUE(st.JobSetRunning({b, "w2", 1}).ok());
  this->Advance(seconds(11));
  auto r = st.Reap(seconds(3600), 0.9);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lease_expired, 2);
  EXPECT_EQ(r->lease_expired_by_queue, (std::map<std::string, int>{{"q1", 2}}));
  EXPECT_EQ(r->ttl_expired, 0);
  auto j = this->Get(a);
  EXPECT_EQ(j.status, S::kPending);
  EXPECT_EQ(j.retry_count, 1);
  EXPECT_EQ(j.error_message, "lease expired");
  EXPECT_LE(j.not_before, this->Now());  // not the job's fault: no backoff, despite jitter
  auto events = this->Events(a);
  EXPECT_EQ(events[events.size() - 2], (Ev{S::kAssigned, S::kFailed, "LEASE_EXPIRED", "w1", 1}));
  EXPECT_EQ(events.back(), (Ev{S::kFailed, S::kPending, "RETRY", "w1", 1}));
  EXPECT_EQ(this->Get(last).status, S::kDeadLettered);
  EXPECT_EQ(this->Reasons(last).back(), "MAX_RETRIES_EXCEEDED");
  EXPECT_EQ(this->Get(b).status, S::kRunning);
  EXPECT_EQ(this->ClaimOne("w3"), a);
  auto quiet = st.Reap(seconds(3600), 0);
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(quiet->lease_expired, 0);
}

TYPED_TEST(JobStoreContract, ReapTakesSilentWorkersOfflineAndRetriesTheirJobs) {
  auto& st = this->Store();
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 4, {}, "s1"}).ok());
  ASSERT_TRUE(st.WorkerUpsert({"w2", "h2", 4, {}, "s1"}).ok());
  const std::string a = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1", seconds(300)), a);
  ASSERT_TRUE(st.JobSetRunning({a, "w1", 1}).ok());
  const std::string b = this->Submit();
  ASSERT_EQ(this->ClaimOne("w2", seconds(300)), b);
  auto quiet = st.Reap(seconds(30), 0);
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(quiet->workers_offline, 0);
  this->Advance(seconds(31));
  ASSERT_TRUE(st.WorkerHeartbeat("w2", 1).ok());
  auto r = st.Reap(seconds(30), 0.5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->workers_offline, 1);
  EXPECT_EQ(r->worker_jobs_reclaimed, 1);
  EXPECT_EQ(r->lease_expired, 0);
  EXPECT_EQ(st.WorkerGet("w1")->status, WorkerState::kOffline);
  EXPECT_EQ(st.WorkerGet("w2")->status, WorkerState::kOnline);
  auto j = this->Get(a);
  EXPECT_EQ(j.status, S::kPending);
  EXPECT_EQ(j.retry_count, 1);
  EXPECT_EQ(j.error_message, "worker lost");
  EXPECT_LE(j.not_before, this->Now());
  auto events = this->Events(a);
  EXPECT_EQ(events[events.size() - 2], (Ev{S::kRunning, S::kFailed, "WORKER_LOST", "w1", 1}));
  EXPECT_EQ(this->Get(b).status, S::kAssigned);
  auto again = st.Reap(seconds(30), 0);  // already offline
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->workers_offline, 0);
  ASSERT_TRUE(st.WorkerHeartbeat("w1", 0).ok());
  EXPECT_EQ(st.WorkerGet("w1")->status, WorkerState::kOnline);
}

TYPED_TEST(JobStoreContract, RenewAllAfterOutageGivesEveryLeaseAndLiveWorkerAFreshTerm) {
  auto& st = this->Store();
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 4, {}, "s1"}).ok());
  const std::string a = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1", seconds(10)), a);
  ASSERT_TRUE(st.JobSetRunning({a, "w1", 1}).ok());
  const std::string b = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1", seconds(300)), b);
  this->Advance(seconds(40));  // nobody could renew: a's lease and w1's heartbeat are stale
  auto n = st.RenewAllAfterOutage(seconds(30));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);  // b's lease still runs 260 s: left as it is
  auto r = st.Reap(seconds(30), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lease_expired + r->workers_offline + r->worker_jobs_reclaimed, 0);
  EXPECT_EQ(this->Get(a).status, S::kRunning);
  EXPECT_EQ(st.WorkerGet("w1")->status, WorkerState::kOnline);
  this->Advance(seconds(31));  // still silent a term later: lost after all
  r = st.Reap(seconds(30), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->workers_offline, 1);
  EXPECT_EQ(r->worker_jobs_reclaimed, 2);
  EXPECT_EQ(this->Get(a).status, S::kPending);
}

TYPED_TEST(JobStoreContract, WorkerPruneDeletesOnlyLongOfflineWorkersHoldingNothing) {
  auto& st = this->Store();
  for (const char* w : {"gone", "holder", "online", "recent", "drained"}) {
    ASSERT_TRUE(st.WorkerUpsert({w, "h", 1, {}, "s1"}).ok());
  }
  const std::string held = this->Submit();
  ASSERT_EQ(this->ClaimOne("holder", seconds(100000)), held);
  ASSERT_TRUE(st.WorkerSetStatus("gone", WorkerState::kOffline).ok());
  ASSERT_TRUE(st.WorkerSetStatus("holder", WorkerState::kOffline).ok());
  // Drained for maintenance and away for days: it must come back drained, so its row stays.
  ASSERT_TRUE(st.WorkerSetDrained("drained", true).ok());
  ASSERT_TRUE(st.WorkerSetStatus("drained", WorkerState::kOffline).ok());
  this->Advance(seconds(7200));
  ASSERT_TRUE(st.WorkerHeartbeat("online", 0).ok());
  ASSERT_TRUE(st.WorkerHeartbeat("recent", 0).ok());
  ASSERT_TRUE(st.WorkerSetStatus("recent", WorkerState::kOffline).ok());
  auto n = st.WorkerPrune(seconds(3600));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(st.WorkerGet("gone").status().code(), StatusCode::kNotFound);
  for (const char* w : {"holder", "online", "recent", "drained"}) {
    EXPECT_TRUE(st.WorkerGet(w).ok()) << w;
  }
  ASSERT_TRUE(st.WorkerUpsert({"gone", "h", 1, {}, "s1"}).ok());  // it may come back
  EXPECT_EQ(st.WorkerGet("gone")->status, WorkerState::kOnline);
}

TYPED_TEST(JobStoreContract, EventListManyGivesEachJobsEventsAfterItsOwnCursor) {
  auto& st = this->Store();
  const std::string a = this->Submit();
  const std::string b = this->Submit();
  const std::string quiet = this->Submit();
  ASSERT_EQ(this->Claim("w1", 2, {}, seconds(30)).size(), 2u);
  auto listed_a = st.JobEventList(a, 0);
  ASSERT_TRUE(listed_a.ok());
  const std::int64_t a_submitted = (*listed_a)[0].id;
  auto r = st.JobEventListMany({{a, a_submitted}, {b, 0}, {quiet, 1LL << 60}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& e : *r) got.emplace_back(e.job_id, e.reason);
  std::multiset<std::pair<std::string, std::string>> want{
      {a, "ASSIGNED"}, {b, "SUBMITTED"}, {b, "ASSIGNED"}};
  EXPECT_EQ(std::multiset(got.begin(), got.end()), want);
  EXPECT_TRUE(std::is_sorted(r->begin(), r->end(),
                             [](const auto& x, const auto& y) { return x.id < y.id; }));
  EXPECT_TRUE(st.JobEventListMany({})->empty());
}

TYPED_TEST(JobStoreContract, ReapDeadLettersJobsNotStartedWithinTheirTtl) {
  auto& st = this->Store();
  JobInsertParams p;
  p.queue = "default";
  p.ttl_seconds = 60;
  const std::string running = this->SubmitWith(p);
  ASSERT_EQ(this->ClaimOne("w1", seconds(300)), running);
  ASSERT_TRUE(st.JobSetRunning({running, "w1", 1}).ok());
  const std::string assigned = this->SubmitWith(p);
  ASSERT_EQ(this->ClaimOne("w1", seconds(300)), assigned);
  const std::string pending = this->SubmitWith(p);
  this->Advance(seconds(59));
  auto early = st.Reap(seconds(3600), 0);
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->ttl_expired, 0);
  this->Advance(seconds(2));
  auto r = st.Reap(seconds(3600), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ttl_expired, 2);
  EXPECT_EQ(this->Get(running).status, S::kRunning);  // a started job has no TTL
  for (const auto& id : {assigned, pending}) {
    EXPECT_EQ(this->Get(id).status, S::kDeadLettered);
    EXPECT_EQ(this->Get(id).error_message, "not started within its TTL");
  }
  EXPECT_EQ(this->Events(assigned).back(),
            (Ev{S::kAssigned, S::kDeadLettered, "TTL_EXPIRED", "w1", 1}));
  EXPECT_EQ(this->Events(pending).back(),
            (Ev{S::kPending, S::kDeadLettered, "TTL_EXPIRED", "", 0}));
  // The retry of a started job keeps running past the TTL.
  ASSERT_TRUE(this->Report(running, "w1", 1, false).ok());
  ASSERT_TRUE(st.Reap(seconds(3600), 0).ok());
  EXPECT_EQ(this->Get(running).status, S::kPending);
}

TYPED_TEST(JobStoreContract, AJobCanLoseItsLeaseAndItsTtlInOneReap) {
  JobInsertParams p;
  p.queue = "default";
  p.ttl_seconds = 60;
  const std::string id = this->SubmitWith(p);
  ASSERT_EQ(this->ClaimOne("w1", seconds(30)), id);
  this->Advance(seconds(61));
  auto r = this->Store().Reap(seconds(3600), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lease_expired, 1);
  EXPECT_EQ(r->ttl_expired, 1);
  EXPECT_EQ(this->Reasons(id),
            (Strings{"SUBMITTED", "ASSIGNED", "LEASE_EXPIRED", "RETRY", "TTL_EXPIRED"}));
  EXPECT_EQ(this->Get(id).status, S::kDeadLettered);
}

// ---------------------------------------------------------------------------- workers

TYPED_TEST(JobStoreContract, WorkerRegistryKeepsADrainAcrossReconnects) {
  auto& st = this->Store();
  ASSERT_TRUE(st.WorkerUpsert({"w2", "h2", 1, {}, ""}).ok());
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 4, {"default", "emails"}, "s1"}).ok());
  auto w = st.WorkerGet("w1");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->hostname, "h1");
  EXPECT_EQ(w->status, WorkerState::kOnline);
  EXPECT_EQ(w->concurrency, 4);
  EXPECT_EQ(w->queues, (Strings{"default", "emails"}));
  EXPECT_EQ(w->server_id, "s1");
  EXPECT_EQ(w->active_job_count, 0);
  ASSERT_TRUE(st.WorkerHeartbeat("w1", 3).ok());
  EXPECT_EQ(st.WorkerGet("w1")->active_job_count, 3);
  ASSERT_TRUE(st.WorkerSetDrained("w1", true).ok());
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1b", 8, {}, "s2"}).ok());
  w = st.WorkerGet("w1");
  EXPECT_EQ(w->status, WorkerState::kDraining);
  EXPECT_EQ(w->hostname, "h1b");
  EXPECT_EQ(w->server_id, "s2");
  EXPECT_EQ(w->active_job_count, 3);
  ASSERT_TRUE(st.WorkerSetDrained("w1", false).ok());
  ASSERT_TRUE(st.WorkerSetStatus("w1", WorkerState::kOffline).ok());
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 8, {}, "s2"}).ok());
  EXPECT_EQ(st.WorkerGet("w1")->status, WorkerState::kOnline);
  auto list = st.WorkerList();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "w1");
  EXPECT_EQ((*list)[1].id, "w2");
  EXPECT_EQ(st.WorkerGet("nobody").status().message(), "worker nobody not found");
  EXPECT_EQ(st.WorkerSetStatus("nobody", WorkerState::kOnline).code(), StatusCode::kNotFound);
  Status hb = st.WorkerHeartbeat("nobody", 0);
  EXPECT_EQ(hb.code(), StatusCode::kNotFound);
  EXPECT_EQ(hb.message(), "worker nobody is not registered");
  EXPECT_TRUE(st.Ping().ok());
  EXPECT_TRUE(st.Notify("jq_control", "drain w1").ok());
}

TYPED_TEST(JobStoreContract, WorkerDeregisterReleasesItsJobs) {
  auto& st = this->Store();
  ASSERT_TRUE(st.WorkerUpsert({"w1", "host", 4, {"default"}, "s1"}).ok());
  ASSERT_TRUE(st.WorkerHeartbeat("w1", 2).ok());
  const std::string running = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), running);
  ASSERT_TRUE(st.JobSetRunning({running, "w1", 1}).ok());
  const std::string last = this->Submit("default", 0, 0);
  ASSERT_EQ(this->ClaimOne("w1"), last);
  ASSERT_TRUE(st.WorkerDeregister("w1", 0.5).ok());
  auto j = this->Get(running);
  EXPECT_EQ(j.status, S::kPending);
  EXPECT_EQ(j.retry_count, 1);
  EXPECT_EQ(j.error_message, "worker deregistered");
  EXPECT_LE(j.not_before, this->Now());
  auto events = this->Events(running);
  EXPECT_EQ(events[events.size() - 2], (Ev{S::kRunning, S::kFailed, "WORKER_LOST", "w1", 1}));
  EXPECT_EQ(events.back(), (Ev{S::kFailed, S::kPending, "RETRY", "w1", 1}));
  EXPECT_EQ(this->Get(last).status, S::kDeadLettered);
  EXPECT_EQ(this->Events(last).back(),
            (Ev{S::kFailed, S::kDeadLettered, "MAX_RETRIES_EXCEEDED", "w1", 1}));
  auto w = st.WorkerGet("w1");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->status, WorkerState::kOffline);
  EXPECT_EQ(w->active_job_count, 0);
  EXPECT_TRUE(st.JobListHeldBy("w1")->empty());
  Status nobody = st.WorkerDeregister("nobody", 0);
  EXPECT_EQ(nobody.code(), StatusCode::kNotFound);
  EXPECT_EQ(nobody.message(), "worker nobody not found");
}

// A drain is the operator's until they resume the worker: heartbeats, a silence (the reaper's
// OFFLINE), a deregistration and registering again (another replica, a restart) keep it.
TYPED_TEST(JobStoreContract, ADrainOutlivesEverythingTheWorkerDoesUntilResumed) {
  auto& st = this->Store();
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 4, {"default"}, "s1"}).ok());
  ASSERT_TRUE(st.WorkerSetDrained("w1", true).ok());
  auto status = [&] { return st.WorkerGet("w1")->status; };
  EXPECT_EQ(status(), WorkerState::kDraining);
  EXPECT_TRUE(st.WorkerGet("w1")->drained);
  ASSERT_TRUE(st.WorkerHeartbeat("w1", 1).ok());
  ASSERT_TRUE(st.WorkerHeartbeatMany({{"w1", 1, {}}}, seconds(30)).ok());
  EXPECT_EQ(status(), WorkerState::kDraining);
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 4, {"default"}, "s2"}).ok());
  EXPECT_EQ(status(), WorkerState::kDraining);
  this->Advance(seconds(60));
  ASSERT_EQ(st.Reap(seconds(30), 0)->workers_offline, 1);
  EXPECT_EQ(status(), WorkerState::kOffline);
  ASSERT_TRUE(st.WorkerHeartbeat("w1", 0).ok());  // back after a partition
  EXPECT_EQ(status(), WorkerState::kDraining);
  ASSERT_TRUE(st.WorkerDeregister("w1", 0).ok());
  EXPECT_EQ(status(), WorkerState::kOffline);
  EXPECT_TRUE(st.WorkerGet("w1")->drained);
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 4, {"default"}, "s1"}).ok());  // restarted
  EXPECT_EQ(status(), WorkerState::kDraining);
  ASSERT_TRUE(st.WorkerSetDrained("w1", false).ok());
  EXPECT_EQ(status(), WorkerState::kOnline);
  EXPECT_FALSE(st.WorkerGet("w1")->drained);
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 4, {"default"}, "s1"}).ok());
  EXPECT_EQ(status(), WorkerState::kOnline);

  // Drained while away: OFFLINE until it is back, then DRAINING.
  ASSERT_TRUE(st.WorkerDeregister("w1", 0).ok());
  ASSERT_TRUE(st.WorkerSetDrained("w1", true).ok());
  EXPECT_EQ(status(), WorkerState::kOffline);
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 4, {"default"}, "s1"}).ok());
  EXPECT_EQ(status(), WorkerState::kDraining);
  EXPECT_EQ(st.WorkerSetDrained("nobody", true).code(), StatusCode::kNotFound);
}

TYPED_TEST(JobStoreContract, AShutdownIsPendingUntilTheWorkerDeregisters) {
  auto& st = this->Store();
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 4, {"default"}, "s1"}).ok());
  ASSERT_TRUE(st.WorkerRequestShutdown("w1", /*now=*/false).ok());
  auto w = st.WorkerGet("w1");
  EXPECT_EQ(w->status, WorkerState::kDraining);
  EXPECT_EQ(w->shutdown, ShutdownRequest::kGraceful);
  EXPECT_FALSE(w->drained);
  ASSERT_TRUE(st.WorkerRequestShutdown("w1", /*now=*/true).ok());
  ASSERT_TRUE(st.WorkerRequestShutdown("w1", /*now=*/false).ok());  // --now is not undone
  EXPECT_EQ(st.WorkerGet("w1")->shutdown, ShutdownRequest::kNow);
  // A reconnect before it got the message keeps it; so does a resume (nothing was drained).
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 4, {"default"}, "s2"}).ok());
  ASSERT_TRUE(st.WorkerSetDrained("w1", false).ok());
  w = st.WorkerGet("w1");
  EXPECT_EQ(w->status, WorkerState::kDraining);
  EXPECT_EQ(w->shutdown, ShutdownRequest::kNow);
  ASSERT_TRUE(st.WorkerDeregister("w1", 0).ok());
  w = st.WorkerGet("w1");
  EXPECT_EQ(w->status, WorkerState::kOffline);
  EXPECT_EQ(w->shutdown, ShutdownRequest::kNone);
  Status offline = st.WorkerRequestShutdown("w1", false);
  EXPECT_EQ(offline.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(offline.message(), "worker w1 is OFFLINE");
  EXPECT_EQ(st.WorkerRequestShutdown("nobody", false).code(), StatusCode::kNotFound);
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 4, {"default"}, "s1"}).ok());  // started again
  EXPECT_EQ(st.WorkerGet("w1")->status, WorkerState::kOnline);

  // One that went away (OFFLINE) before carrying it out comes back without it.
  ASSERT_TRUE(st.WorkerRequestShutdown("w1", false).ok());
  this->Advance(seconds(60));
  ASSERT_EQ(st.Reap(seconds(30), 0)->workers_offline, 1);
  ASSERT_TRUE(st.WorkerUpsert({"w1", "h1", 4, {"default"}, "s1"}).ok());
  w = st.WorkerGet("w1");
  EXPECT_EQ(w->status, WorkerState::kOnline);
  EXPECT_EQ(w->shutdown, ShutdownRequest::kNone);
}

// The jobs a shutdown stopped go back without using a retry, even the last one.
TYPED_TEST(JobStoreContract, DeregisterAfterAShutdownRequeuesItsJobsWithoutUsingARetry) {
  auto& st = this->Store();
  ASSERT_TRUE(st.WorkerUpsert({"w1", "host", 4, {"default"}, "s1"}).ok());
  const std::string running = this->Submit("default", 0, 0);  // no retries at all
  ASSERT_EQ(this->ClaimOne("w1"), running);
  ASSERT_TRUE(st.JobSetRunning({running, "w1", 1}).ok());
  const std::string assigned = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), assigned);
  ASSERT_TRUE(st.WorkerRequestShutdown("w1", /*now=*/true).ok());
  ASSERT_TRUE(st.WorkerDeregister("w1", 0.5).ok());
  for (const auto& id : {running, assigned}) {
    auto j = this->Get(id);
    EXPECT_EQ(j.status, S::kPending) << id;
    EXPECT_EQ(j.retry_count, 0) << id;
    EXPECT_LE(j.not_before, this->Now());
    EXPECT_EQ(j.error_message, "stopped by a shutdown of its worker (jq-ctl worker shutdown)");
  }
  auto events = this->Events(running);
  EXPECT_EQ(events[events.size() - 2], (Ev{S::kRunning, S::kFailed, "WORKER_SHUTDOWN", "w1", 1}));
  EXPECT_EQ(events.back(), (Ev{S::kFailed, S::kPending, "RETRY", "w1", 1}));
  EXPECT_EQ(this->Events(assigned)[this->Events(assigned).size() - 2],
            (Ev{S::kAssigned, S::kFailed, "WORKER_SHUTDOWN", "w1", 1}));
  // The next deregistration, with no shutdown asked for, is a lost worker again.
  ASSERT_TRUE(st.WorkerUpsert({"w1", "host", 4, {"default"}, "s1"}).ok());
  ASSERT_EQ(this->ClaimOne("w1"), running);
  ASSERT_TRUE(st.WorkerDeregister("w1", 0.5).ok());
  EXPECT_EQ(this->Get(running).status, S::kDeadLettered);
  EXPECT_EQ(this->Reasons(running).back(), "MAX_RETRIES_EXCEEDED");
}

TYPED_TEST(JobStoreContract, TenantInFlightCountsLeasedJobs) {
  auto& st = this->Store();
  JobInsertParams acme, beta;
  acme.tenant = "acme";
  beta.tenant = "beta";
  acme.queue = beta.queue = "default";
  const std::string a1 = this->SubmitWith(acme);
  this->SubmitWith(acme);
  this->SubmitWith(beta);
  this->SubmitWith(beta);  // stays PENDING
  ASSERT_EQ(this->Claim("w1", 3).size(), 3u);
  ASSERT_TRUE(st.JobSetRunning({a1, "w1", 1}).ok());
  auto t = st.TenantInFlight();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (std::map<std::string, std::int64_t>{{"acme", 2}, {"beta", 1}}));
  ASSERT_TRUE(this->Report(a1, "w1", 1, true).ok());
  t = st.TenantInFlight();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (std::map<std::string, std::int64_t>{{"acme", 1}, {"beta", 1}}));
  auto held = st.JobListHeldBy("w1");
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->size(), 2u);
  EXPECT_TRUE(st.JobListHeldBy("nobody")->empty());
}

// ---------------------------------------------------------------------------- retention

constexpr seconds kWeek{7 * 86400};

JobDeleteFinishedParams Retain(JobState status, seconds older_than, int limit = 100,
                               bool keep_unpublished = false) {
  JobDeleteFinishedParams p;
  p.status = status;
  p.older_than = older_than;
  p.limit = limit;
  p.keep_unpublished = keep_unpublished;
  return p;
}

TYPED_TEST(JobStoreContract, RetentionDeletesOldFinishedJobsWithTheirOutputsAndEvents) {
  auto& st = this->Store();
  const std::string done = this->Submit();
  const std::string dead = this->Submit();
  const std::string pending = this->Submit();
  const std::string running = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), done);
  JobCompleteParams p;
  p.lease = {done, "w1", 1};
  p.success = true;
  p.output = JobOutputRecord{.exit_code = 0, .stdout_data = "out", .stderr_data = ""};
  ASSERT_TRUE(st.JobComplete(p).ok());
  ASSERT_TRUE(st.JobCancel(dead, "").ok());
  ASSERT_EQ(this->ClaimOne("w1"), pending);
  ASSERT_TRUE(this->Report(pending, "w1", 1, false, "FAILED_EXIT_CODE", "boom").ok());  // retry
  ASSERT_EQ(this->ClaimOne("w1"), running);
  ASSERT_TRUE(st.JobSetRunning({running, "w1", 1}).ok());
  this->Advance(kWeek + seconds(60));
  const std::string recent = this->Submit("default", 9);  // ahead of the retried one
  ASSERT_EQ(this->ClaimOne("w2"), recent);
  ASSERT_TRUE(this->Report(recent, "w2", 1, true).ok());

  auto r = st.JobDeleteFinished(Retain(S::kDone, kWeek));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->examined, 1);
  EXPECT_EQ(r->jobs, 1);
  EXPECT_EQ(r->outputs, 1);
  EXPECT_EQ(r->events, 4);  // SUBMITTED, ASSIGNED, STARTED, SUCCESS
  EXPECT_EQ(r->held_back, 0);
  EXPECT_FALSE(r->busy);
  EXPECT_EQ(r->last_id, done);
  EXPECT_EQ(st.JobGet(done, "").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(st.JobEventList(done, 0)->empty());
  EXPECT_TRUE(st.JobOutputList(done)->empty());
  // The dead-lettered job has its own pass; the unfinished and the recent ones stay.
  EXPECT_EQ(this->Get(dead).status, S::kDeadLettered);
  auto d = st.JobDeleteFinished(Retain(S::kDeadLettered, kWeek));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->jobs, 1);
  EXPECT_EQ(d->events, 2);  // SUBMITTED, CANCELLED
  EXPECT_EQ(st.JobGet(dead, "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->Get(pending).status, S::kPending);
  EXPECT_EQ(this->Reasons(pending).size(), 5u);
  EXPECT_EQ(this->Get(running).status, S::kRunning);
  EXPECT_EQ(this->Get(recent).status, S::kDone);
  EXPECT_EQ(this->Reasons(recent).size(), 4u);
  auto again = st.JobDeleteFinished(Retain(S::kDone, kWeek));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->examined, 0);
  EXPECT_FALSE(again->last_completed_at.has_value());
}

TYPED_TEST(JobStoreContract, RetentionBatchesTakeTheOldestFirstAndFollowTheKeyset) {
  auto& st = this->Store();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(this->Submit());
    ASSERT_EQ(this->ClaimOne("w1"), ids.back());
    ASSERT_TRUE(this->Report(ids.back(), "w1", 1, true).ok());
    this->Advance(seconds(10));
  }
  this->Advance(kWeek);
  auto p = Retain(S::kDone, kWeek, 2);
  std::vector<int> examined;
  for (int batch = 0; batch < 4; ++batch) {
    auto r = st.JobDeleteFinished(p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    examined.push_back(r->examined);
    if (batch == 0) {
      EXPECT_EQ(r->last_id, ids[1]);
      EXPECT_EQ(st.JobGet(ids[0], "").status().code(), StatusCode::kNotFound);
      EXPECT_EQ(st.JobGet(ids[1], "").status().code(), StatusCode::kNotFound);
      EXPECT_EQ(this->Get(ids[2]).status, S::kDone);
    }
    if (r->last_completed_at) {
      p.after_completed_at = r->last_completed_at;
      p.after_id = r->last_id;
    }
  }
  EXPECT_EQ(examined, (std::vector<int>{2, 2, 1, 0}));
  EXPECT_TRUE(st.JobList({})->jobs.empty());
}

TYPED_TEST(JobStoreContract, RetentionKeepsJobsWhoseEventsAreNotYetPublished) {
  auto& st = this->Store();
  const std::string first = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), first);
  ASSERT_TRUE(this->Report(first, "w1", 1, true).ok());
  this->Advance(seconds(10));
  const std::string second = this->Submit();
  ASSERT_EQ(this->ClaimOne("w1"), second);
  ASSERT_TRUE(this->Report(second, "w1", 1, true).ok());
  this->Advance(kWeek + seconds(1));
  const auto p = Retain(S::kDone, kWeek, 100, /*keep_unpublished=*/true);
  // Nothing published yet (the cursor as migrated): both stay, events and all.
  auto r = st.JobDeleteFinished(p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->examined, 2);
  EXPECT_EQ(r->jobs, 0);
  EXPECT_EQ(r->events, 0);
  EXPECT_EQ(r->held_back, 2);
  EXPECT_EQ(this->Reasons(first).size(), 4u);
  // The relay has published the first job's events but not all of the second's.
  const auto first_events = st.JobEventList(first, 0);
  ASSERT_TRUE(first_events.ok());
  const auto second_events = st.JobEventList(second, 0);
  ASSERT_TRUE(second_events.ok());
  ASSERT_LT(first_events->back().id, second_events->back().id);
  this->SetOutboxCursor(second_events->back().id - 1);
  r = st.JobDeleteFinished(p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->examined, 2);
  EXPECT_EQ(r->jobs, 1);
  EXPECT_EQ(r->events, 4);
  EXPECT_EQ(r->held_back, 1);
  EXPECT_EQ(st.JobGet(first, "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->Reasons(second).size(), 4u);
  // Without a relay nothing waits for Kafka.
  r = st.JobDeleteFinished(Retain(S::kDone, kWeek, 100, false));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->jobs, 1);
  EXPECT_TRUE(st.JobEventList(second, 0)->empty());
}

TYPED_TEST(JobStoreContract, RetentionFreesTheIdempotencyKeyForANewJob) {
  auto& st = this->Store();
  JobInsertParams p;
  p.queue = "default";
  p.idempotency_key = "order-7";
  const std::string first = this->SubmitWith(p);
  ASSERT_EQ(this->ClaimOne("w1"), first);
  ASSERT_TRUE(this->Report(first, "w1", 1, true).ok());
  this->Advance(kWeek + seconds(1));
  auto r = st.JobDeleteFinished(Retain(S::kDone, kWeek));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->jobs, 1);
  auto again = st.JobInsertMany({p});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_NE((*again)[0].job_id, first);
  EXPECT_FALSE((*again)[0].duplicate);
  EXPECT_EQ(this->Get((*again)[0].job_id).status, S::kPending);
}

TYPED_TEST(JobStoreContract, RetentionRefusesUnfinishedStatesAndBadLimits) {
  auto& st = this->Store();
  for (JobState s : {S::kPending, S::kAssigned, S::kRunning, S::kFailed, S::kUnspecified}) {
    auto r = st.JobDeleteFinished(Retain(s, kWeek));
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << JobStatusName(s);
  }
  EXPECT_EQ(st.JobDeleteFinished(Retain(S::kDone, kWeek, 0)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(st.JobDeleteFinished(Retain(S::kDone, seconds(-1))).status().code(),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------- api keys

ApiKeyRecord Key(const std::string& id, const std::string& tenant, const std::string& role) {
  ApiKeyRecord k;
  k.id = id;
  k.tenant = tenant;
  k.role = role;
  // Raw digest bytes, a zero among them: stored and read back as bytes, not text.
  k.secret_sha256 = std::string(32, '\x7f');
  k.secret_sha256[3] = '\0';
  k.secret_sha256[31] = static_cast<char>(0xff);
  k.description = "for " + tenant;
  return k;
}

TYPED_TEST(JobStoreContract, ApiKeysAreStoredListedByTenantAndRevoked) {
  auto& st = this->Store();
  ASSERT_TRUE(st.ApiKeyInsert(Key("00000000000000a1", "acme", "producer")).ok());
  this->Advance(seconds(1));
  ASSERT_TRUE(st.ApiKeyInsert(Key("00000000000000b2", "globex", "worker")).ok());
  EXPECT_EQ(st.ApiKeyInsert(Key("00000000000000a1", "other", "admin")).code(),
            StatusCode::kAlreadyExists);

  auto all = st.ApiKeyList("");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "00000000000000a1");  // oldest first
  EXPECT_EQ((*all)[0].tenant, "acme");
  EXPECT_EQ((*all)[0].role, "producer");
  EXPECT_EQ((*all)[0].description, "for acme");
  EXPECT_EQ((*all)[0].secret_sha256, Key("x", "y", "z").secret_sha256);
  EXPECT_FALSE((*all)[0].last_used_at.has_value());
  EXPECT_FALSE((*all)[0].revoked_at.has_value());
  EXPECT_EQ((*all)[1].id, "00000000000000b2");
  EXPECT_GT((*all)[1].created_at, (*all)[0].created_at - seconds(5));

  auto globex = st.ApiKeyList("globex");
  ASSERT_TRUE(globex.ok());
  ASSERT_EQ(globex->size(), 1u);
  EXPECT_EQ((*globex)[0].role, "worker");
  EXPECT_TRUE(st.ApiKeyList("nobody")->empty());

  auto revoked = st.ApiKeyRevoke("00000000000000a1");
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  ASSERT_TRUE(revoked->revoked_at.has_value());
  const TimePoint first = *revoked->revoked_at;
  this->Advance(seconds(10));
  auto again = st.ApiKeyRevoke("00000000000000a1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->revoked_at, first);  // revoking twice keeps the first time
  EXPECT_EQ(st.ApiKeyRevoke("00000000000000ff").status().code(), StatusCode::kNotFound);
  // Revoked keys stay listed, marked.
  all = st.ApiKeyList("");
  ASSERT_EQ(all->size(), 2u);
  EXPECT_TRUE((*all)[0].revoked_at.has_value());
  EXPECT_FALSE((*all)[1].revoked_at.has_value());
}

TYPED_TEST(JobStoreContract, ApiKeyTouchRecordsLastUse) {
  auto& st = this->Store();
  ASSERT_TRUE(st.ApiKeyInsert(Key("00000000000000a1", "acme", "producer")).ok());
  ASSERT_TRUE(st.ApiKeyInsert(Key("00000000000000b2", "acme", "producer")).ok());
  ASSERT_TRUE(st.ApiKeyTouch({}).ok());
  ASSERT_TRUE(st.ApiKeyTouch({"00000000000000b2", "00000000000000ff"}).ok());  // unknown: ignored
  auto all = st.ApiKeyList("acme");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  for (const auto& k : *all) {
    if (k.id == "00000000000000b2") {
      ASSERT_TRUE(k.last_used_at.has_value());
      EXPECT_LE(*k.last_used_at - this->Now(), seconds(5));
    } else {
      EXPECT_FALSE(k.last_used_at.has_value());
    }
  }
}

// ---------------------------------------------------------------------------- tenants

TYPED_TEST(JobStoreContract, JwtRevocationsAreRecordedAndASecondOneMovesTheTimeOn) {
  auto& st = this->Store();
  auto empty = st.JwtRevocationList();
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->empty());
  auto first = st.JwtRevoke("alice@example.com", "0123456789abcdef");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->subject, "alice@example.com");
  EXPECT_EQ(first->revoked_by, "0123456789abcdef");
  ASSERT_TRUE(st.JwtRevoke("bob", "bootstrap").ok());
  auto again = st.JwtRevoke("alice@example.com", "jwt:carol");
  ASSERT_TRUE(again.ok());
  EXPECT_GE(again->revoked_at, first->revoked_at);  // now(), again
  auto list = st.JwtRevocationList();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);  // one row per subject, by subject
  EXPECT_EQ((*list)[0].subject, "alice@example.com");
  EXPECT_EQ((*list)[0].revoked_by, "jwt:carol");
  EXPECT_EQ((*list)[0].revoked_at, again->revoked_at);
  EXPECT_EQ((*list)[1].subject, "bob");
}

TYPED_TEST(JobStoreContract, TenantsAreCreatedUpdatedAndListed) {
  auto& st = this->Store();
  TenantRecord t;
  t.name = "globex";
  t.max_running_jobs = 5;
  auto created = st.TenantCreate(t);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->max_running_jobs, 5);
  EXPECT_FALSE(created->submit_rate.has_value());  // unset: the configuration's default
  EXPECT_EQ(st.TenantCreate(t).status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(st.TenantCreate(TenantRecord{.name = "acme"}).ok());

  TenantRecord change;
  change.name = "globex";
  change.submit_rate = 100;
  change.submit_burst = 0;
  auto updated = st.TenantUpdate({.set = change});
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->max_running_jobs, 5);  // not given: kept
  EXPECT_EQ(updated->submit_rate, 100);
  EXPECT_EQ(updated->submit_burst, 0);
  EXPECT_EQ(st.TenantUpdate({.set = {.name = "nobody"}}).status().code(), StatusCode::kNotFound);
  // Back to the configuration's default: the reset limit is unset, the others stay.
  auto reset = st.TenantUpdate({.set = {.name = "globex", .submit_burst = 7},
                                .reset_max_running_jobs = true,
                                .reset_submit_rate = true});
  ASSERT_TRUE(reset.ok()) << reset.status().ToString();
  EXPECT_FALSE(reset->max_running_jobs.has_value());
  EXPECT_FALSE(reset->submit_rate.has_value());
  EXPECT_EQ(reset->submit_burst, 7);
  ASSERT_TRUE(st.TenantUpdate({.set = {.name = "globex", .submit_rate = 100}}).ok());

  auto list = st.TenantList();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "acme");
  EXPECT_EQ((*list)[1].name, "globex");
  EXPECT_EQ((*list)[1].submit_rate, 100);
}

// ---------------------------------------------------------------------------- actors

TYPED_TEST(JobStoreContract, CancelRetryAndQueueDeleteRecordTheirActor) {
  auto& st = this->Store();
  const std::string id = this->Submit();
  ASSERT_TRUE(st.JobCancel(id, "", "00000000000000a1").ok());
  ASSERT_TRUE(st.JobRetry(id, "", "bootstrap").ok());
  QueueRecord q;
  q.name = "doomed";
  ASSERT_TRUE(st.QueueCreate(q).ok());
  const std::string other = this->Submit("doomed");
  ASSERT_TRUE(st.QueueDelete("doomed", true, "jwt:alice").ok());

  auto events = st.JobEventList(id, 0);
  ASSERT_TRUE(events.ok());
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& e : *events) got.emplace_back(e.reason, e.actor);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{
                     {"SUBMITTED", ""},  // the system's own: no actor
                     {"CANCELLED", "00000000000000a1"},
                     {"MANUAL_RETRY", "bootstrap"}}));
  auto deleted = st.JobEventList(other, 0);
  ASSERT_TRUE(deleted.ok());
  ASSERT_EQ(deleted->size(), 2u);
  EXPECT_EQ(deleted->back().actor, "jwt:alice");
  // Tenant-scoped: another tenant's job is NOT_FOUND, and nothing is recorded.
  EXPECT_EQ(st.JobCancel(id, "globex", "x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(st.JobEventList(id, 0)->size(), 3u);
}

TYPED_TEST(JobStoreContract, ATenantsClaimTakesOnlyItsJobs) {
  auto& st = this->Store();
  JobInsertParams p;
  p.queue = "default";
  p.tenant = "globex";
  const std::string g1 = this->SubmitWith(p);
  p.tenant = "acme";
  const std::string a1 = this->SubmitWith(p);
  p.tenant = "globex";
  const std::string g2 = this->SubmitWith(p);
  auto acme = st.JobClaimMany({{"w1", "w1", "w1"}, {}, seconds(30), "acme"});
  ASSERT_TRUE(acme.ok()) << acme.status().ToString();
  ASSERT_EQ(acme->size(), 1u);
  EXPECT_EQ((*acme)[0].id, a1);
  EXPECT_EQ((*acme)[0].tenant, "acme");
  EXPECT_TRUE(st.JobClaimMany({{"w1"}, {"default"}, seconds(30), "acme"})->empty());
  auto any = st.JobClaimMany({{"w2", "w2", "w2"}, {}, seconds(30), ""});
  ASSERT_TRUE(any.ok());
  ASSERT_EQ(any->size(), 2u);  // every tenant's
  EXPECT_EQ((*any)[0].id, g1);
  EXPECT_EQ((*any)[1].id, g2);
}

}  // namespace
}  // namespace jq::testing
