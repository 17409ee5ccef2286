// The server's loops on the fake store with a manual clock: the dispatcher's claims and their
// fairness, the release of undelivered jobs, the reaper's reclaims, and the completer's batched
// answers. No database, no threads of their own, no sleeps.
#include <gtest/gtest.h>

#include <prometheus/registry.h>
#include <future>
#include <set>

#include "core/clock.h"
#include "server/control_message.h"
#include "server/dispatcher.h"
#include "server/fleet.h"
#include "server/job_completer.h"
#include "server/job_watch_hub.h"
#include "server/reaper.h"
#include "server/schema_check.h"
#include "server/server_metrics.h"
#include "support/fake_job_store.h"

namespace jq::server {
namespace {

using std::chrono::seconds;

class ServerLoopsTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  testing::FakeJobStore store_{[this] { return clock_.Now(); }};

  std::string Submit(const std::string& queue = "default", int priority = 0) {
    JobInsertParams p;
    p.queue = queue;
    p.payload = R"({"command":["true"]})";
    p.priority = priority;
    auto r = store_.JobInsertMany({p});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)[0].job_id : "";
  }

  JobRecord Get(const std::string& id) {
    auto r = store_.JobGet(id, "");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : JobRecord{};
  }

  std::vector<std::string> Reasons(const std::string& id) {
    std::vector<std::string> out;
    auto events = store_.JobEventList(id, 0);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (events.ok()) {
      for (const auto& e : *events) out.push_back(e.reason);
    }
    return out;
  }

  std::shared_ptr<WorkerSession> Session(const std::string& worker, int slots) {
    EXPECT_TRUE(store_.WorkerUpsert({worker, "host", slots, {"default"}, "s1"}).ok());
    return std::make_shared<WorkerSession>(worker, std::vector<std::string>{"default"}, slots,
                                           /*supports_control=*/true, clock_);
  }

  static std::vector<jq::JobAssignment> Drain(WorkerSession& s) {
    std::vector<jq::JobAssignment> out;
    while (auto a = s.TryNext()) out.push_back(std::move(*a));
    return out;
  }
};

TEST_F(ServerLoopsTest, DispatcherSpreadsAShortSupplyOverTheWorkers) {
  Dispatcher d(store_, {.batch_size = 100}, clock_);
  auto a = Session("wa", 3);
  auto b = Session("wb", 3);
  d.Attach(a);
  d.Attach(b);
  for (int i = 0; i < 4; ++i) Submit();
  EXPECT_FALSE(d.RunOnce());  // 4 jobs for 6 slots: nothing more to take
  const auto to_a = Drain(*a);
  const auto to_b = Drain(*b);
  EXPECT_EQ(to_a.size(), 2u);
  EXPECT_EQ(to_b.size(), 2u);
  for (const auto& j : to_a) {
    EXPECT_EQ(Get(j.job_id()).status, JobState::kAssigned);
    EXPECT_EQ(Get(j.job_id()).worker_id, "wa");
    EXPECT_EQ(j.attempt(), 1);
  }
  EXPECT_EQ(a->FreeSlots(), 1);
}

TEST_F(ServerLoopsTest, DispatcherTakesPriorityFirstAndSaysWhenMoreMayBeReady) {
  Dispatcher d(store_, {.batch_size = 100}, clock_);
  auto a = Session("wa", 2);
  d.Attach(a);
  const std::string low = Submit("default", 1);
  const std::string high = Submit("default", 9);
  Submit("default", 5);
  EXPECT_TRUE(d.RunOnce());  // both slots filled: there may be more
  const auto got = Drain(*a);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].job_id(), high);
  EXPECT_EQ(Get(low).status, JobState::kPending);
  EXPECT_FALSE(d.RunOnce());  // no free slot: no claim at all
  a->Release(got[0].job_id());
  d.RunOnce();
  EXPECT_EQ(Drain(*a).size(), 1u);
  EXPECT_EQ(Get(low).status, JobState::kAssigned);
}

