#include "exporters/sli_collector.h"

#include <nlohmann/json.hpp>

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

bool MetricSelection::Selected(const windows::SliRow& row) const {
  if (!row.labels.empty()) return false;
  if (!slis.empty() && !slis.count(row.sli)) return false;
  if (row.stat != Stat::kNone && !stats.empty() && !stats.count(row.stat)) return false;
  return windows.empty() || windows.count(row.window) > 0;
}

MetricSelection MakeSelection(const std::vector<Sli>& slis, const std::vector<Stat>& stats,
                              const std::vector<std::string>& windows,
                              const std::vector<WindowSpec>& sli_windows, bool samples) {
  MetricSelection sel;
  sel.slis.insert(slis.begin(), slis.end());
  sel.stats.insert(stats.begin(), stats.end());
  sel.samples = samples;
  if (!windows.empty()) {
    for (const std::string& text : windows) {
      const auto spec = ParseWindow(text, nullptr);
      for (const WindowSpec& w : sli_windows) {
        if (spec && *spec == w) sel.windows.insert(w.name);
      }
    }
    // Nothing configured matches: export no window rather than all.
    if (sel.windows.empty()) sel.windows.insert("\x1fnone");
  }
  return sel;
}

void AppendSliRowsJson(const std::vector<windows::SliRow>& rows, std::string& out, bool* first) {
  // Keys in the order a json object (sorted) dumps them.
  const auto str = [&out](const std::string& s) { out += nlohmann::json(s).dump(); };
  for (const windows::SliRow& r : rows) {
    out += *first ? "{\"agent\":" : ",{\"agent\":";
    *first = false;
    str(r.agent);
    out += ",\"labels\":{";
    bool first_label = true;
    for (const auto& [k, v] : r.labels) {
      if (!first_label) out += ',';
      first_label = false;
      str(k);
      out += ':';
      str(v);
    }
    out += "},\"samples\":";
    out += std::to_string(r.samples);
    out += ",\"sli\":\"";
    out += SliName(r.sli);
    out += "\",\"stat\":\"";
    out += StatName(r.stat);
    out += "\",\"value\":";
    out += r.value ? nlohmann::json(*r.value).dump() : "null";
    out += ",\"window\":";
    str(r.window);
    out += '}';
  }
}

std::vector<prometheus::MetricFamily> SliFamilies(const std::vector<windows::SliRow>& rows,
                                                  const MetricSelection& selection) {
  auto sli = Family("agentwatch_sli",
                    "Current SLI value per agent, SLI, window and stat (absent when no sample).");
  auto samples =
      Family("agentwatch_sli_samples", "Number of samples behind each agentwatch_sli value.");
  for (const windows::SliRow& row : rows) {
    // Only the agent dimension is exported, to keep cardinality bounded;
    // rows of `by` label sets stay on /api/v1/slis.
    if (!selection.Selected(row)) continue;
    std::vector<prometheus::ClientMetric::Label> labels = {{"agent", row.agent},
                                                           {"sli", SliName(row.sli)},
                                                           {"window", row.window},
                                                           {"stat", StatName(row.stat)}};
    if (selection.samples) {
      samples.metric.push_back(Gauge(static_cast<double>(row.samples), labels));
    }
    if (row.value) sli.metric.push_back(Gauge(*row.value, std::move(labels)));
  }
  std::vector<prometheus::MetricFamily> out;
  out.push_back(std::move(sli));
  out.push_back(std::move(samples));
  return out;
}

std::vector<prometheus::MetricFamily> SliCollector::Collect() const {
  const ExportSnapshot snap = source_();
  std::vector<prometheus::MetricFamily> out;
  if (!snap.omit_sli_families) {
    static const std::vector<windows::SliRow> kNoRows;
    out = SliFamilies(snap.slis ? *snap.slis : kNoRows, snap.selection);
  }

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

  auto spent = Family("agentwatch_budget_spent_usd", "Cost spent in the budget's current period.");
  auto amount = Family("agentwatch_budget_amount_usd", "The budget's amount per period.");
  auto projected = Family("agentwatch_budget_projected_usd",
                          "Projected spend at the end of the period (spent before 10 % of it).");
  for (const BudgetGauge& b : snap.budgets) {
    spent.metric.push_back(Gauge(b.spent_usd, {{"budget", b.budget}}));
    amount.metric.push_back(Gauge(b.amount_usd, {{"budget", b.budget}}));
    projected.metric.push_back(Gauge(b.projected_usd, {{"budget", b.budget}}));
  }
  out.push_back(std::move(spent));
  out.push_back(std::move(amount));
  out.push_back(std::move(projected));

  auto silences = Family("agentwatch_silences", "Silences by state (active, pending, expired).");
  for (const SilenceCount& s : snap.silences) {
    silences.metric.push_back(Gauge(s.count, {{"state", s.state}}));
  }
  out.push_back(std::move(silences));

  prometheus::MetricFamily notifications;
  notifications.name = "agentwatch_notifications_total";
  notifications.help =
      "Notification delivery attempts by receiver and result (sent, retry, failed).";
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
