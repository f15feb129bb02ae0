#include "daemon/server/status_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "daemon/common/time_util.h"
#include "daemon/server/page_util.h"

namespace aw::server {

namespace {

using nlohmann::json;

// Data older than this on an agent that has spoken before is flagged.
constexpr Millis kStaleAfter{3'600'000};

struct Headline {
  const char* title;
  Sli sli;
  Stat stat;
};

constexpr Headline kHeadlines[] = {
    {"investigations", Sli::kInvestigations, Stat::kNone},
    {"override rate", Sli::kOverrideRate, Stat::kNone},
    {"cost", Sli::kCostUsd, Stat::kNone},
    {"p95 tool calls", Sli::kToolCalls, Stat::kP95},
    {"confidence/resolution r", Sli::kConfidenceResolutionCorrelation, Stat::kNone},
};

// One agent's SLI over 24 consecutive 1h windows, oldest first.
std::vector<std::optional<double>> Hourly(const windows::WindowEngine& engine, TimeMs now,
                                          const std::string& agent, const Headline& h) {
  SliQuery q;
  q.sli = h.sli;
  q.stat = h.stat;
  q.window = *ParseWindow("1h", nullptr);
  q.only_agent = agent;
  std::vector<std::optional<double>> points;
  for (int k = 23; k >= 0; --k) {
    q.offset = Millis(k * 3'600'000LL);
    std::optional<double> v;
    for (const SliValue& sv : engine.Compute(q, now)) v = sv.value;
    points.push_back(v);
  }
  return points;
}

std::string Text(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string Label(const json& alert, const char* key) {
  const auto labels = alert.find("labels");
  return labels != alert.end() && labels->is_object() ? Text(*labels, key) : "";
}

// critical/page first, then warning/ticket, then the rest.
int SeverityRank(const std::string& s) {
  if (s == "critical" || s == "page") return 0;
  if (s == "error") return 1;
  if (s == "warning" || s == "ticket") return 2;
  return 3;
}

// An active alert as the page needs it.
struct ActiveAlert {
  const json* alert;
  const AlertFigure* figure;  // null when its rule is gone
  std::string state, severity, agent, fingerprint;
};

std::string ValueText(const json& alert, const AlertFigure* f) {
  const json& v = alert.contains("value") ? alert["value"] : json();
  if (!v.is_number()) return v.is_string() ? v.get<std::string>() : "-";
  const double value = v.get<double>();
  if (f && f->threshold) {
    return FormatSliValue(f->sli, value) + " " + f->op + " " +
           FormatSliValue(f->sli, *f->threshold);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", value);
  return buf;
}

void AlertCard(std::ostringstream& html, const ActiveAlert& a, TimeMs now) {
  const json& j = *a.alert;
  html << "<div class=\"card alert " << (a.state == "firing" ? "unhealthy" : "warn")
       << "\" data-agent=\"" << HtmlEscape(a.agent) << "\"><h3><span class=\"badge "
       << HtmlEscape(a.state) << "\">" << HtmlEscape(a.state) << "</span>";
  if (!a.severity.empty()) {
    html << "<span class=\"badge " << HtmlEscape(a.severity) << "\">" << HtmlEscape(a.severity)
         << "</span>";
  }
  html << "<a class=\"alert-name\" href=\"/alerts/" << UrlEncode(a.fingerprint) << "\">"
       << HtmlEscape(Text(j, "name")) << "</a>";
  if (!a.agent.empty()) html << " <span class=\"muted\">on</span> " << HtmlEscape(a.agent);
  html << "</h3>";
  const json annotations = j.contains("annotations") ? j["annotations"] : json::object();
  if (const std::string summary = Text(annotations, "summary"); !summary.empty()) {
    html << "<p class=\"summary\">" << HtmlEscape(summary) << "</p>";
  }
  html << "<p><span class=\"big\">" << HtmlEscape(ValueText(j, a.figure)) << "</span>";
  if (a.figure) {
    html << " <span class=\"muted\">" << HtmlEscape(SliName(a.figure->sli))
         << (a.figure->stat == Stat::kNone ? "" : std::string(" ") + StatName(a.figure->stat))
         << " over " << HtmlEscape(a.figure->window) << "</span>";
    const bool firing = a.state == "firing" && a.figure->fired_at_ms > 0;
    const TimeMs since = firing ? a.figure->fired_at_ms : a.figure->active_since_ms;
    html << "<br><span class=\"for\">" << HtmlEscape(a.state) << " for "
         << FormatDuration(Millis(now - since)) << "</span>";
  }
  html << "</p></div>";
}

void DeliverySection(std::ostringstream& html, const json& receivers) {
  html << "<h2>Delivery</h2>";
  const json list = receivers.contains("receivers") ? receivers["receivers"] : json::array();
  if (list.empty()) {
    html << "<p class=\"muted\">No receivers configured.</p>";
    return;
  }
  html << "<div class=\"card\"><table id=\"delivery\"><tr><th>receiver</th><th>pending</th>"
          "<th>last success</th><th>last error</th></tr>";
  for (const json& r : list) {
    const int64_t pending = r.value("pending", int64_t{0});
    const std::string error_at = Text(r, "last_error_at");
    const std::string success = Text(r, "last_success");
    // Failing: items wait and the latest attempt failed.
    const bool failing = pending > 0 && !error_at.empty() && error_at >= success;
    html << "<tr class=\"receiver" << (failing ? " failing" : "") << "\"><td>"
         << HtmlEscape(Text(r, "name")) << "</td><td" << (failing ? " class=\"bad\"" : "") << ">"
         << pending;
    // Alerts held in a group until its group_wait / group_interval.
    if (const int64_t waiting = r.value("waiting_in_groups", int64_t{0}); waiting > 0) {
      html << " <span class=\"muted waiting\">+" << waiting << " in groups until "
           << HtmlEscape(Text(r, "next_group_flush")) << "</span>";
    }
    html << "</td><td>" << HtmlEscape(success.empty() ? "never" : success)
         << "</td><td class=\"wrap\">"
         << (error_at.empty() ? ""
                              : HtmlEscape(Text(r, "last_error")) + " <span class=\"muted\">(" +
                                    HtmlEscape(error_at) + ")</span>")
         << "</td></tr>";
  }
  html << "</table></div>";
}

void SloSection(std::ostringstream& html, const std::vector<exporters::SloGauge>& slos) {
  if (slos.empty()) return;
  html << "<h2>SLO error budgets</h2><div class=\"card\"><table id=\"slos\"><tr><th>SLO</th>"
          "<th>budget left</th><th>burn rates</th></tr>";
  for (const exporters::SloGauge& s : slos) {
    std::string burns;
    for (const auto& [window, rate] : s.burn_rates) {
      if (!rate) continue;
      char buf[48];
      std::snprintf(buf, sizeof buf, "%s %.2f", window.c_str(), *rate);
      burns += (burns.empty() ? "" : ", ") + std::string(buf);
    }
    char left[32];
    std::snprintf(left, sizeof left, "%.1f%%", s.error_budget_remaining * 100);
    html << "<tr><td>" << HtmlEscape(s.slo) << "</td><td"
         << (s.error_budget_remaining <= 0 ? " class=\"bad\"" : "") << ">" << left
         << "</td><td class=\"muted\">" << HtmlEscape(burns) << "</td></tr>";
  }
  html << "</table></div>";
}

}  // namespace

std::string ReliabilityDiagram(const stats::CalibrationBins& bins) {
  // 0..1 on both axes mapped into a 100x100 plot with a 10px margin; y grows
  // upwards. Perfect calibration is the diagonal.
  constexpr double kSize = 100, kPad = 10;
  const auto x = [&](double v) { return kPad + v * kSize; };
  const auto y = [&](double v) { return kPad + (1 - v) * kSize; };
  std::ostringstream svg;
  svg << "<svg class=\"reliability\" width=\"120\" height=\"120\" "
         "xmlns=\"http://www.w3.org/2000/svg\">"
      << "<rect x=\"" << kPad << "\" y=\"" << kPad << "\" width=\"" << kSize << "\" height=\""
      << kSize << "\" fill=\"none\" stroke=\"#999\"/>"
      << "<line class=\"diagonal\" x1=\"" << x(0) << "\" y1=\"" << y(0) << "\" x2=\"" << x(1)
      << "\" y2=\"" << y(1) << "\" stroke=\"#bbb\" stroke-dasharray=\"3 2\"/>";
  std::ostringstream path;
  bool pen = false;
  int points = 0;
  for (const stats::CalibrationBin& b : bins) {
    if (b.count == 0) continue;
    const double c = static_cast<double>(b.count);
    const double mx = x(b.confidence_sum / c), my = y(static_cast<double>(b.confirms) / c);
    path << (pen ? " L" : "M") << mx << ' ' << my;
    pen = true;
    ++points;
    svg << "<circle class=\"bin\" cx=\"" << mx << "\" cy=\"" << my
        << "\" r=\"2.5\" fill=\"#36c\"><title>" << b.count << " investigations</title></circle>";
  }
  if (points > 1) {
    svg << "<path d=\"" << path.str() << "\" fill=\"none\" stroke=\"#36c\" stroke-width=\"1.5\"/>";
  }
  svg << "</svg>";
  return svg.str();
}

std::string SilencesSection(const json& silences, TimeMs now) {
  if (silences.is_null()) return "";
  std::ostringstream html;
  html << "<h2>Silences</h2>";
  const json list = silences.contains("silences") ? silences["silences"] : json::array();
  bool any = false;
  for (const json& s : list) {
    const std::string status = Text(s, "status");
    if (status == "expired") continue;
    if (!any) {
      html << "<div class=\"card\"><table id=\"silences\"><tr><th>matchers</th><th>status</th>"
              "<th>ends</th><th>by</th><th>comment</th></tr>";
      any = true;
    }
    std::string matchers;
    for (const json& m : s.value("matchers", json::array())) {
      const bool equal = m.value("isEqual", true), regex = m.value("isRegex", false);
      matchers += (matchers.empty() ? "" : ", ") + Text(m, "name") +
                  (regex ? (equal ? "=~" : "!~") : (equal ? "=" : "!=")) + "\"" + Text(m, "value") +
                  "\"";
    }
    const std::string ends = Text(s, "endsAt");
    const auto end_ms = ParseRfc3339(ends);
    html << "<tr><td class=\"wrap\">" << HtmlEscape(matchers) << "</td><td>" << HtmlEscape(status)
         << "</td><td>" << HtmlEscape(ends)
         << (end_ms && *end_ms > now ? " <span class=\"muted\">(in " +
                                           FormatDuration(Millis(*end_ms - now)) + ")</span>"
                                     : "")
         << "</td><td>" << HtmlEscape(Text(s, "createdBy")) << "</td><td class=\"wrap\">"
         << HtmlEscape(Text(s, "comment")) << "</td></tr>";
  }
  if (any) {
    html << "</table></div>";
  } else {
    html << "<p class=\"muted\">No active silences.</p>";
  }
  return html.str();
}

std::string RenderStatusPage(const windows::WindowEngine& engine, TimeMs now,
                             const StatusPageInput& in) {
  // Active alerts: firing before pending, then by severity, then name.
  std::vector<ActiveAlert> active;
  const json alerts = in.alerts.contains("alerts") ? in.alerts["alerts"] : json::array();
  for (const json& a : alerts) {
    ActiveAlert x{&a,
                  nullptr,
                  Text(a, "state"),
                  Label(a, "severity"),
                  Label(a, "agent"),
                  Text(a, "fingerprint")};
    if (const auto it = in.figures.find(x.fingerprint); it != in.figures.end()) {
      x.figure = &it->second;
    }
    active.push_back(std::move(x));
  }
  std::stable_sort(active.begin(), active.end(), [](const ActiveAlert& a, const ActiveAlert& b) {
    if ((a.state == "firing") != (b.state == "firing")) return a.state == "firing";
    if (SeverityRank(a.severity) != SeverityRank(b.severity)) {
      return SeverityRank(a.severity) < SeverityRank(b.severity);
    }
    return Text(*a.alert, "name") < Text(*b.alert, "name");
  });
  // Agents: a firing alert makes one unhealthy, a pending one "at risk".
  std::map<std::string, int> health;  // 2 firing, 1 pending
  for (const ActiveAlert& a : active) {
    int& h = health[a.agent];
    h = std::max(h, a.state == "firing" ? 2 : 1);
  }
  std::vector<std::string> agents = engine.Agents();
  for (const auto& [agent, unused] : health) {
    if (!agent.empty() && std::find(agents.begin(), agents.end(), agent) == agents.end()) {
      agents.push_back(agent);
    }
  }
  std::stable_sort(agents.begin(), agents.end(), [&](const std::string& a, const std::string& b) {
    const int ha = health.count(a) ? health[a] : 0, hb = health.count(b) ? health[b] : 0;
    return ha != hb ? ha > hb : a < b;
  });
  int firing = 0, pending = 0;
  for (const ActiveAlert& a : active) (a.state == "firing" ? firing : pending)++;

  std::ostringstream html;
  html << PageHead("agentwatch", 30)
       << "<nav><b>agentwatch</b> <a href=\"/api/v1/slis\">SLIs</a><a href=\"/api/v1/alerts\">"
          "alerts</a><a href=\"/api/v1/rules\">rules</a><a href=\"/metrics\">metrics</a></nav>"
       << "<p id=\"overview\"><span class=\"badge " << (firing ? "firing" : "ok") << "\">" << firing
       << " firing</span><span class=\"badge " << (pending ? "pending" : "ok") << "\">" << pending
       << " pending</span> " << agents.size() << " agents · " << HtmlEscape(FormatRfc3339(now))
       << "</p>";

  html << "<h2>Alerts</h2>";
  if (active.empty()) {
    html << "<p class=\"muted\">No pending or firing alerts.</p>";
  } else {
    html << "<div class=\"cards\" id=\"alerts\">";
    for (const ActiveAlert& a : active) AlertCard(html, a, now);
    html << "</div>";
  }

  // ---- Silences: rendered from in.silences (GET /api/v1/silences). ----
  html << SilencesSection(in.silences, now);

  html << "<h2>Agents <span class=\"muted\">(last 24h; sparklines hourly)</span></h2>"
          "<div class=\"cards\" id=\"agents\">";
  const WindowSpec day = *ParseWindow("24h", nullptr);
  for (const std::string& agent : agents) {
    const int h = health.count(agent) ? health[agent] : 0;
    html << "<div class=\"card agent"
         << (h == 2   ? " unhealthy"
             : h == 1 ? " warn"
                      : "")
         << "\" data-agent=\"" << HtmlEscape(agent) << "\"><h3>" << HtmlEscape(agent) << " "
         << (h == 2   ? "<span class=\"badge firing\">unhealthy</span>"
             : h == 1 ? "<span class=\"badge pending\">at risk</span>"
                      : "<span class=\"badge ok\">ok</span>")
         << "</h3><p class=\"freshness\">";
    if (const auto it = in.last_span.find(agent); it != in.last_span.end()) {
      const Millis age(now - it->second);
      html << "<span" << (age > kStaleAfter ? " class=\"bad\"" : "") << ">last span "
           << FormatDuration(age) << " ago</span>";
    } else {
      html << "<span class=\"muted\">no spans yet</span>";
    }
    html << "</p><table>";
    for (const Headline& hl : kHeadlines) {
      SliQuery q;
      q.sli = hl.sli;
      q.stat = hl.stat;
      q.window = day;
      q.only_agent = agent;
      std::optional<double> v;
      for (const SliValue& sv : engine.Compute(q, now)) v = sv.value;
      // The threshold of an active alert of this agent on this SLI.
      std::optional<double> threshold;
      std::string op;
      for (const ActiveAlert& a : active) {
        if (a.agent == agent && a.figure && a.figure->sli == hl.sli && a.figure->stat == hl.stat &&
            a.figure->threshold) {
          threshold = a.figure->threshold;
          op = a.figure->op;
        }
      }
      ChartOptions chart;
      chart.width = 150;
      chart.height = 34;
      chart.sli = hl.sli;
      chart.threshold = threshold;
      html << "<tr><td>" << hl.title << "</td><td><b>" << HtmlEscape(FormatSliValue(hl.sli, v))
           << "</b>";
      if (threshold) {
        html << "<br><span class=\"muted\">alert " << HtmlEscape(op) << " "
             << HtmlEscape(FormatSliValue(hl.sli, *threshold)) << "</span>";
      }
      html << "</td><td>" << LineChart(Hourly(engine, now, agent, hl), chart) << "</td></tr>";
    }
    html << "</table></div>";
  }
  html << "</div>";

  SloSection(html, in.slos);
  DeliverySection(html, in.receivers);

  html << "<h2>Calibration <span class=\"muted\">(last 24h: mean confidence vs confirm rate per "
          "bin; the dashed diagonal is perfect calibration)</span></h2><div class=\"cards\">";
  for (const std::string& agent : engine.Agents()) {
    const stats::CalibrationBins bins = engine.Calibration(agent, day, now);
    int64_t n = 0;
    for (const stats::CalibrationBin& b : bins) n += b.count;
    const std::optional<double> ece = stats::ExpectedCalibrationError(bins);
    html << "<div class=\"card\"><h3>" << HtmlEscape(agent) << "</h3>" << ReliabilityDiagram(bins)
         << "<p>ECE " << HtmlEscape(ece ? FormatSliValue(Sli::kConfidenceBrier, *ece) : "-")
         << " · " << n << " samples</p></div>";
  }
  html << "</div>" << kPageFoot;
  return html.str();
}

}  // namespace aw::server
