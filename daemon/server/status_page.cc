#include "daemon/server/status_page.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "daemon/common/time_util.h"

namespace aw::server {

namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Format(const std::optional<double>& v, const char* fmt) {
  if (!v) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, *v);
  return buf;
}

struct Headline {
  const char* title;
  Sli sli;
  Stat stat;
  const char* fmt;
};

constexpr Headline kHeadlines[] = {
    {"investigations", Sli::kInvestigations, Stat::kNone, "%.0f"},
    {"override rate", Sli::kOverrideRate, Stat::kNone, "%.3f"},
    {"cost (USD)", Sli::kCostUsd, Stat::kNone, "%.2f"},
    {"p95 tool calls", Sli::kToolCalls, Stat::kP95, "%.0f"},
    {"confidence/resolution r", Sli::kConfidenceResolutionCorrelation, Stat::kNone, "%.2f"},
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

std::string Sparkline(const std::vector<std::optional<double>>& points) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& p : points) {
    if (p) {
      lo = std::min(lo, *p);
      hi = std::max(hi, *p);
    }
  }
  if (!std::isfinite(lo)) return "<svg width=\"96\" height=\"20\"></svg>";
  const double span = hi > lo ? hi - lo : 1;
  std::ostringstream path;
  bool pen = false;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!points[i]) {
      pen = false;
      continue;
    }
    const double x = static_cast<double>(i) * 4;
    const double y = 18 - (*points[i] - lo) / span * 16;
    path << (pen ? " L" : " M") << x << ' ' << y;
    pen = true;
  }
  return "<svg width=\"96\" height=\"20\"><path d=\"" + path.str() +
         "\" fill=\"none\" stroke=\"#36c\" stroke-width=\"1.5\"/></svg>";
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
      << "<rect x=\"" << kPad << "\" y=\"" << kPad << "\" width=\"" << kSize
      << "\" height=\"" << kSize << "\" fill=\"none\" stroke=\"#999\"/>"
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

std::string RenderStatusPage(const windows::WindowEngine& engine, TimeMs now,
                             const nlohmann::json& alerts, const nlohmann::json& receivers) {
  std::ostringstream html;
  html << "<!doctype html><html><head><meta charset=\"utf-8\"><title>agentwatch</title>"
          "<meta http-equiv=\"refresh\" content=\"30\"><style>"
          "body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
          "td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}"
          ".firing{color:#c00;font-weight:bold}.pending{color:#c80}</style></head><body>"
          "<h1>agentwatch</h1><p>"
       << Escape(FormatRfc3339(now))
       << " · <a href=\"/api/v1/slis\">SLIs</a> · <a href=\"/api/v1/alerts\">alerts</a> · "
          "<a href=\"/api/v1/rules\">rules</a> · <a href=\"/metrics\">metrics</a></p>";

  html << "<h2>Alerts</h2>";
  const auto& list = alerts.contains("alerts") ? alerts["alerts"] : nlohmann::json::array();
  if (list.empty()) {
    html << "<p>No pending or firing alerts.</p>";
  } else {
    html << "<table><tr><th>alert</th><th>state</th><th>labels</th><th>value</th>"
            "<th>since</th></tr>";
    for (const auto& a : list) {
      std::string labels;
      for (const auto& [k, v] : a["labels"].items()) {
        labels += k + "=" + v.get<std::string>() + " ";
      }
      const std::string state = a.value("state", "");
      html << "<tr><td>" << Escape(a.value("name", "")) << "</td><td class=\"" << Escape(state)
           << "\">" << Escape(state) << "</td><td>" << Escape(labels) << "</td><td>"
           << Escape(a.contains("value") ? a["value"].dump() : "") << "</td><td>"
           << Escape(a.value("active_since", "")) << "</td></tr>";
    }
    html << "</table>";
  }

  html << "<h2>Delivery</h2>";
  const auto& rlist = receivers.contains("receivers") ? receivers["receivers"] : nlohmann::json::array();
  if (rlist.empty()) {
    html << "<p>No receivers configured.</p>";
  } else {
    const auto text = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : "never"; };
    html << "<table><tr><th>receiver</th><th>pending</th><th>last success</th><th>last error</th>"
            "<th>at</th></tr>";
    for (const auto& r : rlist) {
      const bool failing = r.value("pending", 0) > 0 && r["last_error_at"].is_string();
      html << "<tr><td>" << Escape(r.value("name", "")) << "</td><td"
           << (failing ? " class=\"firing\"" : "") << ">" << r.value("pending", 0) << "</td><td>"
           << Escape(text(r["last_success"])) << "</td><td>" << Escape(r.value("last_error", ""))
           << "</td><td>" << Escape(r["last_error_at"].is_string() ? text(r["last_error_at"]) : "")
           << "</td></tr>";
    }
    html << "</table>";
  }

  html << "<h2>Agents (last 24h; sparklines: hourly over the last 24h)</h2><table><tr><th>agent</th>";
  for (const Headline& h : kHeadlines) html << "<th>" << h.title << "</th>";
  html << "</tr>";
  const WindowSpec day = *ParseWindow("24h", nullptr);
  for (const std::string& agent : engine.Agents()) {
    html << "<tr><td>" << Escape(agent) << "</td>";
    for (const Headline& h : kHeadlines) {
      SliQuery q;
      q.sli = h.sli;
      q.stat = h.stat;
      q.window = day;
      q.only_agent = agent;
      std::optional<double> v;
      for (const SliValue& sv : engine.Compute(q, now)) v = sv.value;
      html << "<td>" << Format(v, h.fmt) << "<br>" << Sparkline(Hourly(engine, now, agent, h))
           << "</td>";
    }
    html << "</tr>";
  }
  html << "</table>";

  html << "<h2>Calibration (last 24h: mean confidence vs confirm rate per bin; "
          "the dashed diagonal is perfect calibration)</h2><table><tr><th>agent</th>"
          "<th>reliability</th><th>ECE</th><th>samples</th></tr>";
  for (const std::string& agent : engine.Agents()) {
    const stats::CalibrationBins bins = engine.Calibration(agent, day, now);
    int64_t n = 0;
    for (const stats::CalibrationBin& b : bins) n += b.count;
    html << "<tr><td>" << Escape(agent) << "</td><td>" << ReliabilityDiagram(bins) << "</td><td>"
         << Format(stats::ExpectedCalibrationError(bins), "%.3f") << "</td><td>" << n
         << "</td></tr>";
  }
  html << "</table></body></html>";
  return html.str();
}

}  // namespace aw::server