TEST_F(ServerLoopsTest, AJobForAStreamThatClosedMeanwhileGoesBackWithoutUsingARetry) {
  Dispatcher d(store_, {.batch_size = 100}, clock_);
  auto a = Session("wa", 2);
  // The stream closes as the first job is pushed: the second never reaches the worker.
  a->SetListener([s = a.get()] { s->CloseQuietly(); });
  d.Attach(a);
  const std::string first = Submit();
  const std::string second = Submit();
  d.RunOnce();
  a->SetListener(nullptr);
  EXPECT_EQ(Get(first).status, JobState::kAssigned);
  const JobRecord back = Get(second);
  EXPECT_EQ(back.status, JobState::kPending);
  EXPECT_EQ(back.retry_count, 0);
  EXPECT_EQ(Reasons(second),
            (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "UNDELIVERED", "RETRY"}));
}

TEST_F(ServerLoopsTest, ReconcileFreesSlotsOnlyAfterTheGrace) {
  auto a = Session("wa", 1);
  a->AddInFlight({"job-1"});
  EXPECT_EQ(a->FreeSlots(), 0);
  a->Reconcile({}, std::chrono::milliseconds(2000));
  EXPECT_EQ(a->FreeSlots(), 0);  // just assigned: its start may still be on the way
  clock_.Advance(seconds(3));
  a->Reconcile({"job-1"}, std::chrono::milliseconds(2000));
  EXPECT_EQ(a->FreeSlots(), 0);  // the worker says it runs it
  a->Reconcile({}, std::chrono::milliseconds(2000));
  EXPECT_EQ(a->FreeSlots(), 1);
}

TEST_F(ServerLoopsTest, ReaperReturnsAnExpiredLeaseToTheQueueAtOnce) {
  std::vector<ReapResult> seen;
  Reaper reaper(store_, {.worker_timeout = seconds(3600), .jitter01 = [] { return 0.5; }},
                [&](const ReapResult& r) { seen.push_back(r); });
  const std::string id = Submit();
  ASSERT_TRUE(store_.WorkerUpsert({"wa", "host", 1, {"default"}, "s1"}).ok());
  ASSERT_EQ(store_.JobClaimAvailable({"wa", {}, 1, seconds(30)})->size(), 1u);
  ASSERT_TRUE(reaper.RunOnce().ok());
  EXPECT_EQ(Get(id).status, JobState::kAssigned);  // the lease holds
  clock_.Advance(seconds(31));
  ASSERT_TRUE(store_.WorkerHeartbeat("wa", 1).ok());  // the worker lives; only the lease is gone
  auto r = reaper.RunOnce();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lease_expired, 1);
  EXPECT_EQ(r->lease_expired_by_queue.at("default"), 1);
  const JobRecord j = Get(id);
  EXPECT_EQ(j.status, JobState::kPending);
  EXPECT_EQ(j.retry_count, 1);
  EXPECT_LE(j.not_before, clock_.Now());  // not the job's fault: no backoff
  EXPECT_EQ(Reasons(id).back(), "RETRY");
  ASSERT_EQ(seen.size(), 2u);
}

TEST_F(ServerLoopsTest, ReaperTakesASilentWorkerOfflineAndReclaimsItsJobs) {
  Reaper reaper(store_, {.worker_timeout = seconds(30), .jitter01 = [] { return 0.0; }}, nullptr);
  const std::string id = Submit();
  ASSERT_TRUE(store_.WorkerUpsert({"wa", "host", 1, {"default"}, "s1"}).ok());
  ASSERT_EQ(store_.JobClaimAvailable({"wa", {}, 1, seconds(300)})->size(), 1u);
  ASSERT_TRUE(reaper.RunOnce().ok());  // the reaper was running when the worker went silent
  clock_.Advance(seconds(31));
  auto r = reaper.RunOnce();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->workers_offline, 1);
  EXPECT_EQ(r->worker_jobs_reclaimed, 1);
  EXPECT_EQ(store_.WorkerGet("wa")->status, WorkerState::kOffline);
  EXPECT_EQ(Get(id).status, JobState::kPending);
  const auto reasons = Reasons(id);
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "WORKER_LOST"), reasons.end());
}

