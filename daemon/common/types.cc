#include "daemon/common/types.h"

#include <cctype>

#include "daemon/common/time_util.h"

namespace aw {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kConfirm:
      return "confirm";
    case Verdict::kOverride:
      return "override";
    case Verdict::kNone:
      break;
  }
  return "";
}

std::optional<double> PriceSpan(const Span& span, const Pricing& pricing) {
  if (span.cost_usd) return span.cost_usd;
  auto it = pricing.find(span.model);
  if (it == pricing.end() && !span.response_model.empty()) {
    it = pricing.find(span.response_model);
  }
  if (it == pricing.end()) return std::nullopt;
  const ModelPrice& p = it->second;
  const auto tokens = [](const std::optional<int64_t>& v) {
    return static_cast<double>(v.value_or(0));
  };
  return (tokens(span.input_tokens) * p.input + tokens(span.output_tokens) * p.output +
          tokens(span.cache_read_tokens) * p.cache_read +
          tokens(span.cache_creation_tokens) * p.cache_write) /
         1e6;
}

namespace {
struct SliEntry {
  Sli sli;
  const char* name;
  bool distribution;
};
constexpr SliEntry kSlis[] = {
    {Sli::kInvestigations, "investigations", false},
    {Sli::kOverrideRate, "override_rate", false},
    {Sli::kReviewCoverage, "review_coverage", false},
    {Sli::kCostUsd, "cost_usd", false},
    {Sli::kCostPerInvestigation, "cost_per_investigation", true},
    {Sli::kToolCalls, "tool_calls", true},
    {Sli::kInputTokens, "input_tokens", true},
    {Sli::kOutputTokens, "output_tokens", true},
    {Sli::kDurationMs, "duration_ms", true},
    {Sli::kFinishReasonRate, "finish_reason_rate", false},
    {Sli::kConfidenceResolutionCorrelation, "confidence_resolution_correlation", false},
    {Sli::kConfidenceBrier, "confidence_brier", false},
    {Sli::kConfidenceEce, "confidence_ece", false},
};
constexpr const char* kStatNames[] = {"", "mean", "p50", "p90", "p95", "p99", "max"};
}  // namespace

const char* SliName(Sli s) { return kSlis[static_cast<int>(s)].name; }
const char* StatName(Stat s) { return kStatNames[static_cast<int>(s)]; }
bool IsDistribution(Sli s) { return kSlis[static_cast<int>(s)].distribution; }

std::optional<Sli> ParseSli(const std::string& name) {
  for (const SliEntry& e : kSlis) {
    if (name == e.name) return e.sli;
  }
  return std::nullopt;
}

std::optional<Stat> ParseStat(const std::string& name) {
  for (int i = 0; i < 7; ++i) {
    if (name == kStatNames[i]) return static_cast<Stat>(i);
  }
  return std::nullopt;
}

const std::vector<Sli>& AllSlis() {
  static const std::vector<Sli> all = [] {
    std::vector<Sli> v;
    for (const SliEntry& e : kSlis) v.push_back(e.sli);
    return v;
  }();
  return all;
}

const std::vector<Stat>& DistributionStats() {
  static const std::vector<Stat> stats = {Stat::kMean, Stat::kP50, Stat::kP90,
                                          Stat::kP95,  Stat::kP99, Stat::kMax};
  return stats;
}

const char* AlertStateName(AlertState s) {
  switch (s) {
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
    case AlertState::kInactive:
      break;
  }
  return "inactive";
}

std::optional<WindowSpec> ParseWindow(const std::string& text, std::string* error) {
  WindowSpec w;
  w.name = text;
  const size_t space = text.find(' ');
  if (space != std::string::npos) {
    const std::string num = text.substr(0, space);
    const std::string unit = text.substr(space + 1);
    if (unit != "investigations" && unit != "investigation") {
      if (error) *error = "window \"" + text + "\": a count window reads \"N investigations\"";
      return std::nullopt;
    }
    int64_t n = 0;
    for (char c : num) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || n > 100'000'000) {
        if (error) *error = "window \"" + text + "\": count must be a positive integer";
        return std::nullopt;
      }
      n = n * 10 + (c - '0');
    }
    if (num.empty() || n <= 0) {
      if (error) *error = "window \"" + text + "\": count must be a positive integer";
      return std::nullopt;
    }
    w.kind = WindowSpec::Kind::kCount;
    w.count = n;
    return w;
  }
  auto d = ParseDuration(text);
  if (!d || d->count() <= 0) {
    if (error)
      *error =
          "window \"" + text + "\": expected a duration such as 5m, 1h, 7d or \"N investigations\"";
    return std::nullopt;
  }
  w.kind = WindowSpec::Kind::kTime;
  w.duration = *d;
  return w;
}

}  // namespace aw
