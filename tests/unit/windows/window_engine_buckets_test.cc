// The hour buckets behind long time windows: cost sums in whole buckets
// follow repricing and prunes, a fleet window (no `by`) equals the sum of
// its agents', and costs add up in decimal fixed point (0.1 + 0.2 is 0.3).
// A count window per agent takes its older hours whole from the counts and
// equals the same window read record by record; so do tool_calls over time
// windows, whose whole hours come from the hours' tool counts.

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "windows/window_engine.h"

namespace aw::windows {
namespace {

constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kT0 = 1'764'000'000'000 - 1'764'000'000'000 % kHour;  // on an hour

WindowSpec Hours(int64_t n) { return *ParseWindow(std::to_string(n) + "h", nullptr); }

std::optional<double> Fleet(const WindowEngine& e, Sli sli, const WindowSpec& w, TimeMs now) {
  SliQuery q;
  q.sli = sli;
  q.window = w;
  q.by = {};
  auto v = e.Compute(q, now);
  return v.empty() ? std::nullopt : v[0].value;
}

std::optional<double> OfAgent(const WindowEngine& e, Sli sli, const WindowSpec& w, TimeMs now,
                              const std::string& agent) {
  SliQuery q;
  q.sli = sli;
  q.window = w;
  q.only_agent = agent;
  auto v = e.Compute(q, now);
  return v.empty() ? std::nullopt : v[0].value;
}

Span PricedSpan(const std::string& id, const std::string& agent, TimeMs ts, int64_t input) {
  Span s;
  s.investigation_id = id;
  s.agent = agent;
  s.ts_ms = ts;
  s.model = "m";
  s.input_tokens = input;
  s.output_tokens = 0;
  return s;
}

TEST(WindowEngineBuckets, RepricingMovesTheCostOfWholeBuckets) {
  // A million input tokens at $1, then $3, per million: 1 USD, then 3.
  WindowEngine e(Pricing{{"m", ModelPrice{1.0, 0, 0, 0}}});
  int64_t seq = 0;
  for (int h = 0; h < 48; ++h) {
    e.ApplySpan(PricedSpan("a-" + std::to_string(h), "a", kT0 + h * kHour + 60'000, 1'000'000),
                ++seq);
    e.ApplySpan(PricedSpan("b-" + std::to_string(h), "b", kT0 + h * kHour + 90'000, 1'000'000),
                ++seq);
  }
  const TimeMs now = kT0 + 48 * kHour;
  EXPECT_EQ(OfAgent(e, Sli::kCostUsd, Hours(24), now, "a"), 24.0);
  EXPECT_EQ(Fleet(e, Sli::kCostUsd, Hours(24), now), 48.0);
  e.SetPricing(Pricing{{"m", ModelPrice{3.0, 0, 0, 0}}});
  EXPECT_EQ(OfAgent(e, Sli::kCostUsd, Hours(24), now, "a"), 72.0);
  EXPECT_EQ(Fleet(e, Sli::kCostUsd, Hours(24), now), 144.0);
  EXPECT_EQ(Fleet(e, Sli::kCostUsd, Hours(720), now), 288.0);
  // Pruned hours leave the buckets, cost and all.
  e.PruneBefore(kT0 + 40 * kHour);
  EXPECT_EQ(Fleet(e, Sli::kCostUsd, Hours(720), now), 8 * 2 * 3.0);
  EXPECT_EQ(Fleet(e, Sli::kInvestigations, Hours(720), now), 16.0);
}

TEST(WindowEngineBuckets, CostsAddUpInDecimal) {
  WindowEngine e(Pricing{});
  int64_t seq = 0;
  const std::vector<double> costs = {0.1, 0.2, 0.7, 0.001, 1e9, 3e-7};
  for (size_t i = 0; i < costs.size(); ++i) {
    Span s;
    s.investigation_id = "c-" + std::to_string(i);
    s.agent = "a";
    s.ts_ms = kT0 + static_cast<TimeMs>(i) * 5 * kHour + 1;
    s.cost_usd = costs[i];
    e.ApplySpan(s, ++seq);
  }
  const TimeMs after = kT0 + 40 * kHour;
  // The first two alone (0.1 + 0.2 in doubles is 0.30000000000000004).
  EXPECT_EQ(OfAgent(e, Sli::kCostUsd, Hours(6), kT0 + 5 * kHour + 2, "a"), 0.3);
  EXPECT_EQ(Fleet(e, Sli::kCostUsd, Hours(6), kT0 + 5 * kHour + 2), 0.3);
  EXPECT_EQ(Fleet(e, Sli::kCostUsd, Hours(11), kT0 + 10 * kHour + 2), 1.0);
  EXPECT_EQ(Fleet(e, Sli::kCostUsd, Hours(1), kT0 + 15 * kHour + 2), 0.001);
  EXPECT_DOUBLE_EQ(*Fleet(e, Sli::kCostUsd, Hours(48), after), 1e9 + 1.001 + 3e-7);
}

TEST(WindowEngineBuckets, AFleetWindowIsTheSumOfItsAgents) {
  WindowEngine e(Pricing{});
  int64_t seq = 0;
  const std::vector<std::string> agents = {"a", "b", "c"};
  for (int i = 0; i < 600; ++i) {
    Span s;
    s.investigation_id = "i-" + std::to_string(i);
    s.agent = agents[static_cast<size_t>(i) % agents.size()];
    s.ts_ms = kT0 + (i * 7919) % (72 * kHour);  // spread over three days, out of order
    s.cost_usd = (i % 13) / 8.0;
    e.ApplySpan(s, ++seq);
    if (i % 3 == 0) {
      Feedback f;
      f.investigation_id = s.investigation_id;
      f.verdict = i % 9 == 0 ? Verdict::kOverride : Verdict::kConfirm;
      f.ts_ms = s.ts_ms + 1;
      e.ApplyFeedback(f, ++seq);
    }
  }
  for (TimeMs now : {kT0 + 72 * kHour, kT0 + 50 * kHour + 1234, kT0 + 30 * kHour - 1}) {
    for (int64_t hours : {2, 5, 24, 48, 720}) {
      double spans = 0, cost = 0;
      for (const std::string& a : agents) {
        spans += OfAgent(e, Sli::kInvestigations, Hours(hours), now, a).value_or(0);
        cost += OfAgent(e, Sli::kCostUsd, Hours(hours), now, a).value_or(0);
      }
      EXPECT_EQ(Fleet(e, Sli::kInvestigations, Hours(hours), now), spans) << hours << "h";
      // Multiples of 1/8: exact in doubles and in decimal fixed point.
      EXPECT_EQ(Fleet(e, Sli::kCostUsd, Hours(hours), now), cost) << hours << "h";
    }
  }
}

// A label filter every record passes sends the same count window down the
// record-by-record path: the two must agree on every group and figure.
TEST(WindowEngineBuckets, ACountWindowPerAgentFromHourCountsEqualsItsRecords) {
  WindowEngine e(Pricing{});
  int64_t seq = 0;
  std::set<TimeMs> edges;  // instants where a record sits, and around them
  for (int i = 0; i < 400; ++i) {
    Span s;
    s.investigation_id = "i-" + std::to_string(i);
    s.agent = i % 3 == 0 ? "b" : "a";
    // Several per hour, some on the same ts (seq breaks the tie), out of order.
    s.ts_ms = kT0 + ((i * 7919) % 30) * kHour + (i % 4) * 600'000;
    s.cost_usd = (i % 11) / 16.0;
    e.ApplySpan(s, ++seq);
    edges.insert(s.ts_ms);
    if (i % 3 != 2) {
      Feedback f;
      f.investigation_id = s.investigation_id;
      f.verdict = i % 5 == 0 ? Verdict::kOverride : Verdict::kConfirm;
      f.ts_ms = s.ts_ms + 1;
      e.ApplyFeedback(f, ++seq);
    }
    if (i % 17 == 0) {  // a verdict on a span not seen yet: a record of its own
      Feedback f;
      f.investigation_id = "pending-" + std::to_string(i);
      f.agent = s.agent;
      f.verdict = i % 2 ? Verdict::kOverride : Verdict::kConfirm;
      f.ts_ms = kT0 + ((i * 31) % 30) * kHour + 300'000;
      e.ApplyFeedback(f, ++seq);
      edges.insert(f.ts_ms);
    }
  }
  std::vector<TimeMs> nows = {kT0 - 1, kT0 + 40 * kHour};
  for (TimeMs t : edges) {
    if (t % 7 == 0 || nows.size() < 12) {
      nows.push_back(t);
      nows.push_back(t - 1);
    }
  }
  int compared = 0;
  for (TimeMs now : nows) {
    for (int64_t n : {1, 2, 3, 5, 8, 13, 40, 101, 1000}) {
      WindowSpec w;
      w.kind = WindowSpec::Kind::kCount;
      w.count = n;
      for (Sli sli :
           {Sli::kInvestigations, Sli::kOverrideRate, Sli::kReviewCoverage, Sli::kCostUsd}) {
        for (const std::string& only : {std::string(), std::string("b")}) {
          SliQuery q;
          q.sli = sli;
          q.window = w;
          q.only_agent = only;
          q.by = only.empty() ? std::vector<std::string>{"agent"} : std::vector<std::string>{};
          SliQuery by_records = q;
          by_records.where = {{"team", ""}};
          const auto got = e.Compute(q, now);
          const auto want = e.Compute(by_records, now);
          const std::string ctx = std::string(SliName(sli)) + " n=" + std::to_string(n) +
                                  " now=" + std::to_string(now - kT0) + " only=" + only;
          ASSERT_EQ(got.size(), want.size()) << ctx;
          for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].group, want[i].group) << ctx;
            EXPECT_EQ(got[i].samples, want[i].samples) << ctx;
            EXPECT_EQ(got[i].value, want[i].value) << ctx;
            ++compared;
          }
        }
      }
    }
  }
  EXPECT_GT(compared, 1000);
}

// Compares every tool_calls stat over time windows (hour tool counts
// inside, records at the edges) with the record-by-record path.
void ExpectToolCallsMatchRecords(const WindowEngine& e, const std::vector<TimeMs>& nows,
                                 int* compared) {
  for (TimeMs now : nows) {
    for (int64_t hours : {1, 3, 24, 48, 720}) {
      for (Stat stat : {Stat::kMean, Stat::kP50, Stat::kP95, Stat::kP99, Stat::kMax}) {
        for (int shape = 0; shape < 3; ++shape) {
          SliQuery q;
          q.sli = Sli::kToolCalls;
          q.stat = stat;
          q.window = Hours(hours);
          if (shape == 0) q.by = {"agent"};
          if (shape == 1) q.by = {};
          if (shape == 2) q.only_agent = "a";
          SliQuery by_records = q;
          by_records.where = {{"team", ""}};
          const auto got = e.Compute(q, now);
          const auto want = e.Compute(by_records, now);
          const std::string ctx = std::string(StatName(stat)) + " " + std::to_string(hours) +
                                  "h now=" + std::to_string(now - kT0) +
                                  " shape=" + std::to_string(shape);
          ASSERT_EQ(got.size(), want.size()) << ctx;
          for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].group, want[i].group) << ctx;
            EXPECT_EQ(got[i].samples, want[i].samples) << ctx;
            EXPECT_EQ(got[i].value, want[i].value) << ctx;
            ++*compared;
          }
        }
      }
    }
  }
}

