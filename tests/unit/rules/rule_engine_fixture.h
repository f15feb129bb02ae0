#pragma once

// Shared by the RuleEngine tests (rule_engine_test.cc, rule_engine_slo_test.cc):
// a stand-in for the windows engine, rule loading and the fixture.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rules/rule_engine.h"
#include "rules/rule_loader.h"

namespace aw::rules {

constexpr TimeMs kT0 = 1'764'000'000'000;
constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 60 * kMin;

inline SliValue V(const std::string& agent, std::optional<double> value, int64_t samples) {
  SliValue v;
  if (!agent.empty()) v.group["agent"] = agent;
  v.value = value;
  v.samples = samples;
  return v;
}

// Stands in for the windows engine: canned figures per (sli, window, offset).
class FakeWindows {
 public:
  void Set(Sli sli, const std::string& window, std::vector<SliValue> values,
           Millis offset = Millis(0)) {
    data_[Key(sli, window, offset)] = std::move(values);
  }
  void Clear() { data_.clear(); }
  ComputeFn Fn() {
    return [this](const SliQuery& q, TimeMs) {
      calls.push_back(q);
      std::vector<SliValue> out;
      auto it = data_.find(Key(q.sli, q.window.name, q.offset));
      if (it == data_.end()) return out;
      for (const SliValue& v : it->second) {
        auto agent = v.group.find("agent");
        if (!q.only_agent.empty() && (agent == v.group.end() || agent->second != q.only_agent)) {
          continue;
        }
        out.push_back(v);
      }
      return out;
    };
  }
  std::vector<SliQuery> calls;

 private:
  static std::string Key(Sli sli, const std::string& window, Millis offset) {
    return std::string(SliName(sli)) + "|" + window + "|" + std::to_string(offset.count());
  }
  std::map<std::string, std::vector<SliValue>> data_;
};

inline RuleSet Load(const std::string& yaml) {
  LoadOptions o;
  o.check_receivers = false;
  auto set = LoadRuleText(yaml, "rules.yaml", o);
  EXPECT_TRUE(set.ok()) << set.status().message();
  return set.ok() ? *set : RuleSet{};
}

inline Settings DefaultSettings() {
  Settings s;
  s.default_receivers = {"slack"};
  s.repeat_interval = Millis(4 * kHour);
  return s;
}

inline std::string ToolCallsRule(const std::string& extra) {
  return std::string(R"(groups:
- name: g
  rules:
  - alert: AgentToolCallExplosion
    sli: tool_calls
    stat: p95
    window: 24h
    threshold: 25
    min_samples: 3
    labels: {severity: page}
    annotations: {summary: "{{ $labels.agent }} p95 tool calls {{ $value }}"}
)") + extra;
}

class RuleEngineTest : public ::testing::Test {
 protected:
  void Make(const std::string& yaml, Settings settings = DefaultSettings()) {
    engine_ = std::make_unique<RuleEngine>(Load(yaml), std::move(settings));
  }
  StepResult Eval(TimeMs now, const std::set<std::string>* only = nullptr) {
    return engine_->Evaluate(windows_.Fn(), now, only);
  }
  std::vector<std::string> Kinds(const StepResult& r) {
    std::vector<std::string> out;
    for (const auto& t : r.transitions) out.push_back(TransitionName(t.kind));
    return out;
  }
  FakeWindows windows_;
  std::unique_ptr<RuleEngine> engine_;
};

}  // namespace aw::rules
