// Input validation shared by every entry point (SPEC §6, §7). Messages name the field.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace jq {

inline constexpr std::size_t kDefaultMaxPayloadBytes = 1 << 20;

// Queue names: [a-z0-9][a-z0-9._-]{0,63}.
Status ValidateQueueName(std::string_view name, std::string_view field = "queue_name");
// A job id must be a canonical UUID (8-4-4-4-12 hex).
Status ValidateJobId(std::string_view id, std::string_view field = "job_id");
Status ValidatePriority(int priority);
Status ValidatePayloadSize(std::size_t size, std::size_t limit);
// Non-negative counters such as max_retries, ttl_seconds, timeout_seconds.
Status ValidateNonNegative(long long value, std::string_view field);
// Worker ids and idempotency keys: 1..max printable characters.
Status ValidateToken(std::string_view value, std::string_view field, std::size_t max_len);

bool IsUuid(std::string_view s);

}  // namespace jq
