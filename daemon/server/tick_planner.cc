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

void PendingAgents::Add(const std::set<std::string>& agents) {
  for (const std::string& agent : agents) {
    auto [it, added] = where_.try_emplace(agent);
    if (!added) order_.erase(it->second);
    it->second = order_.insert(order_.end(), agent);
  }
}

std::set<std::string> PendingAgents::TakeNewest(size_t n) {
  std::set<std::string> out;
  while (out.size() < n && !order_.empty()) {
    where_.erase(order_.back());
    out.insert(std::move(order_.back()));
    order_.pop_back();
  }
  return out;
}

}  // namespace aw::server
