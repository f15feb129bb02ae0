// Windows engine bench: insert cost, Snapshot cost, per-SLI Compute cost.
// A plain executable, not a test:  bench_windows [agents] [per_agent]
// Defaults: 1,000 agents x 1,000 investigations spread over 7 days,
// inserted in random ts order (as a restart replay may deliver them).

#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/text_serializer.h>

#include "exporters/sli_render.h"
#include "windows/sli_views.h"
#include "windows/window_engine.h"

namespace {

using aw::Sli;
using aw::Stat;
using aw::TimeMs;
// Thread CPU time: the machine is shared, so wall time would measure the
// neighbours too. (The snapshot line also prints wall time.)
struct Clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<Clock>;
  static time_point now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return time_point(duration(static_cast<rep>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec));
  }
};

constexpr TimeMs kT0 = 1'764'000'000'000;
constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kWeek = 7 * 24 * kHour;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

aw::WindowSpec Time(TimeMs ms, const char* name) {
  aw::WindowSpec w;
  w.duration = aw::Millis(ms);
  w.name = name;
  return w;
}

std::string Cat(std::string prefix, int64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

// Allocated heap: small chunks plus mmapped ones (big vectors).
size_t HeapBytes() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

// A whole read of the SLI rows as /metrics and /api/v1/slis serve them:
// before (a full Snapshot, then the JSON and the serializer's text of
// every row) and through the per-agent SnapshotCache with 0, 1 and every
// agent changed since the previous read.
void ReadBench(aw::windows::WindowEngine& engine, const std::vector<aw::WindowSpec>& windows,
               TimeMs now, const aw::Pricing& pricing) {
  namespace ex = aw::exporters;
  const ex::SliRenderOptions options;
  const std::string key = ex::SliRenderKey(options);
  const auto render = [&options](const std::vector<aw::windows::SliRow>& rows,
                                 aw::windows::RenderedAgent& out) {
    ex::RenderSliBlock(rows, options, out);
  };
  size_t json_bytes = 0, text_bytes = 0;
  auto t0 = Clock::now();
  {
    const auto rows = engine.Snapshot(windows, now);
    std::string json;
    bool first = true;
    ex::AppendSliRowsJson(rows, json, &first);
    const std::string text = prometheus::TextSerializer().Serialize(ex::SliFamilies(rows, {}));
    json_bytes = json.size();
    text_bytes = text.size();
  }
  std::printf("read (before): Snapshot + JSON + text of every row: %.1f ms (%.1f MB + %.1f MB)\n",
              Seconds(Clock::now() - t0) * 1e3, static_cast<double>(json_bytes) / 1e6,
              static_cast<double>(text_bytes) / 1e6);

  aw::windows::SnapshotCache cache;
  const auto read = [&](const char* what, TimeMs at) {
    const auto c0 = Clock::now();
    const aw::windows::Rendered r = cache.Get(engine, windows, at, key, render);
    std::string json;
    bool first = true;
    ex::AppendSliJson(*r, json, &first);
    std::string text;
    ex::AppendSliFamiliesText(*r, text);
    std::printf("read (cache, %-22s): %7.2f ms, %lld agents recomputed, %.1f MB + %.1f MB\n", what,
                Seconds(Clock::now() - c0) * 1e3, static_cast<long long>(cache.last_recomputed()),
                static_cast<double>(json.size()) / 1e6, static_cast<double>(text.size()) / 1e6);
  };
  const size_t heap_before = HeapBytes();
  read("cold", now);
  std::printf("cache heap: %.1f MiB\n", static_cast<double>(HeapBytes() - heap_before) / (1 << 20));
  read("0 changed", now);
  read("+1 s, 0 written", now + 1000);
  read("+15 s, 0 written", now + 16'000);
  aw::Feedback f;
  f.investigation_id = "inv-7-3";
  f.verdict = aw::Verdict::kOverride;
  f.ts_ms = now;
  engine.ApplyFeedback(f, 1'000'000'000);
  read("1 agent written", now + 16'000);
  engine.SetPricing(pricing);
  read("all (pricing)", now + 16'000);
}

}  // namespace

int main(int argc, char** argv) {
  const int agents = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int per_agent = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int64_t n = static_cast<int64_t>(agents) * per_agent;
  std::mt19937_64 rng(42);

  // Build the spans first so that only ApplySpan is timed.
  std::vector<aw::Span> spans;
  spans.reserve(static_cast<size_t>(n));
  const std::vector<std::string> models = {"claude-sonnet-4-6", "unpriced-model"};
  for (int a = 0; a < agents; ++a) {
    for (int i = 0; i < per_agent; ++i) {
      aw::Span s;
      s.investigation_id = Cat(Cat("inv-", a) + "-", i);  // ~14 chars, like "inv-7f3a-0012"
      s.agent = Cat("agent-", a);
      s.ts_ms = kT0 + static_cast<TimeMs>(rng() % kWeek);
      s.model = models[rng() % 2];
      s.input_tokens = static_cast<int64_t>(rng() % 50'000);
      s.output_tokens = static_cast<int64_t>(rng() % 5'000);
      s.tool_calls = static_cast<int64_t>(rng() % 40);
      s.duration_ms = static_cast<int64_t>(rng() % 600'000);
      s.finish_reason = "end_turn";
      s.confidence = static_cast<double>(rng() % 1000) / 1000.0;
      s.incident_id = Cat("INC-", static_cast<int64_t>(rng() % 100'000));
      // v2 only in the last hour: compare {baseline: previous} must find a
      // value that first appears at the very end of the week.
      s.labels = {{"env", rng() % 2 ? "prod" : "dev"},
                  {"team", "sre"},
                  {"version", s.ts_ms >= kT0 + kWeek - kHour ? "v2" : "v1"}};
      spans.push_back(std::move(s));
    }
  }
  std::shuffle(spans.begin(), spans.end(), rng);

  aw::Pricing pricing{{"claude-sonnet-4-6", aw::ModelPrice{3.0, 15.0, 0.3, 3.75}}};
  const size_t heap_before = HeapBytes();
  aw::windows::WindowEngine engine(pricing);
  int64_t seq = 0;
  auto t0 = Clock::now();
  for (const aw::Span& s : spans) engine.ApplySpan(s, ++seq);
  const double insert_s = Seconds(Clock::now() - t0);

  // A third get a verdict, a tenth of incidents a resolution.
  t0 = Clock::now();
  int64_t feedbacks = 0;
  for (size_t i = 0; i < spans.size(); i += 3) {
    aw::Feedback f;
    f.investigation_id = spans[i].investigation_id;
    f.verdict = i % 21 == 0 ? aw::Verdict::kOverride : aw::Verdict::kConfirm;
    f.ts_ms = spans[i].ts_ms + 600'000;
    engine.ApplyFeedback(f, ++seq);
    ++feedbacks;
  }
  const double feedback_s = Seconds(Clock::now() - t0);
  t0 = Clock::now();
  for (int k = 0; k < 100'000; k += 10) {
    aw::Resolution r;
    r.incident_id = Cat("INC-", k);
    r.resolved_at_ms = kT0 + static_cast<TimeMs>(rng() % kWeek);
    engine.ApplyResolution(r, ++seq);
  }
  const double resolution_s = Seconds(Clock::now() - t0);
  const size_t heap_after = HeapBytes();
  const aw::windows::MemoryStats mem = engine.Memory();

  std::printf("times are thread CPU time unless marked wall\n");
  std::printf("agents=%d investigations/agent=%d total=%lld (7d spread, shuffled ts order)\n",
              agents, per_agent, static_cast<long long>(n));
  std::printf("insert:   %.0f ns per ApplySpan (%.2f s total)\n",
              insert_s * 1e9 / static_cast<double>(n), insert_s);
  std::printf("feedback: %.0f ns per ApplyFeedback\n",
              feedback_s * 1e9 / static_cast<double>(feedbacks));
  std::printf("resolution: %.0f ns per ApplyResolution of an incident (%.1f spans each)\n",
              resolution_s * 1e9 / 10'000, static_cast<double>(n) / 100'000);
  std::printf(
      "memory:   Memory() estimate %.1f bytes/investigation (%.1f MiB); "
      "malloc-measured %.1f bytes/investigation\n",
      static_cast<double>(mem.bytes) / static_cast<double>(mem.investigations),
      static_cast<double>(mem.bytes) / (1 << 20),
      static_cast<double>(heap_after - heap_before) / static_cast<double>(n));

  const TimeMs now = kT0 + kWeek;
  const std::vector<aw::WindowSpec> windows = {Time(kHour, "1h"), Time(24 * kHour, "24h"),
                                               Time(kWeek, "7d")};
  t0 = Clock::now();
  size_t rows = engine.Snapshot(windows, now).size();
  std::printf("snapshot: first (incl. lazy sort of %d agents): %.1f ms, %zu rows\n", agents,
              Seconds(Clock::now() - t0) * 1e3, rows);
  constexpr int kReps = 5;
  t0 = Clock::now();
  const auto wall0 = std::chrono::steady_clock::now();
  for (int r = 0; r < kReps; ++r) rows = engine.Snapshot(windows, now).size();
  const double snap_s = Seconds(Clock::now() - t0) / kReps;
  const double snap_wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count() / kReps;
  std::printf(
      "snapshot: [1h,24h,7d] all SLIs all stats: %.1f ms CPU, %.1f ms wall "
      "(%.0f ns CPU per record-window)\n",
      snap_s * 1e3, snap_wall_s * 1e3,
      snap_s * 1e9 / (static_cast<double>(n) * (1.0 / 168 + 1.0 / 7 + 1)));
  ReadBench(engine, windows, now, pricing);
  aw::WindowSpec count;
  count.kind = aw::WindowSpec::Kind::kCount;
  count.count = 100;
  count.name = "100 investigations";
  t0 = Clock::now();
  engine.Snapshot({count}, now);
  std::printf("snapshot: [100 investigations]: %.1f ms\n", Seconds(Clock::now() - t0) * 1e3);

  std::printf("\nCompute per SLI, by=[agent], all %d agents / one agent (only_agent), 7d window:\n",
              agents);
  for (Sli sli : aw::AllSlis()) {
    aw::SliQuery q;
    q.sli = sli;
    q.stat = aw::IsDistribution(sli) ? Stat::kP95 : Stat::kNone;
    q.match = "end_turn";
    q.window = Time(kWeek, "7d");
    t0 = Clock::now();
    const size_t groups = engine.Compute(q, now).size();
    const double all_s = Seconds(Clock::now() - t0);
    q.only_agent = "agent-7";
    constexpr int kOne = 50;
    t0 = Clock::now();
    for (int r = 0; r < kOne; ++r) engine.Compute(q, now);
    const double one_s = Seconds(Clock::now() - t0) / kOne;
    std::printf("  %-36s %-4s all: %7.1f ms (%zu groups)   one agent: %7.1f us\n", aw::SliName(sli),
                aw::StatName(q.stat), all_s * 1e3, groups, one_s * 1e6);
  }
  // The SLO shape: override_rate of the whole fleet (by: []) over 28 d and
  // its burn-rate windows; served from the hour buckets plus edge records.
  for (const aw::WindowSpec& w : {Time(4 * kWeek, "28d"), Time(6 * kHour + 1234, "6h+"),
                                  Time(kHour, "1h"), Time(5 * 60'000, "5m")}) {
    aw::SliQuery f;
    f.sli = Sli::kOverrideRate;
    f.by = {};
    f.window = w;
    constexpr int kFleet = 20;
    t0 = Clock::now();
    for (int r = 0; r < kFleet; ++r) engine.Compute(f, now + 1);
    std::printf("  override_rate by=[] (fleet) %-4s: %7.3f ms\n", w.name.c_str(),
                Seconds(Clock::now() - t0) / kFleet * 1e3);
  }
  aw::SliQuery q;
  q.sli = Sli::kToolCalls;
  q.stat = Stat::kP95;
  q.window = count;
  q.by = {"agent", "env"};
  q.where = {{"team", "sre"}};
  t0 = Clock::now();
  engine.Compute(q, now);
  std::printf(
      "  tool_calls p95, 100 investigations, by=[agent,env] where team=sre, all agents: %.1f ms\n",
      Seconds(Clock::now() - t0) * 1e3);

  t0 = Clock::now();
  const auto first_seen = engine.LabelValuesByFirstSeen("version", {});
  const double all_ms = Seconds(Clock::now() - t0) * 1e3;
  t0 = Clock::now();
  engine.LabelValuesByFirstSeen("version", {}, "agent-0");
  std::printf(
      "\nversions by first seen (compare baseline: previous), v2 only in the last hour: "
      "all agents %.3f ms (%zu agents), one agent %.1f us\n",
      all_ms, first_seen.size(), Seconds(Clock::now() - t0) * 1e6);

  t0 = Clock::now();
  engine.PruneBefore(kT0 + 24 * kHour);
  std::printf("\nprune 1 day of 7: %.1f ms, %lld investigations left\n",
              Seconds(Clock::now() - t0) * 1e3,
              static_cast<long long>(engine.Memory().investigations));
  // The daemon prunes every hour: most prunes find nothing older.
  t0 = Clock::now();
  engine.PruneBefore(kT0 + 24 * kHour);
  std::printf("prune again, nothing older: %.3f ms\n", Seconds(Clock::now() - t0) * 1e3);

  // The worst case of a resolution: every span of one huge incident moves
  // its (confidence, time to resolve) pair from one hour figure to another.
  aw::windows::WindowEngine one_incident(pricing);
  constexpr int kIncidentSpans = 100'000;
  for (int i = 0; i < kIncidentSpans; ++i) {
    aw::Span s = spans[static_cast<size_t>(i) % spans.size()];
    s.investigation_id = Cat("big-", i);
    s.incident_id = "INC-big";
    one_incident.ApplySpan(s, ++seq);
  }
  constexpr int kResolutions = 20;
  t0 = Clock::now();
  for (int k = 0; k < kResolutions; ++k) {
    aw::Resolution r;
    r.incident_id = "INC-big";
    r.resolved_at_ms = kT0 + kWeek + k * 1000;
    one_incident.ApplyResolution(r, ++seq);
  }
  std::printf("resolution of one incident of %d spans: %.2f ms each\n", kIncidentSpans,
              Seconds(Clock::now() - t0) * 1e3 / kResolutions);
  // The same in one committed batch (the writer's path), with a reader
  // asking meanwhile: the lock is let go between resolutions this large.
  std::vector<aw::Resolution> batch;
  for (int k = 0; k < kResolutions; ++k) {
    aw::Resolution r;
    r.incident_id = "INC-big";
    r.resolved_at_ms = kT0 + 2 * kWeek + k * 1000;
    batch.push_back(r);
  }
  std::atomic<bool> applied{false};
  double longest_read_ms = 0;
  int reads = 0;
  std::thread reader([&] {
    aw::SliQuery probe;
    probe.sli = aw::Sli::kInvestigations;
    probe.window = *aw::ParseWindow("1h", nullptr);
    probe.only_agent = spans[0].agent;
    while (!applied.load()) {
      const auto start = std::chrono::steady_clock::now();
      one_incident.Compute(probe, kT0 + kWeek);
      longest_read_ms = std::max(longest_read_ms, std::chrono::duration<double, std::milli>(
                                                      std::chrono::steady_clock::now() - start)
                                                      .count());
      ++reads;
    }
  });
  const auto batch_start = std::chrono::steady_clock::now();
  one_incident.ApplyCommitted({}, {}, batch, ++seq, nullptr);
  const double batch_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - batch_start)
          .count();
  applied = true;
  reader.join();
  std::printf(
      "  the same %d in one committed batch: %.1f ms wall; a reader meanwhile: %d reads, the "
      "longest %.1f ms wall\n",
      kResolutions, batch_ms, reads, longest_read_ms);
  return 0;
}
