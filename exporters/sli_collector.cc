#include "exporters/sli_collector.h"

namespace aw::exporters {

namespace {

prometheus::ClientMetric Gauge(double value, std::vector<prometheus::ClientMetric::Label> labels) {
  prometheus::ClientMetric m;
  m.gauge.value = value;
  m.label = std::move(labels);
  return m;
}

prometheus::MetricFamily Family(const char* name, const char* help) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = prometheus::MetricType::Gauge;
  return f;
}

}  // namespace

std::vector<prometheus::MetricFamily> SliCollector::Collect() const {
  const ExportSnapshot snap = source_();
  std::vector<prometheus::MetricFamily> out;

  auto sli = Family("agentwatch_sli",
                    "Current SLI value per agent, SLI, window and stat (absent when no sample).");
  auto samples = Family("agentwatch_sli_samples",
                        "Number of samples behind each agentwatch_sli value.");
  for (const windows::SliRow& row : snap.slis) {
    // Only the agent dimension is exported, to keep cardinality bounded;
    // rows of `by` label sets stay on /api/v1/slis.
    if (!row.labels.empty()) continue;
    std::vector<prometheus::ClientMetric::Label> labels = {
        {"agent", row.agent}, {"sli", SliName(row.sli)}, {"window", row.window},
        {"stat", StatName(row.stat)}};
    samples.metric.push_back(Gauge(static_cast<double>(row.samples), labels));
    if (row.value) sli.metric.push_back(Gauge(*row.value, std::move(labels)));
  }
  out.push_back(std::move(sli));
  out.push_back(std::move(samples));

  auto alerts = Family("agentwatch_alerts", "Alerts by name and state (pending, firing).");
  for (const AlertCount& a : snap.alerts) {
    alerts.metric.push_back(Gauge(a.count, {{"alertname", a.alertname}, {"state", a.state}}));
  }
  out.push_back(std::move(alerts));

  auto budget = Family("agentwatch_slo_error_budget_remaining",
                       "Error budget left over the SLO period (1 = untouched, <= 0 = spent).");
  auto burn = Family("agentwatch_slo_burn_rate",
                     "Error ratio over the window divided by the error budget.");
  for (const SloGauge& s : snap.slos) {
    budget.metric.push_back(Gauge(s.error_budget_remaining, {{"slo", s.slo}}));
    for (const auto& [window, rate] : s.burn_rates) {
      if (rate) burn.metric.push_back(Gauge(*rate, {{"slo", s.slo}, {"window", window}}));
    }
  }
  out.push_back(std::move(budget));
  out.push_back(std::move(burn));

  prometheus::MetricFamily notifications;
  notifications.name = "agentwatch_notifications_total";
  notifications.help = "Notification delivery attempts by receiver and result (sent, retry, failed).";
  notifications.type = prometheus::MetricType::Counter;
  for (const NotificationCount& n : snap.notifications) {
    prometheus::ClientMetric m;
    m.counter.value = n.count;
    m.label = {{"receiver", n.receiver}, {"result", n.result}};
    notifications.metric.push_back(std::move(m));
  }
  out.push_back(std::move(notifications));
  return out;
}

}  // namespace aw::exporters
