// The PostgreSQL JobStore against a real server, including what only it can show: plans
// (EXPLAIN), HOT lease renewals, concurrent claims and deadlock-free batches. The behaviours
// every JobStore shares are in job_store_contract_test.cpp too. Long by nature: one test per
// behaviour.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "integration/store_fixture.h"
#include "store/connection_pool.h"
#include "store/pg_common.h"

namespace jq::testing {
namespace {

using std::chrono::seconds;

// Two transactions that lock the same two rows in opposite orders: PostgreSQL kills one with
// 40P01, which libpqxx 6.4 throws as deadlock_detected (not an sql_error). RunTx retries it, so
// both succeed; before, the loser came back INTERNAL and a worker's report was lost.
TEST_F(StoreTest, ADeadlockedTransactionIsRetriedAndSucceeds) {
  Sql("CREATE TABLE deadlock_probe (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);"
      "INSERT INTO deadlock_probe (id) VALUES (1), (2)");
  store::ConnectionPool pool(conninfo_, 2);
  std::atomic<int> deadlock_retries{0};
  store::PgStoreConfig config{conninfo_, 2};
  config.on_retry = [&](std::string_view op, std::string_view reason) {
    if (op == "DeadlockProbe" && reason == "deadlock") deadlock_retries.fetch_add(1);
  };
  std::atomic<int> runs{0};
  std::atomic<int> first_locks{0};
  std::atomic<int> finished{0};
  auto run = [&](int first, int second) {
    Status s = store::RunTxStatus(pool, config, "DeadlockProbe", [&](pqxx::work& tx) -> Status {
      if (runs.fetch_add(1) < 2) {
        tx.exec_params("UPDATE deadlock_probe SET n = n + 1 WHERE id = $1", first);
        // Both hold their first row before either asks for its second.
        first_locks.fetch_add(1);
        while (first_locks.load() < 2) std::this_thread::yield();
      } else {
        // The loser's rerun waits for the winner's commit: started at once, it could take
        // its first row back before the winner, woken, did, and deadlock a second time.
        const auto give_up = std::chrono::steady_clock::now() + seconds(10);
        while (finished.load() < 1 && std::chrono::steady_clock::now() < give_up) {
          std::this_thread::yield();
        }
        tx.exec_params("UPDATE deadlock_probe SET n = n + 1 WHERE id = $1", first);
      }
      tx.exec_params("UPDATE deadlock_probe SET n = n + 1 WHERE id = $1", second);
      return Status::Ok();
    });
    finished.fetch_add(1);
    return s;
  };
  Status a, b;
  std::thread ta([&] { a = run(1, 2); });
  std::thread tb([&] { b = run(2, 1); });
  ta.join();
  tb.join();
  EXPECT_TRUE(a.ok()) << a.ToString();
  EXPECT_TRUE(b.ok()) << b.ToString();
  EXPECT_EQ(runs.load(), 3);  // one of them ran twice
  // ... and said why (jq_db_transaction_retries_total; CrossingReportBatchesNeverDeadlock relies on
  // it)
  EXPECT_EQ(deadlock_retries.load(), 1);
  auto total = Sql("SELECT sum(n) FROM deadlock_probe");
  EXPECT_EQ(total[0][0].as<int>(), 4);  // each committed both of its updates, once
}

TEST_F(StoreTest, InsertThenGetRoundTripsEveryField) {
  JobInsertParams p;
  p.tenant = "acme";
  p.queue = "default";
  p.payload = std::string("{\"command\":[\"echo\"]}\0binary\xff", 28);
  p.priority = 7;
  p.max_retries = 2;
  p.ttl_seconds = 60;
  p.timeout_seconds = 9;
  p.idempotency_key = "k1";
  auto r = store_->JobInsertMany({p});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& id = (*r)[0].job_id;
  EXPECT_FALSE((*r)[0].duplicate);
  auto j = store_->JobGet(id, "acme");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->payload, p.payload);
  EXPECT_EQ(j->status, JobState::kPending);
  EXPECT_EQ(j->priority, 7);
  EXPECT_EQ(j->max_retries, 2);
  EXPECT_EQ(j->ttl_seconds, 60);
  EXPECT_EQ(j->timeout_seconds, 9);
  EXPECT_EQ(j->tenant, "acme");
  EXPECT_EQ(j->idempotency_key, "k1");
  EXPECT_EQ(Reasons(id), std::vector<std::string>{"SUBMITTED"});
  // Scoped to its tenant.
  EXPECT_EQ(store_->JobGet(id, "other").status().code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, QueueDefaultsApplyWhenJobLeavesThemUnset) {
  QueueRecord q;
  q.name = "reports";
  q.max_retries = 7;
  q.ttl_seconds = 600;
  q.timeout_seconds = 30;
  ASSERT_TRUE(store_->QueueCreate(q).ok());
  auto j = Get(Submit("reports"));
  EXPECT_EQ(j.max_retries, 7);
  EXPECT_EQ(j.ttl_seconds, 600);
  EXPECT_EQ(j.timeout_seconds, 30);
  EXPECT_EQ(Get(Submit("reports", 0, 0)).max_retries, 0);
}

TEST_F(StoreTest, MissingQueueFailsTheWholeBatch) {
  JobInsertParams a, b;
  a.queue = "default";
  b.queue = "nope";
  auto r = store_->JobInsertMany({a, b});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "queue 'nope' not found");
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs")[0][0].as<int>(), 0);
}

TEST_F(StoreTest, IdempotentInsertReturnsTheFirstJob) {
  JobInsertParams p;
  p.queue = "default";
  p.idempotency_key = "order-42";
  auto first = store_->JobInsertMany({p});
  ASSERT_TRUE(first.ok());
  auto again = store_->JobInsertMany({p, p});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].job_id, (*first)[0].job_id);
  EXPECT_TRUE((*again)[0].duplicate);
  EXPECT_EQ((*again)[1].job_id, (*first)[0].job_id);
  // Another tenant may use the same key.
  p.tenant = "other";
  auto other = store_->JobInsertMany({p});
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)[0].job_id, (*first)[0].job_id);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs")[0][0].as<int>(), 2);
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events")[0][0].as<int>(), 2);
}

