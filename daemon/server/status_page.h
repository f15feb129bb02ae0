#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "windows/window_engine.h"

namespace aw::server {

// The HTML status page: per agent the headline SLIs over 24h with their
// last 24 hours as hourly sparklines, and the active alerts. Pure: reads the
// engine at `now`; the caller holds the engine's lock.
std::string RenderStatusPage(const windows::WindowEngine& engine, TimeMs now,
                             const nlohmann::json& alerts);

}  // namespace aw::server
