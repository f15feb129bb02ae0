#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace aw {

// Event and wall time throughout agentwatch is Unix milliseconds.
using TimeMs = int64_t;
using Millis = std::chrono::milliseconds;

// The one source of time. Pure components never call it: they take `now`
// as an argument. Only the wiring in daemon/server holds a Clock.
// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs NowMs() const = 0;                                   // wall
  virtual std::chrono::steady_clock::time_point Steady() const = 0;  // timers
};

class SystemClock final : public Clock {
 public:
  TimeMs NowMs() const override {
    return std::chrono::duration_cast<Millis>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::now();
  }
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimeMs start_ms = 1'764'000'000'000) : now_ms_(start_ms) {}
  TimeMs NowMs() const override {
    std::lock_guard lock(mu_);
    return now_ms_;
  }
  std::chrono::steady_clock::time_point Steady() const override {
    std::lock_guard lock(mu_);
    return std::chrono::steady_clock::time_point(Millis(now_ms_));
  }
  void Advance(Millis d) {
    std::lock_guard lock(mu_);
    now_ms_ += d.count();
  }
  void Set(TimeMs t) {
    std::lock_guard lock(mu_);
    now_ms_ = t;
  }

 private:
  mutable std::mutex mu_;
  TimeMs now_ms_;
};

}  // namespace aw
