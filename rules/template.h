#pragma once

// The subset of Prometheus (Go text/template) alert templating that rule
// labels and annotations use:
//
//   {{ $labels.agent }}  {{ .Labels.agent }}  {{ $value }}  {{ .Value }}
//   {{ $bound }}  {{ $baseline }}  (see TemplateVars)
//   {{ $value | humanize }}  {{ humanize $value }}  {{ $value | printf "%.2f"
//   }}
//   {{ printf "%.1f%%" $value }}  {{- trim -}}  "string literals"
//
// Functions: humanize, humanize1024, humanizePercentage, humanizeDuration,
// toUpper, toLower, title, printf (one argument). A missing label renders as
// "" (Prometheus runs templates with missingkey=zero). Templates are parsed
// once at load time; rendering cannot fail.
//
// Immutable after construction; safe for concurrent use.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/common/status.h"
#include "daemon/common/types.h"

namespace aw::rules {

// Named numbers a rule offers beside $value: $bound (low-volume guard),
// $baseline (compare with baseline: previous). One absent renders as "".
using TemplateVars = std::map<std::string, double>;

class Template {
 public:
  // Error messages have no file:line; the loader prefixes them.
  static Result<std::shared_ptr<const Template>> Parse(const std::string& text);

  std::string Render(const Labels& labels, double value, const TemplateVars& vars = {}) const;

  struct Node;  // parsed text/action pieces (template.cc)
  ~Template();
  Template(const Template&) = delete;
  Template& operator=(const Template&) = delete;

 private:
  Template();
  std::vector<Node> nodes_;
};

// $value as Prometheus prints a float64 (Go %v, strconv 'g' shortest):
// 40, 0.05, 1.5e+06, 1e-05, NaN, +Inf.
std::string FormatValue(double v);

// Go fmt "%.4g" (NaN, +Inf, -Inf spelled as Go does).
std::string FormatG4(double v);

// Prometheus template functions (template/template.go), %.4g based.
std::string Humanize(double v);                // 1.5M, 25m, 0
std::string Humanize1024(double v);            // 1.5Mi
std::string HumanizePercentage(double v);      // 0.05 -> 5%
std::string HumanizeDuration(double seconds);  // 3723 -> 1h 2m 3s

// {agent="ir", severity="page"}: sorted, Prometheus escaping.
std::string FormatLabels(const Labels& labels);

}  // namespace aw::rules
