#include "daemon/server/tick_planner.h"

#include <algorithm>
#include <cassert>

namespace aw::server {

TickPlanner::TickPlanner(Time first, size_t chunk_size) : chunk_size_(chunk_size), next_(first) {
  assert(chunk_size > 0);
}

void TickPlanner::Start(const std::set<std::string>& agents, Time now, Duration interval) {
  chunks_.clear();
  next_chunk_ = 0;
  fleet_done_ = false;
  for (const std::string& agent : agents) {
    if (chunks_.empty() || chunks_.back().size() == chunk_size_) chunks_.emplace_back();
    chunks_.back().insert(agent);
  }
  running_ = true;
  next_ = now + interval;
}

TickPlanner::Step TickPlanner::Next() {
  assert(running_);
  Step step;
  if (next_chunk_ < chunks_.size()) {
    step.kind = Step::Kind::kAgents;
    step.agents = std::move(chunks_[next_chunk_++]);
    return step;
  }
  if (!fleet_done_) {
    fleet_done_ = true;
    step.kind = Step::Kind::kFleet;
    return step;
  }
  step.kind = Step::Kind::kHousekeeping;
  running_ = false;
  chunks_.clear();
  return step;
}

TickPlanner::Duration TickPlanner::Wait(Time now, Duration cap) const {
  if (running_) return Duration::zero();
  return std::clamp<Duration>(next_ - now, Duration::zero(), cap);
}

}  // namespace aw::server
