// An agent's records stay in (ts, seq) order however they arrive: a record a
// little late is put in its place by the writer, one far out of order marks
// the agent for a sort before the next read, and a verdict-only record that
// its span moves goes to its new place. Count windows read that order
// directly (the latest N), so any slip shows in their figures.

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "windows/window_engine.h"

namespace aw::windows {
namespace {

constexpr TimeMs kT0 = 1'764'000'000'000;
constexpr TimeMs kSec = 1000;

struct Sent {
  TimeMs ts;
  int64_t seq;
  int64_t tool;
};

WindowSpec Count(int64_t n) {
  WindowSpec w;
  w.kind = WindowSpec::Kind::kCount;
  w.count = n;
  w.name = "n";
  return w;
}

WindowSpec Time(TimeMs ms) {
  WindowSpec w;
  w.kind = WindowSpec::Kind::kTime;
  w.duration = Millis(ms);
  w.name = "t";
  return w;
}

std::optional<double> One(const WindowEngine& e, Sli sli, Stat stat, const WindowSpec& w,
                          TimeMs now) {
  SliQuery q;
  q.sli = sli;
  q.stat = stat;
  q.window = w;
  auto v = e.Compute(q, now);
  if (v.empty()) return std::nullopt;
  return v[0].value;
}

// The latest n of `sent` (by ts, then seq) with ts <= now: their tool calls.
std::vector<int64_t> LatestTools(std::vector<Sent> sent, size_t n, TimeMs now) {
  std::sort(sent.begin(), sent.end(), [](const Sent& a, const Sent& b) {
    return std::tie(a.ts, a.seq) < std::tie(b.ts, b.seq);
  });
  std::vector<int64_t> out;
  for (auto it = sent.rbegin(); it != sent.rend() && out.size() < n; ++it) {
    if (it->ts <= now) out.push_back(it->tool);
  }
  return out;
}

// Sends `ts_order` as spans of one agent, reading a count window, its
// first/last values and a time window after every `read_every` spans.
void SendAndCheck(const std::vector<TimeMs>& ts_order, size_t read_every) {
  WindowEngine e(Pricing{});
  std::vector<Sent> sent;
  int64_t seq = 0;
  for (size_t i = 0; i < ts_order.size(); ++i) {
    Span s;
    s.investigation_id = "inv-" + std::to_string(i);
    s.agent = "a";
    s.ts_ms = ts_order[i];
    s.tool_calls = static_cast<int64_t>(i % 53);
    ASSERT_TRUE(e.ApplySpan(s, seq, nullptr));
    ASSERT_TRUE(e.MisorderedAgents().empty()) << "after " << i + 1 << " spans";
    sent.push_back({s.ts_ms, seq, *s.tool_calls});
    ++seq;
    if ((i + 1) % read_every != 0 && i + 1 != ts_order.size()) continue;
    const TimeMs latest = std::max_element(sent.begin(), sent.end(), [](auto& x, auto& y) {
                            return x.ts < y.ts;
                          })->ts;
    for (TimeMs now : {latest, latest - 500 * kSec}) {
      const auto tools = LatestTools(sent, 100, now);
      const auto max = One(e, Sli::kToolCalls, Stat::kMax, Count(100), now);
      if (tools.empty()) continue;
      ASSERT_TRUE(max.has_value()) << "after " << i + 1 << " spans";
      EXPECT_EQ(*max, static_cast<double>(*std::max_element(tools.begin(), tools.end())))
          << "after " << i + 1 << " spans, now " << now - kT0;
      double sum = 0;
      for (int64_t t : tools) sum += static_cast<double>(t);
      EXPECT_DOUBLE_EQ(*One(e, Sli::kToolCalls, Stat::kMean, Count(100), now),
                       sum / static_cast<double>(tools.size()))
          << "after " << i + 1 << " spans";
      int64_t in_hour = 0;
      for (const Sent& x : sent) in_hour += x.ts > now - 3600 * kSec && x.ts <= now;
      EXPECT_EQ(One(e, Sli::kInvestigations, Stat::kNone, Time(3600 * kSec), now),
                static_cast<double>(in_hour));
    }
  }
}

TEST(WindowEngineOrder, SpansALittleLateArePutInTheirPlace) {
  // Each span up to 40 places late, as a lagging exporter sends them.
  std::mt19937_64 rng(7);
  std::vector<TimeMs> ts;
  for (int i = 0; i < 3000; ++i) ts.push_back(kT0 + i * 10 * kSec);
  for (size_t i = 0; i + 1 < ts.size(); ++i) {
    std::swap(ts[i], ts[std::min(ts.size() - 1, i + rng() % 40)]);
  }
  SendAndCheck(ts, 13);
}

TEST(WindowEngineOrder, SpansFarOutOfOrderAreSortedBeforeTheNextRead) {
  // 12,000 spans of one agent: beyond the writer's reach, a reversed tail
  // and a shuffle, with reads in between so sorted and unsorted states mix.
  std::vector<TimeMs> ts;
  for (int i = 0; i < 6000; ++i) ts.push_back(kT0 + (6000 + i) * kSec);
  for (int i = 5999; i >= 0; --i) ts.push_back(kT0 + i * kSec);  // all before the first
  std::vector<TimeMs> shuffled;
  for (int i = 0; i < 6000; ++i) shuffled.push_back(kT0 + 12000 * kSec + i * 7 * kSec);
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(11));
  ts.insert(ts.end(), shuffled.begin(), shuffled.end());
  SendAndCheck(ts, 997);
}

TEST(WindowEngineOrder, ABulkLoadSortsOnceAtItsEnd) {
  // A rebuild replays in arrival order: records a few places late still go
  // to their place, those further back wait for one sort at the end.
  WindowEngine e(Pricing{});
  e.BulkLoad(true);
  std::vector<Sent> sent;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 4000; ++i) {
    Span s;
    s.investigation_id = "inv-" + std::to_string(i);
    s.agent = i % 2 == 0 ? "near" : "far";
    // "near": at most 3 places late; "far": anywhere in the first hour.
    const TimeMs late = i % 2 == 0 ? static_cast<TimeMs>(rng() % 3) * 2 * kSec
                                   : static_cast<TimeMs>(rng() % 3600) * kSec;
    s.ts_ms = kT0 + 3600 * kSec + i * kSec - late;
    s.tool_calls = i % 17;
    ASSERT_TRUE(e.ApplySpan(s, i, nullptr));
  }
  EXPECT_EQ(e.UnsortedAgents(), 1u);  // "far" only
  EXPECT_TRUE(e.MisorderedAgents().empty());
  e.BulkLoad(false);
  EXPECT_EQ(e.UnsortedAgents(), 0u);
  EXPECT_TRUE(e.MisorderedAgents().empty());
}

