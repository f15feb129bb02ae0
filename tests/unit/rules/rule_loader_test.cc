#include "rules/rule_loader.h"

#include <gtest/gtest.h>

#include "tests/testing/temp_dir.h"

namespace aw::rules {
namespace {

LoadOptions Opts() {
  LoadOptions o;
  o.receivers = {"pagerduty-sre", "slack-sre"};
  return o;
}

constexpr const char* kFull = R"(groups:
- name: sre-agent-quality
  rules:
  - alert: AgentHighOverrideRate
    sli: override_rate
    window: 100 investigations
    by: [agent, env]
    where: {env: prod}
    op: ">="
    threshold: 0.05
    min_samples: 20
    for: 10m
    keep_firing_for: 30s
    labels: {severity: page}
    annotations:
      summary: "{{ $labels.agent }} overrides {{ $value | humanizePercentage }}"
    receivers: [pagerduty-sre]
  - alert: AgentCostSpike
    sli: cost_usd
    window: 1d
    threshold: 50
  - alert: AgentToolCallExplosion
    sli: tool_calls
    stat: p95
    window: 24h
    threshold: 25
  - alert: AgentToolCallsDrift
    sli: tool_calls
    stat: p95
    window: 24h
    compare: {offset: 7d, ratio_above: 1.5}
  - alert: AgentTruncations
    sli: finish_reason_rate
    match: max_tokens
    window: 1h
    by: []
    threshold: 0.1
slos:
- name: diagnosis-accuracy
  sli: override_rate
  objective: 0.95
  period: 28d
  alerting: multiwindow
  receivers: [pagerduty-sre]
- name: coverage
  sli: review_coverage
  objective: 0.9
  by: [agent]
  where: {env: prod}
  min_samples: 5
  labels: {team: sre}
)";

TEST(RuleLoaderTest, LoadsEveryField) {
  auto set = LoadRuleText(kFull, "rules/agents.yaml", Opts());
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->groups.size(), 2u);
  const RuleGroup& g = set->groups[0];
  EXPECT_EQ(g.name, "sre-agent-quality");
  EXPECT_EQ(g.file, "rules/agents.yaml");
  ASSERT_EQ(g.rules.size(), 5u);

