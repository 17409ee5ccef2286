// PgStore: the pool, the prepared statements of every table's file, and the operations that
// belong to no table. The operations live beside their tables: queues_table.cpp,
// jobs_table.cpp, job_transitions.cpp (reports, cancels, retries), leases.cpp (claims,
// renewals, the reaper) and workers_table.cpp. The job rules live in core/transitions.h.
#include "store/pg_store.h"

#include "store/pg_common.h"

namespace jq::store {
namespace {

void PrepareAll(pqxx::connection& c) {
  for (const auto* statements : {&QueueStatements(), &JobStatements(), &TransitionStatements(),
                                 &LeaseStatements(), &WorkerStatements()}) {
    for (const auto& [name, sql] : *statements) c.prepare(name, sql);
  }
}

}  // namespace

PgStore::PgStore(PgStoreConfig config)
    : config_(std::move(config)),
      pool_(std::make_unique<ConnectionPool>(config_.conninfo, config_.pool_size, PrepareAll)) {}

PgStore::~PgStore() = default;

Status PgStore::Notify(const std::string& channel, const std::string& payload) {
  return RunTxStatus(*pool_, config_, "Notify", [&](pqxx::work& tx) {
    tx.exec_params("SELECT pg_notify($1, $2)", channel, payload);
    return Status::Ok();
  });
}

Status PgStore::Ping() {
  return RunTxStatus(*pool_, config_, "Ping", [&](pqxx::work& tx) {
    tx.exec("SELECT 1");
    return Status::Ok();
  });
}

}  // namespace jq::store
