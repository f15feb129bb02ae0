#pragma once

// Phase 1 of a rule evaluation: which groups of each alerting rule and SLO
// are active now, and with which value (semantics in rule_engine.h).
// RuleEngine drives it and feeds the result to the alert state machine
// (alert_state.h); the offline tools (tools/) use its AlertingOf() walk.
//
// Everything that can alert (an alerting rule or an SLO) is an Alerting;
// code that walks "every rule and SLO" walks AlertingOf(), so the two kinds
// are never handled in two loops that can drift apart.
//
// Pure functions over the rule set and the ComputeFn; thread-safe as far as
// the ComputeFn is.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "rules/rule.h"
#include "rules/rule_engine.h"

namespace aw::rules {

// One thing that raises alerts: an alerting rule or an SLO of a group.
// Points into the RuleSet it came from.
struct Alerting {
  const RuleGroup* group = nullptr;
  const AlertRule* rule = nullptr;  // exactly one of rule and slo is set
  const Slo* slo = nullptr;

  const std::string& name() const { return rule ? rule->name : slo->name; }
  const std::vector<std::string>& by() const { return rule ? rule->query.by : slo->by; }
  const char* type() const { return rule ? "alert" : "slo"; }  // as /api/v1/rules shows it
  // Identity for health: a rule's name is unique only within its group.
  std::string Key() const;
  // The figure it watches, as /api/v1/slis and /metrics show it: a rule's
  // query, an SLO's error SLI over its period.
  SliQuery Query() const;
};

// A group's rules, then its SLOs (the order of /api/v1/rules).
std::vector<Alerting> AlertingOf(const RuleGroup& group);
// Every group's, in file order.
std::vector<Alerting> AlertingOf(const RuleSet& rules);

bool ByHasAgent(const std::vector<std::string>& by);

// Per-alert facts from the rule (or SLO tier) that produced it, used in its
// events.
struct Meta {
  std::vector<std::string> receivers;  // empty: default receivers
  double threshold = 0;
  std::string op, sli, stat, window;
  Millis for_duration{0};
  Millis keep_firing_for{0};
  // An SLO alert's tier (an element of BurnRateTiers()); null otherwise,
  // and for an SLO alert restored without a readable tier.
  const BurnRateTier* tier = nullptr;
};
// `tier` is ignored for a rule.
Meta MetaFor(const Alerting& a, const BurnRateTier* tier);

// What a rule (or SLO tier) produced for one group this evaluation.
struct Active {
  std::string fingerprint;
  std::string name;
  Labels labels;  // with alertname
  Labels annotations;
  double value = 0;
  Meta meta;
};

// This evaluation's value of every group that has one, breaching or not,
// by the fingerprint its alert would have: a resolve reports the value that
// ended the alert, not the last one that breached.
struct Observed {
  double value = 0;
  Labels labels;
  const TemplatedLabels* annotations = nullptr;  // the rule's; valid during Evaluate
  TemplateVars vars;
};

struct EvalInput {
  const ComputeFn& compute;
  const FirstSeenFn& first_seen;  // may be empty (compare baseline: previous then errors)
  TimeMs now = 0;
  const std::set<std::string>* only_agents = nullptr;  // null: every agent
};

// A group's value that did not breach, as its rule saw it: its alert's
// labels and fingerprint are worked out only if some alert ends (rare), not
// for every group on every evaluation.
struct Observation {
  const AlertRule* rule = nullptr;
  Labels group;
  double value = 0;
  TemplateVars vars;
};

// What one evaluation found, across every Alerting evaluated.
struct Findings {
  std::vector<Active> actives;
  std::set<std::string> seen;  // fingerprints in actives
  // Groups that did not breach, in evaluation order. A breaching group needs
  // none: its alert is in `seen`, so it does not end.
  std::vector<Observation> observations;
  // `observations` by the fingerprint of the alert each would have (a later
  // one of the same fingerprint wins).
  std::map<std::string, Observed> ObservedByFingerprint() const;
};

// Evaluates `a`, adding its active groups and observed values to `found`.
// A configuration problem (a label set another group already produced, a
// compare that cannot run) is returned; the groups evaluated before it stay.
std::string EvaluateAlerting(const Alerting& a, const EvalInput& in, Findings& found);

// `templates` rendered with the group's labels, the value and extra vars.
Labels Render(const TemplatedLabels& templates, const Labels& labels, double value,
              const TemplateVars& vars = {});

// compute(q, now), per agent of `only_agents` when q groups by agent.
std::vector<SliValue> Run(const ComputeFn& compute, SliQuery q, TimeMs now,
                          const std::set<std::string>* only_agents);

// ---- SLOs (slo_eval.cc) ----

WindowSpec TimeWindow(Millis d);
WindowSpec PeriodWindow(const Slo& s);
// Active burn-rate tiers of `s` (each Active carries its tier in meta).
std::string EvaluateSlo(const Alerting& a, const EvalInput& in, Findings& found);
std::vector<SloStatus> SloStatusesOf(const RuleSet& rules, const ComputeFn& compute, TimeMs now);

// Adds an active group: its labels are the group's plus the rendered label
// templates plus `extra`, plus alertname. Returns an error when this label set
// was already produced in this evaluation.
std::string AddActive(Findings& found, const std::string& name, const Labels& group,
                      const TemplatedLabels& label_templates,
                      const TemplatedLabels& annotation_templates, const Labels& extra,
                      double value, Meta meta, const TemplateVars& vars = {});

}  // namespace aw::rules
