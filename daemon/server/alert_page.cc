#include "daemon/server/alert_page.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "daemon/common/time_util.h"
#include "daemon/server/page_util.h"

namespace aw::server {

namespace {

std::string Annotation(const Labels& a, const char* key) {
  const auto it = a.find(key);
  return it == a.end() ? "" : it->second;
}

void NotificationsTable(std::ostringstream& html,
                        const std::vector<NotificationRecord>& notifications) {
  html << "<div class=\"card\" id=\"notifications\"><h3>Notifications</h3>";
  if (notifications.empty()) {
    html << "<p class=\"muted\">None stored for this alert.</p></div>";
    return;
  }
  html << "<table><tr><th>receiver</th><th>what</th><th>queued</th><th>delivery</th>"
          "<th>delivered at</th><th>failed attempts</th><th>last error</th></tr>";
  for (const NotificationRecord& n : notifications) {
    const std::string state = NotificationStateName(n.state);
    const bool bad = n.state == NotificationRecord::State::kFailed ||
                     (n.state == NotificationRecord::State::kPending && n.attempts > 0);
    html << "<tr class=\"notification\"><td>" << HtmlEscape(n.receiver) << "</td><td>"
         << (n.resolved ? "resolve" : "trigger") << "</td><td>"
         << HtmlEscape(FormatRfc3339(n.created_ms)) << "</td><td" << (bad ? " class=\"bad\"" : "")
         << ">" << HtmlEscape(state) << "</td><td class=\"delivered-at\">";
    if (n.delivered_ms > 0) {
      // With how long it took from queueing (retries, group_wait).
      html << HtmlEscape(FormatRfc3339(n.delivered_ms)) << " <span class=\"muted\">(after "
           << HtmlEscape(FormatDuration(Millis(n.delivered_ms - n.created_ms))) << ")</span>";
    } else {
      html << "-";
    }
    html << "</td><td>" << n.attempts << "</td><td class=\"wrap\">" << HtmlEscape(n.last_error)
         << "</td></tr>";
  }
  html << "</table></div>";
}

}  // namespace

std::optional<double> InvestigationValue(Sli sli, const Span& s,
                                         std::optional<double> priced_cost) {
  const auto num = [](const std::optional<int64_t>& v) {
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
  };
  switch (sli) {
    case Sli::kCostUsd:
    case Sli::kCostPerInvestigation:
      return priced_cost;
    case Sli::kToolCalls:
      return num(s.tool_calls);
    case Sli::kInputTokens:
      return num(s.input_tokens);
    case Sli::kOutputTokens:
      return num(s.output_tokens);
    case Sli::kDurationMs:
      return num(s.duration_ms);
    default:
      return std::nullopt;
  }
}

std::string WorstFirst(Sli sli, std::vector<AlertPageData::Investigation>& records) {
  const auto newest = [](const AlertPageData::Investigation& a,
                         const AlertPageData::Investigation& b) { return a.ts > b.ts; };
  switch (sli) {
    case Sli::kOverrideRate:
    case Sli::kReviewCoverage:
    case Sli::kConfidenceResolutionCorrelation:
    case Sli::kConfidenceBrier:
    case Sli::kConfidenceEce:
      std::stable_sort(records.begin(), records.end(), [&](const auto& a, const auto& b) {
        const bool ao = a.verdict == "override", bo = b.verdict == "override";
        if (ao != bo) return ao;
        // Among overrides, the most confident were the most wrong.
        if (ao && a.confidence.value_or(0) != b.confidence.value_or(0)) {
          return a.confidence.value_or(0) > b.confidence.value_or(0);
        }
        return newest(a, b);
      });
      return "overrides first (most confident first), then newest";
    case Sli::kCostUsd:
    case Sli::kCostPerInvestigation:
    case Sli::kToolCalls:
    case Sli::kInputTokens:
    case Sli::kOutputTokens:
    case Sli::kDurationMs:
      std::stable_sort(records.begin(), records.end(), [&](const auto& a, const auto& b) {
        if (a.value.has_value() != b.value.has_value()) return a.value.has_value();
        if (a.value && *a.value != *b.value) return *a.value > *b.value;
        return newest(a, b);
      });
      return std::string("largest ") + SliName(sli) + " first";
    default:
      std::stable_sort(records.begin(), records.end(), newest);
      return "newest first";
  }
}

std::string SloTierNote(const std::string& severity, double budget_fraction,
                        const std::string& period_name, Millis long_window) {
  char text[160];
  // The window as rule files write it ("1h"), not in page words ("1 h").
  std::snprintf(text, sizeof text, "%s tier: %g%% of the %s error budget in %s", severity.c_str(),
                budget_fraction * 100, period_name.c_str(),
                aw::FormatDuration(long_window).c_str());
  return text;
}

std::string FormatAlertValue(const AlertPageData& d, std::optional<double> v) {
  if (!v) return "-";
  switch (d.unit) {
    case AlertPageData::Unit::kTimes: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3g\u00d7", *v);
      return buf;
    }
    case AlertPageData::Unit::kUsd:
      return FormatSliValue(Sli::kCostUsd, v);
    case AlertPageData::Unit::kSli:
      break;
  }
  return FormatSliValue(d.sli, v);
}

