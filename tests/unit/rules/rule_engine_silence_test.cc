// The rule engine under silences and acks: a silenced alert changes state
// but notifies nobody; once the silence ends it is announced; a resolve
// goes only to receivers that heard the trigger; an ack stops repeats.

#include <gtest/gtest.h>

#include "rules/rule_engine.h"
#include "rules/rule_loader.h"

namespace aw::rules {
namespace {

constexpr TimeMs kT0 = 1'764'000'000'000;
constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 60 * kMin;

constexpr const char* kRules = R"(groups:
- name: g
  rules:
  - alert: AgentToolCallExplosion
    sli: tool_calls
    stat: p95
    window: 24h
    threshold: 25
    labels: {severity: page}
)";

class RuleEngineSilenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LoadOptions o;
    o.check_receivers = false;
    auto set = LoadRuleText(kRules, "rules.yaml", o);
    ASSERT_TRUE(set.ok()) << set.status().message();
    Settings s;
    s.default_receivers = {"pd", "slack"};
    s.repeat_interval = Millis(kHour);
    // Silenced: agents in silenced_ (matched on the alert's labels).
    s.silenced = [this](const Labels& labels, TimeMs) {
      auto it = labels.find("agent");
      return it != labels.end() && silenced_.count(it->second) > 0;
    };
    engine_ = std::make_unique<RuleEngine>(std::move(set).value(), std::move(s));
  }

  StepResult Eval(TimeMs now) {
    return engine_->Evaluate(
        [this](const SliQuery&, TimeMs) {
          std::vector<SliValue> out;
          for (const auto& [agent, value] : values_) {
            SliValue v;
            v.group["agent"] = agent;
            v.value = value;
            v.samples = 10;
            out.push_back(v);
          }
          return out;
        },
        now);
  }

  // Notifications for `agent`: "trigger" or "resolve", one per receiver.
  static std::vector<std::string> Sent(const StepResult& r, const std::string& agent) {
    std::vector<std::string> out;
    for (const auto& n : r.notifications) {
      if (n.event.labels.at("agent") != agent) continue;
      out.push_back(n.receiver + ":" + (n.event.resolved ? "resolve" : "trigger"));
    }
    return out;
  }

  std::string FingerprintOf(const std::string& agent) {
    for (const StoredAlert& a : engine_->Alerts()) {
      if (a.labels.at("agent") == agent) return a.fingerprint;
    }
    return "";
  }

  std::map<std::string, double> values_;
  std::set<std::string> silenced_;
  std::unique_ptr<RuleEngine> engine_;
};

const std::vector<std::string> kTrigger = {"pd:trigger", "slack:trigger"};
const std::vector<std::string> kResolve = {"pd:resolve", "slack:resolve"};
const std::vector<std::string> kNone;

TEST_F(RuleEngineSilenceTest, SilencedAlertFiresWithoutNotifyingThenAnnouncesWhenSilenceEnds) {
  silenced_ = {"ir"};
  values_ = {{"ir", 40}, {"cost", 40}};
  StepResult r = Eval(kT0);
  EXPECT_EQ(Sent(r, "ir"), kNone);
  EXPECT_EQ(Sent(r, "cost"), kTrigger);  // not silenced
  ASSERT_EQ(engine_->Alerts().size(), 2u);
  for (const StoredAlert& a : engine_->Alerts()) {
    EXPECT_EQ(a.state, AlertState::kFiring);  // still evaluated
    EXPECT_EQ(a.unannounced, a.labels.at("agent") == "ir");
  }
  // The unannounced flag is persisted with the step.
  bool persisted = false;
  for (const StoredAlert& a : r.upserts) persisted |= a.labels.at("agent") == "ir" && a.unannounced;
  EXPECT_TRUE(persisted);

  // Past repeat_interval, still silenced: nothing for ir.
  r = Eval(kT0 + 2 * kHour);
  EXPECT_EQ(Sent(r, "ir"), kNone);

  silenced_.clear();
  r = Eval(kT0 + 2 * kHour + kMin);
  EXPECT_EQ(Sent(r, "ir"), kTrigger);
  ASSERT_EQ(r.upserts.size(), 1u);
  EXPECT_FALSE(r.upserts[0].unannounced);
  EXPECT_EQ(r.upserts[0].last_notified_ms, kT0 + 2 * kHour + kMin);
  // Announced once, not again at the next evaluation.
  r = Eval(kT0 + 2 * kHour + 2 * kMin);
  EXPECT_EQ(Sent(r, "ir"), kNone);
}

