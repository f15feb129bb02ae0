// The index of active alerts (by agent and by rule name) that lets an
// evaluation of a few agents visit only their alerts, and the undo of one
// evaluation: random sequences of fire, resolve, ack, silence, reload,
// restore and undo, checked against a brute-force walk of every alert and
// against a model of which alerts should exist.

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "rules/alert_state.h"
#include "rules/rule_engine.h"
#include "tests/unit/rules/rule_engine_fixture.h"

namespace aw::rules {
namespace {

std::string Dump(const StoredAlert& a) {
  std::string s = a.fingerprint + " " + a.rule + " {";
  for (const auto& [k, v] : a.labels) s += k + "=" + v + ",";
  s += "} {";
  for (const auto& [k, v] : a.annotations) s += k + "=" + v + ",";
  char buf[200];
  std::snprintf(buf, sizeof buf, "} %d %.6g %lld %lld %lld %lld %d %d", static_cast<int>(a.state),
                a.value, static_cast<long long>(a.active_since_ms),
                static_cast<long long>(a.fired_at_ms), static_cast<long long>(a.last_notified_ms),
                static_cast<long long>(a.keep_firing_since_ms), a.acknowledged ? 1 : 0,
                a.unannounced ? 1 : 0);
  return s + buf;
}

std::vector<std::string> DumpAll(const std::vector<StoredAlert>& alerts) {
  std::vector<std::string> out;
  for (const StoredAlert& a : alerts) out.push_back(Dump(a));
  return out;
}

// The index rebuilt by walking every alert, compared with the one kept.
void ExpectIndexMatchesWalk(const AlertStates& states) {
  std::map<std::string, std::set<std::string>> by_agent;
  std::map<std::string, std::set<std::string>> by_rule;
  for (const auto& [fp, inst] : states.alerts()) {
    if (auto a = inst.stored.labels.find("agent"); a != inst.stored.labels.end()) {
      by_agent[a->second].insert(fp);
    }
    by_rule[inst.stored.rule].insert(fp);
  }
  const std::map<std::string, std::set<std::string>> kept_by_agent(states.by_agent().begin(),
                                                                   states.by_agent().end());
  EXPECT_EQ(kept_by_agent, by_agent);
  EXPECT_EQ(states.by_rule(), by_rule);
  for (const auto& [agent, fps] : by_agent) {
    ASSERT_NE(states.OfAgent(agent), nullptr) << agent;
    EXPECT_EQ(*states.OfAgent(agent), fps);
  }
}

std::vector<std::string> StatesDump(const AlertStates& states) {
  std::vector<std::string> out;
  for (const auto& [fp, inst] : states.alerts()) {
    out.push_back(Dump(inst.stored) + " for=" + std::to_string(inst.meta.for_duration.count()) +
                  " keep=" + std::to_string(inst.meta.keep_firing_for.count()));
  }
  return out;
}

TEST(AlertIndexTest, RandomStateMachineStepsKeepTheIndexAndUndoExact) {
  Settings settings = DefaultSettings();
  std::set<std::string> silenced_agents;
  settings.silenced = [&silenced_agents](const Labels& labels, TimeMs) {
    auto a = labels.find("agent");
    return a != labels.end() && silenced_agents.count(a->second) > 0;
  };
  AlertStates states(settings);
  std::mt19937_64 rng(7);
  const std::vector<std::string> names = {"Cost", "Tools", "Fleet"};
  auto labels_of = [](const std::string& name, int agent) {
    Labels l = {{"alertname", name}};
    if (agent >= 0) l["agent"] = "a" + std::to_string(agent);
    return l;
  };
  TimeMs now = kT0;
  std::optional<std::vector<std::string>> at_begin;
  int undone = 0;
  for (int step = 0; step < 4000; ++step) {
    now += 1000;
    const int op = static_cast<int>(rng() % 100);
    const std::string name = names[rng() % names.size()];
    const int agent = name == "Fleet" ? -1 : static_cast<int>(rng() % 6);
    Labels labels = labels_of(name, agent);
    const std::string fp = Fingerprint(name, labels);
    StepResult out;
    if (op < 40) {
      Active a;
      a.fingerprint = fp;
      a.name = name;
      a.labels = labels;
      a.value = static_cast<double>(rng() % 100);
      // Annotations that change with the value now and then, and a rule's
      // meta that mostly stays (the undo then keeps only the changed fields).
      a.annotations = {{"summary", "v" + std::to_string(rng() % 3)}};
      if (rng() % 4 == 0) {
        a.meta.for_duration = Millis(static_cast<int64_t>(rng() % 3) * 1000);
        a.meta.keep_firing_for = Millis(static_cast<int64_t>(rng() % 2) * 3000);
      } else {
        a.meta.for_duration = Millis(name == "Cost" ? 2000 : 0);
        a.meta.keep_firing_for = Millis(name == "Tools" ? 3000 : 0);
      }
      states.Activate(a, now, &out);
    } else if (op < 60) {
      if (states.alerts().count(fp)) states.Deactivate(fp, now, {}, &out);
    } else if (op < 68) {
      if (states.alerts().count(fp)) states.Resolve(fp, now, {}, &out);
    } else if (op < 73) {
      if (states.Acknowledge(fp)) at_begin.reset();
    } else if (op < 78) {
      const std::string s = "a" + std::to_string(rng() % 6);
      if (!silenced_agents.erase(s)) silenced_agents.insert(s);
    } else if (op < 84) {
      // A restored alert whose stored labels name another agent than its
      // fingerprint: the index follows what is stored, and Activate moves it.
      Instance inst;
      inst.stored.fingerprint = fp;
      inst.stored.rule = name;
      inst.stored.labels = labels_of(name, agent < 0 ? -1 : static_cast<int>(rng() % 6));
      inst.stored.state = rng() % 2 ? AlertState::kFiring : AlertState::kPending;
      states.Put(inst);
      at_begin.reset();
    } else if (op < 85) {
      states.Clear();
      at_begin.reset();
    } else if (op < 95) {
      states.BeginStep();
      at_begin = StatesDump(states);
    } else if (at_begin) {
      states.UndoStep();
      EXPECT_EQ(StatesDump(states), *at_begin) << "step " << step;
      at_begin.reset();
      ++undone;
    }
    ExpectIndexMatchesWalk(states);
    if (HasFailure()) FAIL() << "after step " << step << " (op " << op << ")";
  }
  EXPECT_GT(undone, 50);  // the sequence did exercise the undo
}

constexpr const char* kRules = R"(groups:
- name: g
  rules:
  - alert: Cost
    sli: cost_usd
    window: 10m
    threshold: 5
  - alert: Tools
    sli: tool_calls
    stat: max
    window: 10m
    threshold: 10
  - alert: Fleet
    sli: investigations
    window: 1h
    by: []
    threshold: 3
)";

std::string WithoutTools() {
  std::string y = kRules;
  const size_t from = y.find("  - alert: Tools");
  const size_t to = y.find("  - alert: Fleet");
  y.erase(from, to - from);
  return y;
}

// Evaluations on ingest of random agent sets must end exactly the alerts of
// those agents that no longer breach (and every alert of a removed rule),
// and leave the others: a fingerprint missing from the index would stay
// active. The model tracks which (rule, agent) alerts should exist.
TEST(AlertIndexTest, RandomEvaluationsEndExactlyTheAlertsOfTheAgentsEvaluated) {
  constexpr int kAgents = 12;
  Settings settings = DefaultSettings();
  std::set<std::string> silenced_agents;
  settings.silenced = [&silenced_agents](const Labels& labels, TimeMs) {
    auto a = labels.find("agent");
    return a != labels.end() && silenced_agents.count(a->second) > 0;
  };
  FakeWindows windows;
  RuleEngine engine(Load(kRules), settings);
  bool tools_loaded = true;
  std::mt19937_64 rng(11);
  std::map<std::string, double> cost, tools;  // by agent
  double fleet = 0;
  using Key = std::pair<std::string, std::string>;  // (rule, agent or "")
  std::set<Key> model;
  auto publish = [&] {
    std::vector<SliValue> c, t;
    for (const auto& [agent, v] : cost) c.push_back(V(agent, v, 10));
    for (const auto& [agent, v] : tools) t.push_back(V(agent, v, 10));
    windows.Set(Sli::kCostUsd, "10m", c);
    windows.Set(Sli::kToolCalls, "10m", t);
    windows.Set(Sli::kInvestigations, "1h", {V("", fleet, 10)});
  };
  auto actual = [&engine] {
    std::set<Key> out;
    for (const StoredAlert& a : engine.Alerts()) {
      auto agent = a.labels.find("agent");
      out.insert({a.rule, agent == a.labels.end() ? "" : agent->second});
    }
    return out;
  };
  // The model's evaluation of `agents` (null: every agent and the fleet).
  auto model_eval = [&](const std::set<std::string>* agents) {
    std::set<Key> next;
    for (const Key& k : model) {
      if (k.first == "Tools" && !tools_loaded) continue;  // removed rules end
      const bool evaluated =
          k.second.empty() ? agents == nullptr : agents == nullptr || agents->count(k.second) > 0;
      if (!evaluated) next.insert(k);
    }
    for (int i = 0; i < kAgents; ++i) {
      const std::string agent = "a" + std::to_string(i);
      if (agents != nullptr && !agents->count(agent)) continue;
      if (cost.count(agent) && cost[agent] > 5) next.insert({"Cost", agent});
      if (tools_loaded && tools.count(agent) && tools[agent] > 10) next.insert({"Tools", agent});
    }
    if (agents == nullptr && fleet > 3) next.insert({"Fleet", ""});
    if (agents != nullptr && model.count({"Fleet", ""})) next.insert({"Fleet", ""});
    model = std::move(next);
  };

  TimeMs now = kT0;
  int ended = 0, undone = 0;
  for (int step = 0; step < 1500; ++step) {
    now += 15'000;
    // New figures for a few agents; records of an agent pruned sometimes.
    for (int n = static_cast<int>(rng() % 4); n > 0; --n) {
      const std::string agent = "a" + std::to_string(rng() % kAgents);
      if (rng() % 8 == 0) {
        cost.erase(agent);
        tools.erase(agent);
      } else {
        cost[agent] = static_cast<double>(rng() % 10);
        tools[agent] = static_cast<double>(rng() % 20);
      }
    }
    fleet = static_cast<double>(rng() % 7);
    publish();
    const int op = static_cast<int>(rng() % 100);
    if (op < 4) {
      tools_loaded = !tools_loaded;
      engine.Replace(Load(tools_loaded ? kRules : WithoutTools()));
      continue;
    }
    if (op < 10) {
      const std::vector<StoredAlert> alerts = engine.Alerts();
      if (!alerts.empty()) (void)engine.Acknowledge(alerts[rng() % alerts.size()].fingerprint);
      continue;
    }
    if (op < 15) {
      const std::string s = "a" + std::to_string(rng() % kAgents);
      if (!silenced_agents.erase(s)) silenced_agents.insert(s);
      continue;
    }
    if (op < 18) {  // a restart: state from what the engine holds
      engine.Restore(engine.Alerts());
      continue;
    }
    std::set<std::string> agents;
    for (int n = static_cast<int>(rng() % 4); n > 0; --n) {
      agents.insert("a" + std::to_string(rng() % kAgents));
    }
    const bool full = op < 25;
    const std::vector<std::string> before = DumpAll(engine.Alerts());
    StepResult r = engine.Evaluate(windows.Fn(), now, full ? nullptr : &agents);
    ended += static_cast<int>(r.deleted.size());
    if (rng() % 5 == 0) {  // the store refused the step
      engine.UndoLastEvaluation();
      EXPECT_EQ(DumpAll(engine.Alerts()), before) << "step " << step;
      ++undone;
      continue;
    }
    model_eval(full ? nullptr : &agents);
    EXPECT_EQ(actual(), model) << "step " << step;
    if (HasFailure()) FAIL() << "after step " << step;
  }
  EXPECT_GT(ended, 100);
  EXPECT_GT(undone, 100);
}

}  // namespace
}  // namespace aw::rules
