// Row readers shared by the store's files (internal to jq_store).
#pragma once

#include <pqxx/pqxx>

#include "core/model.h"

namespace jq::store {

// The job_events columns every event query selects, in this order; EventFromRow reads them.
inline constexpr const char* kEventCols =
    "id, job_id::text, tenant, queue, coalesce(from_status, 0), to_status, reason, "
    "coalesce(worker_id, ''), attempt, jq_us(occurred_at)";

JobEventRecord EventFromRow(const pqxx::row& r);

}  // namespace jq::store