  const AlertRule& r = g.rules[0];
  EXPECT_EQ(r.name, "AgentHighOverrideRate");
  EXPECT_EQ(r.line, 4);
  EXPECT_EQ(r.query.sli, Sli::kOverrideRate);
  EXPECT_EQ(r.query.stat, Stat::kNone);
  EXPECT_EQ(r.query.window.kind, WindowSpec::Kind::kCount);
  EXPECT_EQ(r.query.window.count, 100);
  EXPECT_EQ(r.query.window.name, "100 investigations");
  EXPECT_EQ(r.query.by, (std::vector<std::string>{"agent", "env"}));
  EXPECT_EQ(r.query.where, (Labels{{"env", "prod"}}));
  EXPECT_EQ(r.op, Op::kGe);
  EXPECT_DOUBLE_EQ(r.threshold, 0.05);
  EXPECT_EQ(r.min_samples, 20);
  EXPECT_EQ(r.for_duration, Millis(600'000));
  EXPECT_EQ(r.keep_firing_for, Millis(30'000));
  ASSERT_EQ(r.labels.size(), 1u);
  EXPECT_EQ(r.labels[0].first, "severity");
  ASSERT_EQ(r.annotations.size(), 1u);
  EXPECT_EQ(r.annotations[0].second.tmpl->Render({{"agent", "ir"}}, 0.07), "ir overrides 7%");
  EXPECT_EQ(r.receivers, (std::vector<std::string>{"pagerduty-sre"}));
  EXPECT_FALSE(r.compare);

  const AlertRule& cost = g.rules[1];  // defaults
  EXPECT_EQ(cost.query.by, (std::vector<std::string>{"agent"}));
  EXPECT_EQ(cost.op, Op::kGt);
  EXPECT_EQ(cost.min_samples, 1);
  EXPECT_EQ(cost.for_duration, Millis(0));
  EXPECT_EQ(cost.query.window.duration, Millis(86'400'000));
  EXPECT_TRUE(cost.receivers.empty());

  EXPECT_EQ(g.rules[2].query.stat, Stat::kP95);
  const AlertRule& drift = g.rules[3];
  ASSERT_TRUE(drift.compare);
  EXPECT_EQ(drift.compare->offset, Millis(7LL * 86'400'000));
  EXPECT_DOUBLE_EQ(*drift.compare->ratio_above, 1.5);
  EXPECT_FALSE(drift.compare->ratio_below);
  EXPECT_EQ(drift.query.offset, Millis(0));
  EXPECT_EQ(g.rules[4].query.match, "max_tokens");
  EXPECT_TRUE(g.rules[4].query.by.empty());

  const RuleGroup& slos = set->groups[1];
  EXPECT_EQ(slos.name, "slos");
  ASSERT_EQ(slos.slos.size(), 2u);
  const Slo& s = slos.slos[0];
  EXPECT_EQ(s.name, "diagnosis-accuracy");
  EXPECT_EQ(s.sli, Sli::kOverrideRate);
  EXPECT_DOUBLE_EQ(s.objective, 0.95);
  EXPECT_EQ(s.period, Millis(28LL * 86'400'000));
  EXPECT_EQ(s.period_name, "28d");
  EXPECT_TRUE(s.multiwindow);
  EXPECT_TRUE(s.by.empty());
  EXPECT_EQ(s.min_samples, 1);
  EXPECT_EQ(s.receivers, (std::vector<std::string>{"pagerduty-sre"}));
  const Slo& c = slos.slos[1];
  EXPECT_EQ(c.sli, Sli::kReviewCoverage);
  EXPECT_EQ(c.period, Millis(30LL * 86'400'000));  // default
  EXPECT_EQ(c.period_name, "30d");
  EXPECT_EQ(c.by, (std::vector<std::string>{"agent"}));
  EXPECT_EQ(c.where, (Labels{{"env", "prod"}}));
  EXPECT_EQ(c.min_samples, 5);
  EXPECT_EQ(c.labels.size(), 1u);
}

TEST(RuleLoaderTest, BurnRateFactorsScaleWithPeriod) {
  const auto& tiers = BurnRateTiers();
  ASSERT_EQ(tiers.size(), 3u);
  const Millis d30(30LL * 86'400'000), d28(28LL * 86'400'000);
  EXPECT_NEAR(BurnRateFactor(tiers[0], d30), 14.4, 1e-9);
  EXPECT_NEAR(BurnRateFactor(tiers[1], d30), 6, 1e-9);
  EXPECT_NEAR(BurnRateFactor(tiers[2], d30), 1, 1e-9);
  EXPECT_NEAR(BurnRateFactor(tiers[0], d28), 13.44, 1e-9);
  EXPECT_NEAR(BurnRateFactor(tiers[1], d28), 5.6, 1e-9);
  EXPECT_NEAR(BurnRateFactor(tiers[2], d28), 0.9333333333, 1e-9);
}

TEST(RuleLoaderTest, EmptyFileHasNoRules) {
  auto set = LoadRuleText("", "empty.yaml", Opts());
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->groups.empty());
  set = LoadRuleText("groups: []\n", "empty.yaml", Opts());
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->groups.empty());
}

// A rule with the given body lines (indented 4) at line 4 of the file.
std::string Rule(const std::string& body) {
  return "groups:\n- name: g\n  rules:\n  - alert: A\n" + body;
}

struct ErrorCase {
  const char* what;
  std::string yaml;
  int line;
  const char* message;  // substring
};

TEST(RuleLoaderTest, ErrorsNameFileLineAndField) {
  const std::string base = "    sli: cost_usd\n    window: 1d\n";
  const std::vector<ErrorCase> cases = {
      {"yaml syntax", "groups: [\n", 2, "invalid YAML"},
      {"top-level unknown key", "grups: []\n", 1, "unknown field \"grups\""},
      {"group unknown key", "groups:\n- name: g\n  interval: 1m\n  rules: []\n", 3,
       "group \"g\": unknown field \"interval\""},
      {"group without name", "groups:\n- rules: []\n", 2, "name: required"},
      {"duplicate group", "groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n", 4,
       "duplicate group name \"g\""},
      {"rules not a list", "groups:\n- name: g\n  rules: {a: 1}\n", 3, "rules: must be a list"},
      {"rule unknown key", Rule(base + "    threshold: 1\n    treshold: 2\n"), 8,
       "rule \"A\": unknown field \"treshold\""},
      {"missing sli", Rule("    window: 1d\n    threshold: 1\n"), 4, "rule \"A\": sli: required"},
      {"unknown sli", Rule("    sli: accuracy\n    window: 1d\n    threshold: 1\n"), 5,
       "sli: unknown SLI \"accuracy\""},
      {"missing window", Rule("    sli: cost_usd\n    threshold: 1\n"), 4, "window: required"},
      {"bad window", Rule("    sli: cost_usd\n    window: 1x\n    threshold: 1\n"), 6,
       "rule \"A\": window: window \"1x\""},
      {"bad count window",
       Rule("    sli: cost_usd\n    window: 0 investigations\n    threshold: "
            "1\n"),
       6, "window: window \"0 investigations\": count must be a positive integer"},
      {"missing stat", Rule("    sli: tool_calls\n    window: 1h\n    threshold: 1\n"), 4,
       "stat: required for the distribution SLI \"tool_calls\""},
      {"bad stat",
       Rule("    sli: tool_calls\n    stat: p42\n    window: 1h\n    "
            "threshold: 1\n"),
       6, "stat: unknown stat \"p42\""},
      {"stat on non-distribution", Rule(base + "    stat: p95\n    threshold: 1\n"), 7,
       "stat: not allowed for \"cost_usd\""},
      {"bad op", Rule(base + "    op: \"=>\"\n    threshold: 1\n"), 7,
       "op: unknown operator \"=>\""},
      {"missing threshold", Rule(base), 4, "threshold: required"},
      {"threshold not a number", Rule(base + "    threshold: lots\n"), 7,
       "threshold: must be a number, got \"lots\""},
      {"bad min_samples", Rule(base + "    threshold: 1\n    min_samples: 0\n"), 8,
       "min_samples: must be >= 1"},
      {"min_samples not int", Rule(base + "    threshold: 1\n    min_samples: 2.5\n"), 8,
       "min_samples: must be an integer"},
      {"bad for", Rule(base + "    threshold: 1\n    for: 10 minutes\n"), 8,
       "for: bad duration \"10 minutes\""},
      {"bad keep_firing_for", Rule(base + "    threshold: 1\n    keep_firing_for: -1s\n"), 8,
       "keep_firing_for: bad duration"},
      {"finish_reason_rate without match",
       Rule("    sli: finish_reason_rate\n    window: 1h\n    threshold: 1\n"), 4,
       "match: required for finish_reason_rate"},
      {"match on other sli", Rule(base + "    match: stop\n    threshold: 1\n"), 7,
       "match: only for finish_reason_rate"},
      {"compare neither ratio", Rule(base + "    compare: {offset: 7d}\n"), 7,
       "compare: needs exactly one of ratio_above or ratio_below"},
      {"compare both ratios",
       Rule(base + "    compare: {offset: 7d, ratio_above: 2, ratio_below: 0.5}\n"), 7,
       "needs exactly one of ratio_above or ratio_below"},
      {"compare without offset", Rule(base + "    compare: {ratio_above: 2}\n"), 7,
       "compare.offset: required"},
      {"compare unknown key", Rule(base + "    compare: {offset: 7d, ratio_abov: 2}\n"), 7,
       "compare: unknown field \"ratio_abov\""},
      {"compare with threshold",
       Rule(base + "    compare: {offset: 7d, ratio_above: 2}\n    threshold: 3\n"), 8,
       "threshold: not used with compare"},
      {"bad by label", Rule(base + "    threshold: 1\n    by: [agent, 9x]\n"), 8,
       "by: invalid label name \"9x\""},
      {"duplicate by", Rule(base + "    threshold: 1\n    by: [agent, agent]\n"), 8,
       "by: duplicate label \"agent\""},
      {"where not a map", Rule(base + "    threshold: 1\n    where: [env]\n"), 8,
       "where: must be a mapping"},
      {"alertname label", Rule(base + "    threshold: 1\n    labels: {alertname: x}\n"), 8,
       "labels: \"alertname\" is reserved"},
      {"bad annotation template",
       Rule(base + "    threshold: 1\n    annotations:\n      summary: \"{{ "
                   "$value | humanise }}\"\n"),
       9,
       "annotations.summary: template {{ $value | humanise }}: function "
       "\"humanise\" not defined"},
      {"bad label template", Rule(base + "    threshold: 1\n    labels: {x: \"{{ $nope }}\"}\n"), 8,
       "labels.x: template"},
      {"unknown receiver", Rule(base + "    threshold: 1\n    receivers: [slack-sre, pager]\n"), 8,
       "receivers: unknown receiver \"pager\""},
      {"duplicate alert in group",
       "groups:\n- name: g\n  rules:\n  - alert: A\n    sli: cost_usd\n    "
       "window: 1d\n"
       "    threshold: 1\n  - alert: A\n    sli: cost_usd\n    window: 1d\n    "
       "threshold: 2\n",
       8, "rule \"A\": alert: duplicate alert name in the group"},
      {"recording rule", "groups:\n- name: g\n  rules:\n  - record: x\n", 4,
       "record: recording rules are not supported"},
      {"missing alert", "groups:\n- name: g\n  rules:\n  - sli: cost_usd\n", 4, "alert: required"},
      {"slo unknown key",
       "slos:\n- name: s\n  sli: override_rate\n  objective: 0.9\n  target: "
       "1\n",
       5, "slo \"s\": unknown field \"target\""},
      {"slo objective 1", "slos:\n- name: s\n  sli: override_rate\n  objective: 1\n", 4,
       "objective: must be between 0 and 1"},
      {"slo objective 0", "slos:\n- name: s\n  sli: override_rate\n  objective: 0\n", 4,
       "objective: must be between 0 and 1"},
      {"slo missing objective", "slos:\n- name: s\n  sli: override_rate\n", 2,
       "objective: required"},
      {"slo bad sli", "slos:\n- name: s\n  sli: cost_usd\n  objective: 0.9\n", 3,
       "sli: \"cost_usd\" is not supported for SLOs"},
      {"slo bad period",
       "slos:\n- name: s\n  sli: override_rate\n  objective: 0.9\n  period: "
       "1d\n",
       5, "period: must be at least 3d"},
      {"slo bad alerting",
       "slos:\n- name: s\n  sli: override_rate\n  objective: 0.9\n  alerting: "
       "burn\n",
       5, "alerting: unknown mode \"burn\""},
      {"slo reserved label",
       "slos:\n- name: s\n  sli: override_rate\n  objective: 0.9\n  labels: "
       "{severity: x}\n",
       5, "labels: \"severity\" is set by the SLO alerts"},
      {"slo unknown receiver",
       "slos:\n- name: s\n  sli: override_rate\n  objective: 0.9\n  receivers: "
       "[x]\n",
       5, "receivers: unknown receiver \"x\""},
      {"duplicate slo",
       "slos:\n- name: s\n  sli: override_rate\n  objective: 0.9\n- name: s\n  "
       "sli: override_rate\n"
       "  objective: 0.9\n",
       5, "slo \"s\": name: duplicate SLO name"},
      {"alert named like slo",
       "groups:\n- name: g\n  rules:\n  - alert: s\n    sli: cost_usd\n    "
       "window: 1d\n"
       "    threshold: 1\nslos:\n- name: s\n  sli: override_rate\n  objective: "
       "0.9\n",
       4, "rule \"s\": alert: name already used by the SLO at f.yaml:9"},
  };
  for (const ErrorCase& c : cases) {
    auto set = LoadRuleText(c.yaml, "f.yaml", Opts());
    ASSERT_FALSE(set.ok()) << c.what;
    const std::string& m = set.status().message();
    const std::string prefix = "f.yaml:" + std::to_string(c.line) + ": ";
    EXPECT_EQ(m.rfind(prefix, 0), 0u) << c.what << ": " << m;
    EXPECT_NE(m.find(c.message), std::string::npos) << c.what << ": " << m;
  }
}

TEST(RuleLoaderTest, ReceiversNotCheckedWhenDisabled) {
  LoadOptions o;
  o.check_receivers = false;
  auto set = LoadRuleText(Rule("    sli: cost_usd\n    window: 1d\n    threshold: 1\n"
                               "    receivers: [anything]\n"),
                          "f.yaml", o);
  ASSERT_TRUE(set.ok()) << set.status().message();
}

TEST(RuleLoaderTest, LoadsFilesAndExpandsGlobs) {
  aw::testing::TempDir dir;
  dir.Write("a.yaml", Rule("    sli: cost_usd\n    window: 1d\n    threshold: 1\n"));
  dir.Write("b.yaml", "groups:\n- name: other\n  rules: []\n");
  dir.Write("c.txt", "not yaml: [");
  auto files = ExpandRuleGlobs({"*.yaml", "a.yaml"}, dir.path());
  ASSERT_TRUE(files.ok()) << files.status().message();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0], dir.File("a.yaml"));
  EXPECT_EQ((*files)[1], dir.File("b.yaml"));
  auto none = ExpandRuleGlobs({"*.yml"}, dir.path());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto missing = ExpandRuleGlobs({"nope.yaml"}, dir.path());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.yaml: no such rule file"), std::string::npos);
  auto abs = ExpandRuleGlobs({dir.File("b.yaml")}, "/elsewhere");
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(abs->size(), 1u);