TEST_F(ServerLoopsTest, AStoreOutageLongerThanTheLeaseReapsNothingOnceTheStoreIsBack) {
  Reaper reaper(
      store_, {.worker_timeout = seconds(30), .lease = seconds(30), .jitter01 = [] { return 0.0; }},
      nullptr, clock_);
  const std::string id = Submit();
  ASSERT_TRUE(store_.WorkerUpsert({"wa", "host", 1, {"default"}, "s1"}).ok());
  ASSERT_EQ(store_.JobClaimAvailable({"wa", {}, 1, seconds(30)})->size(), 1u);
  store_.SetReachable(false);
  clock_.Advance(seconds(20));
  EXPECT_EQ(reaper.RunOnce().status().code(), StatusCode::kUnavailable);
  clock_.Advance(seconds(40));  // 60 s unrenewed: past the lease and the worker timeout
  store_.SetReachable(true);
  auto r = reaper.RunOnce();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lease_expired + r->workers_offline + r->worker_jobs_reclaimed, 0);
  EXPECT_EQ(Get(id).status, JobState::kAssigned);
  EXPECT_EQ(store_.WorkerGet("wa")->status, WorkerState::kOnline);

  // A fresh term, not forever: a worker still silent a term later has lost its job.
  clock_.Advance(seconds(31));
  r = reaper.RunOnce();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->workers_offline, 1);
  EXPECT_EQ(Get(id).status, JobState::kPending);
}

// A store that fails a pass now and then (deadlocks, statement timeouts) is not an outage: a
// dead worker still loses its jobs on time.
TEST_F(ServerLoopsTest, SingleFailedPassesRenewNothing) {
  Reaper reaper(store_,
                {.interval = std::chrono::milliseconds(1000),
                 .worker_timeout = seconds(30),
                 .lease = seconds(30),
                 .jitter01 = [] { return 0.0; }},
                nullptr, clock_);
  const std::string id = Submit();
  ASSERT_TRUE(store_.WorkerUpsert({"wa", "host", 1, {"default"}, "s1"}).ok());
  ASSERT_EQ(store_.JobClaimAvailable({"wa", {}, 1, seconds(30)})->size(), 1u);
  ASSERT_TRUE(reaper.RunOnce().ok());  // its first pass; then wa dies
  int reclaimed = 0;
  for (int pass = 1; pass <= 40 && reclaimed == 0; ++pass) {
    clock_.Advance(seconds(1));
    store_.SetReachable(pass % 2 == 1);  // every other pass fails
    auto r = reaper.RunOnce();
    if (r.ok()) reclaimed = r->lease_expired + r->worker_jobs_reclaimed;
  }
  store_.SetReachable(true);
  EXPECT_EQ(reclaimed, 1) << "a dead worker's job was kept alive by renewals";
  EXPECT_EQ(Get(id).status, JobState::kPending);
}

// Every replica was down for longer than the lease (or this one started after a database
// outage it never saw): the workers kept their jobs running but could not heartbeat. The first
// pass of a new reaper gives what is held a fresh term instead of re-running it.
TEST_F(ServerLoopsTest, ANewReapersFirstPassRenewsWhatIsHeldInsteadOfReapingIt) {
  const std::string id = Submit();
  ASSERT_TRUE(store_.WorkerUpsert({"wa", "host", 1, {"default"}, "s1"}).ok());
  ASSERT_EQ(store_.JobClaimAvailable({"wa", {}, 1, seconds(30)})->size(), 1u);
  clock_.Advance(seconds(60));  // no server: past the lease and the worker timeout
  Reaper reaper(
      store_, {.worker_timeout = seconds(30), .lease = seconds(30), .jitter01 = [] { return 0.0; }},
      nullptr);
  auto r = reaper.RunOnce();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lease_expired + r->workers_offline + r->worker_jobs_reclaimed, 0);
  EXPECT_EQ(Get(id).status, JobState::kAssigned);
  // The worker had died too: it loses the job one term later.
  clock_.Advance(seconds(31));
  r = reaper.RunOnce();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->workers_offline, 1);
  EXPECT_EQ(Get(id).status, JobState::kPending);
}

