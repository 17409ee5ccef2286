#include "core/version.h"

namespace jq {
std::string VersionString() {
  return std::string("jq version ") + JQ_VERSION + " (build: " + JQ_GIT_COMMIT + ")";
}
}  // namespace jq