  auto set = LoadRuleFiles(*files, Opts());
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->groups.size(), 2u);
  EXPECT_EQ(set->groups[0].file, dir.File("a.yaml"));
  EXPECT_EQ(set->groups[1].name, "other");
  EXPECT_EQ(set->files, *files);

  auto bad = LoadRuleFiles({dir.File("a.yaml"), dir.File("c.txt")}, Opts());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind(dir.File("c.txt") + ":1: invalid YAML", 0), 0u)
      << bad.status().message();
  auto unreadable = LoadRuleFiles({dir.File("zzz.yaml")}, Opts());
  ASSERT_FALSE(unreadable.ok());
  EXPECT_NE(unreadable.status().message().find("zzz.yaml: cannot read rule file"),
            std::string::npos);
}

TEST(RuleLoaderTest, SloNamesUniqueAcrossFiles) {
  aw::testing::TempDir dir;
  const std::string slo = "slos:\n- name: s\n  sli: override_rate\n  objective: 0.9\n";
  dir.Write("a.yaml", slo);
  dir.Write("b.yaml", slo);
  auto set = LoadRuleFiles({dir.File("a.yaml"), dir.File("b.yaml")}, Opts());
  ASSERT_FALSE(set.ok());
  EXPECT_NE(
      set.status().message().find(dir.File("b.yaml") + ":2: slo \"s\": name: already defined at " +
                                  dir.File("a.yaml") + ":2"),
      std::string::npos)
      << set.status().message();
}

}  // namespace
}  // namespace aw::rules

