// The engine under concurrent use, as the daemon uses it: one writer
// applying spans (out of ts order, so agents go unsorted), verdicts and
// resolutions, while several readers call Compute, Snapshot, Agents and
// Memory. Checked two ways: under ThreadSanitizer (scripts/tsan.sh) any
// reader that mutates shared state is reported; in any build, the figures
// read while writing must be ones some prefix of the writes can give
// (counts never exceed what was written, never go down), and the figures
// after the storm must equal those of an engine fed the same events on
// one thread (a lost or duplicated slot in a sort would show there).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "windows/window_engine.h"

namespace aw::windows {
namespace {

constexpr TimeMs kNow = 1'764'000'000'000;
constexpr TimeMs kHourMs = 3'600'000;
constexpr int kAgents = 4;
constexpr int kSpans = 6'000;

struct Events {
  std::vector<Span> spans;
  std::vector<Feedback> feedback;
  std::vector<Resolution> resolutions;
};

Events MakeEvents(uint32_t seed) {
  std::mt19937 rng(seed);
  Events e;
  for (int i = 0; i < kSpans; ++i) {
    Span s;
    s.investigation_id = "inv-" + std::to_string(i);
    s.agent = "agent-" + std::to_string(i % kAgents);
    s.ts_ms = kNow - static_cast<TimeMs>(rng() % (6 * kHourMs));  // arbitrary order
    s.tool_calls = static_cast<int64_t>(rng() % 30);
    s.input_tokens = static_cast<int64_t>(rng() % 5000);
    s.duration_ms = static_cast<int64_t>(rng() % 100'000);
    s.confidence = static_cast<double>(rng() % 100) / 100.0;
    s.incident_id = "inc-" + std::to_string(i % 500);
    e.spans.push_back(s);
    if (i % 3 == 0) {
      Feedback f;
      f.investigation_id = s.investigation_id;
      f.verdict = rng() % 4 == 0 ? Verdict::kOverride : Verdict::kConfirm;
      f.ts_ms = s.ts_ms + 1000;
      e.feedback.push_back(f);
    }
    if (i % 97 == 0) {
      Resolution r;
      r.incident_id = s.incident_id;
      r.resolved_at_ms = s.ts_ms + 600'000;
      r.time_to_resolve_s = static_cast<double>(rng() % 3600);
      e.resolutions.push_back(r);
    }
  }
  return e;
}

// Applies spans interleaved with their feedback and resolutions, in a
// fixed order (so seqs match between the two engines).
void Feed(WindowEngine& engine, const Events& e, std::atomic<int>* spans_done) {
  int64_t seq = 0;
  size_t f = 0, r = 0;
  for (size_t i = 0; i < e.spans.size(); ++i) {
    engine.ApplySpan(e.spans[i], ++seq);
    while (f < e.feedback.size() && e.feedback[f].investigation_id == e.spans[i].investigation_id) {
      engine.ApplyFeedback(e.feedback[f++], ++seq);
    }
    if (r < e.resolutions.size() && i % 97 == 0) engine.ApplyResolution(e.resolutions[r++], ++seq);
    if (spans_done != nullptr)
      spans_done->store(static_cast<int>(i + 1), std::memory_order_release);
  }
}

SliQuery Query(Sli sli, Stat stat, const std::string& window) {
  SliQuery q;
  q.sli = sli;
  q.stat = stat;
  q.window = *ParseWindow(window, nullptr);
  return q;
}

std::vector<WindowSpec> Windows() {
  return {*ParseWindow("1h", nullptr), *ParseWindow("24h", nullptr),
          *ParseWindow("100 investigations", nullptr)};
}

TEST(WindowEngineConcurrency, ReadersDuringWritesSeeConsistentFiguresAndEndEqual) {
  const Events events = MakeEvents(7);
  WindowEngine engine(Pricing{});
  std::atomic<int> spans_done{0};
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::atomic<int64_t> reads{0};

  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::vector<int64_t> last(kAgents, 0);
      while (!stop.load(std::memory_order_acquire)) {
        const int written_before = spans_done.load(std::memory_order_acquire);
        if (t % 2 == 0) {
          const auto values = engine.Compute(Query(Sli::kInvestigations, Stat::kNone, "24h"), kNow);
          const int written_after = spans_done.load(std::memory_order_acquire);
          int64_t total = 0;
          for (const SliValue& v : values) {
            const int a = std::stoi(v.group.at("agent").substr(6));
            const auto n = static_cast<int64_t>(v.value.value_or(0));
            if (n < last[static_cast<size_t>(a)]) ++violations;  // went down
            last[static_cast<size_t>(a)] = n;
            total += n;
          }
          // A record the writer finished before this read must be counted;
          // more than the writer has started cannot be.
          if (total < written_before || total > written_after + 1) ++violations;
        } else {
          (void)engine.Snapshot(Windows(), kNow);
          (void)engine.Compute(Query(Sli::kToolCalls, Stat::kP95, "100 investigations"), kNow);
          (void)engine.Agents();
          (void)engine.Memory();
          // Scrape-like pacing: readers that never pause starve the writer
          // (the shared lock prefers readers) and the test would crawl.
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        ++reads;
      }
    });
  }
  // Writes start once every reader has read at least once, so the reads
  // overlap the writes however the threads are scheduled.
  while (reads.load(std::memory_order_acquire) < 4) std::this_thread::yield();
  Feed(engine, events, &spans_done);
  stop.store(true, std::memory_order_release);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(reads.load(), 0);

  WindowEngine alone(Pricing{});
  Feed(alone, events, nullptr);
  const auto got = engine.Snapshot(Windows(), kNow);
  const auto want = alone.Snapshot(Windows(), kNow);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].agent, want[i].agent);
    EXPECT_EQ(got[i].sli, want[i].sli);
    EXPECT_EQ(got[i].window, want[i].window);
    EXPECT_EQ(got[i].stat, want[i].stat);
    EXPECT_EQ(got[i].samples, want[i].samples) << SliName(got[i].sli) << " " << got[i].window;
    EXPECT_EQ(got[i].value, want[i].value) << SliName(got[i].sli) << " " << got[i].window;
  }
  EXPECT_EQ(engine.Memory().investigations, kSpans);
}

// Readers only: with every agent left unsorted by the writes, many
// concurrent first reads must sort exactly once and agree.
TEST(WindowEngineConcurrency, ConcurrentFirstReadsOfUnsortedAgentsAgree) {
  const Events events = MakeEvents(11);
  for (int round = 0; round < 5; ++round) {
    WindowEngine engine(Pricing{});
    Feed(engine, events, nullptr);
    const SliQuery q = Query(Sli::kToolCalls, Stat::kP90, "100 investigations");
    std::vector<std::vector<SliValue>> results(6);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (size_t t = 0; t < results.size(); ++t) {
      threads.emplace_back([&, t] {
        ++ready;
        while (ready.load() < static_cast<int>(results.size())) {
        }
        results[t] = engine.Compute(q, kNow);
      });
    }
    for (std::thread& t : threads) t.join();
    WindowEngine alone(Pricing{});
    Feed(alone, events, nullptr);
    const auto want = alone.Compute(q, kNow);
    for (const auto& r : results) {
      ASSERT_EQ(r.size(), want.size());
      for (size_t i = 0; i < r.size(); ++i) {
        EXPECT_EQ(r[i].group, want[i].group);
        EXPECT_EQ(r[i].value, want[i].value);
        EXPECT_EQ(r[i].samples, want[i].samples);
      }
    }
  }
}

}  // namespace
}  // namespace aw::windows
