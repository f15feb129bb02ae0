#include "daemon/server/page_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace aw::server {

namespace {

// One stylesheet for every page. Cards flow in a grid that drops to one
// column on a phone; tables that could be wide scroll inside their card
// instead of cutting columns off.
constexpr char kCss[] =
    "*{box-sizing:border-box}"
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;"
    "padding:12px 16px;color:#1d1d1f;background:#f5f5f7}"
    "a{color:#0a58ca}h1{font-size:20px;margin:4px 0 8px}"
    "h2{font-size:16px;margin:18px 0 8px}h3{font-size:15px;margin:0 0 6px}"
    "nav{color:#555;margin-bottom:6px}nav a{margin-right:10px}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:10px}"
    ".card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:10px 12px;"
    "overflow-x:auto;min-width:0}"
    ".card.unhealthy{border-left:6px solid #c00}.card.warn{border-left:6px solid #d80}"
    ".badge{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;"
    "font-weight:600;color:#fff;background:#777;margin-right:4px}"
    ".badge.firing,.badge.critical,.badge.page{background:#c00}"
    ".badge.pending,.badge.warning,.badge.ticket{background:#d80}"
    ".badge.ok{background:#2a7}.badge.info{background:#36c}"
    ".muted{color:#666}.big{font-size:18px;font-weight:600}"
    ".bad{color:#c00;font-weight:600}"
    "table{border-collapse:collapse;width:100%}"
    "td,th{padding:4px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}"
    "th{font-weight:600;color:#444}"
    ".kv td:first-child{color:#555;white-space:nowrap;width:1%}"
    ".wrap{overflow-wrap:anywhere}"
    "svg text{font:10px system-ui,sans-serif;fill:#666}"
    "svg.chart{max-width:100%;height:auto}"
    "@media (max-width:600px){body{padding:8px}.cards{grid-template-columns:1fr}"
    "td,th{padding:3px 5px}}";

std::string Printf(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// A short number: 3 significant digits, no exponent for everyday sizes.
std::string Short(double v) {
  const double a = std::fabs(v);
  if (a >= 1e6) return Printf("%.3gM", v / 1e6);
  if (a >= 1e4) return Printf("%.3gk", v / 1e3);
  if (a >= 100 || v == std::floor(v)) return Printf("%.0f", v);
  if (a >= 1) return Printf("%.2f", v);
  return Printf("%.3g", v);
}

}  // namespace

namespace {

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no
// overlongs, no surrogates, at most U+10FFFF), or 0 if there is none.
size_t Utf8SequenceAt(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

std::string HtmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceAt(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD: a page is UTF-8 whatever bytes a client sent
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s, i, n);
      i += n;
      continue;
    }
    switch (s[i]) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += s[i];
    }
    ++i;
  }
  return out;
}

std::string UrlEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string SafeLink(const std::string& url, const std::string& text) {
  if (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0) {
    return "<a href=\"" + HtmlEscape(url) + "\">" + HtmlEscape(text) + "</a>";
  }
  return HtmlEscape(text + ": " + url);
}

std::string PageHead(const std::string& title, int refresh_s) {
  std::string out =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">";
  if (refresh_s > 0) {
    out += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_s) + "\">";
  }
  return out + "<title>" + HtmlEscape(title) + "</title><style>" + kCss + "</style></head><body>";
}

std::string FormatSliValue(Sli sli, std::optional<double> v) {
  if (!v) return "-";
  if (!std::isfinite(*v)) return std::isnan(*v) ? "NaN" : (*v > 0 ? "+Inf" : "-Inf");
  switch (sli) {
    case Sli::kOverrideRate:
    case Sli::kReviewCoverage:
    case Sli::kFinishReasonRate:
    case Sli::kConfidenceEce:
      return Printf("%.1f%%", *v * 100);
    case Sli::kCostUsd:
    case Sli::kCostPerInvestigation:
      return std::fabs(*v) >= 1 ? Printf("$%.2f", *v) : Printf("$%.4f", *v);
    case Sli::kDurationMs:
      return std::fabs(*v) >= 1000 ? Printf("%.1f s", *v / 1000) : Printf("%.0f ms", *v);
    case Sli::kInputTokens:
    case Sli::kOutputTokens:
      return Short(*v) + " tok";
    case Sli::kConfidenceResolutionCorrelation:
      return Printf("r=%.2f", *v);
    case Sli::kConfidenceBrier:
      return Printf("%.3f", *v);
    case Sli::kInvestigations:
    case Sli::kToolCalls:
      return Short(*v);
  }
  return Short(*v);
}

