#pragma once

// What the HTML pages (the status page and the alert pages) share: escaping,
// the one stylesheet, values with their units, durations in words, and
// inline SVG charts with a scale. Self-contained pages: no scripts, no
// external assets. Pure functions; safe from any thread.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/common/types.h"

namespace aw::server {

// Escapes & < > " ' for text and attribute values, and replaces bytes that
// are not well-formed UTF-8 (a path, a label a client sent) with U+FFFD so
// every page is valid UTF-8.
std::string HtmlEscape(const std::string& s);

// Percent-encodes everything but unreserved characters, for a path segment
// or a query value.
std::string UrlEncode(const std::string& s);

// An http(s) URL (from an annotation) is linked; anything else (javascript:,
// data:) is shown as text only. Returns the <a> or the escaped text.
std::string SafeLink(const std::string& url, const std::string& text);

// "<!doctype html>...<body>" with the shared stylesheet and a viewport for
// phones; `refresh_s` > 0 adds a meta refresh.
std::string PageHead(const std::string& title, int refresh_s = 0);
inline constexpr char kPageFoot[] = "</body></html>";

// A value in the SLI's unit: "31.0%" for rates, "$1.23" for costs, "14"
// for counts, "1.2 s" for durations, "-" for none.
std::string FormatSliValue(Sli sli, std::optional<double> v);

// "42 s", "6 min", "2 h 5 min", "3 d 4 h".
std::string FormatDuration(Millis d);

struct ChartOptions {
  int width = 120;
  int height = 32;
  std::optional<double> threshold;            // drawn dashed, and kept inside the scale
  std::string threshold_name = "threshold";   // its tooltip
  Sli sli = Sli::kInvestigations;             // unit of the scale labels
  std::function<std::string(double)> format;  // set: the scale labels instead of `sli`
  std::string first_label;                    // under the left end, e.g. "-24h"
  std::string last_label;                     // under the right end, e.g. "now"
};

// Points oldest first, nullopt = no data (a gap). An <svg> with the line,
// the threshold, and its scale: the top and bottom values at the left.
std::string LineChart(const std::vector<std::optional<double>>& points,
                      const ChartOptions& options);

}  // namespace aw::server
