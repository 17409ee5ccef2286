#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <thread>

#include "store/migrator.h"
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

}  // namespace
}  // namespace jq::testing