std::string FormatDuration(Millis d) {
  const long long s = std::max<long long>(0, d.count() / 1000);
  const long long m = s / 60, h = m / 60;
  char buf[48];
  // snprintf rather than string concatenation: g++ 12 warns (-Wrestrict, a
  // false positive, GCC bug 105329) on `"x" + std::string` chains.
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%lld s", s);
  } else if (m < 60) {
    std::snprintf(buf, sizeof buf, "%lld min", m);
  } else if (h < 24) {
    if (m % 60) {
      std::snprintf(buf, sizeof buf, "%lld h %lld min", h, m % 60);
    } else {
      std::snprintf(buf, sizeof buf, "%lld h", h);
    }
  } else if (h % 24) {
    std::snprintf(buf, sizeof buf, "%lld d %lld h", h / 24, h % 24);
  } else {
    std::snprintf(buf, sizeof buf, "%lld d", h / 24);
  }
  return buf;
}

std::string LineChart(const std::vector<std::optional<double>>& points, const ChartOptions& o) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& p : points) {
    if (p && std::isfinite(*p)) {
      lo = std::min(lo, *p);
      hi = std::max(hi, *p);
    }
  }
  if (o.threshold && std::isfinite(*o.threshold)) {
    lo = std::min(lo, *o.threshold);
    hi = std::max(hi, *o.threshold);
  }
  // The scale labels take a left gutter; the x labels a bottom one.
  constexpr double kGutter = 44;
  const bool x_labels = !o.first_label.empty() || !o.last_label.empty();
  const double plot_h = o.height - 4 - (x_labels ? 12 : 0);
  const double plot_w = o.width - kGutter - 2;
  std::ostringstream svg;
  svg << "<svg class=\"chart\" width=\"" << o.width << "\" height=\"" << o.height
      << "\" viewBox=\"0 0 " << o.width << ' ' << o.height
      << "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">";
  if (!std::isfinite(lo)) {
    svg << "<text x=\"" << kGutter << "\" y=\"" << plot_h / 2 + 4 << "\">no data</text></svg>";
    return svg.str();
  }
  if (hi == lo) {
    // A flat line in the middle of a scale around it.
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const auto label = [&](double v) { return o.format ? o.format(v) : FormatSliValue(o.sli, v); };
  const double top = 2, span = hi - lo;
  const auto y = [&](double v) { return top + (hi - v) / span * plot_h; };
  const double step = points.size() > 1 ? plot_w / static_cast<double>(points.size() - 1) : 0;
  const auto x = [&](size_t i) { return kGutter + static_cast<double>(i) * step; };
  svg << "<line x1=\"" << kGutter << "\" y1=\"" << top << "\" x2=\"" << kGutter << "\" y2=\""
      << top + plot_h << "\" stroke=\"#ccc\"/>"
      << "<text class=\"scale-max\" x=\"" << kGutter - 3 << "\" y=\"" << top + 8
      << "\" text-anchor=\"end\">" << HtmlEscape(label(hi)) << "</text>"
      << "<text class=\"scale-min\" x=\"" << kGutter - 3 << "\" y=\"" << top + plot_h
      << "\" text-anchor=\"end\">" << HtmlEscape(label(lo)) << "</text>";
  if (o.threshold && std::isfinite(*o.threshold)) {
    svg << "<line class=\"threshold\" x1=\"" << kGutter << "\" y1=\"" << y(*o.threshold)
        << "\" x2=\"" << kGutter + plot_w << "\" y2=\"" << y(*o.threshold)
        << "\" stroke=\"#c00\" stroke-dasharray=\"4 3\"><title>" << HtmlEscape(o.threshold_name)
        << " " << HtmlEscape(label(*o.threshold)) << "</title></line>";
  }
  std::ostringstream path;
  bool pen = false;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!points[i] || !std::isfinite(*points[i])) {
      pen = false;
      continue;
    }
    path << (pen ? " L" : " M") << x(i) << ' ' << y(*points[i]);
    pen = true;
  }
  svg << "<path d=\"" << path.str() << "\" fill=\"none\" stroke=\"#36c\" stroke-width=\"1.5\"/>";
  // A lone point between gaps draws no line: mark the last point.
  for (size_t i = points.size(); i-- > 0;) {
    if (points[i] && std::isfinite(*points[i])) {
      svg << "<circle cx=\"" << x(i) << "\" cy=\"" << y(*points[i]) << "\" r=\"2\" fill=\"#36c\"/>";
      break;
    }
  }
  if (x_labels) {
    svg << "<text x=\"" << kGutter << "\" y=\"" << o.height - 1 << "\">"
        << HtmlEscape(o.first_label) << "</text><text x=\"" << kGutter + plot_w << "\" y=\""
        << o.height - 1 << "\" text-anchor=\"end\">" << HtmlEscape(o.last_label) << "</text>";
  }
  svg << "</svg>";
  return svg.str();
}

}  // namespace aw::server
