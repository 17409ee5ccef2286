// Opaque keyset page tokens for ListJobs: the (created_at, job_id) of the last row returned.
// Keyset paging stays stable while new jobs are inserted, unlike OFFSET.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace jq {

struct PageCursor {
  std::int64_t created_at_us = 0;  // microseconds since the epoch
  std::string job_id;
};

std::string EncodePageToken(const PageCursor& cursor);
std::optional<PageCursor> DecodePageToken(const std::string& token);

}  // namespace jq
