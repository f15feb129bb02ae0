#include "tools/rule_test_runner.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/testing/temp_dir.h"

namespace aw::tools {
namespace {

const std::string kExamples = std::string(AW_SOURCE_DIR) + "/examples/rules";

TEST(RuleTestRunnerTest, ExampleTestsPass) {
  std::ostringstream out;
  EXPECT_EQ(RunRuleTests({std::string(AW_SOURCE_DIR) + "/examples/tests/agents_test.yaml"}, out), 0)
      << out.str();
  EXPECT_NE(out.str().find("agents_test.yaml: PASS (4 tests"), std::string::npos) << out.str();
}

constexpr const char* kRules = R"(groups:
- name: g
  rules:
  - alert: AgentToolCallExplosion
    sli: tool_calls
    stat: p95
    window: 24h
    threshold: 25
    for: 5m
)";

TEST(RuleTestRunnerTest, WrongExpectationFailsWithWhatHappened) {
  aw::testing::TempDir dir;
  dir.Write("rules.yaml", kRules);
  const std::string test = dir.Write("t.yaml", R"(rule_files: [rules.yaml]
tests:
- name: explosion
  events:
  - {at: 0m, span: {investigation_id: a1, agent: ir, tool_calls: 40}}
  expect:
  - {at: 2m, alert: AgentToolCallExplosion, labels: {agent: ir}, state: firing}
  - {at: 5m, alert: AgentToolCallExplosion, labels: {agent: ir}, state: firing}
  - {at: 6m, alert: AgentToolCallExplosion, labels: {agent: cb}, state: firing}
  - {at: 7m, alert: AgentToolCallExplosion, labels: {agent: ir}, state: inactive}
)");
  std::ostringstream out;
  EXPECT_EQ(RunRuleTests({test}, out), 1);
  const std::string s = out.str();
  EXPECT_NE(s.find(test + ":7: test 1 (explosion): at 2m: AgentToolCallExplosion "
                          "{agent=\"ir\"}: expected firing, got pending "
                          "{agent=\"ir\"} value=40"),
            std::string::npos)
      << s;
  EXPECT_EQ(s.find(":8:"), std::string::npos) << "5m holds: " << s;
  EXPECT_NE(s.find(":9: test 1 (explosion): at 6m: AgentToolCallExplosion "
                   "{agent=\"cb\"}: "
                   "expected firing, got inactive (other alerts of that name: firing "
                   "{agent=\"ir\"} value=40)"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find(":10: test 1 (explosion): at 7m: AgentToolCallExplosion "
                   "{agent=\"ir\"}: "
                   "expected inactive, got firing {agent=\"ir\"} value=40"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find(test + ": FAIL (3 of 4 expectations failed)"), std::string::npos) << s;
}

TEST(RuleTestRunnerTest, InvalidFilesReportFileAndLine) {
  aw::testing::TempDir dir;
  dir.Write("rules.yaml", kRules);
  struct Case {
    const char* yaml;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"rule_files: [rules.yaml]\ntests:\n- expect:\n  - {at: 1m, alert: Typo, "
       "state: firing}\n",
       "t.yaml:4: tests[0].expect[0].alert: \"Typo\" is not defined in the "
       "rule files"},
      {"rule_files: [rules.yaml]\ntests:\n- events:\n  - {at: 0m, span: "
       "{agent: ir}}\n  expect: []\n",
       "t.yaml:4: tests[0].events[0].span: investigation_id"},
      {"rule_files: [rules.yaml]\ntests:\n- expect:\n  - {at: 1m, alert: "
       "AgentToolCallExplosion, "
       "state: burning}\n",
       "t.yaml:4: tests[0].expect[0].state: must be firing, pending or "
       "inactive"},
      {"rule_files: [rules.yaml]\ntests:\n- events:\n  - {at: soon, span: "
       "{}}\n  expect: []\n",
       "t.yaml:4: tests[0].events[0].at: bad duration \"soon\""},
      {"rule_files: [missing.yaml]\ntests: []\n", "missing.yaml: no such rule file"},
      {"rule_files: [rules.yaml]\ntest: []\n", "t.yaml:2: test file: unknown field \"test\""},
  };
  for (const Case& c : cases) {
    const std::string test = dir.Write("t.yaml", c.yaml);
    std::ostringstream out;
    EXPECT_EQ(RunRuleTests({test}, out), 1) << c.yaml;
    EXPECT_NE(out.str().find(c.message), std::string::npos) << out.str();
  }
}

}  // namespace
}  // namespace aw::tools
