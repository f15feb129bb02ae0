// GET /alerts/<fingerprint>: the alert page that every notification links
// to. Gathers the alert (rules), its figure over time (windows engine), the
// investigations behind it and its notifications (the store's read
// connection), and renders alert_page.h.

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"
#include "daemon/http/http.h"
#include "daemon/server/alert_page.h"
#include "daemon/server/alert_scope_query.h"
#include "daemon/server/app.h"
#include "daemon/server/handler_util.h"
#include "daemon/server/page_util.h"
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
      if ((want == labels.end() ? "" : want->second) !=
          (have == v.group.end() ? "" : have->second)) {
        match = false;
        break;
      }
    }
    if (match) return v.value;
  }
  return std::nullopt;
}

// Sum of the values of every group: a budget's spend (`by` is empty).
std::optional<double> Total(const std::vector<SliValue>& values) {
  if (values.empty()) return std::nullopt;
  double sum = 0;
  for (const SliValue& v : values) sum += v.value.value_or(0);
  return sum;
}

std::string Printf(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// What the chart draws for each kind of alert: the figure its $value is,
// at kHistoryPoints evenly spaced ends, against what fires it.
void FillHistory(const windows::WindowEngine& engine, const RuleRuntime::AlertScope& scope,
                 TimeMs now, AlertPageData& d) {
  using Kind = RuleRuntime::AlertScope::Kind;
  const StoredAlert& a = scope.alert;
  SliQuery q = scope.query;
  const bool by_agent = std::find(q.by.begin(), q.by.end(), "agent") != q.by.end();
  if (const auto agent = a.labels.find("agent"); by_agent && agent != a.labels.end()) {
    q.only_agent = agent->second;
  }
  d.history_step = HistoryStep(q.window);
  const auto at = [&](int k, const SliQuery& query) {
    SliQuery shifted = query;
    shifted.offset = query.offset + d.history_step * k;
    return GroupValue(engine.Compute(shifted, now), shifted.by, a.labels);
  };
  switch (scope.kind) {
    case Kind::kThreshold:
      for (int k = kHistoryPoints - 1; k >= 0; --k) d.history.push_back(at(k, q));
      return;
    case Kind::kSlo: {
      // $value is BR(long) = error ratio / (1 - objective).
      const double allowed = 1 - scope.objective;
      const bool coverage = scope.query.sli == Sli::kReviewCoverage;
      for (int k = kHistoryPoints - 1; k >= 0; --k) {
        std::optional<double> v = at(k, q);
        if (v) v = (coverage ? 1 - *v : *v) / allowed;
        d.history.push_back(v);
      }
      d.unit = AlertPageData::Unit::kTimes;
      d.figure = "burn rate over " + q.window.name;
      d.figure_note = std::string(coverage ? "unreviewed share" : "override rate") + " over " +
                      q.window.name + " / the " + Printf("%g%%", allowed * 100) +
                      " error budget of objective " + Printf("%g%%", scope.objective * 100);
      d.threshold = scope.bound;
      d.op = scope.bound_op;
      d.threshold_name = "burn-rate threshold";
      d.threshold_note = SloTierNote(scope.tier_severity, scope.tier_budget_fraction,
                                     scope.period_name, scope.tier_long_window);
      return;
    }
    case Kind::kBudget: {
      // Spend since the period began, at ends spread over the period so far.
      const TimeMs start = scope.period.start_ms;
      d.history_step = Millis(std::max<TimeMs>(1, (now - start) / (kHistoryPoints - 1)));
      SliQuery spend = q;
      spend.by = {};
      for (int k = kHistoryPoints - 1; k >= 0; --k) {
        const TimeMs end = now - d.history_step.count() * k;
        if (end < start) {
          d.history.push_back(std::nullopt);
          continue;
        }
        spend.window.duration = Millis(end - start + 1);
        spend.offset = Millis(now - end);
        d.history.push_back(Total(engine.Compute(spend, now)).value_or(0));
      }
      d.unit = AlertPageData::Unit::kUsd;
      d.figure = "spend this " + q.window.name + " (since " + FormatRfc3339(start) + ")";
      const auto t = a.labels.find("threshold");
      const bool projected = t != a.labels.end() && t->second == "projected";
      d.figure_note = projected ? "the alert's value is the projected spend at the period's end, " +
                                      FormatAlertValue(d, d.value)
                                : "the investigations' cost placed in the period";
      d.threshold = scope.bound;
      d.op = scope.bound_op;
      d.threshold_name = projected ? "budget" : "budget threshold";
      d.threshold_note =
          (t == a.labels.end() ? std::string() : (projected ? "projection" : t->second) + " of ") +
          FormatAlertValue(d, scope.budget_amount_usd);
      return;
    }
    case Kind::kCompare: {
      // $value is this window / the same window compare.offset earlier.
      SliQuery earlier = q;
      earlier.offset = q.offset + scope.compare->offset;
      for (int k = kHistoryPoints - 1; k >= 0; --k) {
        const std::optional<double> cur = at(k, q), old = at(k, earlier);
        d.history.push_back(cur && old && *old != 0 ? std::optional<double>(*cur / *old)
                                                    : std::nullopt);
      }
      const std::string sli = std::string(SliName(q.sli)) + (d.stat.empty() ? "" : " " + d.stat);
      d.unit = AlertPageData::Unit::kTimes;
      d.figure = sli + " over " + q.window.name + " vs " + FormatDuration(scope.compare->offset) +
                 " earlier";
      d.figure_note = "the ratio of this window's " + sli + " to the same window " +
                      FormatDuration(scope.compare->offset) + " earlier";
      d.threshold = scope.bound;
      d.op = scope.bound_op;
      d.threshold_name = "ratio bound";
      return;
    }
    case Kind::kBaseline: {
      // $value is the candidate's figure; drawn against the baseline's.
      const std::string& label = scope.compare->label;
      const auto candidate = a.labels.find(label);
      const auto baseline = a.labels.find("baseline_" + label);
      SliQuery cq = q, bq = q;
      if (candidate != a.labels.end()) cq.where[label] = candidate->second;
      if (baseline != a.labels.end()) bq.where[label] = baseline->second;
      for (int k = kHistoryPoints - 1; k >= 0; --k) d.history.push_back(at(k, cq));
      const std::optional<double> base = at(0, bq);
      const std::string name = candidate == a.labels.end() ? "candidate" : candidate->second;
      const std::string base_name = baseline == a.labels.end() ? "baseline" : baseline->second;
      d.figure = std::string(SliName(q.sli)) + (d.stat.empty() ? "" : " " + d.stat) + " of " +
                 label + " " + name + " over " + q.window.name;
      d.figure_note = "the candidate " + label + ", against the one before it, " + base_name;
      if (base && scope.compare->ratio_above) {
        d.threshold = *base * *scope.compare->ratio_above;
        d.op = ">=";
        d.threshold_name = "bound";
        d.threshold_note = base_name + "'s " + FormatSliValue(q.sli, base) + " x " +
                           Printf("%g", *scope.compare->ratio_above);
      } else if (base) {
        d.threshold = *base;
        d.op = ">";
        d.threshold_name = "baseline";
        d.threshold_note = base_name + " now; fires when a one-sided two-proportion test " +
                           "at confidence " + Printf("%g", scope.compare->confidence) +
                           " says the candidate's rate is higher";
      }
      return;
    }
  }
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

  FillHistory(state_->engine, *scope, now, d);

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
