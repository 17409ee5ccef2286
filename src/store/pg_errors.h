// Turns libpqxx exceptions into jq::Status. Connection trouble and a server out of resources
// (disk full, out of memory, too many connections) are UNAVAILABLE (retryable).
#pragma once

#include <exception>
#include <string_view>

#include "core/status.h"

namespace jq::store {

Status StatusFromException(const std::exception& e, std::string_view operation);

}  // namespace jq::store
