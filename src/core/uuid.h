// Time-ordered UUIDv7 ids (RFC 9562): new jobs land at the right edge of the primary key index.
#pragma once

#include <cstdint>
#include <string>

namespace jq {

// unix_ms: milliseconds since the epoch; rand_a (12 bits used) and rand_b (62 bits used) random.
std::string FormatUuidV7(std::uint64_t unix_ms, std::uint16_t rand_a, std::uint64_t rand_b);

// A fresh UUIDv7 from the system clock and a thread-local random engine.
std::string NewUuidV7();

}  // namespace jq
