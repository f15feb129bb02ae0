#pragma once

// Phase 2 of a rule evaluation: the alert state machine (inactive ->
// pending -> firing -> resolved, with for, keep_firing_for, repeats,
// silences and acks; semantics in rule_engine.h). Internal to rules/.
//
// Owns the active (pending or firing) alerts of rules and SLOs, each with
// the facts of the rule that produced it. Not thread-safe: RuleEngine's
// caller serialises all calls.

#include <map>
#include <string>
#include <vector>

#include "daemon/common/alert_store.h"
#include "rules/evaluation.h"
#include "rules/rule_engine.h"

namespace aw::rules {

struct Instance {
  StoredAlert stored;
  Meta meta;
};

class AlertStates {
 public:
  // `settings` is read at each call (a reload replaces it in place).
  explicit AlertStates(const Settings& settings) : settings_(settings) {}

  // The condition holds for `a` now: a new alert goes pending (and fires at
  // once with for: 0); a pending one fires once `for` has passed; a firing
  // one repeats or announces.
  void Activate(const Active& a, TimeMs now, StepResult* out);
  // The condition no longer holds: resolves (or clears), unless a firing
  // alert is within keep_firing_for. `observed` gives the value that ended it.
  void Deactivate(const std::string& fp, TimeMs now,
                  const std::map<std::string, Observed>& observed, StepResult* out);
  // Resolves (firing) or clears (pending) at once and forgets the alert.
  void Resolve(const std::string& fp, TimeMs now, const std::map<std::string, Observed>& observed,
               StepResult* out);
  // False when no firing alert has `fp`.
  bool Acknowledge(const std::string& fp);

  void Clear() { alerts_.clear(); }
  void Put(Instance inst);
  const std::map<std::string, Instance>& alerts() const { return alerts_; }
  // Each alert's meta rewritten by `meta_of` (after a reload).
  template <typename F>
  void RefreshMeta(F meta_of) {
    for (auto& [fp, inst] : alerts_) meta_of(inst);
  }

 private:
  AlertEvent EventOf(const Instance& inst) const;
  void Notify(const Instance& inst, const AlertEvent& e, StepResult* out) const;
  bool Silenced(const Instance& inst, TimeMs now) const;
  void Fire(Instance& inst, TimeMs now, StepResult* out);
  bool MaybeRepeat(Instance& inst, TimeMs now, StepResult* out);

  const Settings& settings_;
  std::map<std::string, Instance> alerts_;  // by fingerprint
};

}  // namespace aw::rules
