#include "bench/report.h"

#include <cmath>
#include <ctime>
#include <iomanip>

namespace jq::bench {

double Round(double x, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(x * scale) / scale;
}

Json LatencyJson(const Histogram& h) {
  Json j;
  j["p50"] = Round(h.QuantileMs(0.50), 3);
  j["p90"] = Round(h.QuantileMs(0.90), 3);
  j["p99"] = Round(h.QuantileMs(0.99), 3);
  j["max"] = Round(h.MaxMs(), 3);
  j["mean"] = Round(h.MeanMs(), 3);
  j["count"] = h.count();
  return j;
}

std::string UtcTimestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

std::string Scalar(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

}  // namespace

void PrintTable(const Json& report, std::ostream& out) {
  for (const auto& [key, value] : report.items()) {
    if (value.is_null()) continue;
    out << std::left << std::setw(22) << key;
    if (value.is_object()) {
      bool first = true;
      for (const auto& [k, v] : value.items()) {
        out << (first ? "" : "  ") << k << " " << Scalar(v);
        first = false;
      }
      if (first) out << "-";
    } else {
      out << Scalar(value);
    }
    out << "\n";
  }
}

}  // namespace jq::bench