TEST(ServerMetricsTest, AWorkersSeriesGoesWithItsWorker) {
  auto registry = std::make_shared<prometheus::Registry>();
  ServerMetrics metrics(registry);
  const auto series = [&] {
    std::set<std::string> ids;
    for (const auto& family : registry->Collect()) {
      if (family.name != "jq_worker_job_concurrency") continue;
      for (const auto& m : family.metric) {
        for (const auto& l : m.label) ids.insert(l.value);
      }
    }
    return ids;
  };
  metrics.WorkerConcurrency("w1", 2);
  metrics.WorkerConcurrency("w2", 3);
  EXPECT_EQ(series(), (std::set<std::string>{"w1", "w2"}));
  metrics.ForgetWorker("w1");  // deregistered
  EXPECT_EQ(series(), (std::set<std::string>{"w2"}));
  EXPECT_EQ(metrics.ForgetSilentWorkers(std::chrono::hours(1)), 0);
  EXPECT_EQ(metrics.ForgetSilentWorkers(std::chrono::seconds(0)), 1);
  EXPECT_TRUE(series().empty());
  metrics.WorkerConcurrency("w2", 1);  // heard from again
  EXPECT_EQ(series(), (std::set<std::string>{"w2"}));
}

TEST_F(ServerLoopsTest, ReaperDeletesTheRowsOfWorkersLongOffline) {
  // A pass a minute: every pass prunes.
  Reaper reaper(store_,
                {.interval = std::chrono::minutes(1),
                 .worker_timeout = seconds(30),
                 .offline_worker_retention = seconds(3600),
                 .jitter01 = [] { return 0.0; }},
                nullptr);
  ASSERT_TRUE(store_.WorkerUpsert({"wa", "host", 1, {"default"}, "s1"}).ok());
  ASSERT_TRUE(reaper.RunOnce().ok());  // the reaper was running when the worker went silent
  clock_.Advance(seconds(31));
  ASSERT_TRUE(reaper.RunOnce().ok());  // offline now; kept
  EXPECT_EQ(store_.WorkerGet("wa")->status, WorkerState::kOffline);
  clock_.Advance(seconds(3600));
  ASSERT_TRUE(reaper.RunOnce().ok());
  EXPECT_EQ(store_.WorkerGet("wa").status().code(), StatusCode::kNotFound);
}

TEST_F(ServerLoopsTest, WatchHubHandsEachWatcherItsJobsEventsInOrder) {
  JobWatchHub hub(store_, std::chrono::milliseconds(100));
  const std::string a = Submit();
  const std::string b = Submit();
  auto first = hub.Subscribe(a);
  auto other = hub.Subscribe(b);
  EXPECT_EQ(hub.PollOnce(), 2);
  const auto none = std::chrono::milliseconds(0);
  ASSERT_EQ(first->Next(none).size(), 1u);  // SUBMITTED
  ASSERT_EQ(other->Next(none).size(), 1u);
  ASSERT_TRUE(store_.WorkerUpsert({"wa", "host", 2, {"default"}, "s1"}).ok());
  ASSERT_EQ(store_.JobClaimAvailable({"wa", {}, 2, seconds(30)})->size(), 2u);
  auto late = hub.Subscribe(a);  // a second watcher of a: from the first event too
  hub.PollOnce();
  auto seen = first->Next(none);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].reason, "ASSIGNED");
  auto all = late->Next(none);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].reason, "SUBMITTED");
  EXPECT_EQ(all[1].reason, "ASSIGNED");
  EXPECT_EQ(other->Next(none).size(), 1u);
  hub.PollOnce();
  EXPECT_TRUE(first->Next(none).empty());  // nothing new: nothing twice
  other.reset();                           // its stream ended
  hub.PollOnce();
  EXPECT_EQ(hub.watched_jobs(), 1u);
  first.reset();
  late.reset();
  EXPECT_EQ(hub.PollOnce(), 0);
  EXPECT_EQ(hub.watched_jobs(), 0u);
}

