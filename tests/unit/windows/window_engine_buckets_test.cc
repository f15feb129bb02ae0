// The hour buckets behind long time windows: cost sums in whole buckets
// follow repricing and prunes, a fleet window (no `by`) equals the sum of
// its agents', and costs add up in decimal fixed point (0.1 + 0.2 is 0.3).
// A count window per agent takes its older hours whole from the counts and
// equals the same window read record by record; so do tool_calls over time
// windows, whose whole hours come from the hours' tool counts, and the
// confidence/resolution correlation, whose whole hours come from the hours'
// co-moments as resolutions arrive, change and are pruned.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/testing/reference_pearson.h"
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

// What the contract says the correlation of a window is, from the events.
class CorrelationModel {
 public:
  struct Inv {
    std::string agent;
    TimeMs ts = 0;
    double confidence = 0;
    int64_t duration = 0;
    std::string incident;
  };
  void Span(const aw::Span& s) {
    invs_[s.investigation_id] =
        Inv{s.agent, s.ts_ms, *s.confidence, s.duration_ms.value_or(0), s.incident_id};
  }
  void Resolve(const Resolution& r) {  // the caller sends only newer ones
    if (!r.investigation_id.empty()) own_[r.investigation_id] = r;
    if (!r.incident_id.empty()) incident_[r.incident_id] = r;
  }
  void Prune(TimeMs cutoff) {
    std::erase_if(invs_, [&](const auto& kv) {
      if (kv.second.ts >= cutoff) return false;
      own_.erase(kv.first);
      return true;
    });
    std::erase_if(incident_, [&](const auto& kv) { return kv.second.resolved_at_ms < cutoff; });
  }
  std::optional<double> Pearson(const std::string& agent, TimeMs lo, TimeMs now) const {
    std::vector<std::pair<long double, long double>> p;
    for (const auto& [id, inv] : invs_) {
      if ((!agent.empty() && inv.agent != agent) || inv.ts <= lo || inv.ts > now) continue;
      const Resolution* r = nullptr;
      if (auto it = own_.find(id); it != own_.end()) r = &it->second;
      if (auto it = incident_.find(inv.incident); r == nullptr && it != incident_.end()) {
        r = &it->second;
      }
      if (r == nullptr) continue;
      double ttr = 0;
      if (r->time_to_resolve_s) {
        ttr = *r->time_to_resolve_s;
      } else {
        const TimeMs opened = r->opened_at_ms.value_or(inv.ts - inv.duration);
        ttr = static_cast<double>(r->resolved_at_ms - opened) / 1000.0;
      }
      p.emplace_back(inv.confidence, ttr);
    }
    return testing::ReferencePearson(p);
  }

 private:
  std::map<std::string, Inv> invs_;
  std::map<std::string, Resolution> own_, incident_;
};

// Every agent's and the fleet's correlation over windows of whole hours and
// partial ones equals the model's.
void ExpectCorrelationMatchesModel(const WindowEngine& e, const CorrelationModel& model,
                                   const std::string& step) {
  std::vector<std::string> agents = e.Agents();
  agents.push_back("");  // the fleet
  for (TimeMs now : {kT0 + 61 * kHour, kT0 + 40 * kHour + 1'234'567}) {
    for (int64_t h : {3, 24, 720}) {
      for (const std::string& agent : agents) {
        const auto got =
            agent.empty() ? Fleet(e, Sli::kConfidenceResolutionCorrelation, Hours(h), now)
                          : OfAgent(e, Sli::kConfidenceResolutionCorrelation, Hours(h), now, agent);
        const auto want = model.Pearson(agent, now - h * kHour, now);
        const std::string ctx = step + ": " + std::to_string(h) + "h agent '" + agent + "'";
        ASSERT_EQ(got.has_value(), want.has_value()) << ctx;
        if (want) {
          ASSERT_NEAR(*got, *want, 1e-9) << ctx;
        }
      }
    }
  }
}