std::string RenderAlertPage(const AlertPageData& d, TimeMs now) {
  std::ostringstream html;
  const auto agent_it = d.labels.find("agent");
  const std::string agent = agent_it == d.labels.end() ? "" : agent_it->second;
  const auto sev_it = d.labels.find("severity");
  const std::string severity = sev_it == d.labels.end() ? "" : sev_it->second;
  html << PageHead(d.name + (agent.empty() ? "" : " on " + agent) + " - agentwatch", 60)
       << "<nav><a href=\"/\">&larr; status</a><a href=\"/api/v1/alerts?fingerprint="
       << UrlEncode(d.fingerprint)
       << "\">JSON</a><a href=\"/api/v1/investigations?alert=" << UrlEncode(d.fingerprint)
       << "\">investigations JSON</a></nav>";
  html << "<h1 id=\"alert-name\">" << HtmlEscape(d.name);
  if (!agent.empty()) html << " <span class=\"muted\">on</span> " << HtmlEscape(agent);
  html << "</h1><p><span class=\"badge " << HtmlEscape(d.state) << "\" id=\"alert-state\">"
       << HtmlEscape(d.state) << "</span>";
  if (!severity.empty()) {
    html << "<span class=\"badge " << HtmlEscape(severity) << "\">" << HtmlEscape(severity)
         << "</span>";
  }
  const bool firing = d.state == "firing" && d.fired_at_ms > 0;
  const TimeMs since = firing ? d.fired_at_ms : d.active_since_ms;
  html << "<span id=\"alert-for\">" << (firing ? "firing" : HtmlEscape(d.state)) << " for "
       << FormatDuration(Millis(now - since)) << "</span> <span class=\"muted\">(since "
       << HtmlEscape(FormatRfc3339(since)) << ")</span></p>";

  // The value against its threshold, in the SLI's unit.
  const std::string figure = !d.figure.empty()
                                 ? d.figure
                                 : std::string(SliName(d.sli)) +
                                       (d.stat.empty() ? "" : " " + d.stat) + " over " + d.window;
  html << "<div class=\"cards\"><div class=\"card\"><h3>Value</h3><p class=\"big\" "
          "id=\"alert-value\">"
       << HtmlEscape(FormatAlertValue(d, d.value));
  if (d.threshold) {
    html << " <span class=\"muted\">" << HtmlEscape(d.op) << "</span> <span id=\"alert-threshold\">"
         << HtmlEscape(d.threshold_name) << " " << HtmlEscape(FormatAlertValue(d, d.threshold))
         << "</span>";
  }
  html << "</p><p class=\"muted\">" << HtmlEscape(figure) << "</p>";
  const std::string summary = Annotation(d.annotations, "summary");
  const std::string description = Annotation(d.annotations, "description");
  if (!summary.empty()) html << "<p id=\"alert-summary\"><b>" << HtmlEscape(summary) << "</b></p>";
  if (!description.empty()) {
    html << "<p class=\"wrap\" id=\"alert-description\">" << HtmlEscape(description) << "</p>";
  }
  const std::string runbook = Annotation(d.annotations, "runbook_url");
  const std::string dashboard = Annotation(d.annotations, "dashboard_url");
  if (!runbook.empty() || !dashboard.empty()) {
    html << "<p id=\"alert-links\">";
    if (!runbook.empty()) html << SafeLink(runbook, "Runbook") << " ";
    if (!dashboard.empty()) html << SafeLink(dashboard, "Dashboard");
    html << "</p>";
  }
  html << "</div>";

  // The figure over time: each point is the same window ending earlier.
  ChartOptions chart;
  chart.width = 440;
  chart.height = 150;
  chart.threshold = d.threshold;
  chart.threshold_name = d.threshold_name;
  chart.sli = d.sli;
  chart.format = [&d](double v) { return FormatAlertValue(d, v); };
  const Millis span_ms =
      d.history_step * static_cast<int64_t>(d.history.empty() ? 0 : d.history.size() - 1);
  chart.first_label = "-" + FormatDuration(span_ms);
  chart.last_label = "now";
  html << "<div class=\"card\" id=\"history\"><h3>" << HtmlEscape(figure) << ", every "
       << FormatDuration(d.history_step) << "</h3>" << LineChart(d.history, chart)
       << "<p class=\"muted\" id=\"chart-legend\">Blue: " << HtmlEscape(figure)
       << (d.figure_note.empty() ? "" : " (" + HtmlEscape(d.figure_note) + ")") << ".";
  if (d.threshold) {
    html << " Dashed red: the " << HtmlEscape(d.threshold_name) << " (" << HtmlEscape(d.op) << " "
         << HtmlEscape(FormatAlertValue(d, d.threshold))
         << (d.threshold_note.empty() ? "" : "; " + HtmlEscape(d.threshold_note)) << ").";
  }
  html << "</p></div>";

  html << "<div class=\"card\"><h3>Labels</h3><table class=\"kv\" id=\"alert-labels\">";
  for (const auto& [k, v] : d.labels) {
    html << "<tr><td>" << HtmlEscape(k) << "</td><td class=\"wrap\">" << HtmlEscape(v)
         << "</td></tr>";
  }
  for (const auto& [k, v] : d.annotations) {
    if (k == "summary" || k == "description" || k == "runbook_url" || k == "dashboard_url") {
      continue;
    }
    html << "<tr><td>" << HtmlEscape(k) << "</td><td class=\"wrap\">" << HtmlEscape(v)
         << "</td></tr>";
  }
  html << "<tr><td>fingerprint</td><td>" << HtmlEscape(d.fingerprint) << "</td></tr></table></div>"
       << "</div>";

  html << "<h2>Investigations behind it</h2><div class=\"card\" id=\"investigations\">";
  if (d.investigations.empty()) {
    html << "<p class=\"muted\">None in the figure's window.</p>";
  } else {
    html << "<p class=\"muted\">" << d.investigations.size() << " of " << d.investigations_behind
         << ", " << HtmlEscape(d.ranked_by) << ".</p>"
         << "<table><tr><th>investigation</th><th>incident</th><th>verdict</th><th>"
         << HtmlEscape(SliName(d.sli)) << "</th><th>confidence</th><th>at</th></tr>";
    for (const AlertPageData::Investigation& i : d.investigations) {
      html << "<tr class=\"investigation\"><td class=\"wrap\"><a href=\"/api/v1/investigations/"
           << UrlEncode(i.id) << "\">" << HtmlEscape(i.id) << "</a></td><td class=\"wrap\">"
           << HtmlEscape(i.incident_id.empty() ? "-" : i.incident_id) << "</td><td"
           << (i.verdict == "override" ? " class=\"bad\"" : "") << ">"
           << HtmlEscape(i.verdict.empty() ? "-" : i.verdict) << "</td><td>"
           << HtmlEscape(FormatSliValue(d.sli, i.value)) << "</td><td>"
           << HtmlEscape(i.confidence ? FormatSliValue(Sli::kOverrideRate, i.confidence) : "-")
           << "</td><td>" << HtmlEscape(FormatRfc3339(i.ts)) << "</td></tr>";
    }
    html << "</table>";
  }
  html << "</div><h2>Delivery</h2>";
  NotificationsTable(html, d.notifications);
  html << "<p class=\"muted\">Rendered " << HtmlEscape(FormatRfc3339(now)) << "</p>" << kPageFoot;
  return html.str();
}

std::string RenderAlertNotFound(const std::string& fingerprint,
                                const std::vector<NotificationRecord>& notifications) {
  std::ostringstream html;
  html << PageHead("alert not found - agentwatch") << "<nav><a href=\"/\">&larr; status</a></nav>"
       << "<h1>No active alert " << HtmlEscape(fingerprint) << "</h1>"
       << "<p>No pending or firing alert has this fingerprint: it has resolved, or never "
          "existed.</p>";
  if (!notifications.empty()) NotificationsTable(html, notifications);
  html << kPageFoot;
  return html.str();
}

}  // namespace aw::server
