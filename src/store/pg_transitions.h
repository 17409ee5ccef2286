// Executes the job rules' decisions (core/transitions.h) on a locked job row (internal to
// jq_store). The rules decide; this file only reads the facts and writes each step as one
// statement guarded on the step's `from` state, plus its job_events row.
#pragma once

#include <pqxx/pqxx>

#include <optional>
#include <string>

#include "core/transitions.h"

namespace jq::store {

// A job row locked FOR UPDATE for the rest of the transaction.
struct LockedJob {
  JobFacts facts;
  std::string tenant, queue;
  double run_seconds = 0;  // since started_at
};

// Locks the job and reads its facts (and its queue's backoff); nullopt when there is none.
std::optional<LockedJob> LockJob(pqxx::work& tx, const std::string& id);

// Writes d's steps in order and updates j.facts.status. `result` is the report's result bytes,
// kept by a DONE or FAILED step. Throws std::logic_error (the transaction rolls back) for a
// step SPEC §4 does not allow or whose guard matches no row: either is a bug in the rules.
// REQUIRES: d.refusal is OK.
// actor: who asked for it (cancel, retry), written on each event; "" = the system.
void ApplyDecision(pqxx::work& tx, LockedJob& j, const Decision& d, const std::string& result = {},
                   const std::string& actor = {});

}  // namespace jq::store
