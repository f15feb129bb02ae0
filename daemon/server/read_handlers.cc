// The read endpoints: GET /metrics, /api/v1/slis, /api/v1/alerts,
// /api/v1/rules, the status page and the health probes. Handlers take the
// state's shared lock only; they never block on ingest.

#include <prometheus/text_serializer.h>

#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"
#include "daemon/http/http.h"
#include "daemon/otlp/assembler.h"
#include "daemon/server/app.h"
#include "daemon/server/handler_util.h"
#include "daemon/server/rule_runtime.h"
#include "daemon/server/status_page.h"
#include "exporters/external_labels.h"
#include "exporters/sli_render.h"

namespace aw::server {

using json = nlohmann::json;

void App::ReadRoutes() {
  router_->AddInline("GET", "/-/healthy", [](const http::Request&, http::Response& r) {
    r.set_content("agentwatch is healthy.\n", "text/plain");
  });
  router_->AddInline("GET", "/-/ready", [this](const http::Request&, http::Response& r) {
    const Status store_health = store_ ? store_->Health() : Status::Ok();
    if (ready_ && !stopping_ && !store_health.ok()) {
      r.status = 503;
      r.set_content(store_health.message() + "\n", "text/plain");
    } else if (ready_ && !stopping_) {
      r.set_content("agentwatch is ready.\n", "text/plain");
    } else {
      r.status = 503;
      r.set_content(stopping_ ? "shutting down\n" : "rebuilding state from the store\n",
                    "text/plain");
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
  router_->Add("GET", "/api/v1/slis",
               [this, read_guard](const http::Request& q, http::Response& r) {
                 if (read_guard(q, r)) HandleSlis(q, r);
               });
  router_->Add("GET", "/", [this, read_guard](const http::Request& q, http::Response& r) {
    if (read_guard(q, r)) HandleStatusPage(q, r);
  });
  router_->AddPrefix("GET", "/alerts/",
                     [this, read_guard](const http::Request& q, http::Response& r) {
                       if (read_guard(q, r)) HandleAlertPage(q, r);
                     });
  router_->Add("GET", "/api/v1/rules",
               [this, read_guard](const http::Request& q, http::Response& r) {
                 if (read_guard(q, r)) ReplyJson(r, 200, rules_->RulesJson());
               });
  router_->Add("GET", "/api/v1/alerts",
               [this, read_guard](const http::Request& q, http::Response& r) {
                 if (!read_guard(q, r)) return;
                 json body = rules_->AlertsJson();
                 // One alert by fingerprint (the alert page links here as JSON).
                 if (const std::string fp = q.get_param_value("fingerprint"); !fp.empty()) {
                   json kept = json::array();
                   for (json& a : body["alerts"]) {
                     if (a.value("fingerprint", "") == fp) kept.push_back(std::move(a));
                   }
                   body["alerts"] = std::move(kept);
                 }
                 ReplyJson(r, 200, body);
               });
  router_->Add("GET", "/api/v1/receivers",
               [this, read_guard](const http::Request& q, http::Response& r) {
                 if (read_guard(q, r)) ReplyJson(r, 200, ReceiversJson());
               });
}

nlohmann::json App::ReceiversJson() const {
  const auto time_or_null = [](TimeMs t) { return t > 0 ? json(FormatRfc3339(t)) : json(nullptr); };
  json list = json::array();
  for (const RuleRuntime::ReceiverStatus& s : rules_->Receivers()) {
    list.push_back({{"name", s.name},
                    {"pending", s.pending},
                    {"waiting_in_groups", s.waiting_in_groups},
                    {"next_group_flush", time_or_null(s.next_group_flush_ms)},
                    {"last_success", time_or_null(s.last_success_ms)},
                    {"last_error", s.last_error},
                    {"last_error_at", time_or_null(s.last_error_ms)}});
  }
  return json{{"receivers", list}};
}

void App::HandleSlis(const http::Request& req, http::Response& res) {
  const std::string agent = req.get_param_value("agent");
  std::vector<WindowSpec> windows;
  {
    std::lock_guard lock(config_mu_);
    windows = config_.sli_windows;
  }
  const TimeMs now = clock_.NowMs();
  const std::vector<SliQuery> rule_queries = rules_ ? rules_->Queries() : std::vector<SliQuery>{};
  // Written row by row: a DOM of every row would be built (and kept by the
  // allocator) on every call.
  std::shared_ptr<const std::string> rule_rows;
  if (agent.empty()) {
    // Kept between reads (exact at `now`): computing them from records was
    // most of a read's time.
    rule_rows = rule_rows_.Get(state_->engine, windows, rule_queries, now,
                               [](const std::vector<windows::SliRow>& rows, std::string& out) {
                                 bool first = true;
                                 exporters::AppendSliRowsJson(rows, out, &first);
                               });
  } else {
    auto text = std::make_shared<std::string>();
    bool rules_first = true;
    exporters::AppendSliRowsJson(
        windows::RuleRows(state_->engine, windows, rule_queries, now, agent), *text, &rules_first);
    rule_rows = std::move(text);
  }
  std::string body = "{\"slis\":[";
  bool first = true;
  if (agent.empty()) {
    exporters::AppendSliJson(*RenderedSlis(now), body, &first, rule_rows->size() + 3);
  } else {
    exporters::AppendSliRowsJson(state_->engine.Snapshot(windows, now, agent), body, &first);
  }
  if (!rule_rows->empty()) {
    if (!first) body += ',';
    body += *rule_rows;
  }
  body += "]}";
  res.status = 200;
  res.set_content(std::move(body), "application/json");
}

windows::Rendered App::RenderedSlis(TimeMs now) {
  const SliRendering r = CurrentSliRendering();
  return state_->snapshots.Get(state_->engine, r.windows, now, r.key, r.render);
}

size_t App::WarmSlis(TimeMs now, size_t max_agents) {
  const SliRendering r = CurrentSliRendering();
  return state_->snapshots.Warm(state_->engine, r.windows, now, r.key, r.render, max_agents);
}

App::SliRendering App::CurrentSliRendering() {
  SliRendering r;
  exporters::SliRenderOptions options;
  {
    std::lock_guard lock(config_mu_);
    r.windows = config_.sli_windows;
    const Config::Exporters& ex = config_.exporters;
    options.selection =
        exporters::MakeSelection(ex.slis, ex.stats, ex.windows, r.windows, ex.samples);
    options.external_labels = config_.external_labels;
  }
  r.key = exporters::SliRenderKey(options);
  r.render = [options = std::move(options)](const std::vector<windows::SliRow>& rows,
                                            windows::RenderedAgent& out) {
    exporters::RenderSliBlock(rows, options, out);
  };
  return r;
}

exporters::ExportSnapshot App::Snapshot() {
  // The SLI families come pre-rendered (MetricsText).
  exporters::ExportSnapshot snap;
  snap.omit_sli_families = true;
  if (rules_) rules_->FillSnapshot(state_->engine, clock_.NowMs(), snap);
  return snap;
}

std::string App::MetricsText() {
  if (store_) {
    if (auto depth = store_->OutboxDepth(); depth.ok())
      metrics_.SetOutboxDepth(static_cast<double>(*depth));
  }
  if (assembler_) {
    // Spans past the window go at scrape time too, so the gauge does not
    // wait for the next OTLP request to fall.
    assembler_->Expire(clock_.NowMs());
    PublishOtlpMetrics();
  }
  auto families = metrics_.registry().Collect();
  auto others = collector_->Collect();
  {
    std::lock_guard lock(config_mu_);
    exporters::AddExternalLabels(families, config_.external_labels);
    exporters::AddExternalLabels(others, config_.external_labels);
  }
  // The same order as ever: own metrics, the SLI families, the rest.
  prometheus::TextSerializer serializer;
  std::string text = serializer.Serialize(families);
  exporters::AppendSliFamiliesText(*RenderedSlis(clock_.NowMs()), text);
  text += serializer.Serialize(others);
  return text;
}

void App::HandleStatusPage(const http::Request&, http::Response& res) {
  const TimeMs now = clock_.NowMs();
  StatusPageInput in;
  in.alerts = rules_ ? rules_->AlertsJson() : json{{"alerts", json::array()}};
  in.receivers = ReceiversJson();
  if (rules_) in.silences = rules_->SilencesJson();
  if (rules_) {
    for (const json& a : in.alerts["alerts"]) {
      const std::string fp = a.value("fingerprint", "");
      const auto scope = rules_->ScopeOf(fp);
      if (!scope) continue;  // resolved since the list was taken
      in.figures[fp] = AlertFigure{scope->query.sli,         scope->query.stat,
                                   scope->threshold,         scope->op,
                                   scope->query.window.name, scope->alert.active_since_ms,
                                   scope->alert.fired_at_ms};
    }
    exporters::ExportSnapshot snap;
    rules_->FillSnapshot(state_->engine, now, snap);
    in.slos = std::move(snap.slos);
  }
  in.last_span = state_->engine.LatestSpanTs();
  res.set_content(RenderStatusPage(state_->engine, now, in), "text/html; charset=utf-8");
}

}  // namespace aw::server
