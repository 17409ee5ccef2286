// Clock: the time port. Code that measures or compares times asks a Clock, so tests can move
// time with a ManualClock instead of sleeping. Both clocks are thread-safe.
#pragma once

#include <atomic>
#include <chrono>

#include "core/model.h"

namespace jq {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;  // wall clock (timestamps)
  // Monotonic (durations, timeouts).
  virtual std::chrono::steady_clock::time_point Steady() const = 0;
};

// The process's real clocks.
Clock& SystemClock();

// Starts at the given wall time (and an arbitrary steady time); moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint(std::chrono::hours(24 * 365 * 56)))
      : wall_us_(std::chrono::duration_cast<std::chrono::microseconds>(start.time_since_epoch())
                     .count()) {}
  TimePoint Now() const override {
    return TimePoint(std::chrono::microseconds(wall_us_ + offset_us_.load()));
  }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::time_point(std::chrono::microseconds(offset_us_.load()));
  }
  void Advance(std::chrono::microseconds d) { offset_us_ += d.count(); }

 private:
  const std::int64_t wall_us_;
  std::atomic<std::int64_t> offset_us_{0};
};

}  // namespace jq
