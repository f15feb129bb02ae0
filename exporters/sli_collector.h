#pragma once

// A prometheus::Collectable that builds the SLI, alert and SLO gauges at
// scrape time from a snapshot of the windows: no thread pushes gauges, and
// a scrape sees the windows as of its snapshot. The daemon renders the
// agentwatch_sli families itself from per-agent blocks (sli_render.h) and
// sets omit_sli_families. Which SLI rows become series is the `exporters:`
// config (MetricSelection); /api/v1/slis shows every row regardless.
//
// Owns no shared state: Collect only calls `source` and reads what it gave.

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "windows/window_engine.h"

namespace aw::exporters {

struct AlertCount {
  std::string alertname;
  std::string state;  // pending | firing
  int count = 0;
};

struct SloGauge {
  std::string slo;
  double error_budget_remaining = 1;
  std::vector<std::pair<std::string, std::optional<double>>> burn_rates;  // window -> rate
};

struct BudgetGauge {
  std::string budget;
  double spent_usd = 0;
  double amount_usd = 0;
  double projected_usd = 0;
};

struct NotificationCount {
  std::string receiver;
  std::string result;  // sent | retry | failed
  double count = 0;
};

// Which snapshot rows /metrics exports. Rows with `by` labels never are.
struct MetricSelection {
  std::set<Sli> slis;             // empty: every SLI
  std::set<Stat> stats;           // of distribution SLIs; empty: every stat
  std::set<std::string> windows;  // row window names; empty: every window
  bool samples = true;            // also agentwatch_sli_samples
  bool Selected(const windows::SliRow& row) const;
};

// `windows`: the exporters' window texts, matched against `sli_windows` by
// what they mean ("1d" selects a configured "24h").
MetricSelection MakeSelection(const std::vector<Sli>& slis, const std::vector<Stat>& stats,
                              const std::vector<std::string>& windows,
                              const std::vector<WindowSpec>& sli_windows, bool samples);

struct SilenceCount {
  std::string state;  // active | pending | expired
  double count = 0;
};

struct ExportSnapshot {
  std::shared_ptr<const std::vector<windows::SliRow>> slis;  // may be shared with other readers
  // The caller writes agentwatch_sli / agentwatch_sli_samples itself (from
  // pre-rendered blocks, see sli_render.h): Collect leaves them out.
  bool omit_sli_families = false;
  MetricSelection selection;
  std::vector<AlertCount> alerts;
  std::vector<SloGauge> slos;
  std::vector<BudgetGauge> budgets;
  std::vector<NotificationCount> notifications;
  std::vector<SilenceCount> silences;
};

// Appends `rows` as /api/v1/slis JSON objects (comma-separated; `*first`
// says whether one was written before) to `out`, streaming: the bytes are
// the ones a json DOM of the rows would dump, without building the DOM
// (a DOM of 100k rows costs hundreds of MiB that malloc keeps).
void AppendSliRowsJson(const std::vector<windows::SliRow>& rows, std::string& out, bool* first);

// The agentwatch_sli and agentwatch_sli_samples families of `rows` (in
// that order), as Collect builds them.
std::vector<prometheus::MetricFamily> SliFamilies(const std::vector<windows::SliRow>& rows,
                                                  const MetricSelection& selection);

// Thread-safe if `source` is.
class SliCollector final : public prometheus::Collectable {
 public:
  explicit SliCollector(std::function<ExportSnapshot()> source) : source_(std::move(source)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<ExportSnapshot()> source_;
};

}  // namespace aw::exporters