TEST_F(StoreTest, ConcurrentIdempotentInsertsMakeOneJob) {
  constexpr int kThreads = 8;
  std::vector<std::string> ids(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      JobInsertParams p;
      p.queue = "default";
      p.idempotency_key = "same";
      auto r = store_->JobInsertMany({p});
      if (r.ok()) ids[i] = (*r)[0].job_id;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs")[0][0].as<int>(), 1);
}

TEST_F(StoreTest, ClaimsByPriorityThenFifo) {
  const std::string low1 = Submit("default", 1);
  const std::string high = Submit("default", 9);
  const std::string low2 = Submit("default", 1);
  const std::string mid = Submit("default", 5);
  auto claimed = Claim("w1", 10);
  ASSERT_EQ(claimed.size(), 4u);
  EXPECT_EQ(claimed[0].id, high);
  EXPECT_EQ(claimed[1].id, mid);
  EXPECT_EQ(claimed[2].id, low1);
  EXPECT_EQ(claimed[3].id, low2);
  for (const auto& c : claimed) {
    EXPECT_EQ(c.attempt, 1);
    EXPECT_LT(std::chrono::system_clock::now() - c.not_before, std::chrono::minutes(1));
  }
  EXPECT_TRUE(Claim("w2", 10).empty());
  auto j = Get(high);
  EXPECT_EQ(j.status, JobState::kAssigned);
  EXPECT_EQ(j.worker_id, "w1");
}

TEST_F(StoreTest, ClaimRespectsQueueFilterAndPause) {
  ASSERT_TRUE(store_->QueueCreate({.name = "emails"}).ok());
  const std::string e = Submit("emails");
  const std::string d = Submit("default");
  auto only_emails = Claim("w1", 10, {"emails"});
  ASSERT_EQ(only_emails.size(), 1u);
  EXPECT_EQ(only_emails[0].id, e);
  ASSERT_TRUE(store_->QueueSetPaused("default", true).ok());
  EXPECT_TRUE(Claim("w1", 10).empty());
  ASSERT_TRUE(store_->QueueSetPaused("default", false).ok());
  auto rest = Claim("w1", 10);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id, d);
  EXPECT_EQ(store_->QueueSetPaused("nope", true).code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, QueueConcurrencyLimitHoldsAtClaimTime) {
  ASSERT_TRUE(store_->QueueCreate({.name = "narrow", .concurrency_limit = 2}).ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Submit("narrow"));
  const std::string other = Submit("default");
  auto first = Claim("w1", 10);
  EXPECT_EQ(first.size(), 3u);  // 2 from narrow, and the default job
  EXPECT_TRUE(Claim("w2", 10).empty());
  JobCompleteParams p;
  p.lease = {ids[0], "w1", 1};
  p.success = true;
  ASSERT_TRUE(store_->JobComplete(p).ok());
  auto next = Claim("w2", 10);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, ids[2]);  // FIFO within the queue
}

TEST_F(StoreTest, ConcurrentClaimersRespectTheConcurrencyLimit) {
  ASSERT_TRUE(store_->QueueCreate({.name = "narrow", .concurrency_limit = 3}).ok());
  std::vector<JobInsertParams> batch(50);
  for (auto& b : batch) b.queue = "narrow";
  ASSERT_TRUE(store_->JobInsertMany(batch).ok());
  std::atomic<int> claimed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto r = store_->JobClaimAvailable({"w" + std::to_string(t), {}, 2, seconds(30)});
        if (r.ok()) claimed += static_cast<int>(r->size());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(claimed.load(), 3);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE status = 2")[0][0].as<int>(), 3);
}

