#pragma once

#include <mutex>

#include "daemon/common/clock.h"

namespace aw {

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
