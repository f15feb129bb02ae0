#pragma once

// Spend budgets (CONTRACT.md "Spend budgets"): the `budgets:` block of a
// rule file and the calendar periods they are measured over.
//
// A period is calendar-aligned in the budget's IANA time zone: a day starts
// at local midnight, a week at Monday's local midnight, a month at local
// midnight of its first day. Boundaries are computed with the tz database
// (Debian's date-tz reads /usr/share/zoneinfo), so a day across a DST change
// is 23 or 25 hours long. A local midnight that does not exist (a zone that
// moves its clocks at 00:00) starts the period at the transition instant.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon/common/status.h"
#include "daemon/common/types.h"
#include "rules/template.h"

namespace YAML {
class Node;
}

namespace aw::rules {

enum class BudgetPeriod : uint8_t { kDay, kWeek, kMonth };
const char* BudgetPeriodName(BudgetPeriod p);  // day | week | month

// A label or annotation template of a budget. `{{ $exhausted_at }}` is
// substituted before the template runs, so `source` is kept.
struct BudgetTemplate {
  std::string key;
  std::string source;
};

struct Budget {
  std::string name;
  std::string file;
  int line = 0;
  Labels where;  // empty: the whole fleet
  double amount_usd = 0;
  BudgetPeriod period = BudgetPeriod::kDay;
  std::string timezone = "UTC";
  // Fractions of amount_usd, each with its text as written ("0.8", "1.0"),
  // which is the alert's `threshold` label.
  std::vector<std::pair<std::string, double>> alert_at;
  bool projected = false;
  Millis projection_window{3'600'000};
  std::vector<std::string> receivers;  // empty: the default receivers
  std::vector<BudgetTemplate> labels;
  std::vector<BudgetTemplate> annotations;
};

// [start_ms, end_ms) of the period of `period` in time zone `tz` that holds
// `now`. `tz` must be a valid IANA name (the loader checks it).
struct PeriodBounds {
  TimeMs start_ms = 0;
  TimeMs end_ms = 0;
};
PeriodBounds PeriodAt(BudgetPeriod period, const std::string& tz, TimeMs now);

// True when `name` names a zone of the tz database.
bool IsKnownTimeZone(const std::string& name);

// Renders a budget template with $value, $labels and $exhausted_at (an
// RFC 3339 time, or "" when no exhaustion is projected).
std::string RenderBudgetTemplate(const std::string& source, const Labels& labels, double value,
                                 const std::string& exhausted_at);

// Parses a rule file's `budgets:` node. Errors read "FILE:LINE: budget
// "name": field: message". With `receivers` set, receiver names are checked
// against it.
Result<std::vector<Budget>> ParseBudgets(const YAML::Node& node, const std::string& file,
                                         const std::vector<std::string>* receivers);

}  // namespace aw::rules
