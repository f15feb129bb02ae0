#pragma once

// How soon the evaluator may evaluate on ingest again: after an evaluation
// that took d, not before d has passed again, so that under sustained
// ingest evaluations take at most half of the evaluator's time and the
// cores they leave go to ingest. Commits in between are merged into the
// next evaluation (their touched agents accumulate), so nothing is skipped:
// an alert waits at most one more evaluation's time. Light ingest (short
// evaluations, gaps between commits) never waits.

#include <algorithm>
#include <chrono>

namespace aw::server {

class IngestPacer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;
  static constexpr Duration kMaxPause = std::chrono::seconds(1);

  // An evaluation on ingest ran from `start` to `end`. The pause is capped:
  // however long one took (a huge fleet, a clock moved by a test), the next
  // alert waits at most kMaxPause more.
  void Ran(TimePoint start, TimePoint end) {
    next_ = end + std::clamp<Duration>(end - start, Duration::zero(), kMaxPause);
  }
  bool Ready(TimePoint now) const { return now >= next_; }
  // How long an evaluator with touched agents waits before Ready turns true.
  Duration Wait(TimePoint now, Duration at_most) const {
    return std::clamp<Duration>(next_ - now, Duration::zero(), at_most);
  }

 private:
  TimePoint next_{};
};

}  // namespace aw::server
