#pragma once

// The periodic rule evaluation (a tick) in steps for the evaluator thread:
// the tick's agents in chunks, then one fleet step
// (rules::RuleEngine::EvaluateAgents / EvaluateFleet), then the tick's
// housekeeping (expired silences). The evaluator runs the
// evaluations on ingest that arrived between two steps, so an alert on ingest
// waits for one step at most, not for a whole tick. Also keeps when the next
// tick is due: `interval` after the last one started.
//
// Time is passed in, never read. Not thread-safe; owned by the evaluator
// thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace aw::server {

class TickPlanner {
 public:
  using Time = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  struct Step {
    enum class Kind : uint8_t { kAgents, kFleet, kHousekeeping };
    Kind kind = Kind::kHousekeeping;
    std::set<std::string> agents;  // kAgents: this chunk
  };

  // The first tick is due at `first`. REQUIRES: chunk_size > 0.
  TickPlanner(Time first, size_t chunk_size);

  // No tick is under way and the next one is due at `now`.
  bool Due(Time now) const { return !running_ && now >= next_; }
  bool Running() const { return running_; }
  // Starts a tick over `agents`; the next one is due `interval` after `now`.
  void Start(const std::set<std::string>& agents, Time now, Duration interval);
  // The next step of the tick under way: each chunk of its agents in order,
  // then kFleet, then kHousekeeping, which ends the tick. REQUIRES: Running().
  Step Next();
  // How long the evaluator may wait for ingest before its next step: zero
  // while a tick is under way, else until the next tick is due, at most `cap`.
  Duration Wait(Time now, Duration cap) const;

 private:
  const size_t chunk_size_;
  Time next_;
  bool running_ = false;
  std::vector<std::set<std::string>> chunks_;  // of the tick under way, in order
  size_t next_chunk_ = 0;
  bool fleet_done_ = false;
};

}  // namespace aw::server