TEST(WindowEngineBuckets, ToolCallsOverTimeWindowsFromHourCountsEqualTheirRecords) {
  WindowEngine e(Pricing{});
  int64_t seq = 0;
  std::vector<Span> spans;
  for (int i = 0; i < 500; ++i) {
    Span s;
    s.investigation_id = "t-" + std::to_string(i);
    s.agent = i % 4 == 0 ? "b" : "a";
    s.ts_ms = kT0 + ((i * 7919) % 60) * kHour + (i % 6) * 600'000;
    if (i % 9 != 0) s.tool_calls = (i * 37) % 23;  // some spans without tool calls
    e.ApplySpan(s, ++seq);
    spans.push_back(s);
  }
  // Replaced spans move their tool calls: from one value to another, onto a
  // span that had none, and off one.
  for (int i = 0; i < 500; i += 7) {
    Span s = spans[static_cast<size_t>(i)];
    s.tool_calls = i % 2 ? std::optional<int64_t>((i * 5) % 31) : std::nullopt;
    ASSERT_TRUE(e.ReplaceSpan(s));
    spans[static_cast<size_t>(i)] = s;
  }
  std::vector<TimeMs> nows = {kT0 + 60 * kHour, kT0 + 30 * kHour + 1, kT0 + 12 * kHour - 1};
  for (int h = 0; h < 60; h += 5) nows.push_back(kT0 + h * kHour + 600'000);
  int compared = 0;
  ExpectToolCallsMatchRecords(e, nows, &compared);
  // Tool calls too large for the hour counts: agent a's windows read records
  // while it holds one, and the counts again once it is gone.
  Span wide = spans[1];
  wide.tool_calls = 5'000'000'000;
  ASSERT_TRUE(e.ReplaceSpan(wide));
  ExpectToolCallsMatchRecords(e, nows, &compared);
  SliQuery max_a;
  max_a.sli = Sli::kToolCalls;
  max_a.stat = Stat::kMax;
  max_a.window = Hours(720);
  max_a.only_agent = "a";
  EXPECT_EQ(e.Compute(max_a, kT0 + 60 * kHour).at(0).value, 5'000'000'000.0);
  wide.tool_calls = 3;
  ASSERT_TRUE(e.ReplaceSpan(wide));
  spans[1] = wide;
  ExpectToolCallsMatchRecords(e, nows, &compared);
  int64_t max_of_a = 0;
  for (const Span& s : spans) {
    if (s.agent == "a") max_of_a = std::max(max_of_a, s.tool_calls.value_or(0));
  }
  EXPECT_EQ(e.Compute(max_a, kT0 + 60 * kHour).at(0).value, static_cast<double>(max_of_a));
  // Pruned hours leave the tool counts.
  e.PruneBefore(kT0 + 20 * kHour);
  ExpectToolCallsMatchRecords(e, nows, &compared);
  EXPECT_GT(compared, 1000);
}

}  // namespace
}  // namespace aw::windows
