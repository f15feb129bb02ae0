// The engine additions behind the statistics features: label values by
// first appearance (compare baseline: previous) and calibration bins.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "windows/window_engine.h"

namespace aw::windows {
namespace {

constexpr TimeMs kT0 = 1'764'000'000'000;
constexpr int64_t kMin = 60'000;

class WindowEngineStatsTest : public ::testing::Test {
 protected:
  WindowEngineStatsTest() : engine_(Pricing{}) {}
  void SpanAt(const std::string& id, const std::string& agent, TimeMs ts, Labels labels,
              std::optional<double> confidence = std::nullopt) {
    Span s;
    s.investigation_id = id;
    s.agent = agent;
    s.ts_ms = ts;
    s.labels = std::move(labels);
    s.confidence = confidence;
    ASSERT_TRUE(engine_.ApplySpan(s, ++seq_));
  }
  void Judge(const std::string& id, aw::Verdict v, TimeMs ts) {
    Feedback f;
    f.investigation_id = id;
    f.verdict = v;
    f.ts_ms = ts;
    engine_.ApplyFeedback(f, ++seq_);
  }
  WindowEngine engine_;
  int64_t seq_ = 0;
};

TEST_F(WindowEngineStatsTest, LabelValuesAreOrderedByEarliestTsNotArrival) {
  SpanAt("c", "ir", kT0 + 3 * kMin, {{"version", "v10"}, {"env", "prod"}});
  SpanAt("a", "ir", kT0 + 1 * kMin, {{"version", "v9"}, {"env", "prod"}});
  SpanAt("b", "ir", kT0 + 5 * kMin, {{"version", "v9"}, {"env", "prod"}});
  SpanAt("d", "ir", kT0 + 2 * kMin, {{"version", "v8"}, {"env", "dev"}});
  SpanAt("e", "ir", kT0, {{"env", "prod"}});  // no version: carries none
  SpanAt("f", "cb", kT0, {{"version", "x"}});
  auto all = engine_.LabelValuesByFirstSeen("version", {});
  EXPECT_EQ(all["ir"], (std::vector<std::string>{"v9", "v8", "v10"}));
  EXPECT_EQ(all["cb"], (std::vector<std::string>{"x"}));
  auto prod = engine_.LabelValuesByFirstSeen("version", {{"env", "prod"}});
  EXPECT_EQ(prod["ir"], (std::vector<std::string>{"v9", "v10"}));
  EXPECT_EQ(prod.count("cb"), 0u);
  auto one = engine_.LabelValuesByFirstSeen("version", {}, "cb");
  EXPECT_EQ(one.size(), 1u);
  EXPECT_EQ(engine_.LabelValuesByFirstSeen("version", {{"agent", "ir"}}).count("cb"), 0u);
  // Retention drops v9's first record: its next one (at +5m) now places it
  // after v10.
  engine_.PruneBefore(kT0 + 2 * kMin);
  EXPECT_EQ(engine_.LabelValuesByFirstSeen("version", {})["ir"],
            (std::vector<std::string>{"v8", "v10", "v9"}));
}

// The engine keeps each label set's earliest span as records arrive, move
// (a verdict-only record becoming a span) and are pruned; a brute-force scan
// over the same spans must always agree, whatever the arrival order.
TEST_F(WindowEngineStatsTest, FirstSeenOrderMatchesABruteForceScanUnderRandomArrivals) {
  struct Ref {
    std::string agent;
    Labels labels;
    TimeMs ts;
    int64_t seq;
  };
  for (uint32_t seed : {1u, 7u, 42u, 2024u}) {
    WindowEngine engine{Pricing{}};
    std::map<std::string, Ref> spans;  // the reference: spans held now
    std::mt19937 rng(seed);
    int64_t seq = 0;
    TimeMs cutoff = 0;
    const auto brute = [&](const Labels& where) {
      std::vector<const Ref*> sorted;
      for (const auto& [id, r] : spans) sorted.push_back(&r);
      std::sort(sorted.begin(), sorted.end(), [](const Ref* x, const Ref* y) {
        return std::tie(x->ts, x->seq) < std::tie(y->ts, y->seq);
      });
      std::map<std::string, std::vector<std::string>> out;
      for (const Ref* r : sorted) {
        bool passes = true;
        for (const auto& [k, v] : where) {
          const auto it = r->labels.find(k);
          if (it == r->labels.end() || it->second != v) passes = false;
        }
        const auto version = r->labels.find("version");
        if (!passes || version == r->labels.end()) continue;
        auto& values = out[r->agent];
        if (std::find(values.begin(), values.end(), version->second) == values.end()) {
          values.push_back(version->second);
        }
      }
      return out;
    };
    for (int i = 0; i < 3000; ++i) {
      // Appended, not "i" + ...: g++ 12 misreads that as an overlapping copy.
      std::string id(1, 'i');
      id += std::to_string(i);
      const std::string agent = rng() % 2 ? "ir" : "cb";
      Labels labels{{"env", rng() % 3 ? "prod" : "dev"}};
      // Time mostly moves forward, with stragglers up to ~10 h late.
      const TimeMs ts = kT0 + (3 * i - static_cast<TimeMs>(rng() % 600)) * kMin;
      // Versions follow time (with stragglers), so retention removes whole
      // versions and reorders the ones it cuts into.
      const int64_t era = (ts - kT0) / (1500 * kMin) + static_cast<int64_t>(rng() % 3);
      if (rng() % 8) labels["version"] = std::string(1, 'v').append(std::to_string(era));
      if (rng() % 5 == 0) {  // a verdict naming its agent first: placed verdict-only
        Feedback f;
        f.investigation_id = id;
        f.agent = agent;
        f.verdict = aw::Verdict::kConfirm;
        f.ts_ms = ts - static_cast<TimeMs>(rng() % 600) * kMin;
        engine.ApplyFeedback(f, ++seq);
      }
      Span s;
      s.investigation_id = id;
      s.agent = agent;
      s.ts_ms = ts;
      s.labels = labels;
      ASSERT_TRUE(engine.ApplySpan(s, ++seq));
      spans[id] = Ref{agent, labels, ts, seq};
      const bool prune = i % 500 == 499;
      if (prune) {  // retention drops what is over ~33 h old
        cutoff = ts - 2000 * kMin;
        engine.PruneBefore(cutoff);
        for (auto it = spans.begin(); it != spans.end();) {
          it = it->second.ts < cutoff ? spans.erase(it) : std::next(it);
        }
      }
      if (prune || i % 97 == 0 || i == 2999) {
        ASSERT_EQ(engine.LabelValuesByFirstSeen("version", {}), brute({})) << seed << " " << i;
        ASSERT_EQ(engine.LabelValuesByFirstSeen("version", {{"env", "prod"}}),
                  brute({{"env", "prod"}}))
            << seed << " " << i;
      }
    }
  }
}

TEST_F(WindowEngineStatsTest, CalibrationBinsCountOnlyReviewedConfidences) {
  SpanAt("a", "ir", kT0, {}, 0.95);
  SpanAt("b", "ir", kT0, {}, 1.0);
  SpanAt("c", "ir", kT0, {}, 0.3);
  SpanAt("d", "ir", kT0, {}, 0.5);  // no verdict: not counted
  SpanAt("e", "ir", kT0, {});       // no confidence: not counted
  Judge("a", aw::Verdict::kConfirm, kT0);
  Judge("b", aw::Verdict::kOverride, kT0);
  Judge("c", aw::Verdict::kOverride, kT0);
  Judge("e", aw::Verdict::kConfirm, kT0);
  const WindowSpec hour = *ParseWindow("1h", nullptr);
  const stats::CalibrationBins bins = engine_.Calibration("ir", hour, kT0 + kMin);
  EXPECT_EQ(bins[9].count, 2);
  EXPECT_EQ(bins[9].confirms, 1);
  EXPECT_DOUBLE_EQ(bins[9].confidence_sum, 1.95);
  EXPECT_EQ(bins[3].count, 1);
  EXPECT_EQ(bins[3].confirms, 0);
  EXPECT_EQ(bins[5].count, 0);
  // Outside the window, and for an unknown agent: empty.
  EXPECT_EQ(engine_.Calibration("ir", hour, kT0 + 61 * kMin)[9].count, 0);
  EXPECT_EQ(engine_.Calibration("nobody", hour, kT0)[9].count, 0);
  // The SLI agrees: ECE = 2/3 * |0.975 - 0.5| + 1/3 * |0.3 - 0|.
  SliQuery q;
  q.sli = Sli::kConfidenceEce;
  q.window = hour;
  const auto v = engine_.Compute(q, kT0 + kMin);
  ASSERT_EQ(v.size(), 1u);
  ASSERT_TRUE(v[0].value.has_value());
  EXPECT_NEAR(*v[0].value, 2.0 / 3 * 0.475 + 1.0 / 3 * 0.3, 1e-12);
  EXPECT_EQ(v[0].samples, 3);
}

}  // namespace
}  // namespace aw::windows
