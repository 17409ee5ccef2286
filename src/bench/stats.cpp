#include "bench/stats.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace jq::bench {

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Histogram::Histogram() : counts_(new std::atomic<std::uint64_t>[kBuckets]) {
  for (int i = 0; i < kBuckets; ++i) counts_[i].store(0, std::memory_order_relaxed);
}

int Histogram::Index(std::uint64_t v) {
  constexpr std::uint64_t kExact = 1u << kSubBits;
  if (v < kExact) return static_cast<int>(v);
  const int msb = 63 - __builtin_clzll(v);
  const int e = msb - kSubBits + 1;  // v >> e lies in [64, 128)
  const std::uint64_t mantissa = v >> e;
  return static_cast<int>(kExact) + (e - 1) * (1 << (kSubBits - 1)) +
         static_cast<int>(mantissa - (kExact >> 1));
}

std::uint64_t Histogram::Lower(int index) {
  constexpr int kExact = 1 << kSubBits;
  if (index < kExact) return static_cast<std::uint64_t>(index);
  const int r = index - kExact;
  const int e = r / (kExact >> 1) + 1;
  const std::uint64_t mantissa = static_cast<std::uint64_t>(r % (kExact >> 1) + (kExact >> 1));
  return mantissa << e;
}

std::uint64_t Histogram::Width(int index) {
  constexpr int kExact = 1 << kSubBits;
  if (index < kExact) return 1;
  return std::uint64_t{1} << ((index - kExact) / (kExact >> 1) + 1);
}

void Histogram::Record(std::int64_t micros) {
  const std::uint64_t v =
      std::min<std::uint64_t>(static_cast<std::uint64_t>(std::max<std::int64_t>(micros, 0)),
                              (std::uint64_t{1} << kMaxMagnitude) - 1);
  counts_[Index(v)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  std::int64_t seen = max_.load(std::memory_order_relaxed);
  const auto sv = static_cast<std::int64_t>(v);
  while (sv > seen && !max_.compare_exchange_weak(seen, sv, std::memory_order_relaxed)) {
  }
}

double Histogram::QuantileMs(double q) const {
  std::uint64_t total = 0;
  for (int i = 0; i < kBuckets; ++i) total += counts_[i].load(std::memory_order_relaxed);
  if (total == 0) return 0;
  const auto rank = std::max<std::uint64_t>(
      1,
      static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(total))));
  std::uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i].load(std::memory_order_relaxed);
    if (seen >= rank) {
      const double mid = static_cast<double>(Lower(i)) +
                         (Width(i) > 1 ? static_cast<double>(Width(i)) / 2.0 : 0.0);
      return std::min(mid, static_cast<double>(max_.load())) / 1000.0;
    }
  }
  return MaxMs();
}

double Histogram::MeanMs() const {
  const std::uint64_t n = count();
  return n == 0 ? 0.0 : static_cast<double>(sum_.load()) / static_cast<double>(n) / 1000.0;
}

std::string GrpcCodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(std::size(kNames))) return kNames[code];
  return "CODE_" + std::to_string(code);
}

void ErrorCounter::Count(int code) {
  const int slot = code >= 0 && code < kCodes ? code : kCodes;
  by_code_[slot].fetch_add(1, std::memory_order_relaxed);
  total_.fetch_add(1, std::memory_order_relaxed);
}

void ErrorCounter::Record(std::string_view what, int code, std::string_view message) {
  Count(code);
  std::lock_guard lock(mu_);
  auto it = by_call_.find(what);
  if (it == by_call_.end()) it = by_call_.emplace(std::string(what), 0).first;
  ++it->second;
  if (printed_.fetch_add(1, std::memory_order_relaxed) < print_limit_) {
    std::string line(message);  // one line per error, even for PostgreSQL's DETAIL/HINT
    for (char& ch : line) {
      if (ch == '\n') ch = ' ';
    }
    std::cerr << "jq-bench: " << what << ": " << GrpcCodeName(code) << ": " << line << "\n";
  }
}

std::map<std::string, std::uint64_t> ErrorCounter::ByCall() const {
  std::lock_guard lock(mu_);
  return {by_call_.begin(), by_call_.end()};
}

void ErrorCounter::Add(const ErrorCounter& other) {
  for (int i = 0; i <= kCodes; ++i) {
    const std::uint64_t n = other.by_code_[i].load(std::memory_order_relaxed);
    by_code_[i].fetch_add(n, std::memory_order_relaxed);
    total_.fetch_add(n, std::memory_order_relaxed);
  }
  printed_.fetch_add(other.printed_.load(), std::memory_order_relaxed);
  const auto calls = other.ByCall();
  std::lock_guard lock(mu_);
  for (const auto& [what, n] : calls) by_call_[what] += n;
}

std::map<std::string, std::uint64_t> ErrorCounter::ByCode() const {
  std::map<std::string, std::uint64_t> out;
  for (int i = 0; i <= kCodes; ++i) {
    const std::uint64_t n = by_code_[i].load(std::memory_order_relaxed);
    if (n > 0) out[i < kCodes ? GrpcCodeName(i) : "OTHER"] = n;
  }
  return out;
}

void Timeline::Start(const std::atomic<std::uint64_t>* counter, std::function<void()> on_tick) {
  counter_ = counter;
  on_tick_ = std::move(on_tick);
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  rows_.clear();
  thread_ = std::thread([this] {
    constexpr auto kInterval = std::chrono::milliseconds(500);
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t last = counter_->load(std::memory_order_relaxed);
    auto next = start + kInterval;
    std::unique_lock lock(mu_);
    while (!cv_.wait_until(lock, next, [&] { return stop_; })) {
      const std::uint64_t now = counter_->load(std::memory_order_relaxed);
      const double t = std::chrono::duration<double>(next - start).count();
      rows_.push_back({t, static_cast<double>(now - last) / 0.5});
      last = now;
      next += kInterval;
      if (on_tick_) {
        lock.unlock();
        on_tick_();
        lock.lock();
      }
    }
  });
}

void Timeline::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Timeline::WriteCsv(const std::string& path, std::string* error) const {
  std::ofstream out(path, std::ios::trunc);
  if (!out) {
    *error = "cannot write " + path;
    return false;
  }
  out << "t_seconds,jobs_per_second\n";
  char line[64];
  for (const auto& r : rows_) {
    std::snprintf(line, sizeof line, "%.1f,%.1f\n", r.t, r.rate);
    out << line;
  }
  out.flush();
  if (!out) {
    *error = "cannot write " + path;
    return false;
  }
  return true;
}

}  // namespace jq::bench
