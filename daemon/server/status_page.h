#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "exporters/sli_collector.h"
#include "windows/window_engine.h"

namespace aw::server {

// An inline SVG reliability diagram: each non-empty bin's mean confidence
// (x) against its confirm rate (y), over the diagonal of perfect
// calibration. No external assets.
std::string ReliabilityDiagram(const stats::CalibrationBins& bins);

// What stands behind one active alert, for showing its value against its
// threshold in its unit.
struct AlertFigure {
  Sli sli = Sli::kInvestigations;
  Stat stat = Stat::kNone;
  std::optional<double> threshold;  // threshold rules only
  std::string op;
  std::string window;
  TimeMs active_since_ms = 0;
  TimeMs fired_at_ms = 0;  // 0 while pending
};

struct StatusPageInput {
  nlohmann::json alerts;                       // the body of /api/v1/alerts
  nlohmann::json receivers;                    // the body of /api/v1/receivers
  std::map<std::string, AlertFigure> figures;  // by fingerprint
  std::vector<exporters::SloGauge> slos;
  std::map<std::string, TimeMs> last_span;  // per agent: ts of its newest span
  // The body of GET /api/v1/silences; null leaves the section out (see
  // SilencesSection).
  nlohmann::json silences;
};

// The HTML status page for whoever is on call: firing alerts first (with
// severity, summary, value against threshold, how long), then agents with
// unhealthy ones (a firing alert) first and marked, each with its data
// freshness and the headline SLIs over 24h with hourly sparklines, SLO
// error budgets, delivery health per receiver, silences and calibration.
// Cards that stack on a phone; no scripts. Pure: reads the engine at `now`
// (the engine locks itself).
std::string RenderStatusPage(const windows::WindowEngine& engine, TimeMs now,
                             const StatusPageInput& input);

// The "Silences" section from the shape of GET /api/v1/silences: the
// active and pending silences with their matchers, creator, comment and
// end. "" when `silences` is null.
std::string SilencesSection(const nlohmann::json& silences, TimeMs now);

}  // namespace aw::server
