// GET /api/v1/calibration?agent=&window=&target= (CONTRACT.md
// "Calibration"): one agent's reliability bins over a window and the
// confidence above which its override rate is provably (Wilson upper bound
// at 0.95) at most `target`. Reads the engine only; never blocks on ingest.

#include <cmath>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/http/http.h"
#include "daemon/server/app.h"
#include "daemon/server/handler_util.h"
#include "windows/stats.h"

namespace aw::server {

using json = nlohmann::json;

namespace {

// The confidence the threshold's Wilson upper bound is taken at.
constexpr double kThresholdConfidence = 0.95;

json CalibrationBody(const std::string& agent, const WindowSpec& window, double target,
                     const stats::CalibrationBins& bins) {
  json list = json::array();
  int64_t n = 0;
  for (int k = 0; k < stats::kCalibrationBins; ++k) {
    const stats::CalibrationBin& b = bins[k];
    n += b.count;
    const double c = static_cast<double>(b.count);
    list.push_back(
        {{"lower", stats::CalibrationBinLower(k)},
         {"upper", stats::CalibrationBinUpper(k)},
         {"count", b.count},
         {"mean_confidence", b.count ? json(b.confidence_sum / c) : json(nullptr)},
         {"confirm_rate", b.count ? json(static_cast<double>(b.confirms) / c) : json(nullptr)}});
  }
  const auto ece = stats::ExpectedCalibrationError(bins);
  const auto threshold = stats::CalibrationThreshold(bins, target, kThresholdConfidence);
  return json{{"agent", agent},
              {"window", window.name},
              {"target", target},
              {"samples", n},
              {"ece", ece ? json(*ece) : json(nullptr)},
              {"bins", list},
              {"threshold", threshold ? json(*threshold) : json(nullptr)}};
}

}  // namespace

void App::CalibrationRoutes() {
  router_->Add("GET", "/api/v1/calibration", [this](const http::Request& q, http::Response& r) {
    bool protect;
    std::vector<WindowSpec> configured;
    {
      std::lock_guard lock(config_mu_);
      protect = config_.auth.protect_reads;
      configured = config_.sli_windows;
    }
    if (!ready_) {
      ReplyJson(r, 503, json{{"error", "starting: rebuilding state"}});
      return;
    }
    if (protect && !Authorize(q, r, false, false)) return;
    HandleCalibration(q, r, configured);
  });
}

void App::HandleCalibration(const http::Request& req, http::Response& res,
                            const std::vector<WindowSpec>& configured) {
  const std::string agent = req.get_param_value("agent");
  if (agent.empty()) {
    ReplyJson(res, 400, json{{"error", "agent: required (the agent to calibrate)"}});
    return;
  }
  WindowSpec window;
  const std::string wtext = req.params.count("window") ? req.get_param_value("window") : "24h";
  bool found = false;
  for (const WindowSpec& w : configured) {
    if (w.name == wtext) {
      window = w;
      found = true;
    }
  }
  if (!found) {
    std::string error;
    auto parsed = ParseWindow(wtext, &error);
    if (!parsed) {
      ReplyJson(res, 400, json{{"error", "window: " + error}});
      return;
    }
    window = *parsed;
    window.name = wtext;
  }
  double target = 0.05;
  if (req.params.count("target")) {
    const std::string t = req.get_param_value("target");
    char* end = nullptr;
    target = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(target) || target < 0 ||
        target > 1) {
      ReplyJson(res, 400,
                json{{"error", "target: must be a number between 0 and 1, got \"" + t + "\""}});
      return;
    }
  }
  const stats::CalibrationBins bins = state_->engine.Calibration(agent, window, clock_.NowMs());
  ReplyJson(res, 200, CalibrationBody(agent, window, target, bins));
}

}  // namespace aw::server