TEST_F(StoreTest, UndeliveredAssignmentReturnsWithoutUsingARetry) {
  const std::string id = Submit("default", 0, 0);
  ASSERT_EQ(Claim("w1", 1).size(), 1u);
  EXPECT_EQ(store_->JobReleaseUndelivered({id, "w2", 1}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->JobReleaseUndelivered({id, "w1", 1}).ok());
  auto j = Get(id);
  EXPECT_EQ(j.status, JobState::kPending);
  EXPECT_EQ(j.retry_count, 0);  // max_retries 0, yet it is not dead-lettered
  EXPECT_EQ(Reasons(id),
            (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "UNDELIVERED", "RETRY"}));
  auto again = Claim("w2", 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2);
  EXPECT_EQ(store_->JobReleaseUndelivered({id, "w1", 1}).code(), StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, TtlNoLongerAppliesOnceStarted) {
  JobInsertParams p;
  p.queue = "default";
  p.ttl_seconds = 1;
  p.max_retries = 2;
  auto r = store_->JobInsertMany({p});
  ASSERT_TRUE(r.ok());
  const std::string id = (*r)[0].job_id;
  ASSERT_EQ(Claim("w1", 1).size(), 1u);
  ASSERT_TRUE(store_->JobSetRunning({id, "w1", 1}).ok());
  EXPECT_TRUE(Sql("SELECT expires_at FROM jobs")[0][0].is_null());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  JobCompleteParams fail;
  fail.lease = {id, "w1", 1};
  ASSERT_TRUE(store_->JobComplete(fail).ok());
  ASSERT_TRUE(store_->Reap(seconds(30), 0).ok());
  auto j = Get(id);
  EXPECT_EQ(j.status, JobState::kPending) << "a retry of a started job was TTL-expired";
}

TEST_F(StoreTest, NotBeforeIsRespected) {
  JobInsertParams later, past;
  later.queue = past.queue = "default";
  later.delay_ms = 3600 * 1000;
  past.run_at = std::chrono::system_clock::now() - seconds(5);
  auto r = store_->JobInsertMany({later, past});
  ASSERT_TRUE(r.ok());
  auto claimed = Claim("w1", 10);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, (*r)[1].job_id);
  auto j = Get((*r)[0].job_id);
  EXPECT_GT(j.not_before, std::chrono::system_clock::now() + std::chrono::minutes(59));
  // Once due it is claimed.
  Sql("UPDATE jobs SET not_before = now() - interval '1 second' WHERE id = '" + (*r)[0].job_id +
      "'");
  EXPECT_EQ(Claim("w1", 10).size(), 1u);
}

