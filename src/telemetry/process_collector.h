// Standard process_* metrics (CPU, memory, open fds, start time) read from /proc/self, which
// prometheus-cpp does not provide.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace jq::telemetry {

class ProcessCollector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace jq::telemetry
