// SnapshotCache against a fresh WindowEngine::Snapshot: random streams of
// writes (spans in the past and future, verdicts before and after their
// spans, resolutions, replaced spans, prunes, pricing changes) interleaved
// with reads at increasing (sometimes equal, sometimes earlier) times; every
// read's rendered bytes must equal a render of the fresh rows. Plus: the
// cache really reuses, and the rendered /metrics text is what
// prometheus-cpp's TextSerializer writes for the same series.

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <random>

#include "exporters/external_labels.h"
#include "exporters/sli_render.h"
#include "windows/sli_views.h"

namespace aw::windows {
namespace {

constexpr TimeMs kT0 = 1'764'000'000'000;
constexpr TimeMs kMinute = 60'000;

std::vector<WindowSpec> Windows(const std::vector<std::string>& names) {
  std::vector<WindowSpec> out;
  for (const std::string& n : names) out.push_back(*ParseWindow(n, nullptr));
  return out;
}

exporters::SliRenderOptions Options() {
  exporters::SliRenderOptions o;
  o.external_labels = {{"replica", "a"}, {"agent", "never-overrides"}};
  return o;
}

SnapshotCache::Renderer RendererOf(const exporters::SliRenderOptions& o) {
  return [o](const std::vector<SliRow>& rows, RenderedAgent& out) {
    exporters::RenderSliBlock(rows, o, out);
  };
}

// What the reads serve, computed the old way from fresh rows: the JSON rows
// and the two families serialized by TextSerializer in one go.
std::pair<std::string, std::string> FreshOutput(const std::vector<SliRow>& rows,
                                                const exporters::SliRenderOptions& o) {
  std::string json;
  bool first = true;
  exporters::AppendSliRowsJson(rows, json, &first);
  auto families = exporters::SliFamilies(rows, o.selection);
  exporters::AddExternalLabels(families, o.external_labels);
  return {json, prometheus::TextSerializer().Serialize(families)};
}

std::pair<std::string, std::string> CachedOutput(const RenderedSnapshot& snap) {
  std::string json;
  bool first = true;
  exporters::AppendSliJson(snap, json, &first);
  std::string text;
  exporters::AppendSliFamiliesText(snap, text);
  return {json, text};
}

// A random stream of writes and reads; returns how many agent blocks were
// reused over all reads (so a caller can check the cache was exercised).
int64_t RunStream(uint32_t seed, const std::vector<WindowSpec>& windows, int steps) {
  std::mt19937_64 rng(seed);
  const auto pick = [&rng](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const std::vector<std::string> agents = {"ir", "triage", "rca", "pager", "z"};
  Pricing pricing{{"m1", ModelPrice{1, 2, 0, 0}}};
  WindowEngine engine(pricing);
  SnapshotCache cache;
  const exporters::SliRenderOptions options = Options();
  const auto render = RendererOf(options);
  TimeMs now = kT0;
  int64_t seq = 0;
  int ids = 0;
  int64_t reads = 0, reused = 0;
  const auto id_of = [&](int64_t i) { return "inv-" + std::to_string(i); };

  for (int step = 0; step < steps; ++step) {
    const int64_t op = pick(0, 99);
    if (op < 35) {  // a new span, mostly recent, some in the future or far back
      Span s;
      s.investigation_id = pick(0, 9) == 0 && ids > 0 ? id_of(pick(0, ids - 1)) : id_of(ids++);
      s.agent = agents[static_cast<size_t>(pick(0, 4))];
      s.ts_ms = now + pick(-90 * kMinute, 20 * kMinute);
      if (pick(0, 9) == 0) s.ts_ms = now - pick(0, 30 * 24 * 60 * kMinute);
      s.tool_calls = pick(0, 20);
      if (pick(0, 1)) s.duration_ms = pick(1, 100000);
      s.model = "m1";
      s.input_tokens = pick(0, 5000);
      s.output_tokens = pick(0, 500);
      if (pick(0, 3) == 0) s.cost_usd = static_cast<double>(pick(0, 100)) / 7.0;
      if (pick(0, 1)) s.confidence = static_cast<double>(pick(0, 100)) / 100.0;
      if (pick(0, 2) == 0) s.incident_id = "inc-" + std::to_string(pick(0, 9));
      if (pick(0, 3) == 0) s.labels = {{"env", pick(0, 1) ? "prod" : "dev"}};
      engine.ApplySpan(s, ++seq);
    } else if (op < 45 && ids > 0) {  // a replaced span: new values, maybe new agent and ts
      Span s;
      s.investigation_id = id_of(pick(0, ids - 1));
      s.agent = agents[static_cast<size_t>(pick(0, 4))];
      s.ts_ms = now + pick(-90 * kMinute, 10 * kMinute);
      s.tool_calls = pick(0, 20);
      s.model = "m1";
      s.input_tokens = pick(0, 5000);
      if (pick(0, 1)) s.incident_id = "inc-" + std::to_string(pick(0, 9));
      engine.ReplaceSpan(s);
    } else if (op < 70) {  // a verdict, before or after its span, naming its agent or not
      Feedback f;
      f.investigation_id = id_of(pick(0, ids + 5));  // some for spans not seen yet
      f.verdict = pick(0, 1) ? Verdict::kConfirm : Verdict::kOverride;
      f.ts_ms = now + pick(-60 * kMinute, 10 * kMinute);
      if (pick(0, 1)) f.agent = agents[static_cast<size_t>(pick(0, 4))];
      engine.ApplyFeedback(f, ++seq);
    } else if (op < 80) {  // a resolution, of an incident or one investigation
      Resolution r;
      if (pick(0, 1)) {
        r.incident_id = "inc-" + std::to_string(pick(0, 9));
      } else {
        r.investigation_id = id_of(pick(0, ids + 5));
      }
      r.resolved_at_ms = now + pick(-60 * kMinute, 60 * kMinute);
      if (pick(0, 1)) r.opened_at_ms = r.resolved_at_ms - pick(0, 60 * kMinute);
      if (pick(0, 2) == 0) r.time_to_resolve_s = static_cast<double>(pick(0, 5000));
      engine.ApplyResolution(r, ++seq);
    } else if (op < 83) {  // retention
      engine.PruneBefore(now - pick(0, 3 * 60 * kMinute));
    } else if (op < 85) {  // pricing changed
      pricing["m1"].input = static_cast<double>(pick(0, 10));
      engine.SetPricing(pricing);
    } else {  // a read: time mostly moves on, sometimes stands or goes back
      const int64_t t = pick(0, 9);
      if (t < 3) {
        now += 0;
      } else if (t < 8) {
        now += pick(1, 10 * kMinute);
      } else if (t < 9) {
        now += pick(1, 3 * 60 * kMinute);
      } else {
        now -= pick(1, kMinute);
      }
      const Rendered got =
          cache.Get(engine, windows, now, exporters::SliRenderKey(options), render);
      const auto want = FreshOutput(engine.Snapshot(windows, now), options);
      const auto have = CachedOutput(*got);
      EXPECT_EQ(have.first, want.first) << "seed " << seed << " step " << step << " now " << now;
      EXPECT_EQ(have.second, want.second) << "seed " << seed << " step " << step << " now " << now;
      if (have != want) return -1;  // one report per stream is enough
      ++reads;
      reused += static_cast<int64_t>(got->agents.size()) - cache.last_recomputed();
    }
  }
  EXPECT_GT(reads, steps / 10);
  return reused;
}

TEST(SnapshotCachePropertyTest, EqualsAFreshSnapshotAtEveryRead) {
  const std::vector<std::vector<WindowSpec>> window_sets = {
      Windows({"1h", "5m", "10 investigations"}),
      Windows({"24h", "3 investigations"}),
      Windows({"15m"}),
      Windows({"1 investigations", "7d"}),
  };
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    const auto& w = window_sets[seed % window_sets.size()];
    const int64_t reused = RunStream(seed, w, 1500);
    ASSERT_GE(reused, 0) << "seed " << seed;
    EXPECT_GT(reused, 0) << "seed " << seed << ": the cache never reused a block";
  }
}

Span SpanAt(const std::string& id, const std::string& agent, TimeMs ts, int64_t tools) {
  Span s;
  s.investigation_id = id;
  s.agent = agent;
  s.ts_ms = ts;
  s.tool_calls = tools;
  return s;
}

TEST(SnapshotCacheTest, RecomputesOnlyTheAgentsAWriteOrTheClockChanged) {
  WindowEngine engine(Pricing{});
  SnapshotCache cache;
  const auto w = Windows({"1h", "10 investigations"});
  const exporters::SliRenderOptions options = Options();
  const std::string key = exporters::SliRenderKey(options);
  const auto render = RendererOf(options);
  engine.ApplySpan(SpanAt("a1", "a", kT0, 1), 1);
  engine.ApplySpan(SpanAt("b1", "b", kT0 + 10 * kMinute, 2), 2);
  engine.ApplySpan(SpanAt("c1", "c", kT0 + 20 * kMinute, 3), 3);
  const auto check = [&](TimeMs now, int64_t recomputed, size_t agents) {
    const Rendered got = cache.Get(engine, w, now, key, render);
    EXPECT_EQ(cache.last_recomputed(), recomputed) << "at " << now - kT0;
    EXPECT_EQ(got->agents.size(), agents);
    EXPECT_EQ(CachedOutput(*got), FreshOutput(engine.Snapshot(w, now), options));
    return got;
  };

  const TimeMs now = kT0 + 30 * kMinute;
  const Rendered first = check(now, 3, 3);
  check(now, 0, 3);                // nothing changed
  check(now + 5 * kMinute, 0, 3);  // time moved, no record entered or left
  // One write to one agent: only that agent.
  engine.ApplySpan(SpanAt("b2", "b", kT0 + 25 * kMinute, 4), 4);
  const Rendered second = check(now + 5 * kMinute, 1, 3);
  EXPECT_EQ(second->agents[0].get(), first->agents[0].get());  // the very same block
  EXPECT_NE(second->agents[1].get(), first->agents[1].get());
  // a1 leaves the 1h window at kT0 + 1h: only "a", and only from then on.
  check(kT0 + 60 * kMinute - 1, 0, 3);
  check(kT0 + 60 * kMinute, 1, 3);
  // A span in the future of "c" enters when its time comes.
  engine.ApplySpan(SpanAt("c2", "c", kT0 + 70 * kMinute, 5), 5);
  check(kT0 + 60 * kMinute, 1, 3);
  check(kT0 + 70 * kMinute - 1, 0, 3);
  check(kT0 + 70 * kMinute, 2, 3);  // c2 enters, and b1 (at 10 min) leaves the 1h window
  // Time going back recomputes the blocks rendered after it ("b" and "c");
  // "a", rendered at 60 min and valid from then on, stays.
  check(kT0 + 65 * kMinute, 2, 3);
  // Pruning "a" to nothing: it vanishes; "b" and "c" are untouched.
  engine.PruneBefore(kT0 + 5 * kMinute);
  check(kT0 + 65 * kMinute, 0, 2);
  // Other windows or another render key: everything again.
  check(kT0 + 65 * kMinute, 0, 2);
  cache.Get(engine, Windows({"1h"}), kT0 + 65 * kMinute, key, render);
  EXPECT_EQ(cache.last_recomputed(), 2);
  exporters::SliRenderOptions no_samples = options;
  no_samples.selection.samples = false;
  const Rendered plain = cache.Get(engine, Windows({"1h"}), kT0 + 65 * kMinute,
                                   exporters::SliRenderKey(no_samples), RendererOf(no_samples));
  EXPECT_EQ(cache.last_recomputed(), 2);
  EXPECT_TRUE(plain->agents[0]->samples.empty());
}

TEST(SliRenderTest, BlocksConcatenateToTheSerializersText) {
  WindowEngine engine(Pricing{});
  Span s = SpanAt("a", "ir\"x\\", kT0, 3);  // a name that needs escaping
  s.cost_usd = 0.1;
  engine.ApplySpan(s, 1);
  engine.ApplySpan(SpanAt("b", "triage", kT0, 5), 2);
  const auto w = Windows({"1h", "5 investigations"});
  exporters::SliRenderOptions o = Options();
  o.selection =
      exporters::MakeSelection({Sli::kToolCalls, Sli::kCostUsd}, {Stat::kP95}, {"1h"}, w, true);
  SnapshotCache cache;
  const Rendered got = cache.Get(engine, w, kT0 + 1, exporters::SliRenderKey(o), RendererOf(o));
  const auto rows = engine.Snapshot(w, kT0 + 1);
  const auto want = FreshOutput(rows, o);
  EXPECT_EQ(CachedOutput(*got), want);
  // The selection really narrowed it, and the external label is on each series.
  EXPECT_NE(want.second.find("agent=\"triage\",sli=\"tool_calls\",window=\"1h\",stat=\"p95\","
                             "replica=\"a\"} 5"),
            std::string::npos)
      << want.second;
  EXPECT_EQ(want.second.find("5 investigations"), std::string::npos);
  EXPECT_EQ(want.second.find("# HELP agentwatch_sli "), 0u);
}

}  // namespace
}  // namespace aw::windows
