#pragma once

// The records that flow through agentwatch: ingest -> store -> windows ->
// rules -> alerting. Plain values; no behaviour beyond small helpers.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/common/clock.h"

namespace aw {

// Small, sorted label sets (at most 16 pairs on a span).
using Labels = std::map<std::string, std::string>;

enum class Verdict : uint8_t { kNone = 0, kConfirm = 1, kOverride = 2 };

const char* VerdictName(Verdict v);  // "confirm" | "override" | ""

// One investigation's root-span summary, validated and normalised.
// Absent numeric fields are std::nullopt: they are not samples.
struct Span {
  std::string investigation_id;
  std::string agent;
  TimeMs ts_ms = 0;  // end of the investigation
  std::string model;
  std::string response_model;
  std::string provider;
  std::optional<int64_t> input_tokens;
  std::optional<int64_t> output_tokens;
  std::optional<int64_t> cache_read_tokens;
  std::optional<int64_t> cache_creation_tokens;
  std::optional<int64_t> llm_calls;
  std::optional<int64_t> tool_calls;
  std::optional<double> cost_usd;  // as sent; else priced from config
  std::optional<int64_t> duration_ms;
  std::string finish_reason;
  std::optional<double> confidence;  // 0..1
  std::string incident_id;
  Labels labels;
};

// A human verdict on an investigation.
struct Feedback {
  std::string investigation_id;
  Verdict verdict = Verdict::kNone;
  TimeMs ts_ms = 0;
  std::string actor;
  std::string reason;
  std::string agent;  // optional: lets it count before the span arrives
};

// An incident (or one investigation) was resolved. Exactly one of
// incident_id / investigation_id is set.
struct Resolution {
  std::string incident_id;
  std::string investigation_id;
  TimeMs resolved_at_ms = 0;
  std::optional<TimeMs> opened_at_ms;
  std::optional<double> time_to_resolve_s;
};

// Per-model prices in USD per million tokens.
struct ModelPrice {
  double input = 0, output = 0, cache_read = 0, cache_write = 0;
};
using Pricing = std::map<std::string, ModelPrice>;

// Cost of a span: its own estimated_cost_usd, else from pricing by model
// (falling back to response_model). nullopt when neither applies.
std::optional<double> PriceSpan(const Span& span, const Pricing& pricing);

// ---- SLI queries (windows engine <-> rules, API, exporters) ----

enum class Sli : uint8_t {
  kInvestigations,
  kOverrideRate,
  kReviewCoverage,
  kCostUsd,
  kCostPerInvestigation,
  kToolCalls,
  kInputTokens,
  kOutputTokens,
  kDurationMs,
  kFinishReasonRate,
  kConfidenceResolutionCorrelation,
  kConfidenceBrier,
  kConfidenceEce,  // expected calibration error, 10 equal-width bins
};
enum class Stat : uint8_t { kNone, kMean, kP50, kP90, kP95, kP99, kMax };

const char* SliName(Sli s);
const char* StatName(Stat s);  // kNone -> ""
std::optional<Sli> ParseSli(const std::string& name);
std::optional<Stat> ParseStat(const std::string& name);  // "" -> kNone
bool IsDistribution(Sli s);                              // needs a stat (mean, p50, ...)
const std::vector<Sli>& AllSlis();
const std::vector<Stat>& DistributionStats();  // mean p50 p90 p95 p99 max

struct WindowSpec {
  enum class Kind : uint8_t { kTime, kCount };
  Kind kind = Kind::kTime;
  Millis duration{0};  // kTime
  int64_t count = 0;   // kCount: the latest N investigations by ts
  std::string name;    // as configured: "1h", "100 investigations"
  bool operator==(const WindowSpec& o) const {
    return kind == o.kind && duration == o.duration && count == o.count;
  }
};

// "5m", "24h", "7d", "100 investigations". Error names what was wrong.
std::optional<WindowSpec> ParseWindow(const std::string& text, std::string* error);

struct SliQuery {
  Sli sli = Sli::kInvestigations;
  Stat stat = Stat::kNone;
  WindowSpec window;
  std::vector<std::string> by{"agent"};  // "agent" or span label names
  Labels where;                          // label filter (may include agent)
  std::string match;                     // finish_reason_rate: the reason
  Millis offset{0};                      // compare: window ending now-offset
  std::string only_agent;                // optional: restrict to one agent
};

// One group's figure. `group` holds the by-label values, including
// "agent" when it is in `by`.
struct SliValue {
  Labels group;
  std::optional<double> value;  // nullopt = no sample behind it
  int64_t samples = 0;
};

// ---- Alerts (rules -> alerting) ----

enum class AlertState : uint8_t { kInactive, kPending, kFiring };
const char* AlertStateName(AlertState s);  // inactive|pending|firing

// What a receiver is told: one alert firing (or re-sent) or resolved.
struct AlertEvent {
  std::string name;
  Labels labels;  // group labels + rule labels + alertname
  Labels annotations;
  bool resolved = false;
  double value = 0;
  double threshold = 0;
  std::string op;  // > >= < <=
  std::string sli;
  std::string stat;
  std::string window;
  TimeMs active_since_ms = 0;
  TimeMs fired_at_ms = 0;
  TimeMs resolved_at_ms = 0;  // when resolved
  std::string fingerprint;    // stable hash of name + labels (hex)
};

}  // namespace aw
