// A fresh, migrated database per test, with a PgStore on it.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <pqxx/pqxx>

#include "store/migrator.h"
#include "store/pg_store.h"
#include "support/test_servers.h"

namespace jq::testing {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = TestServers::Get().CreateDatabase();
    auto m = store::Migrate(conninfo_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    store_ = std::make_unique<store::PgStore>(store::PgStoreConfig{conninfo_, 16});
  }

  // Direct SQL for assertions and for moving the clock of a row (tests only).
  pqxx::result Sql(const std::string& sql) {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    auto r = tx.exec(sql);
    tx.commit();
    return r;
  }

  std::string Submit(const std::string& queue = "default", int priority = 0,
                     std::optional<int> max_retries = std::nullopt) {
    JobInsertParams p;
    p.queue = queue;
    p.payload = R"({"command":["true"]})";
    p.priority = priority;
    p.max_retries = max_retries;
    auto r = store_->JobInsertMany({p});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)[0].job_id : "";
  }

  std::vector<ClaimedJob> Claim(const std::string& worker, int limit,
                                std::vector<std::string> queues = {}) {
    auto r =
        store_->JobClaimAvailable({worker, std::move(queues), limit, std::chrono::seconds(30)});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<ClaimedJob>{};
  }

  JobRecord Get(const std::string& id) {
    auto r = store_->JobGet(id, "");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : JobRecord{};
  }

  std::vector<std::string> Reasons(const std::string& id) {
    std::vector<std::string> out;
    auto r = store_->JobEventList(id, 0);
    EXPECT_TRUE(r.ok());
    if (r.ok()) {
      for (const auto& e : *r) out.push_back(e.reason);
    }
    return out;
  }

  std::string conninfo_;
  std::unique_ptr<store::PgStore> store_;
};

}  // namespace jq::testing
