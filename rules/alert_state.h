#pragma once

// Phase 2 of a rule evaluation: the alert state machine (inactive ->
// pending -> firing -> resolved, with for, keep_firing_for, repeats,
// silences and acks; semantics in rule_engine.h). Internal to rules/.
//
// Owns the active (pending or firing) alerts of rules and SLOs, each with
// the facts of the rule that produced it, indexed by agent label and by rule
// name so that an evaluation of a few agents visits only their alerts, not
// every alert held. Not thread-safe: RuleEngine's caller serialises all calls.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
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

  void Clear();
  void Put(Instance inst);
  const std::map<std::string, Instance>& alerts() const { return alerts_; }
  // Each alert's meta rewritten by `meta_of` (after a reload).
  template <typename F>
  void RefreshMeta(F meta_of) {
    for (auto& [fp, inst] : alerts_) meta_of(inst);
  }

  using FingerprintSet = std::set<std::string>;
  // The fingerprints of the alerts whose `agent` label is `agent` (null:
  // none), and of each rule name's alerts (only names that have some).
  const FingerprintSet* OfAgent(const std::string& agent) const;
  const std::unordered_map<std::string, FingerprintSet>& by_agent() const { return by_agent_; }
  const std::map<std::string, FingerprintSet>& by_rule() const { return by_rule_; }

  // Undo of one evaluation: BeginStep() forgets the previous one; from then
  // on Activate, Deactivate and Resolve remember each alert they change the
  // first time, and UndoStep() puts those back, costing what the step
  // touched rather than a copy of every alert. Any other change (Put, Clear,
  // Acknowledge) ends the undo window.
  void BeginStep();
  void UndoStep();
  void DropStep() {
    journaling_ = false;
    undo_.clear();
  }

 private:
  // The fields an evaluation changes on an alert that keeps its rule, labels
  // and meta: what the undo of such a step keeps instead of a whole copy.
  struct Scalars {
    AlertState state = AlertState::kInactive;
    double value = 0;
    TimeMs active_since_ms = 0, fired_at_ms = 0, last_notified_ms = 0, keep_firing_since_ms = 0;
    bool acknowledged = false, unannounced = false;
  };
  static Scalars ScalarsOf(const StoredAlert& a);
  static void SetScalars(StoredAlert& a, const Scalars& s);
  // An alert as it was before the step.
  struct Before {
    enum class Kind : uint8_t { kAbsent, kWhole, kScalars } kind = Kind::kAbsent;
    Instance whole;                     // kWhole
    Scalars scalars;                    // kScalars
    std::optional<Labels> annotations;  // kScalars: set when the step replaced them
  };

  void Index(const std::string& fp, const StoredAlert& a);
  void Unindex(const std::string& fp, const StoredAlert& a);
  void Remember(const std::string& fp);
  // Remember for a change of scalars (and annotations) only; the step's
  // scalar entry of `fp`, or null when it keeps the whole alert (or the
  // absence of one) or no step is journaled.
  Before* RememberScalars(const std::string& fp, const StoredAlert& a);
  AlertEvent EventOf(const Instance& inst) const;
  void Notify(const Instance& inst, const AlertEvent& e, StepResult* out) const;
  bool Silenced(const Instance& inst, TimeMs now) const;
  void Fire(Instance& inst, TimeMs now, StepResult* out);
  bool MaybeRepeat(Instance& inst, TimeMs now, StepResult* out);

  const Settings& settings_;
  std::map<std::string, Instance> alerts_;  // by fingerprint
  std::unordered_map<std::string, FingerprintSet> by_agent_;
  std::map<std::string, FingerprintSet> by_rule_;
  // Each alert the step changed as it was before.
  std::unordered_map<std::string, Before> undo_;
  bool journaling_ = false;
};

}  // namespace aw::rules
