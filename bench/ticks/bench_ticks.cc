// Tick bench: one full rule evaluation against the same tick in steps (agent
// chunks, then the fleet pass), and one evaluation on ingest, over the
// example rule files. What an alert on ingest waits for is one step, not the
// whole tick.
// A plain executable, not a test:
//   bench_ticks [--rounds N] [agents] [per_agent] [chunk] [rule files...]
// Defaults: 3 rounds, 1,000 agents x 200 investigations over 7 days, chunks
// of 32, the example rule files (agents.yaml, stats.yaml, budgets.yaml).
// Spans look like bench/loadgen's (confidence, team and env labels, 60 %
// reviewed), so the rules that read calibration see what the daemon sees.

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "rules/rule_engine.h"
#include "rules/rule_loader.h"
#include "windows/window_engine.h"

namespace {

using aw::TimeMs;

// Thread CPU time: the machine is shared, so wall time would measure the
// neighbours too.
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

constexpr TimeMs kT0 = 1'764'000'000'000;
constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kWeek = 7 * 24 * kHour;

std::string Cat(std::string prefix, int64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

double Ms(double seconds) { return seconds * 1000; }

}  // namespace

int main(int argc, char** argv) {
  int rounds = 3;
  if (argc > 2 && std::string(argv[1]) == "--rounds") {
    rounds = std::atoi(argv[2]);
    argv += 2;
    argc -= 2;
  }
  const int agents = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int per_agent = argc > 2 ? std::atoi(argv[2]) : 200;
  const size_t chunk = argc > 3 ? static_cast<size_t>(std::atoi(argv[3])) : 32;
  if (agents <= 0 || per_agent <= 0 || chunk == 0 || rounds <= 0) {
    std::fprintf(stderr,
                 "usage: bench_ticks [--rounds N] [agents] [per_agent] [chunk] [rule files...]\n");
    return 2;
  }
  aw::rules::LoadOptions options;
  options.check_receivers = false;
  const std::string dir = AW_EXAMPLES_DIR;
  std::vector<std::string> files(argv + std::min(argc, 4), argv + argc);
  if (files.empty()) {
    files = {dir + "/rules/agents.yaml", dir + "/rules/stats.yaml", dir + "/rules/budgets.yaml"};
  }
  auto rules = aw::rules::LoadRuleFiles(files, options);
  if (!rules.ok()) {
    std::fprintf(stderr, "%s\n", rules.status().message().c_str());
    return 1;
  }

  aw::windows::WindowEngine windows{aw::Pricing{}};
  std::mt19937_64 rng(42);
  int64_t seq = 0;
  for (int a = 0; a < agents; ++a) {
    for (int i = 0; i < per_agent; ++i) {
      aw::Span s;
      s.investigation_id = Cat(Cat("inv-", a) + "-", i);
      s.agent = Cat("agent-", a);
      s.ts_ms = kT0 + static_cast<TimeMs>(rng() % kWeek);
      s.model = rng() % 2 ? "claude-sonnet" : "gpt-4o";
      s.tool_calls = static_cast<int64_t>(rng() % 40);
      s.cost_usd = static_cast<double>(rng() % 100) / 100.0;
      s.finish_reason = "end_turn";
      s.confidence = static_cast<double>(rng() % 1001) / 1000.0;
      s.labels = {{"env", rng() % 2 ? "prod" : "dev"}, {"team", Cat("team-", a % 5)}};
      windows.ApplySpan(s, ++seq);
      if (rng() % 10 < 6) {
        aw::Feedback f;
        f.investigation_id = s.investigation_id;
        f.verdict = rng() % 10 == 0 ? aw::Verdict::kOverride : aw::Verdict::kConfirm;
        f.ts_ms = s.ts_ms;
        windows.ApplyFeedback(f, ++seq);
      }
    }
  }
  std::printf("%d agents x %d investigations, chunks of %zu agents\n", agents, per_agent, chunk);

  aw::rules::Settings settings;
  settings.default_receivers = {"hook"};
  aw::rules::RuleEngine full(*rules, settings);
  aw::rules::RuleEngine split(*rules, settings);
  TimeMs now = kT0 + kWeek;
  for (int round = 0; round < rounds; ++round, now += 15'000) {
    double t = CpuSeconds();
    (void)full.Evaluate(windows, now);
    const double whole = CpuSeconds() - t;

    std::vector<double> steps;
    const std::set<std::string> tick_agents = split.TickAgents(windows.Agents());
    std::set<std::string> part;
    auto run_part = [&] {
      const double s = CpuSeconds();
      (void)split.EvaluateAgents(windows, now, part);
      steps.push_back(CpuSeconds() - s);
      part.clear();
    };
    for (const std::string& a : tick_agents) {
      part.insert(a);
      if (part.size() == chunk) run_part();
    }
    if (!part.empty()) run_part();
    t = CpuSeconds();
    (void)split.EvaluateFleet(windows, now);
    const double fleet = CpuSeconds() - t;

    const std::set<std::string> one = {"agent-7"};
    t = CpuSeconds();
    (void)split.Evaluate(windows, now, &one);
    const double ingest = CpuSeconds() - t;
    // The fixed part of an evaluation on ingest: what it costs with no agent
    // to evaluate, which should not grow with the alerts held.
    const std::set<std::string> none;
    std::vector<double> empties;
    for (int i = 0; i < 21; ++i) {
      t = CpuSeconds();
      (void)split.Evaluate(windows, now, &none);
      empties.push_back(CpuSeconds() - t);
    }
    std::sort(empties.begin(), empties.end());
    // A copy of every alert, which the daemon once took before each
    // evaluation to roll back a step the store refused.
    t = CpuSeconds();
    const size_t held = split.Alerts().size();
    const double copy = CpuSeconds() - t;

    std::sort(steps.begin(), steps.end());
    double sum = fleet;
    for (double s : steps) sum += s;
    std::printf(
        "round %d: full tick %.1f ms | in steps: %zu chunks, median %.2f ms (%.4f ms per agent), "
        "max %.2f ms; fleet pass %.1f ms; sum %.1f ms | ingest (1 agent) %.3f ms, (no agent, "
        "median of 21) %.3f ms | %zu active alerts, copying them %.3f ms\n",
        round, Ms(whole), steps.size(), Ms(steps[steps.size() / 2]),
        Ms(steps[steps.size() / 2]) / static_cast<double>(chunk), Ms(steps.back()), Ms(fleet),
        Ms(sum), Ms(ingest), Ms(empties[empties.size() / 2]), held, Ms(copy));
  }
  return 0;
}