TEST_F(StoreTest, ConcurrentClaimersNeverShareAJob) {
  constexpr int kJobs = 4000;
  constexpr int kThreads = 8;
  std::vector<JobInsertParams> batch(100);
  for (auto& p : batch) p.queue = "default";
  for (int i = 0; i < kJobs / 100; ++i) ASSERT_TRUE(store_->JobInsertMany(batch).ok());

  std::mutex mu;
  std::map<std::string, std::string> owner;  // job -> worker
  std::atomic<int> duplicates{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string worker = "w" + std::to_string(t);
      for (;;) {
        auto r = store_->JobClaimAvailable({worker, {}, 1 + t * 3, seconds(30)});
        if (!r.ok()) {
          ++errors;
          continue;
        }
        if (r->empty()) return;
        std::lock_guard lock(mu);
        for (const auto& c : *r) {
          if (!owner.emplace(c.id, worker).second) ++duplicates;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(duplicates.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(owner.size(), static_cast<std::size_t>(kJobs));
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE status = 2")[0][0].as<int>(), kJobs);
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events WHERE reason = 'ASSIGNED'")[0][0].as<int>(),
            kJobs);
  // Each job's recorded worker is the one that got it.
  for (const auto& row : Sql("SELECT id::text, worker_id FROM jobs")) {
    ASSERT_EQ(owner[row[0].as<std::string>()], row[1].as<std::string>());
  }
}

TEST_F(StoreTest, SuccessfulRunRecordsEveryTransition) {
  const std::string id = Submit();
  auto c = Claim("w1", 1);
  ASSERT_EQ(c.size(), 1u);
  ASSERT_TRUE(store_->JobSetRunning({id, "w1", 1}).ok());
  EXPECT_EQ(Get(id).status, JobState::kRunning);
  JobCompleteParams p;
  p.lease = {id, "w1", 1};
  p.success = true;
  p.result = "hello\n";
  p.output = JobOutputRecord{.exit_code = 0, .stdout_data = "hello\n", .stderr_data = "warn"};
  auto r = store_->JobComplete(p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->final_status, JobState::kDone);
  auto j = Get(id);
  EXPECT_EQ(j.status, JobState::kDone);
  EXPECT_EQ(j.result, "hello\n");
  EXPECT_TRUE(j.started_at.has_value());
  EXPECT_TRUE(j.completed_at.has_value());
  EXPECT_EQ(Reasons(id), (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
  auto out = store_->JobOutputList(id);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].stdout_data, "hello\n");
  EXPECT_EQ((*out)[0].stderr_data, "warn");
  EXPECT_EQ((*out)[0].attempt, 1);
  // A second report for a finished job changes nothing.
  auto again = store_->JobComplete(p);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, SeedWorkerReportWithoutStartOrAttemptCompletes) {
  const std::string id = Submit();
  ASSERT_EQ(Claim("seed", 1).size(), 1u);
  JobCompleteParams p;
  p.lease = {id, "seed", 0};
  p.success = true;
  ASSERT_TRUE(store_->JobComplete(p).ok());
  EXPECT_EQ(Reasons(id), (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
}

TEST_F(StoreTest, StaleLeaseChangesNothing) {
  const std::string id = Submit();
  ASSERT_EQ(Claim("w1", 1).size(), 1u);
  // Lease lost: the reaper reclaims it and another worker gets attempt 2.
  Sql("UPDATE jobs SET lease_expires_at = now() - interval '1 second'");
  auto reaped = store_->Reap(seconds(30), 0);
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(reaped->lease_expired, 1);
  Sql("UPDATE jobs SET not_before = now()");
  auto c2 = Claim("w2", 1);
  ASSERT_EQ(c2.size(), 1u);
  EXPECT_EQ(c2[0].attempt, 2);
  const auto events_before = Reasons(id);

  // The zombie (w1, attempt 1) reports: refused, nothing written.
  JobCompleteParams zombie;
  zombie.lease = {id, "w1", 1};
  zombie.success = true;
  zombie.output = JobOutputRecord{.stdout_data = "zombie"};
  auto r = store_->JobComplete(zombie);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("stale lease"), std::string::npos);
  EXPECT_EQ(store_->JobSetRunning({id, "w1", 1}).code(), StatusCode::kFailedPrecondition);
  // Right worker, old attempt: also refused.
  EXPECT_EQ(store_->JobSetRunning({id, "w2", 1}).code(), StatusCode::kFailedPrecondition);
  auto j = Get(id);
  EXPECT_EQ(j.status, JobState::kAssigned);
  EXPECT_EQ(j.worker_id, "w2");
  EXPECT_EQ(j.attempt, 2);
  EXPECT_EQ(Reasons(id), events_before);
  EXPECT_EQ(Sql("SELECT count(*) FROM job_outputs")[0][0].as<int>(), 0);
  auto lost = store_->JobLeaseRenew("w1", {{id, "w1", 1}}, seconds(30));
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(*lost, std::vector<std::string>{id});
  // The current holder succeeds.
  zombie.lease = {id, "w2", 2};
  EXPECT_TRUE(store_->JobComplete(zombie).ok());
}

TEST_F(StoreTest, FailureRetriesWithBackoffThenDeadLetters) {
  const std::string id = Submit("default", 0, 1);
  ASSERT_EQ(Claim("w1", 1).size(), 1u);
  JobCompleteParams p;
  p.lease = {id, "w1", 1};
  p.error_message = "exit status 3";
  auto r = store_->JobComplete(p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->final_status, JobState::kPending);
  auto j = Get(id);
  EXPECT_EQ(j.status, JobState::kPending);
  EXPECT_EQ(j.retry_count, 1);
  EXPECT_EQ(j.error_message, "exit status 3");
  // Backoff: 5 s base, so not claimable yet.
  EXPECT_GT(j.not_before, std::chrono::system_clock::now() + seconds(3));
  EXPECT_TRUE(Claim("w1", 1).empty());
  Sql("UPDATE jobs SET not_before = now()");
  auto c = Claim("w1", 1);
  ASSERT_EQ(c.size(), 1u);
  p.lease.attempt = c[0].attempt;
  p.reason = "TIMEOUT";
  r = store_->JobComplete(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->final_status, JobState::kDeadLettered);
  EXPECT_EQ(Get(id).status, JobState::kDeadLettered);
  EXPECT_EQ(Reasons(id), (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "STARTED",
                                                   "FAILED_EXIT_CODE", "RETRY", "ASSIGNED",
                                                   "STARTED", "TIMEOUT", "MAX_RETRIES_EXCEEDED"}));
}

TEST_F(StoreTest, PerQueueBackoff) {
  ASSERT_TRUE(store_
                  ->QueueCreate(
                      {.name = "fast", .max_retries = 3, .backoff_base_ms = 0, .backoff_max_ms = 0})
                  .ok());
  const std::string id = Submit("fast");
  ASSERT_EQ(Claim("w1", 1).size(), 1u);
  JobCompleteParams p;
  p.lease = {id, "w1", 1};
  ASSERT_TRUE(store_->JobComplete(p).ok());
  EXPECT_EQ(Claim("w1", 1).size(), 1u);  // no backoff: claimable at once
}

TEST_F(StoreTest, CancelPendingRunningAndFinished) {
  const std::string pending = Submit();
  auto c = store_->JobCancel(pending, "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->status, JobState::kDeadLettered);
  EXPECT_EQ(Reasons(pending).back(), "CANCELLED");
  auto again = store_->JobCancel(pending, "");
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("is DEAD_LETTERED"), std::string::npos);

  const std::string running = Submit();
  ASSERT_EQ(Claim("w1", 1).size(), 1u);
  ASSERT_TRUE(store_->JobSetRunning({running, "w1", 1}).ok());
  auto rc = store_->JobCancel(running, "");
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(rc->status, JobState::kRunning);  // the worker must stop it
  // Its lease is no longer renewed: the worker learns on its next heartbeat too.
  auto lost = store_->JobLeaseRenew("w1", {{running, "w1", 1}}, seconds(30));
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(*lost, std::vector<std::string>{running});
  JobCompleteParams p;
  p.lease = {running, "w1", 1};
  p.reason = "CANCELLED";
  auto r = store_->JobComplete(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->final_status, JobState::kDeadLettered);
  EXPECT_EQ(Reasons(running).back(), "CANCELLED");

  EXPECT_EQ(store_->JobCancel("0190a3c4-1b2c-7d3e-8f40-123456789abc", "").status().code(),
            StatusCode::kNotFound);
}

TEST_F(StoreTest, ManualRetryResetsRetryCount) {
  const std::string id = Submit("default", 0, 0);
  ASSERT_EQ(Claim("w1", 1).size(), 1u);
  JobCompleteParams p;
  p.lease = {id, "w1", 1};
  ASSERT_TRUE(store_->JobComplete(p).ok());
  ASSERT_EQ(Get(id).status, JobState::kDeadLettered);
  auto r = store_->JobRetry(id, "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, JobState::kPending);
  EXPECT_EQ(r->retry_count, 0);
  EXPECT_EQ(Reasons(id).back(), "MANUAL_RETRY");
  EXPECT_EQ(store_->JobRetry(id, "").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Claim("w1", 1).size(), 1u);
}

TEST_F(StoreTest, ReaperExpiresTtlOfPendingAndAssigned) {
  JobInsertParams p;
  p.queue = "default";
  p.ttl_seconds = 1;
  auto r = store_->JobInsertMany({p, p});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(Claim("w1", 1).size(), 1u);  // one ASSIGNED, one PENDING
  Sql("UPDATE jobs SET expires_at = now() - interval '1 second'");
  auto reaped = store_->Reap(seconds(30), 0);
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(reaped->ttl_expired, 2);
  for (const auto& res : *r) {
    EXPECT_EQ(Get(res.job_id).status, JobState::kDeadLettered);
    EXPECT_EQ(Reasons(res.job_id).back(), "TTL_EXPIRED");
  }
}

TEST_F(StoreTest, SilentWorkerGoesOfflineAndItsJobsAreRetried) {
  ASSERT_TRUE(store_->WorkerUpsert({"w1", "host", 4, {}, "s1"}).ok());
  const std::string id = Submit();
  ASSERT_EQ(Claim("w1", 1).size(), 1u);
  ASSERT_TRUE(store_->WorkerHeartbeat("w1", 1).ok());
  auto quiet = store_->Reap(seconds(30), 0);
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(quiet->workers_offline, 0);
  Sql("UPDATE workers SET last_heartbeat = now() - interval '31 seconds'");
  auto r = store_->Reap(seconds(30), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->workers_offline, 1);
  EXPECT_EQ(r->worker_jobs_reclaimed, 1);
  auto w = store_->WorkerGet("w1");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->status, WorkerState::kOffline);
  auto j = Get(id);
  EXPECT_EQ(j.status, JobState::kPending);
  EXPECT_EQ(j.retry_count, 1);
  auto reasons = Reasons(id);
  EXPECT_EQ(reasons[reasons.size() - 2], "WORKER_LOST");
  EXPECT_EQ(store_->WorkerHeartbeat("nobody", 0).code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, DeregisterReturnsJobsToTheQueue) {
  ASSERT_TRUE(store_->WorkerUpsert({"w1", "host", 4, {"default"}, "s1"}).ok());
  const std::string id = Submit();
  ASSERT_EQ(Claim("w1", 1).size(), 1u);
  ASSERT_TRUE(store_->WorkerDeregister("w1", 0).ok());
  EXPECT_EQ(Get(id).status, JobState::kPending);
  auto list = store_->WorkerList();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].status, WorkerState::kOffline);
  EXPECT_EQ((*list)[0].queues, std::vector<std::string>{"default"});
}

TEST_F(StoreTest, QueueDeleteRefusedUntilForced) {
  ASSERT_TRUE(store_->QueueCreate({.name = "tmp"}).ok());
  EXPECT_EQ(store_->QueueCreate({.name = "tmp"}).status().code(), StatusCode::kAlreadyExists);
  const std::string id = Submit("tmp");
  Status refused = store_->QueueDelete("tmp", false);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("1 unfinished jobs"), std::string::npos);
  EXPECT_TRUE(store_->QueueDelete("tmp", true).ok());
  EXPECT_EQ(Get(id).status, JobState::kDeadLettered);
  EXPECT_EQ(Reasons(id).back(), "QUEUE_DELETED");
  EXPECT_EQ(store_->QueueGet("tmp").status().code(), StatusCode::kNotFound);
  auto retry = store_->JobRetry(id, "");  // its queue is gone
  EXPECT_EQ(retry.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(retry.status().message().find("no longer exists"), std::string::npos);
  EXPECT_EQ(store_->QueueDelete("tmp", false).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->QueueDelete("default", true).code(), StatusCode::kFailedPrecondition);
  // An empty queue is deleted without force.
  ASSERT_TRUE(store_->QueueCreate({.name = "empty"}).ok());
  EXPECT_TRUE(store_->QueueDelete("empty", false).ok());
}

TEST_F(StoreTest, QueueStatsCountEachState) {
  const std::string a = Submit(), b = Submit(), c = Submit();
  Submit();
  auto claimed = Claim("w1", 3);
  ASSERT_EQ(claimed.size(), 3u);
  for (const auto& id : {a, b}) ASSERT_TRUE(store_->JobSetRunning({id, "w1", 1}).ok());
  JobCompleteParams ok;
  ok.lease = {a, "w1", 1};
  ok.success = true;
  ASSERT_TRUE(store_->JobComplete(ok).ok());
  auto s = store_->QueueStats("default");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->pending, 1);
  EXPECT_EQ(s->assigned, 1);
  EXPECT_EQ(s->running, 1);
  EXPECT_EQ(s->done, 1);
  EXPECT_EQ(s->total_processed, 1);
  EXPECT_EQ(s->error_rate, 0.0);
  EXPECT_GE(s->oldest_pending_age_seconds, 0.0);
  EXPECT_EQ(store_->QueueStats("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, ListPagesAreStableUnderConcurrentInserts) {
  std::set<std::string> all;
  for (int i = 0; i < 45; ++i) all.insert(Submit());
  std::set<std::string> seen;
  JobListParams p;
  p.limit = 10;
  int pages = 0;
  for (;;) {
    auto r = store_->JobList(p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& j : r->jobs) ASSERT_TRUE(seen.insert(j.id).second) << "repeated " << j.id;
    ++pages;
    Submit();  // new jobs arrive between pages; they sort before the cursor
    if (!r->more) break;
    const auto& last = r->jobs.back();
    p.after_created_us =
        std::chrono::duration_cast<std::chrono::microseconds>(last.created_at.time_since_epoch())
            .count();
    p.after_id = last.id;
  }
  EXPECT_EQ(pages, 5);
  EXPECT_EQ(seen, all);
  JobListParams filtered;
  filtered.status = JobState::kDone;
  auto none = store_->JobList(filtered);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->jobs.empty());
}

TEST_F(StoreTest, UnreachableDatabaseIsUnavailableNotACrash) {
  store::PgStore down({"host=127.0.0.1 port=1 user=postgres dbname=x connect_timeout=2", 2});
  EXPECT_EQ(down.Ping().code(), StatusCode::kUnavailable);
  auto r = down.JobGet("0190a3c4-1b2c-7d3e-8f40-123456789abc", "");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(r.status().retryable());
}

TEST_F(StoreTest, MalformedIdIsInvalidArgument) {
  EXPECT_EQ(store_->JobGet("not-a-uuid", "").status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------- batches

TEST_F(StoreTest, InsertEachFailsOnlyTheItemsOfAMissingQueue) {
  std::vector<JobInsertParams> batch(4);
  batch[0].queue = "default";
  batch[1].queue = "no-such-queue";
  batch[2].queue = "default";
  batch[2].idempotency_key = "k1";
  batch[3].queue = "default";
  batch[3].idempotency_key = "k1";  // the same key in the same batch: the first job
  for (auto& p : batch) p.payload = "{}";
  auto r = store_->JobInsertEach(batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_TRUE((*r)[0].ok());
  EXPECT_EQ((*r)[1].status().code(), StatusCode::kNotFound);
  EXPECT_NE((*r)[1].status().message().find("no-such-queue"), std::string::npos);
  ASSERT_TRUE((*r)[2].ok());
  ASSERT_TRUE((*r)[3].ok());
  EXPECT_FALSE((*r)[2]->duplicate);
  EXPECT_TRUE((*r)[3]->duplicate);
  EXPECT_EQ((*r)[2]->job_id, (*r)[3]->job_id);
  EXPECT_EQ(Get((*r)[0]->job_id).status, JobState::kPending);
  EXPECT_EQ(Reasons((*r)[0]->job_id), std::vector<std::string>{"SUBMITTED"});
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs")[0][0].as<int>(), 2);
}

TEST_F(StoreTest, ClaimManySpreadsSlotsOverWorkersInOrder) {
  for (int i = 0; i < 5; ++i) Submit();
  auto r =
      store_->JobClaimMany({{"w1", "w2", "w1", "w2", "w3", "w3"}, {}, std::chrono::seconds(30)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 5u);  // fewer jobs than slots
  std::map<std::string, int> per_worker;
  for (const auto& c : *r) {
    ++per_worker[c.worker_id];
    EXPECT_EQ(Get(c.id).worker_id, c.worker_id);
    EXPECT_EQ(Get(c.id).status, JobState::kAssigned);
  }
  EXPECT_EQ(per_worker["w1"], 2);
  EXPECT_EQ(per_worker["w2"], 2);
  EXPECT_EQ(per_worker["w3"], 1);  // the last slot found no job
}

TEST_F(StoreTest, ReportManyAnswersEachReportAsItsSingleCallWould) {
  for (int i = 0; i < 4; ++i) Submit("default", 0, 0);
  auto claimed = Claim("w1", 4);
  ASSERT_EQ(claimed.size(), 4u);
  const auto& a = claimed[0];  // started, then succeeds in the same batch
  const auto& b = claimed[1];  // succeeds without a start report (seed worker)
  const auto& c = claimed[2];  // fails: no retries left, dead-lettered
  const auto& d = claimed[3];  // a stale report (wrong attempt)
  JobReportBatch batch;
  batch.started = {{a.id, "w1", a.attempt}, {d.id, "w1", d.attempt + 7}};
  JobCompleteParams ok_a{{a.id, "w1", a.attempt}, true, "out-a"};
  ok_a.output = JobOutputRecord{};
  ok_a.output->stdout_data = "out-a";
  JobCompleteParams ok_b{{b.id, "w1", 0}, true, "out-b"};
  JobCompleteParams fail_c{{c.id, "w1", c.attempt}, false, "", "boom"};
  JobCompleteParams dup_a{{a.id, "w1", a.attempt}, true, "again"};
  batch.results = {ok_a, ok_b, fail_c, dup_a};
  auto r = store_->JobReportMany(batch);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->started[0].ok());
  EXPECT_EQ(r->started[1].code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(r->results[0].ok());
  EXPECT_EQ(r->results[0]->final_status, JobState::kDone);
  ASSERT_TRUE(r->results[1].ok());
  ASSERT_TRUE(r->results[2].ok());
  EXPECT_EQ(r->results[2]->final_status, JobState::kDeadLettered);
  EXPECT_EQ(r->results[3].status().code(), StatusCode::kFailedPrecondition);  // already DONE

  EXPECT_EQ(Get(a.id).status, JobState::kDone);
  EXPECT_EQ(Get(a.id).result, "out-a");
  EXPECT_EQ(Reasons(a.id),
            (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
  EXPECT_EQ(Reasons(b.id),
            (std::vector<std::string>{"SUBMITTED", "ASSIGNED", "STARTED", "SUCCESS"}));
  EXPECT_EQ(Get(c.id).status, JobState::kDeadLettered);
  EXPECT_EQ(Get(d.id).status, JobState::kAssigned);
  auto outputs = store_->JobOutputList(a.id);
  ASSERT_TRUE(outputs.ok());
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].stdout_data, "out-a");
  // A start reported after its own result is no news, not an error.
  auto late = store_->JobReportMany({{{a.id, "w1", a.attempt}}, {}});
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(late->started[0].ok());
}

// Two replicas' batches that report the same jobs in crossing orders (each one's success is
// the other's failure, as when a reclaimed lease's old holder reports late): each batch's
// statements lock in id order, but a success statement then a failure path locked B before A
// in one and A before B in the other, and PostgreSQL killed one as a deadlock. Every job a
// batch touches is now locked first, in id order, so neither has to be run again.
TEST_F(StoreTest, CrossingReportBatchesNeverDeadlock) {
  std::atomic<int> deadlocks{0};
  store::PgStoreConfig config{conninfo_, 4};
  config.on_retry = [&](std::string_view, std::string_view reason) {
    if (reason == "deadlock") deadlocks.fetch_add(1);
  };
  store::PgStore store(config);
  for (int round = 0; round < 20; ++round) {
    Submit("default", 0, 0);
    Submit("default", 0, 0);
    auto claimed = Claim("w1", 2);
    ASSERT_EQ(claimed.size(), 2u);
    const auto& a = claimed[0];
    const auto& b = claimed[1];
    const auto batch = [](const ClaimedJob& ok, const ClaimedJob& bad) {
      JobReportBatch out;
      out.results = {{{ok.id, "w1", ok.attempt}, true, "ok"},
                     {{bad.id, "w1", bad.attempt}, false, "", "boom"}};
      return out;
    };
    std::atomic<int> ready{0};
    Result<JobReportBatchResult> r1(Status::Internal("unset")), r2(Status::Internal("unset"));
    const auto report = [&](Result<JobReportBatchResult>& into, const JobReportBatch& b) {
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
      into = store.JobReportMany(b);
    };
    std::thread t1([&] { report(r1, batch(a, b)); });
    std::thread t2([&] { report(r2, batch(b, a)); });
    t1.join();
    t2.join();
    ASSERT_TRUE(r1.ok()) << r1.status().ToString();
    ASSERT_TRUE(r2.ok()) << r2.status().ToString();
    // Whichever batch locks a job first decides it; the other's report is refused as stale.
    for (const auto& [id, first, second] : {std::tuple{a.id, &r1->results[0], &r2->results[1]},
                                            std::tuple{b.id, &r2->results[0], &r1->results[1]}}) {
      EXPECT_NE(first->ok(), second->ok()) << id;
      const JobState s = Get(id).status;
      EXPECT_TRUE(s == JobState::kDone || s == JobState::kDeadLettered) << id;
    }
  }
  EXPECT_EQ(deadlocks.load(), 0);
}

TEST_F(StoreTest, LeaseRenewalRewritesOnlyLeasesPastHalfTheirTime) {
  Submit();
  auto c = Claim("w1", 1);
  ASSERT_EQ(c.size(), 1u);
  const auto before = Sql("SELECT lease_expires_at::text FROM jobs")[0][0].as<std::string>();
  auto lost =
      store_->JobLeaseRenew("w1", {{c[0].id, "w1", c[0].attempt}}, std::chrono::seconds(30));
  ASSERT_TRUE(lost.ok());
  EXPECT_TRUE(lost->empty());  // still held, though not rewritten
  EXPECT_EQ(Sql("SELECT lease_expires_at::text FROM jobs")[0][0].as<std::string>(), before);
  Sql("UPDATE jobs SET lease_expires_at = now() + interval '5 seconds'");
  lost = store_->JobLeaseRenew("w1", {{c[0].id, "w1", c[0].attempt}}, std::chrono::seconds(30));
  ASSERT_TRUE(lost.ok());
  EXPECT_TRUE(lost->empty());
  EXPECT_TRUE(
      Sql("SELECT lease_expires_at > now() + interval '20 seconds' FROM jobs")[0][0].as<bool>());
  lost = store_->JobLeaseRenew("w1", {{c[0].id, "w1", c[0].attempt + 1}}, std::chrono::seconds(30));
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(*lost, std::vector<std::string>{c[0].id});
}

// Every event id is taken after its transaction has an xid (the outbox's gap proof needs it),
// by one SQL expression PostgreSQL inlines into the insert: a plpgsql call per row cost ~7%
// of a report batch (db/migrations/0006).
TEST_F(StoreTest, EventIdsAreTakenByAnInlinedExpressionAfterTheXid) {
  std::string plan;
  for (const auto& row : Sql("EXPLAIN VERBOSE INSERT INTO job_events (job_id, tenant, queue,"
                             " to_status, reason) SELECT gen_random_uuid(), 't', 'q', 1, 'X'"
                             " FROM generate_series(1, 3)")) {
    plan += row[0].as<std::string>() + "\n";
  }
  EXPECT_EQ(plan.find("jq_job_event_id"), std::string::npos) << plan;
  const auto xid = plan.find("pg_current_xact_id()");
  const auto next = plan.find("nextval");
  ASSERT_NE(xid, std::string::npos) << plan;
  ASSERT_NE(next, std::string::npos) << plan;
  EXPECT_LT(xid, next) << plan;  // CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval
  // And an event that is its transaction's first write still commits with its id.
  auto r =
      Sql("INSERT INTO job_events (job_id, tenant, queue, to_status, reason)"
          " VALUES (gen_random_uuid(), 't', 'q', 1, 'X') RETURNING id");
  EXPECT_GT(r[0][0].as<long long>(), 0);
}

// The plan of a claim, prepared and run with the settings the store uses.
std::string ClaimPlan(const std::string& conninfo, bool one_queue, const std::string& queues,
                      const char* mode, bool analyze) {
  pqxx::connection conn(conninfo);
  pqxx::work tx(conn);
  tx.exec(store::kClaimPlanSettings);
  tx.exec(std::string("SET LOCAL plan_cache_mode = ") + mode);
  tx.exec("PREPARE claim (text[], text[], int, text, text[], text[], int[], int) AS " +
          store::JobClaimSql(one_queue));
  std::string plan;
  for (const auto& row : tx.exec(std::string("EXPLAIN ") + (analyze ? "(ANALYZE) " : "") +
                                 "EXECUTE claim('{w1,w1,w1,w1,w1,w1,w1,w1,w1,w1}', '" + queues +
                                 "', 30, '', '{}', '{}', '{}', -1)")) {
    plan += row[0].as<std::string>() + "\n";
  }
  return plan;  // the transaction rolls back: nothing is claimed
}

// The claim must find ready jobs through its index, not by walking the table: with a large
// history and a deep backlog in another queue, neither claim scans jobs nor walks the backlog.
TEST_F(StoreTest, ClaimUsesItsIndexOnALargeTable) {
  Sql("CREATE TEMP TABLE IF NOT EXISTS x (n int)");  // warm the connection
  Sql("INSERT INTO queues (name) VALUES ('backlog'), ('hot'), ('other')");
  Sql("INSERT INTO jobs (id, queue, payload, status, max_retries, created_at, completed_at) "
      "SELECT gen_random_uuid(), 'hot', '\\x00', 4, 3, now() - g * interval '1 ms', now() "
      "FROM generate_series(1, 200000) g");
  Sql("INSERT INTO jobs (id, queue, payload, status, max_retries) "
      "SELECT gen_random_uuid(), 'backlog', '\\x00', 1, 3 FROM generate_series(1, 100000) g");
  Sql("INSERT INTO jobs (id, queue, payload, status, max_retries) "
      "SELECT gen_random_uuid(), 'hot', '\\x00', 1, 3 FROM generate_series(1, 1000) g");
  Sql("ANALYZE jobs");
  for (const bool one_queue : {true, false}) {
    for (const char* mode : {"force_custom_plan", "force_generic_plan"}) {
      const std::string plan =
          ClaimPlan(conninfo_, one_queue, one_queue ? "{hot}" : "{hot,other}", mode, true);
      SCOPED_TRACE(std::string(one_queue ? "one queue, " : "queue list, ") + mode + "\n" + plan);
      EXPECT_EQ(plan.find("Seq Scan on jobs"), std::string::npos);
      EXPECT_NE(plan.find("jobs_ready_idx"), std::string::npos);
      // Walking another queue's backlog shows as its 100k rows removed by a filter.
      EXPECT_EQ(plan.find("Rows Removed by Filter: 100000"), std::string::npos);
    }
  }
}

// A new install has no statistics until autovacuum first analyzes jobs. The claim must still
// walk the ready index in order: without statistics a queue's ready rows are estimated at ~1,
// and a bitmap scan plus a sort of the whole backlog looked as cheap (200 ms a claim for 100k
// ready jobs, against 5 ms; measured as a benchmark that ran at 1k jobs/s for its first
// seconds). 150k rows: the bad plan's range on this PostgreSQL.
TEST_F(StoreTest, ClaimWalksTheReadyIndexBeforeTheFirstAnalyze) {
  Sql("ALTER TABLE jobs SET (autovacuum_enabled = false)");  // no statistics during the test
  Sql("INSERT INTO queues (name) VALUES ('other')");
  Sql("INSERT INTO jobs (id, queue, payload, status, max_retries) "
      "SELECT gen_random_uuid(), 'default', '\\x00', 1, 3 FROM generate_series(1, 150000) g");
  ASSERT_EQ(Sql("SELECT count(*) FROM pg_stats WHERE tablename = 'jobs'")[0][0].as<int>(), 0);
  for (const bool one_queue : {true, false}) {
    const std::string plan =
        ClaimPlan(conninfo_, one_queue, one_queue ? "{default}" : "{default,other}",
                  "force_custom_plan", false);
    SCOPED_TRACE(std::string(one_queue ? "one queue\n" : "queue list\n") + plan);
    EXPECT_EQ(plan.find("Bitmap Heap Scan on jobs"), std::string::npos);
    EXPECT_NE(plan.find("Index Scan using jobs_ready_idx"), std::string::npos);
  }
}

}  // namespace
}  // namespace jq::testing