TEST(WindowEngineBuckets, CorrelationFromHourMomentsFollowsEveryResolutionChange) {
  // One engine fed live, one bulk loading (its hours recounted before each
  // read) until the prune.
  WindowEngine live(Pricing{}), bulk(Pricing{});
  bulk.BulkLoad(true);
  const std::vector<WindowEngine*> engines = {&live, &bulk};
  CorrelationModel model;
  const auto check = [&](const std::string& step) {
    for (const WindowEngine* e : engines) {
      ExpectCorrelationMatchesModel(*e, model, (e == &bulk ? "bulk: " : "live: ") + step);
    }
  };
  int64_t seq = 0;
  std::vector<Span> spans;
  // Two incidents of 150 spans each over 60 hours, and spans of no incident.
  for (int i = 0; i < 400; ++i) {
    Span s;
    s.investigation_id = "c-" + std::to_string(i);
    s.agent = i % 3 == 0 ? "b" : "a";
    s.ts_ms = kT0 + ((i * 7919) % 60) * kHour + (i % 6) * 600'000;
    s.confidence = ((i * 37) % 101) / 100.0;
    s.duration_ms = (i % 5) * 60'000;
    if (i < 300) s.incident_id = i % 2 ? "INC-A" : "INC-B";
    ++seq;
    for (WindowEngine* e : engines) e->ApplySpan(s, seq);
    model.Span(s);
    spans.push_back(s);
  }
  const auto resolve = [&](Resolution r) {
    ++seq;
    for (WindowEngine* e : engines) e->ApplyResolution(r, seq);
    model.Resolve(r);
  };
  Resolution a;
  a.incident_id = "INC-A";
  a.resolved_at_ms = kT0 + 62 * kHour;  // time to resolve from each span's start
  resolve(a);
  check("INC-A resolved");
  Resolution b;
  b.incident_id = "INC-B";
  b.resolved_at_ms = kT0 + 30 * kHour;
  b.opened_at_ms = kT0;  // one time to resolve for all of B: constant there
  resolve(b);
  check("INC-B resolved");
  // Re-resolved: every span of A moves to its new time to resolve.
  a.resolved_at_ms = kT0 + 70 * kHour;
  a.opened_at_ms = kT0 - kHour;
  resolve(a);
  check("INC-A re-resolved");
  // Own resolutions win over the incident's, on spans of A, B and none.
  for (int i = 0; i < 400; i += 9) {
    Resolution own;
    own.investigation_id = spans[static_cast<size_t>(i)].investigation_id;
    own.resolved_at_ms = kT0 + 65 * kHour;
    own.time_to_resolve_s = 60.0 * (i % 17);
    resolve(own);
  }
  check("own resolutions");
  // Spans moved between the incidents over and over: the incidents' span
  // lists gather slots that left them and are compacted as they double.
  // Some move away and back before the next resolution: listed twice.
  for (int round = 0; round < 3; ++round) {
    for (int step : {2, 4}) {
      for (int i = 0; i < 300; i += step) {
        Span& s = spans[static_cast<size_t>(i)];
        s.incident_id = s.incident_id == "INC-A" ? "INC-B" : "INC-A";
        for (WindowEngine* e : engines) ASSERT_TRUE(e->ReplaceSpan(s));
        model.Span(s);
      }
    }
    check("moved, round " + std::to_string(round));
    a.resolved_at_ms += kHour;
    resolve(a);
    b.resolved_at_ms += kHour;
    resolve(b);
    check("resolved again, round " + std::to_string(round));
  }
  // A prune drops old spans, and B's resolution (older than the cutoff):
  // B's spans lose their time to resolve.
  bulk.BulkLoad(false);
  for (WindowEngine* e : engines) e->PruneBefore(kT0 + 35 * kHour);
  model.Prune(kT0 + 35 * kHour);
  check("pruned");
  b.resolved_at_ms = kT0 + 58 * kHour;
  b.opened_at_ms.reset();
  resolve(b);
  check("B resolved after the prune");
}

}  // namespace
}  // namespace aw::windows