TEST_F(ServerLoopsTest, CompleterAnswersEachReportOfABatchAfterItsCommit) {
  JobCompleter completer(store_, {.max_batch = 100, .flushers = 1}, seconds(30));
  const std::string ok_id = Submit();
  const std::string stale_id = Submit();
  ASSERT_TRUE(store_.WorkerUpsert({"wa", "host", 2, {"default"}, "s1"}).ok());
  ASSERT_EQ(store_.JobClaimAvailable({"wa", {}, 2, seconds(30)})->size(), 2u);

  // Queued before the flusher runs, so all of it is one batch.
  std::promise<Status> started;
  std::promise<Result<JobCompleteResult>> done, stale;
  std::promise<Result<std::vector<std::string>>> beat, unknown;
  completer.Started({ok_id, "wa", 1}, [&](const Status& s) { started.set_value(s); });
  JobCompleteParams success;
  success.lease = {ok_id, "wa", 1};
  success.success = true;
  completer.Completed(success, [&](const auto& r) { done.set_value(r); });
  JobCompleteParams old;
  old.lease = {stale_id, "wa", 7};  // an attempt the job never had
  completer.Completed(old, [&](const auto& r) { stale.set_value(r); });
  completer.Heartbeat(
      {"wa", 1, {{stale_id, "wa", 1}, {"0190e8d0-0000-7000-8000-000000000000", "wa", 1}}},
      [&](const auto& r) { beat.set_value(r); });
  completer.Heartbeat({"nobody", 0, {}}, [&](const auto& r) { unknown.set_value(r); });
  completer.Start();

  EXPECT_TRUE(started.get_future().get().ok());
  auto d = done.get_future().get();
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->final_status, JobState::kDone);
  EXPECT_EQ(Reasons(ok_id),
            (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
  EXPECT_EQ(stale.get_future().get().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Get(stale_id).status, JobState::kAssigned);  // the stale report wrote nothing
  auto b = beat.get_future().get();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, std::vector<std::string>{"0190e8d0-0000-7000-8000-000000000000"});
  EXPECT_EQ(unknown.get_future().get().status().code(), StatusCode::kNotFound);

  completer.Stop();
  std::promise<Status> after;
  completer.Started({ok_id, "wa", 1}, [&](const Status& s) { after.set_value(s); });
  EXPECT_EQ(after.get_future().get().code(), StatusCode::kUnavailable);
}

