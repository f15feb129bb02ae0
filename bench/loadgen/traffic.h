#pragma once

// Synthetic LLM-agent traffic for agentwatch: span summaries with lognormal
// tool calls and tokens, costs, confidences and finish reasons, human
// verdicts a few minutes later (in event time) and incident resolutions.
// Scenarios bend one agent (or all) so the example rules fire: a tool-call
// loop, a slow drift, an override spike.
//
// Deterministic for a given seed. Not thread-safe: one owner (the load
// generator guards it with a mutex).

#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace aw::bench {

using TimeMs = int64_t;

enum class Scenario { kSteady, kLoop, kDrift, kOverrideSpike };
std::optional<Scenario> ParseScenario(std::string_view name);
const char* ScenarioName(Scenario s);

// "2026-11-25T16:00:00.123Z"; appended to `out`.
void AppendRfc3339(TimeMs t, std::string* out);

struct TrafficOptions {
  Scenario scenario = Scenario::kSteady;
  int agents = 8;
  uint64_t seed = 1;
  std::string id_prefix = "lg";  // investigation and incident ids start so
  double review_share = 0.6;     // investigations that get a verdict
  double incident_share = 0.5;   // investigations tied to an incident
  bool follow_ups = true;        // false: spans only
};

// One record of any kind, rendered as a JSON object (no newline).
struct FollowUp {
  std::string json;
  TimeMs ts_ms = 0;
};

class Traffic {
 public:
  explicit Traffic(TrafficOptions options);

  // Generates the next investigation at `progress` in [0, 1] of the run
  // (scenarios change with it) ending at event time `ts_ms`. Appends the
  // span's JSON object to `span_json`; its verdict and resolution (if any)
  // are queued with event times capped at `latest_ms` (never in the future).
  void NextInvestigation(double progress, TimeMs ts_ms, TimeMs latest_ms, std::string* span_json);

  std::deque<FollowUp>& pending_feedback() { return feedback_; }
  std::deque<FollowUp>& pending_resolutions() { return resolutions_; }
  int64_t investigations() const { return next_id_; }

  // The byte offset and width of the numeric part of the investigation id
  // in the last span written (for template patching).
  static constexpr int kIdDigits = 12;
  size_t last_id_digits_offset() const { return last_id_offset_; }

 private:
  struct Agent {
    std::string name;
    std::string model;
    std::string team;
    double tool_median = 8;
    double tool_sigma = 0.55;
    double confidence_mean = 1.4;  // logit scale
  };
  double Lognormal(double median, double sigma);
  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  const TrafficOptions options_;
  std::mt19937_64 rng_;
  std::vector<Agent> agents_;
  std::deque<FollowUp> feedback_;
  std::deque<FollowUp> resolutions_;
  int64_t next_id_ = 0;
  size_t last_id_offset_ = 0;
};

}  // namespace aw::bench
