// Over 500 lines on purpose: the engine's per-SLI cases share one fixture;
// stats, concurrency and the SLI views already have files of their own.

#include "windows/window_engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace aw::windows {
namespace {

// "prefix" + number (g++ 12 gives a false -Wrestrict on operator+ here).
std::string Cat(std::string prefix, int64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

constexpr TimeMs kT0 = 1'764'000'000'000;  // a round-ish Unix ms
constexpr TimeMs kMin = 60'000;
constexpr TimeMs kHour = 60 * kMin;

Span MakeSpan(const std::string& id, const std::string& agent, TimeMs ts) {
  Span s;
  s.investigation_id = id;
  s.agent = agent;
  s.ts_ms = ts;
  return s;
}

Feedback MakeVerdict(const std::string& id, Verdict v, TimeMs ts, const std::string& agent = "") {
  Feedback f;
  f.investigation_id = id;
  f.verdict = v;
  f.ts_ms = ts;
  f.agent = agent;
  return f;
}

WindowSpec TimeWindow(TimeMs ms, const std::string& name = "w") {
  WindowSpec w;
  w.kind = WindowSpec::Kind::kTime;
  w.duration = Millis(ms);
  w.name = name;
  return w;
}

WindowSpec CountWindow(int64_t n) {
  WindowSpec w;
  w.kind = WindowSpec::Kind::kCount;
  w.count = n;
  w.name = std::to_string(n) + " investigations";
  return w;
}

SliQuery Query(Sli sli, WindowSpec w, Stat stat = Stat::kNone) {
  SliQuery q;
  q.sli = sli;
  q.stat = stat;
  q.window = std::move(w);
  return q;
}

// The one group's value for `agent` (by = [agent]); fails if absent.
SliValue For(const std::vector<SliValue>& vals, const std::string& agent) {
  for (const SliValue& v : vals) {
    auto it = v.group.find("agent");
    if (it != v.group.end() && it->second == agent) return v;
  }
  ADD_FAILURE() << "no group for agent " << agent;
  return {};
}

std::optional<double> Value(const WindowEngine& e, const SliQuery& q, TimeMs now,
                            const std::string& agent, int64_t* samples = nullptr) {
  SliValue v = For(e.Compute(q, now), agent);
  if (samples != nullptr) *samples = v.samples;
  return v.value;
}

class WindowEngineTest : public ::testing::Test {
 protected:
  WindowEngine engine_{Pricing{{"m", ModelPrice{1.0, 2.0, 0, 0}}}};
  int64_t seq_ = 0;

  bool AddSpan(const Span& s) { return engine_.ApplySpan(s, ++seq_); }
  void AddVerdict(const Feedback& f) { engine_.ApplyFeedback(f, ++seq_); }
  void AddResolution(const Resolution& r) { engine_.ApplyResolution(r, ++seq_); }
  std::optional<double> V(Sli sli, WindowSpec w, TimeMs now, const std::string& agent = "a",
                          int64_t* samples = nullptr, Stat stat = Stat::kNone) {
    return Value(engine_, Query(sli, std::move(w), stat), now, agent, samples);
  }
};

TEST_F(WindowEngineTest, SecondSpanForSameInvestigationIsDuplicateAndFirstStands) {
  Span first = MakeSpan("i1", "a", kT0);
  first.tool_calls = 3;
  Span retry = MakeSpan("i1", "a", kT0 + kMin);
  retry.tool_calls = 99;
  EXPECT_TRUE(AddSpan(first));
  EXPECT_FALSE(AddSpan(retry));
  EXPECT_TRUE(engine_.HasSpan("i1"));
  EXPECT_FALSE(engine_.HasSpan("i2"));
  int64_t n = 0;
  EXPECT_EQ(V(Sli::kInvestigations, TimeWindow(kHour), kT0 + 2 * kMin, "a", &n), 1.0);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(V(Sli::kToolCalls, TimeWindow(kHour), kT0 + 2 * kMin, "a", nullptr, Stat::kMax), 3.0);
}

// The writer's batched lookup: held spans and their agents; a verdict
// waiting for its span, a verdict that named its agent (placed, but not a
// span), unknown and empty ids hold none; more ids than it prefetches ahead.
TEST_F(WindowEngineTest, HasSpansFindsEachHeldSpanAndItsAgent) {
  std::vector<std::string> ids = {"", "unknown", "waiting", "named"};
  std::vector<std::string> want_agents(ids.size());
  AddVerdict(MakeVerdict("waiting", Verdict::kConfirm, kT0));
  AddVerdict(MakeVerdict("named", Verdict::kOverride, kT0, "b"));
  for (int i = 0; i < 40; ++i) {
    const std::string id = "i" + std::to_string(i);
    const std::string agent = i % 3 == 0 ? "" : i % 2 ? "a" : "c";
    if (!agent.empty()) {
      EXPECT_TRUE(AddSpan(MakeSpan(id, agent, kT0 + i)));
    }
    ids.push_back(id);
    want_agents.push_back(agent);
  }
  std::vector<std::string_view> views(ids.begin(), ids.end());
  std::vector<std::string> agents;
  const std::vector<bool> held = engine_.HasSpans(views, &agents);
  ASSERT_EQ(held.size(), ids.size());
  EXPECT_EQ(agents, want_agents);
  int spans = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(held[i], !want_agents[i].empty()) << ids[i];
    EXPECT_EQ(engine_.HasSpan(ids[i]), held[i]) << ids[i];
    spans += held[i];
  }
  EXPECT_EQ(spans, 26);
  EXPECT_EQ(engine_.HasSpans(views), held);  // without agents
  EXPECT_TRUE(engine_.HasSpans({}).empty());
}

TEST_F(WindowEngineTest, ReplaceSpanChangesTheHeldRecordKeepsItsSeqAndBumpsTheVersion) {
  Span s = MakeSpan("i1", "a", kT0);
  s.tool_calls = 1;
  s.model = "m";
  s.input_tokens = 1000;
  ASSERT_TRUE(AddSpan(s));
  const int64_t seq = seq_;
  const uint64_t version = engine_.Version();
  Span updated = s;
  updated.tool_calls = 4;
  updated.input_tokens = 3000;
  updated.output_tokens = 500;
  std::set<std::string> touched;
  EXPECT_TRUE(engine_.ReplaceSpan(updated, &touched));
  EXPECT_GT(engine_.Version(), version);  // snapshot caches rebuild
  EXPECT_EQ(touched, (std::set<std::string>{"a"}));
  EXPECT_EQ(engine_.SpanSeq("i1"), seq);
  const TimeMs now = kT0 + kMin;
  EXPECT_EQ(V(Sli::kToolCalls, TimeWindow(kHour), now, "a", nullptr, Stat::kMax), 4.0);
  // Priced again from the new tokens: $1 and $2 per million in and out.
  EXPECT_DOUBLE_EQ(*V(Sli::kCostUsd, TimeWindow(kHour), now), (3000 * 1.0 + 500 * 2.0) / 1e6);
  EXPECT_EQ(V(Sli::kInvestigations, TimeWindow(kHour), now), 1.0);
  // Nothing to replace without a span, also when only a verdict is held.
  AddVerdict(MakeVerdict("i2", Verdict::kConfirm, kT0, "a"));
  EXPECT_FALSE(engine_.ReplaceSpan(MakeSpan("i2", "a", kT0)));
  EXPECT_FALSE(engine_.ReplaceSpan(MakeSpan("i3", "a", kT0)));
  EXPECT_FALSE(engine_.SpanSeq("i2").has_value());
  EXPECT_EQ(V(Sli::kInvestigations, TimeWindow(kHour), now), 1.0);
}

TEST_F(WindowEngineTest, LateVerdictCountsAtItsInvestigationsTime) {
  AddSpan(MakeSpan("i1", "a", kT0));
  AddSpan(MakeSpan("i2", "a", kT0 + 2 * kHour));
  // The verdict on i1 arrives hours later; it stays with i1's window.
  AddVerdict(MakeVerdict("i1", Verdict::kOverride, kT0 + 3 * kHour));
  int64_t n = 0;
  EXPECT_EQ(V(Sli::kOverrideRate, TimeWindow(kHour), kT0 + 30 * kMin, "a", &n), 1.0);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(V(Sli::kOverrideRate, TimeWindow(kHour), kT0 + 3 * kHour, "a", &n), std::nullopt);
  EXPECT_EQ(n, 0);
  EXPECT_EQ(V(Sli::kReviewCoverage, TimeWindow(4 * kHour), kT0 + 3 * kHour), 0.5);
}

TEST_F(WindowEngineTest, VerdictBeforeSpanWithoutAgentIsHeldUntilTheSpan) {
  AddVerdict(MakeVerdict("i1", Verdict::kConfirm, kT0));
  EXPECT_TRUE(engine_.Agents().empty());
  EXPECT_TRUE(engine_.Compute(Query(Sli::kOverrideRate, TimeWindow(kHour)), kT0).empty());
  AddSpan(MakeSpan("i1", "a", kT0 - 10 * kMin));
  int64_t n = 0;
  EXPECT_EQ(V(Sli::kOverrideRate, TimeWindow(kHour), kT0, "a", &n), 0.0);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(V(Sli::kReviewCoverage, TimeWindow(kHour), kT0), 1.0);
}

TEST_F(WindowEngineTest, VerdictNamingAgentCountsAtOnceThenMovesToTheSpan) {
  AddVerdict(MakeVerdict("i1", Verdict::kOverride, kT0, "a"));
  EXPECT_EQ(engine_.Agents(), std::vector<std::string>{"a"});
  int64_t n = 0;
  // Counts for override_rate at the verdict's time, but is no investigation.
  EXPECT_EQ(V(Sli::kOverrideRate, TimeWindow(kHour), kT0, "a", &n), 1.0);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(V(Sli::kInvestigations, TimeWindow(kHour), kT0, "a", &n), 0.0);
  EXPECT_EQ(n, 0);
  EXPECT_EQ(V(Sli::kReviewCoverage, TimeWindow(kHour), kT0), std::nullopt);
  EXPECT_EQ(V(Sli::kCostUsd, TimeWindow(kHour), kT0), 0.0);
  EXPECT_EQ(V(Sli::kToolCalls, TimeWindow(kHour), kT0, "a", nullptr, Stat::kMax), std::nullopt);
  // Count windows see it too.
  EXPECT_EQ(V(Sli::kOverrideRate, CountWindow(10), kT0), 1.0);

  // The span arrives: 3 h earlier and under agent "b".
  Span s = MakeSpan("i1", "b", kT0 - 3 * kHour);
  s.labels = {{"env", "prod"}};
  std::set<std::string> touched;
  EXPECT_TRUE(engine_.ApplySpan(s, ++seq_, &touched));
  EXPECT_EQ(touched, (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(engine_.Agents(), std::vector<std::string>{"b"});
  EXPECT_EQ(V(Sli::kOverrideRate, TimeWindow(kHour), kT0 - 3 * kHour, "b", &n), 1.0);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(V(Sli::kReviewCoverage, TimeWindow(kHour), kT0 - 3 * kHour, "b"), 1.0);
  EXPECT_TRUE(engine_.Compute(Query(Sli::kOverrideRate, TimeWindow(kHour)), kT0).size() == 1);
  EXPECT_EQ(V(Sli::kOverrideRate, TimeWindow(kHour), kT0, "b", &n), std::nullopt);
  // And it now carries the span's labels.
  SliQuery q = Query(Sli::kOverrideRate, TimeWindow(kHour));
  q.where = {{"env", "prod"}};
  EXPECT_EQ(Value(engine_, q, kT0 - 3 * kHour, "b"), 1.0);
}

TEST_F(WindowEngineTest, ChangedVerdictMovesSidesAndCountsOnce) {
  AddSpan(MakeSpan("i1", "a", kT0));
  AddSpan(MakeSpan("i2", "a", kT0));
  AddVerdict(MakeVerdict("i1", Verdict::kConfirm, kT0 + kMin));
  AddVerdict(MakeVerdict("i2", Verdict::kConfirm, kT0 + kMin));
  AddVerdict(MakeVerdict("i1", Verdict::kOverride, kT0 + 2 * kMin));
  int64_t n = 0;
  EXPECT_EQ(V(Sli::kOverrideRate, TimeWindow(kHour), kT0 + 5 * kMin, "a", &n), 0.5);
  EXPECT_EQ(n, 2);
  // An older verdict arriving late does not replace the newer one.
  AddVerdict(MakeVerdict("i1", Verdict::kConfirm, kT0 + kMin + 30'000));
  EXPECT_EQ(V(Sli::kOverrideRate, TimeWindow(kHour), kT0 + 5 * kMin, "a", &n), 0.5);
  EXPECT_EQ(n, 2);
}

TEST_F(WindowEngineTest, VerdictTieOnTsIsDecidedBySeq) {
  AddSpan(MakeSpan("i1", "a", kT0));
  engine_.ApplyFeedback(MakeVerdict("i1", Verdict::kOverride, kT0 + kMin), 20);
  engine_.ApplyFeedback(MakeVerdict("i1", Verdict::kConfirm, kT0 + kMin), 10);  // smaller seq
  EXPECT_EQ(V(Sli::kOverrideRate, TimeWindow(kHour), kT0 + 5 * kMin), 1.0);
  engine_.ApplyFeedback(MakeVerdict("i1", Verdict::kConfirm, kT0 + kMin), 30);
  EXPECT_EQ(V(Sli::kOverrideRate, TimeWindow(kHour), kT0 + 5 * kMin), 0.0);
}

// Pearson r computed here from its definition.
double Pearson(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(x.size());
  my /= static_cast<double>(y.size());
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

TEST_F(WindowEngineTest, ResolutionByIncidentAppliesToSpansArrivingLater) {
  Resolution r;
  r.incident_id = "INC-1";
  r.resolved_at_ms = kT0 + 10 * kMin;
  AddResolution(r);
  // Three spans of INC-1; time to resolve = resolved_at - (ts - duration).
  const std::vector<double> conf = {0.2, 0.5, 0.9};
  const std::vector<TimeMs> dur = {60'000, 0, 300'000};
  for (int i = 0; i < 3; ++i) {
    Span s = MakeSpan(Cat("i", i), "a", kT0 + i * kMin);
    s.incident_id = "INC-1";
    s.confidence = conf[i];
    s.duration_ms = dur[i];
    AddSpan(s);
  }
  std::vector<double> ttr;
  for (int i = 0; i < 3; ++i) {
    ttr.push_back(static_cast<double>(kT0 + 10 * kMin - (kT0 + i * kMin - dur[i])) / 1000.0);
  }
  int64_t n = 0;
  auto got = V(Sli::kConfidenceResolutionCorrelation, TimeWindow(kHour), kT0 + 5 * kMin, "a", &n);
  EXPECT_EQ(n, 3);
  ASSERT_TRUE(got);
  EXPECT_NEAR(*got, Pearson(conf, ttr), 1e-12);

  // A later resolution of the incident replaces it (with opened_at now).
  r.resolved_at_ms = kT0 + 20 * kMin;
  r.opened_at_ms = kT0 - 5 * kMin;
  AddResolution(r);
  // Every ttr is now the same: zero variance -> null, samples still 3.
  EXPECT_EQ(V(Sli::kConfidenceResolutionCorrelation, TimeWindow(kHour), kT0 + 5 * kMin, "a", &n),
            std::nullopt);
  EXPECT_EQ(n, 3);
}

TEST_F(WindowEngineTest, InvestigationResolutionWinsOverIncidentResolution) {
  const std::vector<double> conf = {0.2, 0.5, 0.9};
  for (int i = 0; i < 3; ++i) {
    Span s = MakeSpan(Cat("i", i), "a", kT0);
    s.incident_id = "INC-1";
    s.confidence = conf[i];
    AddSpan(s);
  }
  Resolution by_inc;
  by_inc.incident_id = "INC-1";
  by_inc.resolved_at_ms = kT0 + kHour;
  by_inc.time_to_resolve_s = 100;
  AddResolution(by_inc);
  // Own resolution for i2, given before a *later* incident resolution: the
  // investigation's own still wins.
  Resolution own;
  own.investigation_id = "i2";
  own.resolved_at_ms = kT0 + kHour;
  own.time_to_resolve_s = 900;
  AddResolution(own);
  by_inc.resolved_at_ms = kT0 + 2 * kHour;
  by_inc.time_to_resolve_s = 200;
  AddResolution(by_inc);
  // An older incident resolution arriving late changes nothing.
  by_inc.resolved_at_ms = kT0 + kHour;
  by_inc.time_to_resolve_s = 5000;
  AddResolution(by_inc);
  auto got = V(Sli::kConfidenceResolutionCorrelation, TimeWindow(kHour), kT0);
  ASSERT_TRUE(got);
  EXPECT_NEAR(*got, Pearson(conf, {200, 200, 900}), 1e-12);
}

TEST_F(WindowEngineTest, TimeToResolvePrefersExplicitThenOpenedAtThenSpanStart) {
  const std::vector<double> conf = {0.1, 0.4, 0.8};
  for (int i = 0; i < 3; ++i) {
    Span s = MakeSpan(Cat("i", i), "a", kT0);
    s.confidence = conf[i];
    s.duration_ms = 30'000;
    AddSpan(s);
  }
  Resolution r;
  r.investigation_id = "i0";
  r.resolved_at_ms = kT0 + kHour;
  r.opened_at_ms = kT0;  // ignored: time_to_resolve_s wins
  r.time_to_resolve_s = 7;
  AddResolution(r);
  r.investigation_id = "i1";
  r.time_to_resolve_s.reset();  // opened_at: 3600 s
  AddResolution(r);
  r.investigation_id = "i2";
  r.opened_at_ms.reset();  // span start: ts - 30 s -> 3630 s
  AddResolution(r);
  auto got = V(Sli::kConfidenceResolutionCorrelation, TimeWindow(kHour), kT0);
  ASSERT_TRUE(got);
  EXPECT_NEAR(*got, Pearson(conf, {7, 3600, 3630}), 1e-12);
}

TEST_F(WindowEngineTest, TimeWindowEdges) {
  const TimeMs now = kT0 + 10 * kHour;
  AddSpan(MakeSpan("at-start", "a", now - kHour));  // end - W: excluded
  AddSpan(MakeSpan("inside", "a", now - kHour + 1));
  AddSpan(MakeSpan("at-end", "a", now));      // included
  AddSpan(MakeSpan("future", "a", now + 1));  // excluded
  int64_t n = 0;
  EXPECT_EQ(V(Sli::kInvestigations, TimeWindow(kHour), now, "a", &n), 2.0);
  EXPECT_EQ(n, 2);
  // One ms later "inside" sits exactly at end - W (out) and "future" at end.
  EXPECT_EQ(V(Sli::kInvestigations, TimeWindow(kHour), now + 1), 2.0);
  EXPECT_EQ(V(Sli::kInvestigations, TimeWindow(kHour), now + kHour), 1.0);  // just "future"
  EXPECT_EQ(V(Sli::kInvestigations, TimeWindow(kHour), now + kHour + 1), 0.0);
}

TEST_F(WindowEngineTest, OffsetWindowEndsEarlier) {
  for (int d = 0; d < 3; ++d) {
    Span s = MakeSpan(Cat("i", d), "a", kT0 + d * 24 * kHour);
    s.tool_calls = 10 * (d + 1);
    AddSpan(s);
  }
  SliQuery q = Query(Sli::kToolCalls, TimeWindow(kHour), Stat::kP95);
  const TimeMs now = kT0 + 2 * 24 * kHour;
  EXPECT_EQ(Value(engine_, q, now, "a"), 30.0);
  q.offset = Millis(24 * kHour);
  EXPECT_EQ(Value(engine_, q, now, "a"), 20.0);
  q.offset = Millis(24 * kHour + 1);  // the span at kT0 + 1d is now past the end
  EXPECT_EQ(Value(engine_, q, now, "a"), std::nullopt);
  // The count window ignores everything after now - offset.
  q.window = CountWindow(1);
  q.offset = Millis(24 * kHour);
  EXPECT_EQ(Value(engine_, q, now, "a"), 20.0);
}

TEST_F(WindowEngineTest, CountWindowTakesLatestNPerGroupAfterWhere) {
  // Agent a: alternating env prod/dev, tool_calls = index.
  for (int i = 0; i < 10; ++i) {
    Span s = MakeSpan(Cat("a", i), "a", kT0 + i * kMin);
    s.labels = {{"env", i % 2 == 0 ? "prod" : "dev"}};
    s.tool_calls = i;
    AddSpan(s);
  }
  // Agent b: all prod, at the same instants (ties broken by seq).
  for (int i = 0; i < 4; ++i) {
    Span s = MakeSpan(Cat("b", i), "b", kT0 + 9 * kMin);
    s.labels = {{"env", "prod"}};
    s.tool_calls = 100 + i;
    AddSpan(s);
  }
  SliQuery q = Query(Sli::kToolCalls, CountWindow(3), Stat::kMean);
  q.where = {{"env", "prod"}};
  auto vals = engine_.Compute(q, kT0 + kHour);
  ASSERT_EQ(vals.size(), 2u);
  EXPECT_EQ(For(vals, "a").value, (8.0 + 6 + 4) / 3);  // prod ones only: 8, 6, 4
  EXPECT_EQ(For(vals, "b").value, (101.0 + 102 + 103) / 3);
  // by env (across agents): the latest 3 prod are b1..b3 (at 9 min, larger seq
  // than a8).
  q.by = {"env"};
  q.where.clear();
  vals = engine_.Compute(q, kT0 + kHour);
  ASSERT_EQ(vals.size(), 2u);
  std::map<std::string, std::optional<double>> by_env;
  for (const SliValue& v : vals) by_env[v.group.at("env")] = v.value;
  EXPECT_EQ(by_env["prod"], (101.0 + 102 + 103) / 3);
  EXPECT_EQ(by_env["dev"], (9.0 + 7 + 5) / 3);
  // where on agent.
  q.by = {"agent"};
  q.where = {{"agent", "a"}};
  vals = engine_.Compute(q, kT0 + kHour);
  ASSERT_EQ(vals.size(), 1u);
  EXPECT_EQ(vals[0].value, (9.0 + 8 + 7) / 3);
  // The count window before anything happened lists no group.
  EXPECT_TRUE(engine_.Compute(q, kT0 - 1).empty());
}

TEST_F(WindowEngineTest, EmptyTimeWindowKeepsGroupWithZerosAndNulls) {
  Span s = MakeSpan("i1", "a", kT0);
  s.tool_calls = 4;
  s.model = "m";
  s.input_tokens = 1000;
  AddSpan(s);
  AddVerdict(MakeVerdict("i1", Verdict::kConfirm, kT0));
  const TimeMs later = kT0 + 5 * kHour;
  int64_t n = -1;
  EXPECT_EQ(V(Sli::kInvestigations, TimeWindow(kHour), later, "a", &n), 0.0);
  EXPECT_EQ(n, 0);
  EXPECT_EQ(V(Sli::kCostUsd, TimeWindow(kHour), later), 0.0);
  EXPECT_EQ(V(Sli::kOverrideRate, TimeWindow(kHour), later), std::nullopt);
  EXPECT_EQ(V(Sli::kReviewCoverage, TimeWindow(kHour), later), std::nullopt);
  EXPECT_EQ(V(Sli::kToolCalls, TimeWindow(kHour), later, "a", nullptr, Stat::kP50), std::nullopt);
  EXPECT_EQ(V(Sli::kConfidenceBrier, TimeWindow(kHour), later), std::nullopt);
  // In range: cost from pricing (1000 input tokens at 1 USD/M).
  EXPECT_DOUBLE_EQ(*V(Sli::kCostUsd, TimeWindow(kHour), kT0), 0.001);
  // Snapshot rows too.
  bool saw = false;
  for (const SliRow& r : engine_.Snapshot({TimeWindow(kHour, "1h")}, later)) {
    EXPECT_EQ(r.agent, "a");
    EXPECT_EQ(r.window, "1h");
    if (r.sli == Sli::kInvestigations || r.sli == Sli::kCostUsd) {
      EXPECT_EQ(r.value, 0.0);
      saw = true;
    } else {
      EXPECT_EQ(r.value, std::nullopt) << SliName(r.sli) << " " << StatName(r.stat);
    }
  }
  EXPECT_TRUE(saw);
}

TEST_F(WindowEngineTest, GroupsByLabelsWithMissingLabelAsEmpty) {
  Span s1 = MakeSpan("i1", "a", kT0);
  s1.labels = {{"team", "sre"}};
  Span s2 = MakeSpan("i2", "a", kT0);
  Span s3 = MakeSpan("i3", "b", kT0);
  s3.labels = {{"team", "sre"}};
  AddSpan(s1);
  AddSpan(s2);
  AddSpan(s3);
  SliQuery q = Query(Sli::kInvestigations, TimeWindow(kHour));
  q.by = {"team"};
  auto vals = engine_.Compute(q, kT0);
  ASSERT_EQ(vals.size(), 2u);
  EXPECT_EQ(vals[0].group, (Labels{{"team", ""}}));
  EXPECT_EQ(vals[0].value, 1.0);
  EXPECT_EQ(vals[1].group, (Labels{{"team", "sre"}}));
  EXPECT_EQ(vals[1].value, 2.0);
  q.by = {"agent", "team"};
  q.only_agent = "a";
  vals = engine_.Compute(q, kT0);
  ASSERT_EQ(vals.size(), 2u);
  EXPECT_EQ(vals[1].group, (Labels{{"agent", "a"}, {"team", "sre"}}));
  q.by = {};
  q.only_agent = "";
  vals = engine_.Compute(q, kT0);
  ASSERT_EQ(vals.size(), 1u);
  EXPECT_TRUE(vals[0].group.empty());
  EXPECT_EQ(vals[0].value, 3.0);
}

TEST_F(WindowEngineTest, DistributionStatsAreNearestRank) {
  // 1..20 shuffled; nearest rank: p50 = 10, p90 = 18, p95 = 19, p99 = 20.
  const int vals[] = {7, 3, 20, 1, 15, 9, 12, 4, 18, 2, 11, 5, 17, 8, 14, 6, 19, 10, 16, 13};
  int i = 0;
  for (int v : vals) {
    Span s = MakeSpan(Cat("i", i), "a", kT0 + i * 1000);
    ++i;
    s.tool_calls = v;
    s.duration_ms = v * 1000;
    AddSpan(s);
  }
  AddSpan(MakeSpan("no-fields", "a", kT0));  // no tool_calls: not a sample
  const auto stat = [&](Stat st) {
    int64_t n = 0;
    auto v = V(Sli::kToolCalls, TimeWindow(kHour), kT0 + kMin, "a", &n, st);
    EXPECT_EQ(n, 20);
    return v;
  };
  EXPECT_EQ(stat(Stat::kP50), 10.0);
  EXPECT_EQ(stat(Stat::kP90), 18.0);
  EXPECT_EQ(stat(Stat::kP95), 19.0);
  EXPECT_EQ(stat(Stat::kP99), 20.0);
  EXPECT_EQ(stat(Stat::kMax), 20.0);
  EXPECT_EQ(stat(Stat::kMean), 10.5);
  EXPECT_EQ(V(Sli::kDurationMs, TimeWindow(kHour), kT0 + kMin, "a", nullptr, Stat::kP90), 18000.0);
  // 3 samples: p50 = rank ceil(1.5) = 2nd.
  WindowEngine e(Pricing{});
  for (int k = 0; k < 3; ++k) {
    Span s = MakeSpan(Cat("x", k), "a", kT0);
    s.tool_calls = (k + 1) * 10;
    e.ApplySpan(s, k);
  }
  EXPECT_EQ(Value(e, Query(Sli::kToolCalls, TimeWindow(kHour), Stat::kP50), kT0, "a"), 20.0);
  EXPECT_EQ(Value(e, Query(Sli::kToolCalls, TimeWindow(kHour), Stat::kP90), kT0, "a"), 30.0);
}

TEST_F(WindowEngineTest, FinishReasonRateBrierAndCost) {
  Span s1 = MakeSpan("i1", "a", kT0);
  s1.finish_reason = "end_turn";
  s1.confidence = 0.9;
  s1.cost_usd = 0.5;
  Span s2 = MakeSpan("i2", "a", kT0);
  s2.finish_reason = "max_tokens";
  s2.confidence = 0.3;
  s2.model = "unknown-model";  // unpriced: 0
  s2.input_tokens = 1'000'000;
  Span s3 = MakeSpan("i3", "a", kT0);
  s3.finish_reason = "end_turn";
  s3.model = "m";
  s3.input_tokens = 1'000'000;
  s3.output_tokens = 500'000;  // 1 + 1 = 2 USD
  AddSpan(s1);
  AddSpan(s2);
  AddSpan(s3);
  AddVerdict(MakeVerdict("i1", Verdict::kConfirm, kT0));
  AddVerdict(MakeVerdict("i2", Verdict::kOverride, kT0));
  SliQuery q = Query(Sli::kFinishReasonRate, TimeWindow(kHour));
  q.match = "end_turn";
  EXPECT_DOUBLE_EQ(*Value(engine_, q, kT0, "a"), 2.0 / 3);
  q.match = "never";
  EXPECT_EQ(Value(engine_, q, kT0, "a"), 0.0);
  int64_t n = 0;
  EXPECT_DOUBLE_EQ(*V(Sli::kConfidenceBrier, TimeWindow(kHour), kT0, "a", &n),
                   (0.1 * 0.1 + 0.3 * 0.3) / 2);
  EXPECT_EQ(n, 2);
  EXPECT_DOUBLE_EQ(*V(Sli::kCostUsd, TimeWindow(kHour), kT0), 2.5);
  EXPECT_EQ(V(Sli::kCostPerInvestigation, TimeWindow(kHour), kT0, "a", &n, Stat::kP50), 0.5);
  EXPECT_EQ(n, 3);
  // New pricing re-prices the spans that sent no cost.
  engine_.SetPricing(
      Pricing{{"m", ModelPrice{2.0, 2.0, 0, 0}}, {"unknown-model", ModelPrice{1.0, 0, 0, 0}}});
  EXPECT_DOUBLE_EQ(*V(Sli::kCostUsd, TimeWindow(kHour), kT0), 0.5 + 1 + 3);
}

TEST_F(WindowEngineTest, PruneDropsOldRecordsIndexAndPendingVerdicts) {
  AddSpan(MakeSpan("old", "a", kT0));
  AddSpan(MakeSpan("new", "a", kT0 + 2 * kHour));
  AddVerdict(MakeVerdict("old", Verdict::kOverride, kT0 + 3 * kHour));
  AddVerdict(MakeVerdict("pending-old", Verdict::kOverride, kT0));
  AddVerdict(MakeVerdict("pending-new", Verdict::kOverride, kT0 + 2 * kHour));
  AddVerdict(MakeVerdict("vonly-old", Verdict::kOverride, kT0, "b"));
  EXPECT_EQ(engine_.Memory().investigations, 3);
  EXPECT_EQ(engine_.Agents(), (std::vector<std::string>{"a", "b"}));
  engine_.PruneBefore(kT0 + kHour);
  EXPECT_EQ(engine_.Memory().investigations, 1);
  EXPECT_EQ(engine_.Agents(), std::vector<std::string>{"a"});
  EXPECT_FALSE(engine_.HasSpan("old"));
  EXPECT_TRUE(engine_.HasSpan("new"));
  EXPECT_EQ(V(Sli::kInvestigations, TimeWindow(30 * kHour), kT0 + 2 * kHour), 1.0);
  // The id is free again; its pruned verdict no longer applies.
  EXPECT_TRUE(AddSpan(MakeSpan("old", "a", kT0 + 2 * kHour)));
  AddSpan(MakeSpan("pending-old", "a", kT0 + 2 * kHour));
  AddSpan(MakeSpan("pending-new", "a", kT0 + 2 * kHour));
  int64_t n = 0;
  EXPECT_EQ(V(Sli::kOverrideRate, TimeWindow(kHour), kT0 + 2 * kHour, "a", &n), 1.0);
  EXPECT_EQ(n, 1);  // only pending-new's verdict survived
}

// A prune with nothing older than its cutoff returns at once (at 1M held it
// scanned every record under the exclusive lock, every hour). Records older
// than an earlier prune's cutoff that arrive after it (a backfill, a late
// verdict or resolution) must still be found by the next prune.
TEST_F(WindowEngineTest, APruneFindsOldRecordsThatArrivedAfterThePreviousOne) {
  AddSpan(MakeSpan("new", "a", kT0 + 2 * kHour));
  const uint64_t version = engine_.Version();
  engine_.PruneBefore(kT0 + kHour);  // nothing older: kept
  EXPECT_TRUE(engine_.HasSpan("new"));
  EXPECT_EQ(engine_.Version(), version) << "nothing changed: caches keyed by it stay valid";
  AddSpan(MakeSpan("backfilled", "a", kT0));
  AddVerdict(MakeVerdict("pending-old", Verdict::kOverride, kT0));
  AddVerdict(MakeVerdict("vonly-old", Verdict::kOverride, kT0, "b"));
  EXPECT_EQ(engine_.Memory().investigations, 3);
  engine_.PruneBefore(kT0 + kHour);
  EXPECT_FALSE(engine_.HasSpan("backfilled"));
  EXPECT_EQ(engine_.Memory().investigations, 1);
  EXPECT_EQ(engine_.Agents(), std::vector<std::string>{"a"});
  // A late span with an old ts, replacing a held one's values.
  Span moved = MakeSpan("new", "a", kT0);
  EXPECT_TRUE(engine_.ReplaceSpan(moved, nullptr));
  engine_.PruneBefore(kT0 + kHour);
  EXPECT_FALSE(engine_.HasSpan("new"));
  EXPECT_EQ(engine_.Memory().investigations, 0);
}

TEST_F(WindowEngineTest, TouchedNamesAgentsWhoseWindowsChanged) {
  std::set<std::string> t;
  Span s = MakeSpan("i1", "a", kT0);
  s.incident_id = "INC";
  engine_.ApplySpan(s, 1, &t);
  EXPECT_EQ(t, std::set<std::string>{"a"});
  t.clear();
  engine_.ApplyFeedback(MakeVerdict("zzz", Verdict::kConfirm, kT0), 2, &t);
  EXPECT_TRUE(t.empty());  // held, counts nowhere yet
  engine_.ApplyFeedback(MakeVerdict("i1", Verdict::kConfirm, kT0), 3, &t);
  EXPECT_EQ(t, std::set<std::string>{"a"});
  t.clear();
  engine_.ApplyFeedback(MakeVerdict("i1", Verdict::kOverride, kT0 - 1), 4, &t);
  EXPECT_TRUE(t.empty());  // older: nothing changed
  Resolution r;
  r.incident_id = "INC";
  r.resolved_at_ms = kT0;
  engine_.ApplyResolution(r, 5, &t);
  EXPECT_EQ(t, std::set<std::string>{"a"});
  t.clear();
  engine_.ApplyFeedback(MakeVerdict("v", Verdict::kConfirm, kT0, "b"), 6, &t);
  EXPECT_EQ(t, std::set<std::string>{"b"});
}

TEST_F(WindowEngineTest, SnapshotMatchesComputeForEveryRow) {
  for (int i = 0; i < 50; ++i) {
    Span s = MakeSpan(Cat("i", i), i % 3 == 0 ? "x" : "y", kT0 + i * 7 * kMin);
    if (i % 2) s.tool_calls = i % 7;
    if (i % 3) s.input_tokens = i * 100;
    s.output_tokens = i;
    s.duration_ms = 1000 + i;
    s.model = std::string("m");
    s.confidence = (i % 10) / 10.0;
    s.incident_id = Cat("INC", i % 4);
    AddSpan(s);
    if (i % 4)
      AddVerdict(
          MakeVerdict(s.investigation_id, i % 5 ? Verdict::kConfirm : Verdict::kOverride, s.ts_ms));
  }
  for (int k = 0; k < 4; ++k) {
    Resolution r;
    r.incident_id = Cat("INC", k);
    r.resolved_at_ms = kT0 + 10 * kHour + k * 13 * kMin;
    AddResolution(r);
  }
  const std::vector<WindowSpec> windows = {TimeWindow(kHour, "1h"), TimeWindow(4 * kHour, "4h"),
                                           CountWindow(7)};
  const TimeMs now = kT0 + 5 * kHour;
  const auto rows = engine_.Snapshot(windows, now);
  EXPECT_EQ(rows.size(), 2u * 3 * (7 + 5 * 6));
  for (const SliRow& row : rows) {
    const WindowSpec* w = nullptr;
    for (const auto& c : windows) {
      if (c.name == row.window) w = &c;
    }
    ASSERT_NE(w, nullptr);
    SliValue v = For(engine_.Compute(Query(row.sli, *w, row.stat), now), row.agent);
    EXPECT_EQ(row.samples, v.samples) << SliName(row.sli) << StatName(row.stat) << row.window;
    ASSERT_EQ(row.value.has_value(), v.value.has_value()) << SliName(row.sli);
    if (row.value) {
      EXPECT_NEAR(*row.value, *v.value, 1e-9 * std::max(1.0, std::abs(*v.value)));
    }
  }
  EXPECT_EQ(engine_.Snapshot(windows, now, "x").size(), 3u * 37);
  EXPECT_TRUE(engine_.Snapshot(windows, now, "nobody").empty());
}

TEST_F(WindowEngineTest, MemoryReportsCompactRecords) {
  for (int i = 0; i < 10'000; ++i) {
    Span s = MakeSpan(Cat("investigation-", i), Cat("agent-", i % 10), kT0 + i);
    s.labels = {{"env", "prod"}};
    s.tool_calls = i % 20;
    AddSpan(s);
  }
  const MemoryStats m = engine_.Memory();
  EXPECT_EQ(m.investigations, 10'000);
  EXPECT_EQ(m.agents, 10);
  const double per = static_cast<double>(m.bytes) / 10'000;
  EXPECT_GT(per, 128);  // at least the record itself
  EXPECT_LT(per, 400);
  std::printf("estimated bytes/investigation: %.1f\n", per);
}

}  // namespace
}  // namespace aw::windows
