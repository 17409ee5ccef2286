#include "core/validation.h"

#include <gtest/gtest.h>

namespace jq {
namespace {

TEST(ValidationTest, QueueNames) {
  for (const char* ok : {"default", "a", "0", "emails.v2", "batch_jobs-1"}) {
    EXPECT_TRUE(ValidateQueueName(ok).ok()) << ok;
  }
  EXPECT_TRUE(ValidateQueueName(std::string(64, 'a')).ok());
  const std::pair<std::string, std::string> bad[] = {
      {"", "queue_name is required"},
      {std::string(65, 'a'), "longer than 64"},
      {"Emails", "must start with a lower-case letter or digit"},
      {"-x", "must start"},
      {"a b", "may contain only"},
      {"a/b", "may contain only"},
      {"aB", "may contain only"},
  };
  for (const auto& [name, msg] : bad) {
    Status s = ValidateQueueName(name);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(s.message().find(msg), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("queue_name"), std::string::npos) << s.message();
  }
}

// Found by fuzz/validation_fuzz.cpp: a refused name was quoted as it came, so a newline or an
// escape sequence in it reached the log line, the gRPC status and jq-ctl's terminal.
TEST(ValidationTest, RefusedQueueNameIsQuotedPrintably) {
  for (const std::string name : {"\n", "a\nb", "a\x1b[2Jb", "\xff", "caf\xc3\xa9"}) {
    const Status s = ValidateQueueName(name);
    ASSERT_FALSE(s.ok());
    for (char c : s.message()) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f)
          << "byte " << int(static_cast<unsigned char>(c)) << " in: " << s.message();
    }
  }
  EXPECT_NE(ValidateQueueName("a\nb").message().find("'a?b'"), std::string::npos);
}

TEST(ValidationTest, JobIds) {
  EXPECT_TRUE(ValidateJobId("0190a3c4-1b2c-7d3e-8f40-123456789abc").ok());
  EXPECT_TRUE(ValidateJobId("0190A3C4-1B2C-7D3E-8F40-123456789ABC").ok());
  Status empty = ValidateJobId("");
  EXPECT_EQ(empty.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.message(), "job_id is required");
  for (const char* bad :
       {"not-a-uuid", "0190a3c4-1b2c-7d3e-8f40-123456789ab", "0190a3c41b2c7d3e8f40123456789abcdef",
        "0190a3c4-1b2c-7d3e-8f40-12345678zabc", "'; DROP TABLE jobs; --"}) {
    Status s = ValidateJobId(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("is not a valid UUID"), std::string::npos);
  }
}

TEST(ValidationTest, PriorityPayloadAndCounters) {
  EXPECT_TRUE(ValidatePriority(0).ok());
  EXPECT_TRUE(ValidatePriority(9).ok());
  EXPECT_EQ(ValidatePriority(10).message(), "priority 10 is out of range 0-9");
  EXPECT_EQ(ValidatePriority(-1).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidatePayloadSize(1 << 20, 1 << 20).ok());
  EXPECT_EQ(ValidatePayloadSize((1 << 20) + 1, 1 << 20).message(),
            "payload is 1048577 bytes, over the limit of 1048576");
  EXPECT_EQ(ValidateNonNegative(-5, "ttl_seconds").message(),
            "ttl_seconds must not be negative (got -5)");
  EXPECT_TRUE(ValidateToken("w-1", "worker_id", 128).ok());
  EXPECT_EQ(ValidateToken("", "worker_id", 128).message(), "worker_id is required");
  EXPECT_EQ(ValidateToken(std::string("a\x01", 2), "worker_id", 128).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jq
