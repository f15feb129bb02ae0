// TickPlanner: a tick's agents in chunks, then its fleet step, then its
// housekeeping; when the next
// tick is due; how long the evaluator may wait.

#include "daemon/server/tick_planner.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace aw::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Kind = TickPlanner::Step::Kind;

const TickPlanner::Time kT0{seconds(1000)};

std::set<std::string> Agents(int n) {
  std::set<std::string> out;
  for (int i = 0; i < n; ++i) out.insert("agent-" + std::to_string(i));
  return out;
}

TEST(TickPlannerTest, CoversEveryAgentOnceInChunksThenTheFleet) {
  TickPlanner ticks(kT0, 3);
  const std::set<std::string> agents = Agents(8);
  ASSERT_TRUE(ticks.Due(kT0));
  ticks.Start(agents, kT0, seconds(15));
  std::set<std::string> covered;
  std::vector<size_t> sizes;
  std::vector<Kind> kinds;
  while (ticks.Running()) {
    TickPlanner::Step step = ticks.Next();
    kinds.push_back(step.kind);
    if (step.kind != Kind::kAgents) {
      EXPECT_TRUE(step.agents.empty());
      continue;
    }
    sizes.push_back(step.agents.size());
    for (const std::string& a : step.agents) EXPECT_TRUE(covered.insert(a).second) << a;
  }
  // The chunks, then the fleet, then housekeeping, which ends the tick.
  ASSERT_EQ(kinds.size(), sizes.size() + 2);
  EXPECT_EQ(kinds[kinds.size() - 2], Kind::kFleet);
  EXPECT_EQ(kinds.back(), Kind::kHousekeeping);
  EXPECT_EQ(covered, agents);
  // ceil(8 / 3) chunks, none above 3.
  EXPECT_EQ(sizes.size(), (agents.size() + 2) / 3);
  for (size_t s : sizes) EXPECT_LE(s, 3u);
}

TEST(TickPlannerTest, NoAgentsIsTheFleetStepAndHousekeeping) {
  TickPlanner ticks(kT0, 32);
  ticks.Start({}, kT0, seconds(15));
  ASSERT_TRUE(ticks.Running());
  EXPECT_EQ(ticks.Next().kind, Kind::kFleet);
  ASSERT_TRUE(ticks.Running());
  EXPECT_EQ(ticks.Next().kind, Kind::kHousekeeping);
  EXPECT_FALSE(ticks.Running());
}

TEST(TickPlannerTest, NextTickIsDueAnIntervalAfterTheLastStarted) {
  TickPlanner ticks(kT0 + seconds(5), 2);
  EXPECT_FALSE(ticks.Due(kT0));
  const TickPlanner::Time start = kT0 + seconds(6);
  ASSERT_TRUE(ticks.Due(start));
  ticks.Start(Agents(3), start, seconds(15));
  // Not due again while under way, even once the interval has passed.
  EXPECT_FALSE(ticks.Due(start + seconds(20)));
  while (ticks.Running()) (void)ticks.Next();
  EXPECT_FALSE(ticks.Due(start + seconds(15) - milliseconds(1)));
  EXPECT_TRUE(ticks.Due(start + seconds(15)));
}

TEST(TickPlannerTest, WaitsNotAtAllDuringATickElseUntilTheNextOrTheCap) {
  TickPlanner ticks(kT0 + seconds(3), 2);
  EXPECT_EQ(ticks.Wait(kT0, seconds(1)), seconds(1));                                  // capped
  EXPECT_EQ(ticks.Wait(kT0 + milliseconds(2500), seconds(1)), milliseconds(500));      // until due
  EXPECT_EQ(ticks.Wait(kT0 + seconds(4), seconds(1)), TickPlanner::Duration::zero());  // overdue
  ticks.Start(Agents(4), kT0 + seconds(4), seconds(15));
  EXPECT_EQ(ticks.Wait(kT0 + seconds(4), seconds(1)), TickPlanner::Duration::zero());
  (void)ticks.Next();
  EXPECT_EQ(ticks.Wait(kT0 + seconds(4), seconds(1)), TickPlanner::Duration::zero());
}

}  // namespace
}  // namespace aw::server
