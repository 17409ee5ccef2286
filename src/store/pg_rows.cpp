#include "store/pg_rows.h"

namespace jq::store {

JobEventRecord EventFromRow(const pqxx::row& r) {
  JobEventRecord e;
  e.id = r[0].as<std::int64_t>();
  e.job_id = r[1].as<std::string>();
  e.tenant = r[2].as<std::string>();
  e.queue = r[3].as<std::string>();
  e.from_status = static_cast<JobState>(r[4].as<int>());
  e.to_status = static_cast<JobState>(r[5].as<int>());
  e.reason = r[6].as<std::string>();
  e.worker_id = r[7].as<std::string>();
  e.attempt = r[8].as<int>();
  e.occurred_at = TimePoint(std::chrono::microseconds(r[9].as<std::int64_t>()));
  return e;
}

}  // namespace jq::store
