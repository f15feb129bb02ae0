// SnapshotCache: exact at every `now` (no ttl), recomputing only on a
// write, a window change or a record entering or leaving a window (more in
// snapshot_cache_property_test.cc). RuleRows: only the rule queries the
// sli_windows rows do not carry; RuleRowsCache serves them exactly at every
// `now` while rendering only when a write or the clock moved a figure.

#include <gtest/gtest.h>

#include <random>

#include "exporters/sli_render.h"
#include "windows/sli_views.h"

namespace aw::windows {
namespace {

constexpr TimeMs kT0 = 1'764'000'000'000;

Span SpanAt(const std::string& id, const std::string& agent, TimeMs ts, int64_t tools) {
  Span s;
  s.investigation_id = id;
  s.agent = agent;
  s.ts_ms = ts;
  s.tool_calls = tools;
  return s;
}

std::vector<WindowSpec> Windows(const std::vector<std::string>& names) {
  std::vector<WindowSpec> out;
  for (const std::string& n : names) out.push_back(*ParseWindow(n, nullptr));
  return out;
}

// The JSON rows a read of the cache serves, and those of a fresh Snapshot.
std::string CachedJson(SnapshotCache& cache, const WindowEngine& engine,
                       const std::vector<WindowSpec>& w, TimeMs now) {
  const Rendered r =
      cache.Get(engine, w, now, "", [](const std::vector<SliRow>& rows, RenderedAgent& out) {
        bool first = true;
        exporters::AppendSliRowsJson(rows, out.json, &first);
      });
  std::string out;
  bool first = true;
  exporters::AppendSliJson(*r, out, &first);
  return out;
}

std::string FreshJson(const WindowEngine& engine, const std::vector<WindowSpec>& w, TimeMs now) {
  std::string out;
  bool first = true;
  exporters::AppendSliRowsJson(engine.Snapshot(w, now), out, &first);
  return out;
}

// No ttl: a record leaving a window shows at the very millisecond it leaves,
// and a write shows at once; in between, nothing is recomputed.
TEST(SnapshotCacheTest, ExactAtEveryNowWithoutATtl) {
  WindowEngine engine(Pricing{});
  SnapshotCache cache;
  const auto w = Windows({"1h", "10 investigations"});
  engine.ApplySpan(SpanAt("a", "ir", kT0, 3), 1);

  EXPECT_EQ(CachedJson(cache, engine, w, kT0 + 10), FreshJson(engine, w, kT0 + 10));
  EXPECT_EQ(cache.recomputed(), 1);
  EXPECT_EQ(CachedJson(cache, engine, w, kT0 + 3'599'999), FreshJson(engine, w, kT0 + 3'599'999));
  EXPECT_EQ(cache.recomputed(), 1);
  const std::string gone = CachedJson(cache, engine, w, kT0 + 3'600'000);  // "a" left the 1h window
  EXPECT_EQ(gone, FreshJson(engine, w, kT0 + 3'600'000));
  EXPECT_EQ(cache.recomputed(), 2);
  engine.ApplySpan(SpanAt("b", "ir", kT0 + 3'000'000, 9), 2);
  EXPECT_EQ(CachedJson(cache, engine, w, kT0 + 3'600'000), FreshJson(engine, w, kT0 + 3'600'000));
  EXPECT_EQ(cache.recomputed(), 3);
  // Renamed windows: recomputed, and the rows carry the new name.
  auto renamed = Windows({"1h"});
  renamed[0].name = "60m";
  EXPECT_NE(CachedJson(cache, engine, renamed, kT0 + 3'600'000).find("\"window\":\"60m\""),
            std::string::npos);
  EXPECT_EQ(cache.recomputed(), 4);
}

void JsonRender(const std::vector<SliRow>& rows, RenderedAgent& out) {
  bool first = true;
  exporters::AppendSliRowsJson(rows, out.json, &first);
}

// Warm renders a few stale agents at a time; a read then renders none of
// them again and serves exactly what a fresh Snapshot gives.
TEST(SnapshotCacheTest, WarmRendersStaleAgentsAFewAtATime) {
  WindowEngine engine(Pricing{});
  SnapshotCache cache;
  const auto w = Windows({"1h", "10 investigations"});
  for (int i = 0; i < 10; ++i) {
    engine.ApplySpan(SpanAt("s" + std::to_string(i), "agent-" + std::to_string(i), kT0 + i, i), i);
  }
  const TimeMs now = kT0 + 100;
  EXPECT_EQ(cache.Warm(engine, w, now, "", JsonRender, 4), 4u);
  EXPECT_EQ(cache.Warm(engine, w, now, "", JsonRender, 4), 4u);
  EXPECT_EQ(cache.Warm(engine, w, now, "", JsonRender, 4), 2u);  // none left after these
  EXPECT_EQ(cache.Warm(engine, w, now, "", JsonRender, 4), 0u);
  EXPECT_EQ(cache.recomputed(), 10);
  EXPECT_EQ(CachedJson(cache, engine, w, now), FreshJson(engine, w, now));
  EXPECT_EQ(cache.last_recomputed(), 0);

  // One write, one stale agent; a record leaving the 1h window, another.
  engine.ApplySpan(SpanAt("t", "agent-3", kT0 + 50, 7), 20);
  EXPECT_EQ(cache.Warm(engine, w, now, "", JsonRender, 4), 1u);
  EXPECT_EQ(CachedJson(cache, engine, w, now), FreshJson(engine, w, now));
  EXPECT_EQ(cache.last_recomputed(), 0);
  const TimeMs later = kT0 + 3'600'000;  // "s0" (at kT0) leaves agent-0's 1h window
  EXPECT_EQ(cache.Warm(engine, w, later, "", JsonRender, 4), 1u);
  EXPECT_EQ(CachedJson(cache, engine, w, later), FreshJson(engine, w, later));
  EXPECT_EQ(cache.last_recomputed(), 0);
}

TEST(RuleRowsTest, AddsOnlyQueriesTheSliWindowsDoNotCarry) {
  WindowEngine engine(Pricing{});
  Span s = SpanAt("a", "ir", kT0, 3);
  s.labels = {{"env", "prod"}};
  s.finish_reason = "max_tokens";
  engine.ApplySpan(s, 1);
  engine.ApplySpan(SpanAt("b", "triage", kT0, 5), 2);
  const auto w = Windows({"1h"});

  SliQuery covered;  // by agent, 1h: the sli_windows rows have it
  covered.sli = Sli::kToolCalls;
  covered.stat = Stat::kP95;
  covered.window = w[0];
  SliQuery by_env = covered;
  by_env.by = {"agent", "env"};
  SliQuery finish;
  finish.sli = Sli::kFinishReasonRate;
  finish.match = "max_tokens";
  finish.window = w[0];

  const auto rows = RuleRows(engine, w, {covered, by_env, finish}, kT0 + 1, "");
  // by_env: one row per (agent, env); finish: one per agent.
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].agent, "ir");
  EXPECT_EQ(rows[0].labels, (Labels{{"env", "prod"}}));
  EXPECT_EQ(rows[0].value, 3);
  EXPECT_EQ(rows[1].agent, "triage");
  EXPECT_EQ(rows[1].labels, (Labels{{"env", ""}}));
  EXPECT_EQ(rows[2].labels, (Labels{{"finish_reason", "max_tokens"}}));
  EXPECT_EQ(rows[2].agent, "ir");
  EXPECT_EQ(rows[2].value, 1.0);
  EXPECT_EQ(rows[3].value, 0.0);

