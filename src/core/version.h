#pragma once

#include <string>

namespace jq {
// "jq version X.Y.Z (build: <git commit>)".
std::string VersionString();
}  // namespace jq
