#pragma once

// A prometheus::Collectable that builds the SLI, alert and SLO gauges at
// scrape time from a snapshot of the windows: no thread pushes gauges, and
// a scrape always sees the windows as of now.

#include <functional>
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

struct NotificationCount {
  std::string receiver;
  std::string result;  // sent | retry | failed
  double count = 0;
};

struct ExportSnapshot {
  std::vector<windows::SliRow> slis;
  std::vector<AlertCount> alerts;
  std::vector<SloGauge> slos;
  std::vector<NotificationCount> notifications;
};

// Thread-safe if `source` is.
class SliCollector final : public prometheus::Collectable {
 public:
  explicit SliCollector(std::function<ExportSnapshot()> source) : source_(std::move(source)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<ExportSnapshot()> source_;
};

}  // namespace aw::exporters
