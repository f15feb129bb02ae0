#pragma once

// `compare: {baseline: previous, label: version, ...}` (CONTRACT.md
// "Regression after a change"): per agent, the newest value of the label
// (the candidate) against the one before it (the baseline), each measured
// over the rule's window on its own investigations. Pure; thread-safe.

#include <set>
#include <string>
#include <vector>

#include "rules/rule.h"
#include "rules/rule_engine.h"

namespace aw::rules {

struct Regression {
  Labels group;         // the rule's by-groups plus `label` = candidate and
                        // `baseline_<label>` = baseline
  double value = 0;     // the candidate's figure
  double baseline = 0;  // the baseline's figure
  bool fires = false;
};

// One entry per agent (and by-group) where both sides have a value and at
// least compare.min_samples samples. REQUIRES: r.compare->baseline_previous.
std::vector<Regression> CompareWithPrevious(const AlertRule& r, const ComputeFn& compute,
                                            const FirstSeenFn& first_seen, TimeMs now,
                                            const std::set<std::string>* only_agents);

}  // namespace aw::rules
