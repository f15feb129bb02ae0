// A committed batch applied in one call (the writer's path, the lock taken
// per chunk of records) leaves the engine exactly as the same records
// applied one at a time with the same seqs: same snapshot rows, same
// touched agents, same stored seqs. Batches cross the chunk size and mix
// re-sent spans, verdicts before and after their span, verdicts naming an
// agent, and resolutions by investigation and by incident. A batch that
// resolves huge incidents lets the lock go after each few of them, and
// still applies every record once, in order.

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "windows/window_engine.h"

namespace aw::windows {
namespace {

constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kNow = 1'764'000'000'000;

auto RowKey(const SliRow& r) {
  return std::make_tuple(r.agent, r.labels, static_cast<int>(r.sli), r.window,
                         static_cast<int>(r.stat), r.value, r.samples);
}

TEST(ApplyCommitted, EqualsApplyingEachRecordInTurn) {
  std::vector<WindowSpec> windows;
  for (const char* w : {"1h", "24h", "48h", "50 investigations"}) {
    windows.push_back(*ParseWindow(w, nullptr));
  }
  for (uint32_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    const auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
    WindowEngine batched{Pricing{}}, one_by_one{Pricing{}};
    int64_t seq = 1;
    for (int batch = 0; batch < 12; ++batch) {
      std::vector<Span> spans;
      std::vector<Feedback> feedback;
      std::vector<Resolution> resolutions;
      // Every fourth batch holds resolutions only: the agents they touch
      // are not hidden among those the spans touched.
      const bool resolutions_only = batch % 4 == 3;
      for (int64_t i = resolutions_only ? 0 : pick(300); i > 0; --i) {
        Span s;
        s.investigation_id = "inv-" + std::to_string(pick(2000));  // re-sends among them
        s.agent = "agent-" + std::to_string(pick(40));
        s.ts_ms = kNow - pick(48 * kHour);
        s.tool_calls = pick(40);
        s.confidence = static_cast<double>(pick(101)) / 100;
        if (pick(4) == 0) s.incident_id = "INC-" + std::to_string(pick(50));
        if (pick(3) == 0) s.labels["team"] = pick(2) ? "a" : "b";
        spans.push_back(std::move(s));
      }
      for (int64_t i = resolutions_only ? 0 : pick(150); i > 0; --i) {
        Feedback f;
        f.investigation_id = "inv-" + std::to_string(pick(2500));  // some before their span
        f.verdict = pick(2) ? Verdict::kConfirm : Verdict::kOverride;
        f.ts_ms = kNow - pick(48 * kHour);
        if (pick(3) == 0) f.agent = "agent-" + std::to_string(pick(40));
        feedback.push_back(std::move(f));
      }
      for (int64_t i = pick(resolutions_only ? 8 : 60); i > 0; --i) {
        Resolution r;
        if (pick(2)) {
          r.investigation_id = "inv-" + std::to_string(pick(2500));
        } else {
          r.incident_id = "INC-" + std::to_string(pick(50));
        }
        r.resolved_at_ms = kNow - pick(24 * kHour);
        r.time_to_resolve_s = static_cast<double>(60 + pick(3600));
        resolutions.push_back(std::move(r));
      }
      std::set<std::string> touched_batched, touched_each;
      batched.ApplyCommitted(spans, feedback, resolutions, seq, &touched_batched);
      for (const Span& s : spans) one_by_one.ApplySpan(s, seq++, &touched_each);
      for (const Feedback& f : feedback) one_by_one.ApplyFeedback(f, seq++, &touched_each);
      for (const Resolution& r : resolutions) one_by_one.ApplyResolution(r, seq++, &touched_each);
      ASSERT_EQ(touched_batched, touched_each) << "seed " << seed << " batch " << batch;

      const auto a = batched.Snapshot(windows, kNow, "");
      const auto b = one_by_one.Snapshot(windows, kNow, "");
      ASSERT_EQ(a.size(), b.size()) << "seed " << seed << " batch " << batch;
      for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(RowKey(a[i]), RowKey(b[i]))
            << "seed " << seed << " batch " << batch << " row " << i << " agent " << a[i].agent;
      }
      for (int id = 0; id < 2000; id += 37) {
        const std::string inv = "inv-" + std::to_string(id);
        ASSERT_EQ(batched.SpanSeq(inv), one_by_one.SpanSeq(inv)) << inv;
      }
    }
  }
}

TEST(ApplyCommitted, ResolutionsOfHugeIncidentsLetTheLockGoAndApplyEveryRecordOnce) {
  WindowEngine batched{Pricing{}}, one_by_one{Pricing{}};
  int64_t seq = 1;
  std::vector<Span> spans;
  for (int i = 0; i < 9000; ++i) {  // three incidents of 3,000 spans: 2 resolutions per lock
    Span s;
    s.investigation_id = "big-" + std::to_string(i);
    s.agent = "agent-" + std::to_string(i % 7);
    s.ts_ms = kNow - (i * 7919 % (40 * kHour));
    s.confidence = (i * 37 % 101) / 100.0;
    s.duration_ms = i % 13 * 1000;
    s.incident_id = "INC-" + std::to_string(i % 3);
    spans.push_back(std::move(s));
  }
  std::vector<Resolution> resolutions;
  for (int k = 0; k < 20; ++k) {
    Resolution r;
    r.incident_id = "INC-" + std::to_string(k % 3);
    r.resolved_at_ms = kNow + k * 60'000;
    resolutions.push_back(std::move(r));
    if (k % 4 == 0) {  // and a span's own, among them
      Resolution own;
      own.investigation_id = "big-" + std::to_string(k * 97);
      own.resolved_at_ms = kNow + k;
      own.time_to_resolve_s = 30.0 * k;
      resolutions.push_back(std::move(own));
    }
  }
  std::set<std::string> touched_batched, touched_each;
  batched.ApplyCommitted(spans, {}, resolutions, seq, &touched_batched);
  for (const Span& s : spans) one_by_one.ApplySpan(s, seq++, &touched_each);
  for (const Resolution& r : resolutions) one_by_one.ApplyResolution(r, seq++, &touched_each);
  EXPECT_EQ(touched_batched, touched_each);
  for (const char* w : {"1h", "24h", "48h"}) {
    for (const std::string agent : {"", "agent-0", "agent-3"}) {
      SliQuery q;
      q.sli = Sli::kConfidenceResolutionCorrelation;
      q.window = *ParseWindow(w, nullptr);
      q.only_agent = agent;
      if (agent.empty()) q.by = {};
      const auto a = batched.Compute(q, kNow);
      const auto b = one_by_one.Compute(q, kNow);
      ASSERT_EQ(a.size(), b.size()) << w << " " << agent;
      for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].samples, b[i].samples) << w << " " << agent;
        ASSERT_EQ(a[i].value.has_value(), b[i].value.has_value()) << w << " " << agent;
        if (a[i].value) {
          EXPECT_NEAR(*a[i].value, *b[i].value, 1e-12) << w << " " << agent;
        }
      }
    }
  }
  for (int id = 0; id < 9000; id += 101) {
    const std::string inv = "big-" + std::to_string(id);
    ASSERT_EQ(batched.SpanSeq(inv), one_by_one.SpanSeq(inv)) << inv;
  }
}

}  // namespace
}  // namespace aw::windows
