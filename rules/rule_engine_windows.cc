// The WindowEngine overloads of RuleEngine, in their own object file so the
// rest of the rules library links without the windows engine.

#include "rules/budget_engine.h"
#include "rules/rule_engine.h"
#include "windows/window_engine.h"

namespace aw::rules {

namespace {
ComputeFn ComputeOf(const windows::WindowEngine& engine) {
  return [&engine](const SliQuery& q, TimeMs now) { return engine.Compute(q, now); };
}
FirstSeenFn FirstSeenOf(const windows::WindowEngine& engine) {
  return [&engine](const std::string& label, const Labels& where, const std::string& only_agent) {
    return engine.LabelValuesByFirstSeen(label, where, only_agent);
  };
}
}  // namespace

StepResult RuleEngine::Evaluate(const windows::WindowEngine& engine, TimeMs now,
                                const std::set<std::string>* only_agents) {
  return Evaluate(ComputeOf(engine), FirstSeenOf(engine), now, only_agents);
}

StepResult RuleEngine::EvaluateAgents(const windows::WindowEngine& engine, TimeMs now,
                                      const std::set<std::string>& agents) {
  return EvaluateAgents(ComputeOf(engine), FirstSeenOf(engine), now, agents);
}

StepResult RuleEngine::EvaluateFleet(const windows::WindowEngine& engine, TimeMs now) {
  return EvaluateFleet(ComputeOf(engine), FirstSeenOf(engine), now);
}

std::vector<BudgetStatus> RuleEngine::BudgetStatuses(const windows::WindowEngine& engine,
                                                     TimeMs now) const {
  return BudgetStatuses(ComputeOf(engine), now);
}

std::vector<SloStatus> RuleEngine::SloStatuses(const windows::WindowEngine& engine,
                                               TimeMs now) const {
  return SloStatuses(ComputeOf(engine), now);
}

}  // namespace aw::rules
