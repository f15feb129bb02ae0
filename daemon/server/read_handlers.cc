// The read endpoints: GET /metrics, /api/v1/slis, /api/v1/alerts,
// /api/v1/rules, the status page and the health probes. Handlers take the
// state's shared lock only; they never block on ingest.

#include <prometheus/text_serializer.h>

#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"
#include "daemon/http/http.h"
#include "daemon/server/app.h"
#include "daemon/server/handler_util.h"
#include "daemon/server/rule_runtime.h"
#include "daemon/server/status_page.h"

namespace aw::server {

using json = nlohmann::json;

void App::ReadRoutes() {
  router_->Add("GET", "/-/healthy", [](const http::Request&, http::Response& r) {
    r.set_content("agentwatch is healthy.\n", "text/plain");
  });
  router_->Add("GET", "/-/ready", [this](const http::Request&, http::Response& r) {
    const Status store_health = store_ ? store_->Health() : Status::Ok();
    if (ready_ && !stopping_ && !store_health.ok()) {
      r.status = 503;
      r.set_content(store_health.message() + "\n", "text/plain");
    } else if (ready_ && !stopping_) {
      r.set_content("agentwatch is ready.\n", "text/plain");
    } else {
      r.status = 503;
      r.set_content(stopping_ ? "shutting down\n" : "rebuilding state from the store\n", "text/plain");
    }
  });
  const auto read_guard = [this](const http::Request& q, http::Response& r) {
    bool protect;
    {
      std::lock_guard lock(config_mu_);
      protect = config_.auth.protect_reads;
    }
    if (!ready_) {
      ReplyJson(r, 503, json{{"error", "starting: rebuilding state"}});
      return false;
    }
    return !protect || Authorize(q, r, false, false);
  };
  router_->Add("GET", "/metrics", [this, read_guard](const http::Request& q, http::Response& r) {
    if (!read_guard(q, r)) return;
    r.set_content(MetricsText(), "text/plain; version=0.0.4; charset=utf-8");
  });
  router_->Add("GET", "/api/v1/slis", [this, read_guard](const http::Request& q, http::Response& r) {
    if (read_guard(q, r)) HandleSlis(q, r);
  });
  router_->Add("GET", "/", [this, read_guard](const http::Request& q, http::Response& r) {
    if (read_guard(q, r)) HandleStatusPage(q, r);
  });
  router_->Add("GET", "/api/v1/rules", [this, read_guard](const http::Request& q, http::Response& r) {
    if (read_guard(q, r)) ReplyJson(r, 200, rules_->RulesJson());
  });
  router_->Add("GET", "/api/v1/alerts", [this, read_guard](const http::Request& q, http::Response& r) {
    if (read_guard(q, r)) ReplyJson(r, 200, rules_->AlertsJson());
  });
  router_->Add("GET", "/api/v1/receivers", [this, read_guard](const http::Request& q, http::Response& r) {
    if (!read_guard(q, r)) return;
    const auto time_or_null = [](TimeMs t) { return t > 0 ? json(FormatRfc3339(t)) : json(nullptr); };
    json list = json::array();
    for (const RuleRuntime::ReceiverStatus& s : rules_->Receivers()) {
      list.push_back({{"name", s.name},
                      {"pending", s.pending},
                      {"last_success", time_or_null(s.last_success_ms)},
                      {"last_error", s.last_error},
                      {"last_error_at", time_or_null(s.last_error_ms)}});
    }
    ReplyJson(r, 200, json{{"receivers", list}});
  });
}

void App::HandleSlis(const http::Request& req, http::Response& res) {
  const std::string agent = req.get_param_value("agent");
  std::vector<WindowSpec> windows;
  {
    std::lock_guard lock(config_mu_);
    windows = config_.sli_windows;
  }
  const TimeMs now = clock_.NowMs();
  json rows = json::array();
  const auto add = [&](const std::string& row_agent, const Labels& labels, Sli sli,
                       const std::string& window, Stat stat, const std::optional<double>& value,
                       int64_t samples) {
    rows.push_back({{"agent", row_agent}, {"labels", labels}, {"sli", SliName(sli)},
                    {"window", window}, {"stat", StatName(stat)},
                    {"value", value ? json(*value) : json(nullptr)}, {"samples", samples}});
  };
  const std::vector<SliQuery> rule_queries = rules_ ? rules_->Queries() : std::vector<SliQuery>{};
  std::shared_lock lock(state_->mu);
  for (const windows::SliRow& r : state_->engine.Snapshot(windows, now, agent)) {
    add(r.agent, r.labels, r.sli, r.window, r.stat, r.value, r.samples);
  }
  // A rule adds its own (sli, window, stat, by) entry unless sli_windows
  // already carry it.
  for (SliQuery q : rule_queries) {
    const bool plain = q.by == std::vector<std::string>{"agent"} && q.where.empty() &&
                       q.offset.count() == 0 && q.sli != Sli::kFinishReasonRate;
    bool covered = false;
    for (const WindowSpec& w : windows) covered |= plain && w == q.window;
    if (covered) continue;
    q.only_agent = agent;
    for (const SliValue& v : state_->engine.Compute(q, now)) {
      Labels labels = v.group;
      std::string row_agent;
      if (auto it = labels.find("agent"); it != labels.end()) {
        row_agent = it->second;
        labels.erase(it);
      }
      if (q.sli == Sli::kFinishReasonRate) labels["finish_reason"] = q.match;
      add(row_agent, labels, q.sli, q.window.name, q.stat, v.value, v.samples);
    }
  }
  ReplyJson(res, 200, json{{"slis", rows}});
}

exporters::ExportSnapshot App::Snapshot() {
  exporters::ExportSnapshot snap;
  std::vector<WindowSpec> windows;
  {
    std::lock_guard lock(config_mu_);
    windows = config_.sli_windows;
  }
  const TimeMs now = clock_.NowMs();
  std::shared_lock lock(state_->mu);
  snap.slis = state_->engine.Snapshot(windows, now);
  if (rules_) rules_->FillSnapshot(state_->engine, now, snap);
  return snap;
}

std::string App::MetricsText() {
  if (store_) {
    if (auto depth = store_->OutboxDepth(); depth.ok()) metrics_.SetOutboxDepth(static_cast<double>(*depth));
  }
  auto families = metrics_.registry().Collect();
  auto slis = collector_->Collect();
  families.insert(families.end(), std::make_move_iterator(slis.begin()),
                  std::make_move_iterator(slis.end()));
  return prometheus::TextSerializer().Serialize(families);
}

void App::HandleStatusPage(const http::Request&, http::Response& res) {
  const json alerts = rules_ ? rules_->AlertsJson() : json::object();
  std::shared_lock lock(state_->mu);
  res.set_content(RenderStatusPage(state_->engine, clock_.NowMs(), alerts),
                  "text/html; charset=utf-8");
}

}  // namespace aw::server
