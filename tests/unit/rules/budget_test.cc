// Spend budgets: calendar periods (DST, month ends, leap years, Monday
// weeks), the projection guard, and once-per-period firing, also across a
// restart of the engine. Expected instants are written as UTC literals
// worked out from the zones' offsets, not computed with the tz library.

#include <gtest/gtest.h>

#include "daemon/common/time_util.h"
#include "rules/budget_engine.h"
#include "rules/rule_engine.h"
#include "rules/rule_loader.h"
#include "windows/window_engine.h"

namespace aw::rules {
namespace {

constexpr int64_t kHour = 3'600'000;

TimeMs T(const std::string& rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(0);
}

void ExpectPeriod(BudgetPeriod p, const std::string& tz, const std::string& at,
                  const std::string& start, const std::string& end) {
  const PeriodBounds b = PeriodAt(p, tz, T(at));
  EXPECT_EQ(FormatRfc3339(b.start_ms), FormatRfc3339(T(start))) << tz << " " << at;
  EXPECT_EQ(FormatRfc3339(b.end_ms), FormatRfc3339(T(end))) << tz << " " << at;
}

TEST(BudgetPeriodTest, DaysAcrossDstAreExact) {
  // New York springs forward on 2026-03-08 (EST -5 -> EDT -4): 23 hours.
  ExpectPeriod(BudgetPeriod::kDay, "America/New_York", "2026-03-08T12:00:00Z",
               "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z");
  // ... and falls back on 2026-11-01: 25 hours.
  ExpectPeriod(BudgetPeriod::kDay, "America/New_York", "2026-11-01T10:00:00Z",
               "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z");
  // Berlin: CET +1 -> CEST +2 on 2026-03-29, back on 2026-10-25.
  ExpectPeriod(BudgetPeriod::kDay, "Europe/Berlin", "2026-03-29T12:00:00Z", "2026-03-28T23:00:00Z",
               "2026-03-29T22:00:00Z");
  ExpectPeriod(BudgetPeriod::kDay, "Europe/Berlin", "2026-10-25T12:00:00Z", "2026-10-24T22:00:00Z",
               "2026-10-25T23:00:00Z");
  // The last millisecond of a day is in it; local midnight starts the next.
  ExpectPeriod(BudgetPeriod::kDay, "Europe/Berlin", "2026-10-25T22:59:59.999Z",
               "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z");
  ExpectPeriod(BudgetPeriod::kDay, "Europe/Berlin", "2026-10-25T23:00:00Z", "2026-10-25T23:00:00Z",
               "2026-10-26T23:00:00Z");
}

TEST(BudgetPeriodTest, WeeksStartOnMonday) {
  // 2026-11-29 is a Sunday: still the week of Monday 2026-11-23.
  ExpectPeriod(BudgetPeriod::kWeek, "UTC", "2026-11-29T23:59:59Z", "2026-11-23T00:00:00Z",
               "2026-11-30T00:00:00Z");
  ExpectPeriod(BudgetPeriod::kWeek, "UTC", "2026-11-30T00:00:00Z", "2026-11-30T00:00:00Z",
               "2026-12-07T00:00:00Z");
  // A Berlin week holding the spring change is 167 hours long.
  ExpectPeriod(BudgetPeriod::kWeek, "Europe/Berlin", "2026-03-27T12:00:00Z", "2026-03-22T23:00:00Z",
               "2026-03-29T22:00:00Z");
  // Sunday evening in New York is already Monday in UTC: the local week counts.
  ExpectPeriod(BudgetPeriod::kWeek, "America/New_York", "2026-11-30T02:00:00Z",
               "2026-11-23T05:00:00Z", "2026-11-30T05:00:00Z");
}

TEST(BudgetPeriodTest, MonthEndsAndLeapYears) {
  ExpectPeriod(BudgetPeriod::kMonth, "UTC", "2026-01-31T23:59:59.999Z", "2026-01-01T00:00:00Z",
               "2026-02-01T00:00:00Z");
  ExpectPeriod(BudgetPeriod::kMonth, "UTC", "2026-02-15T00:00:00Z", "2026-02-01T00:00:00Z",
               "2026-03-01T00:00:00Z");
  ExpectPeriod(BudgetPeriod::kMonth, "UTC", "2028-02-29T12:00:00Z", "2028-02-01T00:00:00Z",
               "2028-03-01T00:00:00Z");
  ExpectPeriod(BudgetPeriod::kMonth, "UTC", "2026-12-31T12:00:00Z", "2026-12-01T00:00:00Z",
               "2027-01-01T00:00:00Z");
  // 00:30 on 1 November in Berlin (CET) is still 31 October in UTC.
  ExpectPeriod(BudgetPeriod::kMonth, "Europe/Berlin", "2026-10-31T23:30:00Z",
               "2026-10-31T23:00:00Z", "2026-11-30T23:00:00Z");
  // March in Berlin starts in CET and ends in CEST.
  ExpectPeriod(BudgetPeriod::kMonth, "Europe/Berlin", "2026-03-15T00:00:00Z",
               "2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z");
}

RuleSet Load(const std::string& yaml) {
  LoadOptions o;
  o.check_receivers = false;
  auto r = LoadRuleText(yaml, "budgets.yaml", o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : RuleSet{};
}

std::string LoadError(const std::string& yaml) {
  LoadOptions o;
  o.receivers = {"slack"};
  auto r = LoadRuleText(yaml, "budgets.yaml", o);
  return r.ok() ? "" : r.status().message();
}

TEST(BudgetLoadTest, ErrorsNameFieldAndLine) {
  EXPECT_EQ(LoadError("budgets:\n- name: b\n  amount_usd: 10\n  period: day\n"
                      "  timezone: Mars/Olympus\n  alert_at: [1]\n"),
            "budgets.yaml:5: budget \"b\": timezone: unknown time zone \"Mars/Olympus\" (an IANA "
            "name such as UTC, Europe/Berlin, America/New_York)");
  EXPECT_NE(LoadError("budgets:\n- name: b\n  amount_usd: 10\n  period: day\n  alert_at: [1]\n"
                      "  treshold: 2\n")
                .find("budgets.yaml:6: budget \"b\": unknown field \"treshold\""),
            std::string::npos);
  EXPECT_NE(LoadError("budgets:\n- name: b\n  amount_usd: 10\n  period: fortnight\n"
                      "  alert_at: [1]\n")
                .find("budgets.yaml:4: budget \"b\": period: unknown period \"fortnight\""),
            std::string::npos);
  EXPECT_NE(LoadError("budgets:\n- name: b\n  amount_usd: 0\n  period: day\n  alert_at: [1]\n")
                .find("budgets.yaml:3: budget \"b\": amount_usd: must be > 0"),
            std::string::npos);
  EXPECT_NE(LoadError("budgets:\n- name: b\n  amount_usd: 5\n  period: day\n  alert_at: [1]\n"
                      "  receivers: [pager]\n")
                .find("budgets.yaml:6: budget \"b\": receivers: unknown receiver \"pager\""),
            std::string::npos);
  EXPECT_NE(LoadError("budgets:\n- name: b\n  amount_usd: 5\n  period: day\n  alert_at: [1]\n"
                      "groups:\n- name: g\n  rules:\n  - alert: b\n    sli: cost_usd\n"
                      "    window: 1h\n    threshold: 1\n")
                .find("name already used by the budget at budgets.yaml:2"),
            std::string::npos);
  EXPECT_EQ(LoadError("budgets:\n- name: b\n  where: {agent: ir}\n  amount_usd: 200\n"
                      "  period: month\n  timezone: Europe/Berlin\n  alert_at: [0.8, 1.0]\n"
                      "  projected: true\n  projection_window: 30m\n  receivers: [slack]\n"),
            "");
}

Span SpanAt(const std::string& id, const std::string& agent, TimeMs ts, double cost) {
  Span s;
  s.investigation_id = id;
  s.agent = agent;
  s.ts_ms = ts;
  s.cost_usd = cost;
  return s;
}

constexpr const char* kBudgets = R"(budgets:
- name: ir-daily
  where: {agent: ir}
  amount_usd: 200
  period: day
  timezone: UTC
  alert_at: [0.8, 1.0]
  projected: true
  annotations:
    summary: "{{ $value }} spent, out at {{ $exhausted_at }}"
)";

constexpr const char* kWithoutProjection = R"(budgets:
- name: ir-daily
  where: {agent: ir}
  amount_usd: 200
  period: day
  timezone: UTC
  alert_at: [0.8, 1.0]
)";

struct Fixture {
  explicit Fixture(const std::string& yaml = kBudgets)
      : engine(Load(yaml), Settings{{"r"}, Millis(0), {}}) {}
  windows::WindowEngine windows{Pricing{}};
  RuleEngine engine;
  int seq = 0;
  std::vector<BudgetFired> fired;  // what a store would hold
  void Add(const std::string& agent, TimeMs ts, double cost) {
    ++seq;
    std::string id = std::to_string(seq);  // "i" + ... trips g++ 12's -Wrestrict
    id.insert(id.begin(), 'i');
    windows.ApplySpan(SpanAt(id, agent, ts, cost), seq);
  }
  StepResult Eval(TimeMs now) {
    StepResult r = engine.Evaluate(windows, now);
    fired.insert(fired.end(), r.budget_fired.begin(), r.budget_fired.end());
    return r;
  }
};

std::vector<std::string> Fired(const StepResult& r) {
  std::vector<std::string> out;
  for (const auto& c : r.transitions) {
    if (c.kind == Transition::kFiring) out.push_back(c.event.labels.at("threshold"));
  }
  return out;
}
std::vector<std::string> Resolved(const StepResult& r) {
  std::vector<std::string> out;
  for (const auto& c : r.transitions) {
    if (c.kind == Transition::kResolved) out.push_back(c.event.labels.at("threshold"));
  }
  return out;
}

TEST(BudgetEngineTest, ThresholdsFireOncePerPeriodAndResetAtItsStart) {
  Fixture f(kWithoutProjection);
  const TimeMs day = T("2026-11-25T00:00:00Z");
  // 159.99 of 200 stays below 0.8; other agents' cost is not counted; the
  // previous day's cost is not either.
  f.Add("ir", day - kHour, 500);
  f.Add("ir", day + kHour, 100);
  f.Add("ir", day + 2 * kHour, 59.99);
  f.Add("cost-bot", day + 2 * kHour, 1000);
  EXPECT_TRUE(Fired(f.Eval(day + 2 * kHour)).empty());
  auto st = f.engine.BudgetStatuses(f.windows, day + 2 * kHour);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_DOUBLE_EQ(st[0].spent_usd, 159.99);
  // 160 = 0.8 * 200 exactly: fires, once, with one notification.
  f.Add("ir", day + 2 * kHour + 1, 0.01);
  StepResult r = f.Eval(day + 2 * kHour + 1);
  EXPECT_EQ(Fired(r), std::vector<std::string>{"0.8"});
  ASSERT_EQ(r.notifications.size(), 1u);
  EXPECT_EQ(r.notifications[0].receiver, "r");
  EXPECT_EQ(r.notifications[0].event.name, "ir-daily");
  EXPECT_DOUBLE_EQ(r.notifications[0].event.value, 160);
  ASSERT_EQ(r.budget_fired.size(), 1u);
  EXPECT_EQ(r.budget_fired[0].period_start_ms, day);
  EXPECT_TRUE(f.Eval(day + 3 * kHour).notifications.empty());
  f.Add("ir", day + 4 * kHour, 40);
  EXPECT_EQ(Fired(f.Eval(day + 4 * kHour)), std::vector<std::string>{"1.0"});
  // Both stay firing for the rest of the day.
  EXPECT_EQ(f.engine.Alerts().size(), 2u);
  EXPECT_TRUE(f.Eval(day + 23 * kHour).notifications.empty());
  // Next day: both resolve, and nothing fires on the fresh period.
  r = f.Eval(day + 24 * kHour);
  std::vector<std::string> resolved = Resolved(r);
  std::sort(resolved.begin(), resolved.end());
  EXPECT_EQ(resolved, (std::vector<std::string>{"0.8", "1.0"}));
  EXPECT_TRUE(Fired(r).empty());
  EXPECT_TRUE(f.engine.Alerts().empty());
  // ... and the new day can fire again.
  f.Add("ir", day + 25 * kHour, 170);
  EXPECT_EQ(Fired(f.Eval(day + 25 * kHour)), std::vector<std::string>{"0.8"});
}

TEST(BudgetEngineTest, ProjectionWaitsForTenPercentOfThePeriod) {
  Fixture f;
  const TimeMs day = T("2026-11-25T00:00:00Z");
  // 30 USD in the last hour: the rate of 30/h would project far over 200,
  // but 2h is less than 10 % of a 24h day.
  f.Add("ir", day + 90 * 60'000, 30);
  EXPECT_TRUE(Fired(f.Eval(day + 2 * kHour)).empty());
  auto st = f.engine.BudgetStatuses(f.windows, day + 2 * kHour);
  EXPECT_FALSE(st[0].projection_made);
  EXPECT_DOUBLE_EQ(st[0].projected_usd, 30);
  // At 2h24m (10 %) with 30 USD in the last hour and 30 spent:
  const TimeMs now = day + 144 * 60'000;
  f.Add("ir", now - 10 * 60'000, 0);
  StepResult r = f.Eval(now);
  const double left_s = 24 * 3600 - 144 * 60;
  const double expected = 30 + 30.0 / 3600 * left_s;
  ASSERT_EQ(Fired(r), std::vector<std::string>{"projected"});
  EXPECT_NEAR(r.transitions.back().event.value, expected, 1e-6);
  // Exhaustion: (200 - 30) / (30/h) = 5h40m from now.
  const std::string out_at = FormatRfc3339(now + 340 * 60'000);
  EXPECT_EQ(r.transitions.back().event.annotations.at("summary"),
            FormatValue(expected) + " spent, out at " + out_at);
}

TEST(BudgetEngineTest, ProjectionFiresOncePerPeriodAlsoAfterARestart) {
  Fixture f;
  const TimeMs day = T("2026-11-25T00:00:00Z");
  f.Add("ir", day + 5 * kHour, 50);  // 50/h over 19h left: projected far over
  EXPECT_EQ(Fired(f.Eval(day + 5 * kHour + 1)), std::vector<std::string>{"projected"});
  // The last hour goes quiet: the projection falls back to 50, it resolves.
  EXPECT_EQ(Resolved(f.Eval(day + 7 * kHour)), std::vector<std::string>{"projected"});
  // A new burst the same day does not fire again.
  f.Add("ir", day + 8 * kHour, 40);
  EXPECT_TRUE(Fired(f.Eval(day + 8 * kHour)).empty());
  ASSERT_EQ(f.fired.size(), 1u);

  // A restarted engine with the store's marks stays quiet; one without them
  // would fire (so the marks are what keeps it quiet).
  RuleEngine restarted(Load(kBudgets), Settings{{"r"}, Millis(0), {}});
  restarted.Restore(f.engine.Alerts());
  restarted.RestoreBudgetFired(f.fired);
  EXPECT_TRUE(Fired(restarted.Evaluate(f.windows, day + 8 * kHour)).empty());
  RuleEngine amnesiac(Load(kBudgets), Settings{{"r"}, Millis(0), {}});
  EXPECT_EQ(Fired(amnesiac.Evaluate(f.windows, day + 8 * kHour)),
            std::vector<std::string>{"projected"});
}

TEST(BudgetEngineTest, RestoredFiringAlertIsNotAnnouncedAgainAndResolvesAtPeriodEnd) {
  Fixture f;
  const TimeMs day = T("2026-11-25T00:00:00Z");
  f.Add("ir", day + kHour, 170);
  ASSERT_EQ(Fired(f.Eval(day + kHour)), std::vector<std::string>{"0.8"});
  RuleEngine restarted(Load(kBudgets), Settings{{"r"}, Millis(0), {}});
  restarted.Restore(f.engine.Alerts());
  restarted.RestoreBudgetFired(f.fired);
  StepResult r = restarted.Evaluate(f.windows, day + 2 * kHour);
  EXPECT_TRUE(r.notifications.empty());
  ASSERT_EQ(restarted.Alerts().size(), 1u);
  EXPECT_EQ(restarted.Alerts()[0].labels.at("threshold"), "0.8");
  r = restarted.Evaluate(f.windows, day + 24 * kHour);
  EXPECT_EQ(Resolved(r), std::vector<std::string>{"0.8"});
  EXPECT_EQ(r.notifications.size(), 1u);
  EXPECT_TRUE(r.notifications[0].event.resolved);
}

TEST(BudgetEngineTest, BreachedAgainRightAfterThePeriodResolvesAndFiresAnew) {
  Fixture f(kWithoutProjection);
  const TimeMs day = T("2026-11-25T00:00:00Z");
  f.Add("ir", day + kHour, 170);
  ASSERT_EQ(Fired(f.Eval(day + kHour)), std::vector<std::string>{"0.8"});
  // The next day's first evaluation already sees $170 of that day.
  f.Add("ir", day + 24 * kHour + 10, 170);
  StepResult r = f.Eval(day + 24 * kHour + 20);
  EXPECT_EQ(Resolved(r), std::vector<std::string>{"0.8"});
  EXPECT_EQ(Fired(r), std::vector<std::string>{"0.8"});
  EXPECT_TRUE(r.deleted.empty());  // the row is overwritten by the new alert
  ASSERT_EQ(f.engine.Alerts().size(), 1u);
  EXPECT_EQ(f.engine.Alerts()[0].active_since_ms, day + 24 * kHour + 20);
}

TEST(BudgetEngineTest, RuleGroupsAndAlertCountsListBudgets) {
  Fixture f;
  const auto groups = f.engine.RuleGroups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].name, "budgets");
  ASSERT_EQ(groups[0].rules.size(), 1u);
  EXPECT_EQ(groups[0].rules[0].name, "ir-daily");
  EXPECT_EQ(groups[0].rules[0].type, "budget");
  ASSERT_TRUE(groups[0].rules[0].budget);
  EXPECT_EQ(f.engine.AlertCounts().count({"ir-daily", "firing"}), 1u);
}

}  // namespace
}  // namespace aw::rules
