// jq-bench's output: one JSON object per run (--json) or the same facts as a table.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "bench/stats.h"

namespace jq::bench {

using Json = nlohmann::ordered_json;

// {"p50": …, "p90": …, "p99": …, "max": …, "mean": …} in milliseconds, 3 decimals.
Json LatencyJson(const Histogram& h);
// x rounded to `decimals` places.
double Round(double x, int decimals);
// The current UTC time as "2024-05-01T12:00:00Z".
std::string UtcTimestamp();
// One "key  value" line per field; nested objects on one line ("p50 1.2  p90 3.4 …").
void PrintTable(const Json& report, std::ostream& out);

}  // namespace jq::bench
