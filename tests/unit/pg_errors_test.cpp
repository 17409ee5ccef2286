// How the store classifies PostgreSQL's errors: what a caller may retry and what it must not.
#include "store/pg_errors.h"

#include <gtest/gtest.h>

#include <pqxx/pqxx>

namespace {

jq::Status FromState(const char* sqlstate) {
  return jq::store::StatusFromException(pqxx::sql_error("error text", "SELECT 1", sqlstate), "op");
}

TEST(PgErrorsTest, ConnectionTroubleIsRetryable) {
  EXPECT_EQ(jq::store::StatusFromException(pqxx::broken_connection("gone"), "op").code(),
            jq::StatusCode::kUnavailable);
  for (const char* s : {"08006", "57P01", "53300", "40001", "40P01", "57014"}) {
    EXPECT_TRUE(FromState(s).retryable()) << s;
  }
}

// What libpqxx 6.4 really throws for a deadlock or a serialization failure: classes that are
// not sql_errors (their base is transaction_rollback). Once they came out INTERNAL, and a
// deadlock between two report batches lost a worker's report.
TEST(PgErrorsTest, LibpqxxDeadlockAndSerializationClassesAreRetryable) {
  const jq::Status deadlock = jq::store::StatusFromException(
      pqxx::deadlock_detected("ERROR:  deadlock detected\n"), "JobReportMany");
  EXPECT_EQ(deadlock.code(), jq::StatusCode::kUnavailable);
  EXPECT_TRUE(deadlock.retryable());
  EXPECT_NE(deadlock.message().find("40P01"), std::string::npos) << deadlock.message();
  const jq::Status serialization = jq::store::StatusFromException(
      pqxx::serialization_failure("ERROR:  could not serialize access\n"), "op");
  EXPECT_TRUE(serialization.retryable());
  // Unknown completion is not a rollback one may simply repeat.
  EXPECT_FALSE(
      jq::store::StatusFromException(pqxx::statement_completion_unknown("?"), "op").retryable());
}

// Class 53: the server ran out of something (disk, memory, connections, a configured limit).
// The request was fine; it succeeds once the resource is back, so a worker must keep its report
// and send it again instead of turning it into a failure of the job.
TEST(PgErrorsTest, InsufficientResourcesAreRetryable) {
  for (const char* s : {"53000", "53100", "53200", "53400"}) {
    const jq::Status st = FromState(s);
    EXPECT_TRUE(st.retryable()) << s;
    EXPECT_NE(st.message().find(s), std::string::npos) << st.message();
  }
  const jq::Status full = jq::store::StatusFromException(
      pqxx::sql_error("ERROR:  could not extend file: No space left on device\n", "INSERT",
                      "53100"),
      "JobReportMany");
  EXPECT_EQ(full.message(),
            "JobReportMany: database out of resources (53100): ERROR:  could not extend file: No "
            "space left on device");
}

TEST(PgErrorsTest, ABadRequestIsNotRetryable) {
  EXPECT_EQ(FromState("22P02").code(), jq::StatusCode::kInvalidArgument);
  EXPECT_EQ(FromState("23505").code(), jq::StatusCode::kAlreadyExists);
  EXPECT_EQ(FromState("42P01").code(), jq::StatusCode::kInternal);
  EXPECT_FALSE(FromState("42P01").retryable());
}

}  // namespace
