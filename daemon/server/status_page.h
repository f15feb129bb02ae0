#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "windows/window_engine.h"

namespace aw::server {

// The HTML status page: per agent the headline SLIs over 24h with their
// last 24 hours as hourly sparklines, the active alerts, and delivery health
// per receiver. Pure: reads the engine at `now` (the engine locks itself).
// `alerts` and `receivers` have the shapes of /api/v1/alerts and
// /api/v1/receivers.
// An inline SVG reliability diagram: each non-empty bin's mean confidence
// (x) against its confirm rate (y), over the diagonal of perfect
// calibration. No external assets.
std::string ReliabilityDiagram(const stats::CalibrationBins& bins);

std::string RenderStatusPage(const windows::WindowEngine& engine, TimeMs now,
                             const nlohmann::json& alerts, const nlohmann::json& receivers);

}  // namespace aw::server
