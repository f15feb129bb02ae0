// GET /api/v1/investigations (the investigations behind a figure, newest
// first) and GET /api/v1/investigations/{id} (one investigation with its
// verdicts and resolution). Reads go through the store's own read
// connection (daemon/store/investigation_reads.h), never the writer's.

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"
#include "daemon/http/http.h"
#include "daemon/server/alert_scope_query.h"
#include "daemon/server/app.h"
#include "daemon/server/handler_util.h"
#include "daemon/server/rule_runtime.h"
#include "daemon/store/investigation_reads.h"

namespace aw::server {

using json = nlohmann::json;

namespace {

constexpr const char* kListPath = "/api/v1/investigations";
constexpr const char* kItemPrefix = "/api/v1/investigations/";
constexpr int64_t kDefaultLimit = 100;
constexpr int64_t kMaxLimit = 1000;

// RFC 3339, or Unix seconds (fractions allowed), as ingest timestamps are.
std::optional<TimeMs> ParseTimeParam(const std::string& text) {
  if (auto t = ParseRfc3339(text)) return t;
  if (text.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(seconds) ||
      std::fabs(seconds) > 1e13) {
    return std::nullopt;
  }
  return static_cast<TimeMs>(std::llround(seconds * 1000));
}

std::optional<int64_t> ParseLimit(const std::string& text) {
  if (text.empty() || text.size() > 7) return std::nullopt;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > kMaxLimit) return std::nullopt;
  return v;
}

bool ValidAgent(const std::string& a) {
  if (a.empty() || a.size() > 64) return false;
  for (char c : a) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

json OrNull(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json OrNull(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }
json OrNull(const std::string& v) { return v.empty() ? json(nullptr) : json(v); }
json VerdictJson(Verdict v) { return v == Verdict::kNone ? json(nullptr) : json(VerdictName(v)); }

// The record as stored, plus `cost_usd`: the cost the SLIs count (the
// span's own estimate, else priced from config; null when neither applies).
json RecordJson(const InvestigationRecord& r, const Pricing& pricing) {
  const Span& s = r.span;
  return json{{"investigation_id", s.investigation_id},
              {"agent", s.agent},
              {"ts", FormatRfc3339(s.ts_ms)},
              {"model", OrNull(s.model)},
              {"response_model", OrNull(s.response_model)},
              {"provider", OrNull(s.provider)},
              {"input_tokens", OrNull(s.input_tokens)},
              {"output_tokens", OrNull(s.output_tokens)},
              {"cache_read_tokens", OrNull(s.cache_read_tokens)},
              {"cache_creation_tokens", OrNull(s.cache_creation_tokens)},
              {"llm_calls", OrNull(s.llm_calls)},
              {"tool_calls", OrNull(s.tool_calls)},
              {"estimated_cost_usd", OrNull(s.cost_usd)},
              {"cost_usd", OrNull(PriceSpan(s, pricing))},
              {"duration_ms", OrNull(s.duration_ms)},
              {"finish_reason", OrNull(s.finish_reason)},
              {"confidence", OrNull(s.confidence)},
              {"incident_id", OrNull(s.incident_id)},
              {"labels", s.labels},
              {"verdict", VerdictJson(r.verdict)}};
}

// Time to resolve as the windows engine computes it: as sent, else
// resolved_at - opened_at, else from the investigation's start.
json ResolutionJson(const StoredResolution& stored, const InvestigationRecord* record) {
  const Resolution& r = stored.resolution;
  std::optional<TimeMs> opened = r.opened_at_ms;
  if (!opened && record) opened = record->span.ts_ms - record->span.duration_ms.value_or(0);
  std::optional<double> ttr = r.time_to_resolve_s;
  if (!ttr && opened) ttr = static_cast<double>(r.resolved_at_ms - *opened) / 1000.0;
  return json{{"by", r.investigation_id.empty() ? "incident_id" : "investigation_id"},
              {"incident_id", OrNull(r.incident_id)},
              {"resolved_at", FormatRfc3339(r.resolved_at_ms)},
              {"opened_at", opened ? json(FormatRfc3339(*opened)) : json(nullptr)},
              {"time_to_resolve_s", OrNull(ttr)}};
}

void BadParam(http::Response& res, const std::string& message) {
  ReplyJson(res, 400, json{{"error", message}});
}

}  // namespace

bool NarrowToAlert(const RuleRuntime::AlertScope& scope, TimeMs now, InvestigationQuery& query) {
  const SliQuery& rq = scope.query;
  bool contradiction = false;
  const auto constrain = [&](const std::string& name, const std::string& value) {
    if (name == "agent") {
      if (!query.agent.empty() && query.agent != value) contradiction = true;
      query.agent = value;
      return;
    }
    const auto [it, added] = query.labels.emplace(name, value);
    if (!added && it->second != value) contradiction = true;
  };
  for (const std::string& by : rq.by) {
    const auto it = scope.alert.labels.find(by);
    constrain(by, it == scope.alert.labels.end() ? std::string() : it->second);
  }
  for (const auto& [k, v] : rq.where) constrain(k, v);
  const TimeMs end = now - rq.offset.count();
  query.to_ms = end;
  if (rq.window.kind == WindowSpec::Kind::kTime) {
    query.from_ms = end - rq.window.duration.count() + 1;
  } else {
    query.latest_n = rq.window.count;
  }
  return !contradiction;
}

void App::InvestigationRoutes() {
  // Same gate as the other reads: ready, and a token when protect_reads.
  const auto guard = [this](const http::Request& q, http::Response& r) {
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
  router_->Add("GET", kListPath, [this, guard](const http::Request& q, http::Response& r) {
    if (guard(q, r)) HandleInvestigations(q, r);
  });
  // Ids may hold '/' (OTLP's <traceId>/<spanId>), raw or as %2F: the path
  // is percent-decoded before routing, so both reach this prefix route.
  router_->AddPrefix("GET", kItemPrefix, [this, guard](const http::Request& q, http::Response& r) {
    if (guard(q, r)) HandleInvestigation(q, r);
  });
}

void App::HandleInvestigations(const http::Request& req, http::Response& res) {
  InvestigationQuery query;
  query.limit = kDefaultLimit;
  if (req.params.count("limit")) {
    const std::string text = req.param("limit");
    const auto limit = ParseLimit(text);
    if (!limit) {
      return BadParam(res, "limit: must be an integer from 1 to " + std::to_string(kMaxLimit) +
                               ", got \"" + text + "\"");
    }
    query.limit = *limit;
  }
  if (req.params.count("verdict")) {
    const std::string v = req.param("verdict");
    if (v == "confirm") {
      query.verdict = VerdictFilter::kConfirm;
    } else if (v == "override") {
      query.verdict = VerdictFilter::kOverride;
    } else if (v == "none") {
      query.verdict = VerdictFilter::kUnreviewed;
    } else {
      return BadParam(res, "verdict: must be confirm, override or none, got \"" + v + "\"");
    }
  }
  const std::string fingerprint = req.param("alert");
  if (req.params.count("alert") && fingerprint.empty()) {
    return BadParam(res, "alert: must be an alert fingerprint (see /api/v1/alerts)");
  }
  for (const char* name : {"agent", "from", "to"}) {
    if (!req.params.count(name)) continue;
    if (!fingerprint.empty()) {
      return BadParam(res, std::string(name) +
                               ": cannot be combined with alert (the alert's rule sets the "
                               "agent, labels and window)");
    }
    const std::string text = req.param(name);
    if (name == std::string("agent")) {
      if (!ValidAgent(text)) {
        return BadParam(res,
                        "agent: must be 1..64 characters of [a-zA-Z0-9_.:-], got \"" + text + "\"");
      }
      query.agent = text;
      continue;
    }
    const auto t = ParseTimeParam(text);
    if (!t) {
      return BadParam(res, std::string(name) +
                               ": expected an RFC 3339 time or Unix seconds, got \"" + text + "\"");
    }
    (name == std::string("from") ? query.from_ms : query.to_ms) = *t;
  }
  if (query.from_ms && query.to_ms && *query.from_ms > *query.to_ms) {
    return BadParam(res, "from: is after to");
  }

  json alert_json;
  if (!fingerprint.empty()) {
    const auto scope = rules_->ScopeOf(fingerprint);
    if (!scope) {
      return ReplyJson(
          res, 404,
          json{{"error", "alert: no active alert has fingerprint \"" + fingerprint + "\""}});
    }
    const SliQuery& rq = scope->query;
    const bool consistent = NarrowToAlert(*scope, clock_.NowMs(), query);
    const TimeMs end = *query.to_ms;
    if (!consistent) query.limit = 0;  // its `by` and `where` disagree: nothing matches
    alert_json =
        json{{"fingerprint", fingerprint},    {"name", scope->alert.rule},
             {"labels", scope->alert.labels}, {"state", AlertStateName(scope->alert.state)},
             {"window", rq.window.name},      {"to", FormatRfc3339(end)}};
    if (query.from_ms) alert_json["from"] = FormatRfc3339(*query.from_ms);
  }

  std::vector<InvestigationRecord> rows;
  if (query.limit > 0) {
    auto listed = investigations_->List(query);
    if (!listed.ok()) return ReplyJson(res, 503, json{{"error", listed.status().message()}});
    rows = std::move(listed).value();
  }
  Pricing pricing;
  {
    std::lock_guard lock(config_mu_);
    pricing = config_.pricing;
  }
  json list = json::array();
  for (const InvestigationRecord& r : rows) list.push_back(RecordJson(r, pricing));
  json body{{"investigations", std::move(list)}};
  if (!alert_json.is_null()) body["alert"] = std::move(alert_json);
  ReplyJson(res, 200, body);
}

void App::HandleInvestigation(const http::Request& req, http::Response& res) {
  const std::string id = req.path.substr(std::string(kItemPrefix).size());
  auto got = investigations_->Get(id);
  if (!got.ok()) return ReplyJson(res, 503, json{{"error", got.status().message()}});
  const InvestigationDetail& d = *got;
  if (!d.record) {
    std::string message = "no investigation with id \"" + id + "\"";
    if (!d.verdicts.empty()) {
      message += " (" + std::to_string(d.verdicts.size()) +
                 " verdict(s) are held for it until its span arrives)";
    }
    return ReplyJson(res, 404, json{{"error", message}});
  }
  Pricing pricing;
  {
    std::lock_guard lock(config_mu_);
    pricing = config_.pricing;
  }
  json body = RecordJson(*d.record, pricing);
  json verdicts = json::array();
  for (size_t i = 0; i < d.verdicts.size(); ++i) {
    const Feedback& f = d.verdicts[i].feedback;
    verdicts.push_back({{"verdict", VerdictName(f.verdict)},
                        {"ts", FormatRfc3339(f.ts_ms)},
                        {"actor", OrNull(f.actor)},
                        {"reason", OrNull(f.reason)},
                        {"counts", i == 0}});
  }
  body["verdicts"] = std::move(verdicts);
  body["resolution"] = d.resolution ? ResolutionJson(*d.resolution, &*d.record) : json(nullptr);
  // The OTLP descendants joined into it (none for /v1/spans records).
  auto joined = store_->JoinedSpans(id);
  if (!joined.ok()) return ReplyJson(res, 503, json{{"error", joined.status().message()}});
  json spans = json::array();
  for (const JoinedSpan& j : *joined) {
    spans.push_back({{"trace_id", j.trace_id},
                     {"span_id", j.span_id},
                     {"joined_late", j.joined_late},
                     {"joined_at", FormatRfc3339(j.joined_at_ms)}});
  }
  body["spans"] = std::move(spans);
  ReplyJson(res, 200, body);
}

}  // namespace aw::server