TEST_F(ServerLoopsTest, FleetHeartbeatRenewsNamesLostJobsAndFreesForgottenSlots) {
  Dispatcher d(store_, {.batch_size = 100}, clock_);
  JobCompleter completer(store_, {.max_batch = 100, .flushers = 1}, seconds(30));
  completer.Start();
  ServerMetrics metrics(std::make_shared<prometheus::Registry>());
  std::vector<std::string> published;
  Fleet fleet(
      store_, d, completer, metrics, nullptr,
      [&](const std::string& w, int, const std::vector<std::string>&) { published.push_back(w); },
      {"s1", seconds(5)}, clock_);
  ASSERT_TRUE(fleet.Register({"wa", "host", 2, {"default"}, "s1"}, {2, {"default"}, true}).ok());
  auto session = fleet.OpenSession("wa", {});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  d.Attach(*session);
  const std::string kept = Submit();
  const std::string forgotten = Submit();
  d.RunOnce();
  ASSERT_EQ(Drain(**session).size(), 2u);
  EXPECT_EQ((*session)->FreeSlots(), 0);

  // The worker runs `kept`, names a job it does not hold, and no longer mentions `forgotten`.
  clock_.Advance(seconds(20));  // past the reconcile grace (2 beats + 5 s)
  const std::string unknown = "0190e8d0-0000-7000-8000-0000000000ff";
  std::promise<Result<std::vector<std::string>>> lost;
  fleet.Heartbeat({"wa", 1, {{kept, "wa", 1}, {unknown, "wa", 1}}},
                  [&](const auto& r) { lost.set_value(r); });
  auto l = lost.get_future().get();
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(*l, std::vector<std::string>{unknown});
  EXPECT_EQ(published, std::vector<std::string>{"wa"});
  EXPECT_EQ((*session)->FreeSlots(), 1);  // forgotten's slot is free again; kept's is held
  EXPECT_EQ(fleet.OpenSession("nobody", {}).status().code(), StatusCode::kNotFound);
  completer.Stop();
}

// A drain or shutdown asked for while the worker was away (another replica, a restart) is in
// its row: its next stream gets no jobs and is told again.
TEST_F(ServerLoopsTest, FleetResendsAPendingDrainAndShutdownWhenAStreamOpens) {
  Dispatcher d(store_, {.batch_size = 100}, clock_);
  JobCompleter completer(store_, {.max_batch = 100, .flushers = 1}, seconds(30));
  ServerMetrics metrics(std::make_shared<prometheus::Registry>());
  Fleet fleet(store_, d, completer, metrics, nullptr, nullptr, {"s1", seconds(5)}, clock_);
  auto sent = [](WorkerSession& s) {
    std::vector<jq::ControlType> out;
    while (auto a = s.TryNext()) out.push_back(a->control().type());
    return out;
  };
  ASSERT_TRUE(fleet.Register({"wa", "host", 2, {"default"}, "s1"}, {2, {"default"}, true}).ok());
  ASSERT_TRUE(store_.WorkerSetDrained("wa", true).ok());
  ASSERT_TRUE(fleet.Register({"wa", "host", 2, {"default"}, "s2"}, {2, {"default"}, true}).ok());
  auto drained = fleet.OpenSession("wa", {});
  ASSERT_TRUE(drained.ok()) << drained.status().ToString();
  EXPECT_EQ((*drained)->FreeSlots(), 0);
  EXPECT_EQ(sent(**drained), std::vector<jq::ControlType>{jq::CONTROL_DRAIN});

  ASSERT_TRUE(store_.WorkerSetDrained("wa", false).ok());
  auto resumed = fleet.OpenSession("wa", {});
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ((*resumed)->FreeSlots(), 2);
  EXPECT_TRUE(sent(**resumed).empty());

  ASSERT_TRUE(store_.WorkerRequestShutdown("wa", /*now=*/true).ok());
  auto shutdown = fleet.OpenSession("wa", {});
  ASSERT_TRUE(shutdown.ok());
  EXPECT_EQ((*shutdown)->FreeSlots(), 0);
  EXPECT_EQ(sent(**shutdown), std::vector<jq::ControlType>{jq::CONTROL_SHUTDOWN_NOW});
}

