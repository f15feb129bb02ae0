#pragma once

// When the evaluator may render stale SLI blocks ahead of reads: only once
// ingest has been quiet for a while. Under sustained ingest every commit
// makes the blocks stale again, and rendering them between commits took
// half the daemon's CPU (and the engine's lock, away from the writer) for
// blocks no read ever used. A read renders what is stale itself.

#include <algorithm>
#include <chrono>

namespace aw::server {

class IdleWarming {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  // Pending from the start: a restart leaves every block to render.
  IdleWarming(Duration quiet, TimePoint now) : quiet_(quiet), last_ingest_(now - quiet) {}

  // Records were committed: blocks went stale, and ingest is not quiet.
  void Ingested(TimePoint now) {
    last_ingest_ = now;
    pending_ = true;
  }
  // Time moved records out of windows (a tick started).
  void MoreStale() { pending_ = true; }
  // What a warming step found: true if it rendered every stale block.
  void Warmed(bool none_left) { pending_ = !none_left; }

  bool Ready(TimePoint now) const { return pending_ && now - last_ingest_ >= quiet_; }
  // How long the evaluator may sleep before Ready could turn true.
  Duration Wait(TimePoint now, Duration at_most) const {
    if (!pending_) return at_most;
    return std::clamp<Duration>(last_ingest_ + quiet_ - now, Duration::zero(), at_most);
  }

 private:
  const Duration quiet_;
  TimePoint last_ingest_;
  bool pending_ = true;
};

}  // namespace aw::server
