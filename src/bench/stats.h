// Measurement for jq-bench: latency histograms, error counts and the throughput timeline.
// Everything here is written from gRPC's callback threads while the main thread reads it, so
// the hot paths are single relaxed atomic operations: no mutex per message.
#pragma once

#include <grpcpp/support/status.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace jq::bench {

// Nanoseconds on the steady clock of this process.
std::int64_t NowNs();

// A latency histogram over microseconds with log-linear buckets: values below 128 µs are
// exact, larger ones fall in buckets 1/64 of their magnitude wide (under 1.6 % error), up to
// about 12 days. Thread-safe; Record() is lock-free.
class Histogram {
 public:
  Histogram();
  void Record(std::int64_t micros);
  void RecordNs(std::int64_t nanos) { Record(nanos / 1000); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // The value at quantile q (0..1) in milliseconds (bucket midpoint, never above the maximum);
  // 0 when empty. Reads a consistent-enough snapshot while writers run.
  double QuantileMs(double q) const;
  double MaxMs() const { return static_cast<double>(max_.load()) / 1000.0; }
  double MeanMs() const;

 private:
  static constexpr int kSubBits = 7;
  static constexpr int kMaxMagnitude = 41;  // values are clamped below 2^41 µs
  static constexpr int kBuckets = (1 << kSubBits) + (kMaxMagnitude - kSubBits) * (1 << 6);
  static int Index(std::uint64_t v);
  static std::uint64_t Lower(int index);
  static std::uint64_t Width(int index);

  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_{0};
  std::atomic<std::int64_t> max_{0};
};

// Failed calls by gRPC code. The first few are printed to stderr (who, code, message); the
// rest are only counted. Thread-safe; Record() takes a mutex only while printing.
class ErrorCounter {
 public:
  explicit ErrorCounter(int print_limit = 5) : print_limit_(print_limit) {}
  void Record(std::string_view what, const grpc::Status& status) {
    Record(what, static_cast<int>(status.error_code()), status.error_message());
  }
  void Record(std::string_view what, int code, std::string_view message);
  // Counts without printing (the caller explains the failure itself).
  void Count(int code);
  // Adds other's counts (nothing is printed again).
  void Add(const ErrorCounter& other);
  std::uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  // {"UNAVAILABLE": 3, ...}: only codes that occurred.
  std::map<std::string, std::uint64_t> ByCode() const;
  // {"SubmitJob": 3, "ReportBatch result": 1, ...}: the `what` of each Record().
  std::map<std::string, std::uint64_t> ByCall() const;

 private:
  static constexpr int kCodes = 17;
  std::atomic<std::uint64_t> by_code_[kCodes + 1] = {};  // the last slot: unknown codes
  std::atomic<std::uint64_t> total_{0};
  std::atomic<int> printed_{0};
  const int print_limit_;
  mutable std::mutex mu_;  // errors are rare: a mutex is fine here
  std::map<std::string, std::uint64_t, std::less<>> by_call_;  // guarded by mu_
};

// "OK", "CANCELLED", ... "UNAUTHENTICATED"; "CODE_<n>" for anything else.
std::string GrpcCodeName(int code);

// Samples a counter every 0.5 s on its own thread and keeps (t, rate) rows for a CSV.
// Start() / Stop() from one thread; Stop() is idempotent.
class Timeline {
 public:
  Timeline() = default;
  ~Timeline() { Stop(); }
  // on_tick (optional) also runs on the sampling thread, after each sample.
  void Start(const std::atomic<std::uint64_t>* counter, std::function<void()> on_tick = nullptr);
  void Stop();
  // Writes "t_seconds,jobs_per_second" rows; false (and a message in *error) on I/O failure.
  bool WriteCsv(const std::string& path, std::string* error) const;

 private:
  struct Row {
    double t;
    double rate;
  };
  const std::atomic<std::uint64_t>* counter_ = nullptr;
  std::function<void()> on_tick_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;      // guarded by mu_
  std::vector<Row> rows_;  // written by the thread; read after Stop()
};

// What every mode measures. Shared by the load generators and the bench workers.
struct RunStats {
  Histogram call_latency;     // per call: SubmitJob / SubmitJobs
  Histogram submit_to_start;  // latency mode: submit sent -> assignment at the worker
  Histogram submit_to_done;   // latency mode: submit sent -> result acknowledged
  ErrorCounter errors;
  std::atomic<std::uint64_t> jobs{0};   // jobs measured (submitted / completed)
  std::atomic<std::uint64_t> calls{0};  // successful calls
};

}  // namespace jq::bench
