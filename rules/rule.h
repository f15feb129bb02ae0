#pragma once

// The rule model: alerting rules and SLOs as loaded from YAML rule files
// (CONTRACT.md "Rule files"). Plain values, immutable once loaded.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/common/types.h"
#include "rules/budget.h"
#include "rules/template.h"

namespace aw::rules {

enum class Op : uint8_t { kGt, kGe, kLt, kLe };
const char* OpName(Op op);  // ">", ">=", "<", "<="
std::optional<Op> ParseOp(const std::string& text);
bool OpHolds(Op op, double value, double threshold);

// `compare: {offset: 7d, ratio_above: 1.5}`: the rule's value is
// current / earlier, where earlier is the same window ending `offset` ago.
//
// `compare: {baseline: previous, label: version, ...}`: per agent, the
// newest value of `label` (by its first investigation) against the one
// before it, each over the rule's window on its own investigations. Ratio
// SLIs: a pooled one-sided two-proportion z-test at `confidence`;
// others: candidate / baseline >= ratio_above.
struct Compare {
  Millis offset{0};
  std::optional<double> ratio_above;
  std::optional<double> ratio_below;
  bool baseline_previous = false;
  std::string label;         // baseline: previous
  double confidence = 0.95;  // baseline: previous, ratio SLIs
  int64_t min_samples = 1;   // baseline: previous; default the rule's
};

// override_rate, review_coverage, finish_reason_rate: a share of samples,
// so a Wilson bound and a two-proportion test apply.
bool IsRatioSli(Sli sli);

// A template string with its parsed form (parsed at load time, so a bad
// template is a load error with file:line).
struct TemplatedString {
  std::string source;
  std::shared_ptr<const Template> tmpl;
};
using TemplatedLabels = std::vector<std::pair<std::string, TemplatedString>>;

struct AlertRule {
  std::string name;  // `alert:`
  std::string file;
  int line = 0;
  SliQuery query;  // sli, stat, window, by (default [agent]), where, match
  Op op = Op::kGt;
  double threshold = 0;  // unused with compare
  int64_t min_samples = 1;
  Millis for_duration{0};
  Millis keep_firing_for{0};
  TemplatedLabels labels;
  TemplatedLabels annotations;
  std::vector<std::string> receivers;  // empty: the default receivers
  std::optional<Compare> compare;
  // Low-volume guard (ratio SLIs): compare the Wilson bound at this
  // one-sided confidence instead of the point estimate.
  std::optional<double> confidence;
};

// One tier of multiwindow, multi-burn-rate alerting (SRE workbook).
struct BurnRateTier {
  const char* severity;  // "page" | "ticket"
  double budget_fraction;
  Millis long_window;
  Millis short_window;
};
// page 2% / 1h (5m), page 5% / 6h (30m), ticket 10% / 3d (6h).
const std::vector<BurnRateTier>& BurnRateTiers();
// budget_fraction * period / long_window: 14.4, 6, 1 for a 30d period.
double BurnRateFactor(const BurnRateTier& tier, Millis period);

struct Slo {
  std::string name;
  std::string file;
  int line = 0;
  Sli sli = Sli::kOverrideRate;  // override_rate, or review_coverage
                                 // (error ratio = 1 - coverage)
  double objective = 0;          // (0, 1)
  Millis period{30LL * 24 * 3600 * 1000};
  std::string period_name = "30d";  // as configured (window label)
  bool multiwindow = true;          // `alerting: multiwindow` (or `none`)
  Labels where;
  std::vector<std::string> by;  // default []: all agents together
  int64_t min_samples = 1;
  TemplatedLabels labels;
  TemplatedLabels annotations;
  std::vector<std::string> receivers;
};

struct RuleGroup {
  std::string name;
  std::string file;
  int line = 0;
  std::vector<AlertRule> rules;
  std::vector<Slo> slos;  // a file's `slos:` form a group named "slos"
};

struct RuleSet {
  std::vector<RuleGroup> groups;
  std::vector<std::string> files;  // as loaded
  std::vector<Budget> budgets;     // every file's `budgets:`
};

}  // namespace aw::rules