TEST_F(RuleEngineSilenceTest, ResolveOfASilencedTriggerSendsNothing) {
  silenced_ = {"ir"};
  values_ = {{"ir", 40}};
  EXPECT_EQ(Sent(Eval(kT0), "ir"), kNone);
  silenced_.clear();  // the silence ends in the same evaluation the alert clears
  values_ = {{"ir", 10}};
  StepResult r = Eval(kT0 + kMin);
  EXPECT_EQ(Sent(r, "ir"), kNone);
  EXPECT_EQ(r.deleted.size(), 1u);
  EXPECT_TRUE(engine_->Alerts().empty());
}

TEST_F(RuleEngineSilenceTest, AnnouncedAlertSilencedLaterStopsRepeatsButStillResolves) {
  values_ = {{"ir", 40}};
  EXPECT_EQ(Sent(Eval(kT0), "ir"), kTrigger);
  silenced_ = {"ir"};
  EXPECT_EQ(Sent(Eval(kT0 + 2 * kHour), "ir"), kNone);  // no repeat while silenced
  values_ = {{"ir", 10}};
  // The receivers heard the trigger: the resolve goes out, so no incident
  // stays open.
  EXPECT_EQ(Sent(Eval(kT0 + 3 * kHour), "ir"), kResolve);
}

TEST_F(RuleEngineSilenceTest, RepeatResumesWhenSilenceEnds) {
  values_ = {{"ir", 40}};
  EXPECT_EQ(Sent(Eval(kT0), "ir"), kTrigger);
  silenced_ = {"ir"};
  EXPECT_EQ(Sent(Eval(kT0 + kHour), "ir"), kNone);
  silenced_.clear();
  EXPECT_EQ(Sent(Eval(kT0 + kHour + kMin), "ir"), kTrigger);  // overdue repeat
  EXPECT_EQ(Sent(Eval(kT0 + kHour + 2 * kMin), "ir"), kNone);
}

TEST_F(RuleEngineSilenceTest, AckStopsRepeatsUntilResolvedAndNextEpisodeNotifies) {
  values_ = {{"ir", 40}};
  EXPECT_EQ(Sent(Eval(kT0), "ir"), kTrigger);
  EXPECT_EQ(Sent(Eval(kT0 + kHour), "ir"), kTrigger);  // a repeat, before the ack
  EXPECT_FALSE(engine_->Acknowledge("no-such-fingerprint"));
  ASSERT_TRUE(engine_->Acknowledge(FingerprintOf("ir")));
  EXPECT_TRUE(engine_->Alerts()[0].acknowledged);
  EXPECT_EQ(Sent(Eval(kT0 + 2 * kHour), "ir"), kNone);
  EXPECT_EQ(Sent(Eval(kT0 + 5 * kHour), "ir"), kNone);
  values_ = {{"ir", 10}};
  EXPECT_EQ(Sent(Eval(kT0 + 6 * kHour), "ir"), kResolve);
  values_ = {{"ir", 40}};
  StepResult r = Eval(kT0 + 7 * kHour);
  EXPECT_EQ(Sent(r, "ir"), kTrigger);
  EXPECT_FALSE(engine_->Alerts()[0].acknowledged);
  EXPECT_EQ(Sent(Eval(kT0 + 8 * kHour), "ir"), kTrigger);  // repeats again
}

TEST_F(RuleEngineSilenceTest, RestoredUnannouncedAlertIsAnnouncedAfterRestart) {
  silenced_ = {"ir"};
  values_ = {{"ir", 40}};
  (void)Eval(kT0);
  const std::vector<StoredAlert> saved = engine_->Alerts();
  SetUp();  // a new engine, as after a restart
  engine_->Restore(saved);
  silenced_.clear();
  EXPECT_EQ(Sent(Eval(kT0 + kMin), "ir"), kTrigger);
}

}  // namespace
}  // namespace aw::rules