namespace aw::rules {
namespace {

std::string ErrorOfRule(const std::string& body) {
  auto set = LoadRuleText("groups:\n- name: g\n  rules:\n  - alert: A\n" + body, "f.yaml", Opts());
  EXPECT_FALSE(set.ok()) << body;
  return set.ok() ? "" : set.status().message();
}

TEST(RuleLoaderHintTest, UnknownNamesSuggestTheClosestAndListValid) {
  std::string e = ErrorOfRule("    sli: cost_usd\n    window: 1d\n    treshold: 1\n");
  EXPECT_NE(e.find("f.yaml:7: rule \"A\": unknown field \"treshold\" (did you mean "
                   "\"threshold\"? valid: alert, sli,"),
            std::string::npos)
      << e;

  e = ErrorOfRule("    sli: tool_call\n    stat: p95\n    window: 1d\n    threshold: 1\n");
  EXPECT_NE(e.find("f.yaml:5: rule \"A\": sli: unknown SLI \"tool_call\" (did you mean "
                   "\"tool_calls\"? valid: "),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("override_rate"), std::string::npos) << e;

  e = ErrorOfRule("    sli: tool_calls\n    stat: p59\n    window: 1d\n    threshold: 1\n");
  EXPECT_NE(e.find("f.yaml:6: rule \"A\": stat: unknown stat \"p59\" (did you mean \"p50\"? "
                   "valid: mean, p50, p90, p95, p99, max)"),
            std::string::npos)
      << e;

  e = ErrorOfRule(
      "    sli: cost_usd\n    window: 1d\n    threshold: 1\n    receivers: [slack-ser]\n");
  EXPECT_NE(e.find("f.yaml:8: rule \"A\": receivers: unknown receiver \"slack-ser\" (did you "
                   "mean \"slack-sre\"? valid: pagerduty-sre, slack-sre)"),
            std::string::npos)
      << e;
}

TEST(RuleLoaderHintTest, WordWindowSuggestsTheShortForm) {
  std::string e = ErrorOfRule("    sli: cost_usd\n    window: 10 minutes\n    threshold: 1\n");
  EXPECT_NE(e.find("f.yaml:6: rule \"A\": window: "), std::string::npos) << e;
  EXPECT_NE(e.find("window: \"10 minutes\" is not a window (did you mean 10m?"), std::string::npos)
      << e;
  e = ErrorOfRule("    sli: cost_usd\n    window: 1d\n    threshold: 1\n    for: 5 minutes\n");
  EXPECT_NE(e.find("did you mean 5m?"), std::string::npos) << e;
}

TEST(RuleLoaderHintTest, UnmatchedGlobsAreReported) {
  testing::TempDir dir;
  dir.Write("agents.yaml", "groups: []\n");
  EXPECT_TRUE(UnmatchedRuleGlobs({"*.yaml"}, dir.path()).empty());
  EXPECT_EQ(UnmatchedRuleGlobs({"*.yaml", "rule/*.yml"}, dir.path()),
            std::vector<std::string>{"rule/*.yml"});
  // ExpandRuleGlobs still accepts the empty glob (serving with no rules).
  auto files = ExpandRuleGlobs({"rule/*.yml"}, dir.path());
  ASSERT_TRUE(files.ok());
  EXPECT_TRUE(files->empty());
}

}  // namespace
}  // namespace aw::rules

namespace aw::rules {
namespace {

TEST(RuleLoaderHintTest, SloSliSuggestsASupportedOne) {
  auto set =
      LoadRuleText("slos:\n- name: s\n  sli: overide_rate\n  objective: 0.9\n", "f.yaml", Opts());
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find(
                "f.yaml:3: slo \"s\": sli: \"overide_rate\" is not supported for SLOs (did you "
                "mean \"override_rate\"? valid: override_rate, review_coverage)"),
            std::string::npos)
      << set.status().message();
}

}  // namespace
}  // namespace aw::rules