TEST(WindowEngineOrder, AVerdictOnlyRecordMovesToItsSpan) {
  // Verdicts that name their agent count at once, placed at their own ts;
  // each span then moves its record to the span's ts: a little back, far
  // back, a little forward or far forward.
  WindowEngine e(Pricing{});
  int64_t seq = 0;
  struct Placed {
    TimeMs ts;
    std::optional<int64_t> tool;  // spans only
    bool override_verdict;
  };
  const int kN = 10000;
  const auto verdict_ts = [](int i) { return kT0 + (100000 + i) * kSec; };
  const auto is_override = [](int i) { return i % 3 == 0; };
  for (int i = 0; i < kN; ++i) {
    Feedback f;
    f.investigation_id = "inv-" + std::to_string(i);
    f.agent = "a";
    f.verdict = is_override(i) ? Verdict::kOverride : Verdict::kConfirm;
    f.ts_ms = verdict_ts(i);
    e.ApplyFeedback(f, seq++, nullptr);
    ASSERT_TRUE(e.MisorderedAgents().empty()) << "after " << i + 1 << " verdicts";
  }
  std::vector<Placed> spans;
  for (int i = 0; i < kN; ++i) {
    const TimeMs shifts[4] = {verdict_ts(i) - 3 * kSec, kT0 + i * kSec,
                              verdict_ts(i) + 2 * kSec + 500, kT0 + (300000 + i) * kSec};
    Span s;
    s.investigation_id = "inv-" + std::to_string(i);
    s.agent = "a";
    s.ts_ms = shifts[i % 4];
    s.tool_calls = i;
    ASSERT_TRUE(e.ApplySpan(s, seq++, nullptr));
    ASSERT_TRUE(e.MisorderedAgents().empty()) << "after " << i + 1 << " spans";
    spans.push_back({s.ts_ms, i, is_override(i)});
    if (i % 250 != 249) continue;
    std::vector<Placed> placed = spans;  // and the verdicts still waiting
    for (int j = i + 1; j < kN; ++j)
      placed.push_back({verdict_ts(j), std::nullopt, is_override(j)});
    std::sort(placed.begin(), placed.end(),
              [](const Placed& x, const Placed& y) { return x.ts < y.ts; });
    for (TimeMs now : {kT0 + i * kSec, verdict_ts(i), kT0 + 400000 * kSec}) {
      // The latest 60 records at or before now.
      auto end = std::upper_bound(placed.begin(), placed.end(), now,
                                  [](TimeMs t, const Placed& p) { return t < p.ts; });
      auto begin = end - std::min<ptrdiff_t>(60, end - placed.begin());
      int overrides = 0;
      int64_t tools = 0, tool_n = 0;
      for (auto it = begin; it != end; ++it) {
        overrides += it->override_verdict;
        if (it->tool) tools += *it->tool, ++tool_n;
      }
      ASSERT_GT(end - begin, 0);
      EXPECT_DOUBLE_EQ(*One(e, Sli::kOverrideRate, Stat::kNone, Count(60), now),
                       overrides / static_cast<double>(end - begin))
          << "after " << i + 1 << " spans, now " << now - kT0;
      const auto mean = One(e, Sli::kToolCalls, Stat::kMean, Count(60), now);
      if (tool_n == 0) {
        EXPECT_FALSE(mean.has_value());
      } else {
        ASSERT_TRUE(mean.has_value());
        EXPECT_DOUBLE_EQ(*mean, static_cast<double>(tools) / static_cast<double>(tool_n))
            << "after " << i + 1 << " spans, now " << now - kT0;
      }
    }
  }
}

}  // namespace
}  // namespace aw::windows