  const auto one = RuleRows(engine, w, {covered, by_env, finish}, kT0 + 1, "triage");
  ASSERT_EQ(one.size(), 2u);
  for (const SliRow& r : one) EXPECT_EQ(r.agent, "triage");
}

std::string RuleRowsJson(const std::vector<SliRow>& rows) {
  std::string out;
  bool first = true;
  exporters::AppendSliRowsJson(rows, out, &first);
  return out;
}

// Rule queries of every kind the cache must keep exact: a label group, a
// count window, an offset (compare) window, a fleet window and one agent.
std::vector<SliQuery> MixedRuleQueries() {
  SliQuery by_env;
  by_env.sli = Sli::kToolCalls;
  by_env.stat = Stat::kP95;
  by_env.window = *ParseWindow("1h", nullptr);
  by_env.by = {"agent", "env"};
  SliQuery last5 = by_env;
  last5.by = {"agent"};
  last5.window = *ParseWindow("5 investigations", nullptr);
  SliQuery yesterday;
  yesterday.sli = Sli::kInvestigations;
  yesterday.window = *ParseWindow("30m", nullptr);
  yesterday.offset = Millis(45 * 60'000);
  SliQuery fleet;
  fleet.sli = Sli::kCostUsd;
  fleet.window = *ParseWindow("2h", nullptr);
  fleet.by = {};
  SliQuery one_agent = fleet;
  one_agent.sli = Sli::kInvestigations;
  one_agent.window = *ParseWindow("20m", nullptr);
  one_agent.where = {{"agent", "a1"}};
  return {by_env, last5, yesterday, fleet, one_agent};
}

// Spans arrive now and then (some late, some ahead within skew) while time
// moves in steps of a few seconds and now and then up to 20 minutes: after every step the cached
// text must equal rows computed afresh, and it must have been reused in between.
TEST(RuleRowsCacheTest, ExactAtEveryNowAndReusedWhileNothingMoves) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    std::mt19937 rng(seed);
    WindowEngine engine(Pricing{});
    RuleRowsCache cache;
    const auto w = Windows({"1h"});
    const std::vector<SliQuery> queries = MixedRuleQueries();
    const auto render = [](const std::vector<SliRow>& rows, std::string& out) {
      bool first = true;
      exporters::AppendSliRowsJson(rows, out, &first);
    };
    TimeMs now = kT0;
    int64_t reads = 0;
    int64_t small_steps = 0;  // reads that should mostly be served as cached
    for (int step = 0; step < 400; ++step) {
      const int op = static_cast<int>(rng() % 10);
      if (op < 3) {
        Span s = SpanAt("s" + std::to_string(step), "a" + std::to_string(rng() % 3),
                        now - static_cast<TimeMs>(rng() % 3'600'000) + 60'000,
                        static_cast<int64_t>(rng() % 40));
        s.labels = {{"env", rng() % 2 ? "prod" : "dev"}};
        s.cost_usd = 0.25 * static_cast<double>(rng() % 8);
        engine.ApplySpan(s, step + 1);
      } else {
        now += static_cast<TimeMs>(rng() % (op < 8 ? 5'000 : 1'200'000));
        small_steps += op < 8;
      }
      const std::string cached = *cache.Get(engine, w, queries, now, render);
      ASSERT_EQ(cached, RuleRowsJson(RuleRows(engine, w, queries, now, "")))
          << "seed " << seed << " step " << step;
      ++reads;
    }
    EXPECT_GT(reads - cache.rendered(), small_steps / 2) << "seed " << seed;
    EXPECT_GT(cache.rendered(), 10) << "seed " << seed;
  }
}

// Another set of rule queries (a reload) is rendered at once, not served
// from what the old ones rendered.
TEST(RuleRowsCacheTest, OtherQueriesAreRenderedAfresh) {
  WindowEngine engine(Pricing{});
  engine.ApplySpan(SpanAt("a", "a1", kT0, 3), 1);
  RuleRowsCache cache;
  const auto w = Windows({"1h"});
  const auto render = [](const std::vector<SliRow>& rows, std::string& out) {
    out = RuleRowsJson(rows);
  };
  std::vector<SliQuery> queries = MixedRuleQueries();
  const std::string before = *cache.Get(engine, w, queries, kT0 + 1, render);
  queries[0].stat = Stat::kMax;
  const std::string after = *cache.Get(engine, w, queries, kT0 + 1, render);
  EXPECT_EQ(cache.rendered(), 2);
  EXPECT_NE(before, after);
  EXPECT_EQ(after, RuleRowsJson(RuleRows(engine, w, queries, kT0 + 1, "")));
}

}  // namespace
}  // namespace aw::windows
