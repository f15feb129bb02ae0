#pragma once

#include <chrono>
#include <cstdint>

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
  virtual TimeMs NowMs() const = 0;                                  // wall
  virtual std::chrono::steady_clock::time_point Steady() const = 0;  // timers
};

class SystemClock final : public Clock {
 public:
  TimeMs NowMs() const override {
    return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::now();
  }
};

}  // namespace aw
