// SnapshotCache: rebuilt exactly when a write, a window change or `ttl` of
// the caller's clock says so, and then equal to a fresh Snapshot. RuleRows:
// only the rule queries the sli_windows rows do not carry.

#include <gtest/gtest.h>

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

void ExpectSame(const std::vector<SliRow>& a, const std::vector<SliRow>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].agent, b[i].agent);
    EXPECT_EQ(a[i].sli, b[i].sli);
    EXPECT_EQ(a[i].window, b[i].window);
    EXPECT_EQ(a[i].stat, b[i].stat);
    EXPECT_EQ(a[i].value, b[i].value);
    EXPECT_EQ(a[i].samples, b[i].samples);
  }
}

TEST(SnapshotCacheTest, RebuildsOnWriteWindowChangeAndTtlOnly) {
  WindowEngine engine(Pricing{});
  SnapshotCache cache(Millis(1000));
  const auto w = Windows({"1h", "10 investigations"});
  engine.ApplySpan(SpanAt("a", "ir", kT0, 3), 1);

  const SliRows first = cache.Get(engine, w, kT0 + 10);
  EXPECT_EQ(cache.builds(), 1);
  ExpectSame(*first, engine.Snapshot(w, kT0 + 10));
  const std::vector<SliRow> first_copy = *first;
  // Same version, within ttl: the same rows, not rebuilt.
  EXPECT_EQ(cache.Get(engine, w, kT0 + 999 + 10).get(), first.get());
  EXPECT_EQ(cache.builds(), 1);
  // A write: rebuilt at once, and it shows the write.
  engine.ApplySpan(SpanAt("b", "ir", kT0 + 5, 9), 2);
  const SliRows second = cache.Get(engine, w, kT0 + 20);
  EXPECT_EQ(cache.builds(), 2);
  ExpectSame(*second, engine.Snapshot(w, kT0 + 20));
  // ttl of clock time passed: rebuilt (records age out of time windows).
  const TimeMs later = kT0 + 3'600'000 + 5;                         // "a" has left the 1h window
  EXPECT_EQ(cache.Get(engine, w, kT0 + 1019).get(), second.get());  // 999 ms after its build
  EXPECT_EQ(cache.builds(), 2);
  cache.Get(engine, w, kT0 + 1020);
  EXPECT_EQ(cache.builds(), 3);
  ExpectSame(*cache.Get(engine, w, later), engine.Snapshot(w, later));
  EXPECT_EQ(cache.builds(), 4);
  // Other windows (or the same windows renamed): rebuilt.
  cache.Get(engine, Windows({"1h"}), later);
  EXPECT_EQ(cache.builds(), 5);
  auto renamed = Windows({"1h"});
  renamed[0].name = "60m";
  EXPECT_EQ(cache.Get(engine, renamed, later)->front().window, "60m");
  EXPECT_EQ(cache.builds(), 6);
  // The rows handed out earlier are untouched by the rebuilds.
  ExpectSame(*first, first_copy);
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

}  // namespace
}  // namespace aw::windows