// A NOTIFY sent while this replica's LISTEN connection was down is lost; after the reconnect
// the rows say what each connected worker was asked, and it is told once.
TEST_F(ServerLoopsTest, AfterAListenReconnectTheWorkersRowsAreResent) {
  Dispatcher d(store_, {.batch_size = 100}, clock_);
  auto sent = [](WorkerSession& s) {
    std::vector<jq::ControlType> out;
    while (auto a = s.TryNext()) out.push_back(a->control().type());
    return out;
  };
  ASSERT_TRUE(store_.WorkerUpsert({"wa", "host", 2, {"default"}, "s1"}).ok());
  ASSERT_TRUE(store_.WorkerUpsert({"wb", "host", 2, {"default"}, "s1"}).ok());
  auto a =
      std::make_shared<WorkerSession>("wa", std::vector<std::string>{"default"}, 2, true, clock_);
  auto b =
      std::make_shared<WorkerSession>("wb", std::vector<std::string>{"default"}, 2, true, clock_);
  d.Attach(a);
  d.Attach(b);
  EXPECT_FALSE(ResyncControl(store_, d));  // nothing asked: nothing sent
  EXPECT_TRUE(sent(*a).empty());

  ASSERT_TRUE(store_.WorkerSetDrained("wa", true).ok());  // the NOTIFY never arrived
  ASSERT_TRUE(store_.WorkerRequestShutdown("wb", /*now=*/false).ok());
  ResyncControl(store_, d);
  EXPECT_EQ(a->FreeSlots(), 0);
  EXPECT_EQ(sent(*a), std::vector<jq::ControlType>{jq::CONTROL_DRAIN});
  EXPECT_EQ(sent(*b), std::vector<jq::ControlType>{jq::CONTROL_SHUTDOWN});
  ResyncControl(store_, d);  // a second reconnect repeats nothing
  EXPECT_TRUE(sent(*a).empty());
  EXPECT_TRUE(sent(*b).empty());

  ASSERT_TRUE(store_.WorkerSetDrained("wa", false).ok());
  ASSERT_TRUE(store_.WorkerRequestShutdown("wb", /*now=*/true).ok());
  EXPECT_TRUE(ResyncControl(store_, d));  // wa has slots again
  EXPECT_EQ(a->FreeSlots(), 2);
  EXPECT_EQ(sent(*a), std::vector<jq::ControlType>{jq::CONTROL_RESUME});
  EXPECT_EQ(sent(*b), std::vector<jq::ControlType>{jq::CONTROL_SHUTDOWN_NOW});
  EXPECT_EQ(b->FreeSlots(), 0);
}

// One refused connection while reading the schema is not a schema change: the last verdict
// holds for a few readings, then the failure shows; a real mismatch shows at once.
TEST(SchemaCheckTest, AMissedReadingKeepsTheVerdictAMismatchDoesNot) {
  std::vector<Result<store::SchemaState>> readings;
  store::SchemaState at3{store::SchemaHistory::kJq, {1, 2, 3}, ""};
  store::SchemaState at4{store::SchemaHistory::kJq, {1, 2, 3, 4}, ""};
  const Status refused = Status::Unavailable("connection refused");
  std::size_t next = 0;
  SchemaCheck check([&]() -> Result<store::SchemaState> { return readings.at(next++); }, 3);
  EXPECT_EQ(check.status().code(), StatusCode::kUnavailable);  // not checked yet

  readings = {refused};  // before any reading, a failure is the status
  check.Refresh();
  EXPECT_NE(check.status().message().find("connection refused"), std::string::npos);

  readings = {refused, at3};
  next = 0;
  check.Refresh();
  check.Refresh();
  EXPECT_TRUE(check.status().ok());
  readings = {refused, refused, refused};
  next = 0;
  for (int i = 0; i < SchemaCheck::kMissesTolerated; ++i) {
    check.Refresh();
    EXPECT_TRUE(check.status().ok()) << i;
  }
  check.Refresh();  // one miss too many
  EXPECT_NE(check.status().message().find("schema version unknown: connection refused"),
            std::string::npos)
      << check.status().message();

  readings = {at3, at4, refused};
  next = 0;
  check.Refresh();
  EXPECT_TRUE(check.status().ok());
  check.Refresh();  // migrated ahead by a newer jq-server: not ready, at once
  EXPECT_FALSE(check.status().ok());
  check.Refresh();  // and a miss keeps that verdict too
  EXPECT_FALSE(check.status().ok());
  EXPECT_EQ(check.status().message().find("unknown"), std::string::npos)
      << check.status().message();
}

}  // namespace
}  // namespace jq::server
