// GET /alerts/<fingerprint>: the alert page that every notification links
// to. Gathers the alert (rules), its figure over time (windows engine), the
// investigations behind it and its notifications (the store's read
// connection), and renders alert_page.h.

#include <algorithm>

#include <nlohmann/json.hpp>

#include "daemon/http/http.h"
#include "daemon/server/alert_page.h"
#include "daemon/server/alert_scope_query.h"
#include "daemon/server/app.h"
#include "daemon/server/handler_util.h"
#include "daemon/server/rule_runtime.h"
#include "daemon/store/investigation_reads.h"

namespace aw::server {

namespace {

constexpr const char* kPrefix = "/alerts/";
constexpr int kHistoryPoints = 48;
// Read this many of the investigations behind the figure, rank them, show
// the worst kShown.
constexpr int64_t kInvestigationsRead = 1000;
constexpr size_t kShown = 15;
constexpr int kNotificationsShown = 50;

// The chart spans a dozen windows (at least 6h, at most 7d); a count
// window is drawn over the last day.
Millis HistoryStep(const WindowSpec& w) {
  Millis span{24 * 3'600'000LL};
  if (w.kind == WindowSpec::Kind::kTime) {
    span = std::clamp(w.duration * 12, Millis(6 * 3'600'000LL), Millis(7 * 86'400'000LL));
  }
  return span / (kHistoryPoints - 1);
}

// The value of the alert's own group in `values` (its value of each `by`
// label; "" where it has none, as the engine groups a missing label).
std::optional<double> GroupValue(const std::vector<SliValue>& values,
                                 const std::vector<std::string>& by, const Labels& labels) {
  for (const SliValue& v : values) {
    bool match = true;
    for (const std::string& key : by) {
      const auto want = labels.find(key);
      const auto have = v.group.find(key);
      if ((want == labels.end() ? "" : want->second) != (have == v.group.end() ? "" : have->second)) {
        match = false;
        break;
      }
    }
    if (match) return v.value;
  }
  return std::nullopt;
}

}  // namespace

void App::HandleAlertPage(const http::Request& req, http::Response& res) {
  const std::string fingerprint = req.path.substr(std::string(kPrefix).size());
  std::vector<NotificationRecord> notifications;
  if (!fingerprint.empty()) {
    auto read = investigations_->Notifications(fingerprint, kNotificationsShown);
    if (!read.ok()) {
      res.status = 503;
      return res.set_content(read.status().message() + "\n", "text/plain");
    }
    notifications = std::move(read).value();
  }
  const auto scope = fingerprint.empty() ? std::nullopt : rules_->ScopeOf(fingerprint);
  if (!scope) {
    res.status = 404;
    return res.set_content(RenderAlertNotFound(fingerprint, notifications),
                           "text/html; charset=utf-8");
  }
  const TimeMs now = clock_.NowMs();
  const StoredAlert& a = scope->alert;
  AlertPageData d;
  d.fingerprint = fingerprint;
  d.name = a.rule;
  d.labels = a.labels;
  d.annotations = a.annotations;
  d.state = AlertStateName(a.state);
  d.value = a.value;
  d.active_since_ms = a.active_since_ms;
  d.fired_at_ms = a.fired_at_ms;
  d.sli = scope->query.sli;
  d.stat = StatName(scope->query.stat);
  d.window = scope->query.window.name;
  d.threshold = scope->threshold;
  d.op = scope->op;
  d.notifications = std::move(notifications);

  SliQuery q = scope->query;
  const bool by_agent = std::find(q.by.begin(), q.by.end(), "agent") != q.by.end();
  if (const auto agent = a.labels.find("agent"); by_agent && agent != a.labels.end()) {
    q.only_agent = agent->second;
  }
  d.history_step = HistoryStep(q.window);
  for (int k = kHistoryPoints - 1; k >= 0; --k) {
    q.offset = scope->query.offset + d.history_step * k;
    d.history.push_back(GroupValue(state_->engine.Compute(q, now), q.by, a.labels));
  }

  InvestigationQuery iq;
  iq.limit = kInvestigationsRead;
  if (NarrowToAlert(*scope, now, iq)) {
    auto listed = investigations_->List(iq);
    if (!listed.ok()) {
      res.status = 503;
      return res.set_content(listed.status().message() + "\n", "text/plain");
    }
    Pricing pricing;
    {
      std::lock_guard lock(config_mu_);
      pricing = config_.pricing;
    }
    for (const InvestigationRecord& r : *listed) {
      AlertPageData::Investigation i;
      i.id = r.span.investigation_id;
      i.agent = r.span.agent;
      i.ts = r.span.ts_ms;
      i.incident_id = r.span.incident_id;
      i.verdict = r.verdict == Verdict::kNone ? "" : VerdictName(r.verdict);
      i.value = InvestigationValue(d.sli, r.span, PriceSpan(r.span, pricing));
      i.confidence = r.span.confidence;
      d.investigations.push_back(std::move(i));
    }
  }
  d.investigations_behind = static_cast<int64_t>(d.investigations.size());
  d.ranked_by = WorstFirst(d.sli, d.investigations);
  if (d.investigations.size() > kShown) d.investigations.resize(kShown);

  res.status = 200;
  res.set_content(RenderAlertPage(d, now), "text/html; charset=utf-8");
}

}  // namespace aw::server
