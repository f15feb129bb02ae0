// The statistics endpoints and rules against the real binary:
// GET /api/v1/calibration (bins, threshold, errors), confidence_ece in
// /api/v1/slis, /metrics and the status page, and compare baseline:
// previous whose first-seen order survives a restart; rules on
// confidence_resolution_correlation and finish_reason_rate, read from the
// hours' aggregates, equal their definitions from the posted events, and
// again after a restart rebuilds them from the store.

#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/testing/daemon_process.h"
#include "tests/testing/reference_pearson.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;

int64_t NowS() { return static_cast<int64_t>(std::time(nullptr)); }

// n spans of `agent` at ts (Unix seconds) with the given labels/confidence,
// the first `overrides` overridden, the rest confirmed.
void Post(DaemonProcess& d, const std::string& prefix, const std::string& agent, int n,
          int overrides, int64_t ts, const json& extra) {
  std::string spans, feedback;
  for (int i = 0; i < n; ++i) {
    json s = extra;
    s["investigation_id"] = prefix + std::to_string(i);
    s["agent"] = agent;
    s["ts"] = ts;
    spans += s.dump() + "\n";
    feedback += json{{"investigation_id", prefix + std::to_string(i)},
                     {"verdict", i < overrides ? "override" : "confirm"},
                     {"ts", ts}}
                    .dump() +
                "\n";
  }
  auto r = d.Client()->Post("/v1/spans", spans, "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  r = d.Client()->Post("/v1/feedback", feedback, "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
}

json GetJson(DaemonProcess& d, const std::string& path, int* status = nullptr) {
  auto r = d.Client()->Get(path);
  if (!r) return json();
  if (status) *status = r->status;
  return json::parse(r->body, nullptr, false);
}

TEST(CalibrationApiTest, BinsThresholdErrorsAndEce) {
  testing::TempDir dir;
  const std::string config =
      dir.Write("agentwatch.yaml",
                "listen: 127.0.0.1:0\nstorage: {path: events.db}\nsli_windows: [1h, 24h, 7d]\n");
  DaemonProcess d(AW_BINARY, config, dir.path());
  ASSERT_TRUE(d.Start()) << d.Log();

  const int64_t ts = NowS() - 600;
  Post(d, "hi-", "ir", 60, 0, ts, {{"confidence", 0.95}});   // bin [0.9, 1.0]
  Post(d, "lo-", "ir", 20, 10, ts, {{"confidence", 0.35}});  // bin [0.3, 0.4)
  Post(d, "no-", "ir", 5, 0, ts, json::object());            // no confidence: not counted

  int status = 0;
  json body = GetJson(d, "/api/v1/calibration", &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(body.dump().find("agent"), std::string::npos) << body;
  body = GetJson(d, "/api/v1/calibration?agent=ir&window=soon", &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(body.dump().find("window"), std::string::npos) << body;
  body = GetJson(d, "/api/v1/calibration?agent=ir&target=lots", &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(body.dump().find("target"), std::string::npos) << body;

  body = GetJson(d, "/api/v1/calibration?agent=ir", &status);
  ASSERT_EQ(status, 200) << body;
  EXPECT_EQ(body["window"], "24h");
  EXPECT_DOUBLE_EQ(body["target"].get<double>(), 0.05);
  ASSERT_EQ(body["bins"].size(), 10u);
  for (int k = 0; k < 10; ++k) {
    const json& b = body["bins"][k];
    EXPECT_NEAR(b["lower"].get<double>(), k / 10.0, 1e-12);
    EXPECT_NEAR(b["upper"].get<double>(), (k + 1) / 10.0, 1e-12);
    if (k == 9) {
      EXPECT_EQ(b["count"], 60);
      EXPECT_NEAR(b["mean_confidence"].get<double>(), 0.95, 1e-12);
      EXPECT_NEAR(b["confirm_rate"].get<double>(), 1.0, 1e-12);
    } else if (k == 3) {
      EXPECT_EQ(b["count"], 20);
      EXPECT_NEAR(b["mean_confidence"].get<double>(), 0.35, 1e-12);
      EXPECT_NEAR(b["confirm_rate"].get<double>(), 0.5, 1e-12);
    } else {
      EXPECT_EQ(b["count"], 0) << k;
      EXPECT_TRUE(b["mean_confidence"].is_null()) << k;
      EXPECT_TRUE(b["confirm_rate"].is_null()) << k;
    }
  }
  // Threshold: from edge 0.4 up only the 60 confirmed remain; the Wilson
  // upper bound of 0/60 at 0.95 (z = 1.6449) is z^2/n / (1 + z^2/n).
  const double z2 = 1.6448536269514722 * 1.6448536269514722;
  ASSERT_LE((z2 / 60) / (1 + z2 / 60), 0.05);
  ASSERT_TRUE(body["threshold"].is_number()) << body;
  EXPECT_NEAR(body["threshold"].get<double>(), 0.4, 1e-12);
  // A stricter target than 0/60 can show: null.
  body = GetJson(d, "/api/v1/calibration?agent=ir&target=0.01", &status);
  ASSERT_EQ(status, 200);
  EXPECT_TRUE(body["threshold"].is_null()) << body;
  // Configured and parseable windows; an unknown agent has empty bins.
  body = GetJson(d, "/api/v1/calibration?agent=ir&window=1h", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["bins"][9]["count"], 60);
  body = GetJson(d, "/api/v1/calibration?agent=ir&window=5m", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["window"], "5m");
  EXPECT_EQ(body["bins"][9]["count"], 0);  // ts is 10 minutes ago
  body = GetJson(d, "/api/v1/calibration?agent=nobody", &status);
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(body["threshold"].is_null());

  // ECE = 60/80 * |0.95 - 1| + 20/80 * |0.35 - 0.5| = 0.075.
  const double ece = 60.0 / 80 * 0.05 + 20.0 / 80 * 0.15;
  const json slis = GetJson(d, "/api/v1/slis?agent=ir");
  bool found = false;
  for (const json& row : slis["slis"]) {
    if (row["sli"] == "confidence_ece" && row["window"] == "24h") {
      found = true;
      EXPECT_NEAR(row["value"].get<double>(), ece, 1e-12);
      EXPECT_EQ(row["samples"], 80);
    }
  }
  EXPECT_TRUE(found) << slis;
  const std::string metrics = d.Client()->Get("/metrics")->body;
  EXPECT_NE(metrics.find("sli=\"confidence_ece\""), std::string::npos);
  const std::string page = d.Client()->Get("/")->body;
  EXPECT_NE(page.find("<svg class=\"reliability\""), std::string::npos);
  EXPECT_NE(page.find("class=\"diagonal\""), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(d.Stop(), 0);
}

constexpr const char* kRegressionRules = R"(groups:
- name: releases
  rules:
  - alert: AgentRegressedAfterRelease
    sli: override_rate
    window: 7d
    compare: {baseline: previous, label: version, confidence: 0.99, min_samples: 30}
)";

json RegressionAlerts(DaemonProcess& d) {
  json out = json::array();
  const json body = GetJson(d, "/api/v1/alerts");
  for (const json& a : body["alerts"]) {
    if (a["name"] == "AgentRegressedAfterRelease") out.push_back(a);
  }
  return out;
}

TEST(RegressionCompareTest, FirstSeenOrderSurvivesRestart) {
  testing::TempDir dir;
  dir.Write("rules/releases.yaml", kRegressionRules);
  const std::string config =
      dir.Write("agentwatch.yaml",
                "listen: 127.0.0.1:0\nstorage: {path: events.db}\nevaluation_interval: 200ms\n"
                "rule_files: [rules/*.yaml]\n");
  auto d = std::make_unique<DaemonProcess>(AW_BINARY, config, dir.path());
  ASSERT_TRUE(d->Start()) << d->Log();

  // v10 arrives first but its investigations are later (by ts) than v9's:
  // v9 is the baseline, v10 the candidate. 4/50 -> 15/50: p = 0.0025.
  const int64_t now = NowS();
  Post(*d, "b-", "ir", 50, 15, now - 3600, {{"labels", {{"version", "v10"}}}});
  Post(*d, "a-", "ir", 50, 4, now - 7200, {{"labels", {{"version", "v9"}}}});
  ASSERT_TRUE(testing::WaitFor([&] { return RegressionAlerts(*d).size() == 1; })) << d->Log();
  json alert = RegressionAlerts(*d)[0];
  EXPECT_EQ(alert["state"], "firing");
  EXPECT_EQ(alert["labels"]["agent"], "ir");
  EXPECT_EQ(alert["labels"]["version"], "v10");
  EXPECT_EQ(alert["labels"]["baseline_version"], "v9");
  EXPECT_DOUBLE_EQ(alert["value"].get<double>(), 0.3);
  const std::string fingerprint = alert["fingerprint"];

  // Restart: the windows are rebuilt from the store. More v9 traffic, newer
  // than all of v10's and arriving last, must not make v9 the candidate.
  ASSERT_EQ(d->Stop(), 0);
  d = std::make_unique<DaemonProcess>(AW_BINARY, config, dir.path());
  ASSERT_TRUE(d->Start()) << d->Log();
  Post(*d, "c-", "ir", 10, 0, now - 60, {{"labels", {{"version", "v9"}}}});
  ASSERT_TRUE(d->WaitForEvaluations(2)) << d->Log();
  json alerts = RegressionAlerts(*d);
  ASSERT_EQ(alerts.size(), 1u) << alerts;
  EXPECT_EQ(alerts[0]["fingerprint"], fingerprint);
  EXPECT_EQ(alerts[0]["labels"]["version"], "v10");
  EXPECT_EQ(alerts[0]["labels"]["baseline_version"], "v9");
  EXPECT_EQ(alerts[0]["state"], "firing");

  // A fixed v11 becomes the candidate against v10: the v10 alert resolves.
  Post(*d, "d-", "ir", 40, 1, now - 30, {{"labels", {{"version", "v11"}}}});
  ASSERT_TRUE(testing::WaitFor([&] { return RegressionAlerts(*d).empty(); }))
      << RegressionAlerts(*d);
  EXPECT_EQ(d->Stop(), 0);
}

// Per agent and window, what the contract says the two SLIs are.
struct Posted {
  struct Inv {
    std::string agent, finish, incident;
    int64_t ts = 0, duration_s = 0;
    double confidence = 0;
  };
  struct Res {
    int64_t resolved_at = 0;
    std::optional<int64_t> opened_at;
    std::optional<double> ttr_s;
  };
  std::map<std::string, Inv> invs;
  std::map<std::string, Res> own, incident;

  std::optional<double> TimeToResolve(const std::string& id, const Inv& inv) const {
    const Res* r = nullptr;
    if (auto it = own.find(id); it != own.end()) r = &it->second;
    if (auto it = incident.find(inv.incident); r == nullptr && it != incident.end()) {
      r = &it->second;
    }
    if (r == nullptr) return std::nullopt;
    if (r->ttr_s) return *r->ttr_s;
    return static_cast<double>(r->resolved_at - r->opened_at.value_or(inv.ts - inv.duration_s));
  }
  std::optional<double> Correlation(const std::string& agent, int64_t lo, int64_t hi) const {
    std::vector<std::pair<long double, long double>> p;
    for (const auto& [id, inv] : invs) {
      if (inv.agent != agent || inv.ts <= lo || inv.ts > hi) continue;
      if (auto ttr = TimeToResolve(id, inv)) p.emplace_back(inv.confidence, *ttr);
    }
    return testing::ReferencePearson(p);
  }
  std::optional<double> EndTurnShare(const std::string& agent, int64_t lo, int64_t hi) const {
    int n = 0, matches = 0;
    for (const auto& [id, inv] : invs) {
      if (inv.agent != agent || inv.ts <= lo || inv.ts > hi) continue;
      ++n;
      matches += inv.finish == "end_turn";
    }
    if (n == 0) return std::nullopt;
    return static_cast<double>(matches) / n;
  }
};

// The rules' rows of /api/v1/slis against `posted` at the time of the read;
// returns how many rows were compared.
int ExpectRuleRowsMatch(DaemonProcess& d, const Posted& posted, const std::string& step) {
  const std::map<std::string, int64_t> windows = {
      {"2h", 2 * 3600}, {"29h", 29 * 3600}, {"2d", 2 * 86400}};
  const json body = GetJson(d, "/api/v1/slis");
  const int64_t now = NowS();
  int compared = 0;
  for (const json& row : body["slis"]) {
    const auto w = windows.find(row["window"].get<std::string>());
    if (w == windows.end()) continue;  // the sli_windows rows read records, not hours
    const std::string agent = row["agent"];
    std::optional<double> want;
    if (row["sli"] == "confidence_resolution_correlation") {
      want = posted.Correlation(agent, now - w->second, now);
    } else if (row["sli"] == "finish_reason_rate") {
      want = posted.EndTurnShare(agent, now - w->second, now);
    } else {
      continue;
    }
    const std::string ctx = step + ": " + row.dump();
    EXPECT_EQ(row["value"].is_null(), !want.has_value()) << ctx;
    if (want && !row["value"].is_null()) {
      EXPECT_NEAR(row["value"].get<double>(), *want, 1e-9) << ctx;
    }
    ++compared;
  }
  return compared;
}

TEST(HourAggregatesTest, CorrelationAndFinishRateRulesEqualTheirDefinitionAcrossARestart) {
  testing::TempDir dir;
  std::string rules = "groups:\n- name: hours\n  rules:\n";
  for (const char* w : {"2h", "29h", "2d"}) {
    rules += std::string("  - alert: Correlation") + w +
             "\n    sli: confidence_resolution_correlation\n    window: " + w +
             "\n    op: '<'\n    threshold: -2\n";
    rules += std::string("  - alert: EndTurn") + w +
             "\n    sli: finish_reason_rate\n    match: end_turn\n    window: " + w +
             "\n    op: '<'\n    threshold: -1\n";
  }
  dir.Write("rules/hours.yaml", rules);
  const std::string config =
      dir.Write("agentwatch.yaml",
                "listen: 127.0.0.1:0\nstorage: {path: events.db}\nevaluation_interval: 200ms\n"
                "sli_windows: [1h]\nrule_files: [rules/*.yaml]\n");
  auto d = std::make_unique<DaemonProcess>(AW_BINARY, config, dir.path());
  ASSERT_TRUE(d->Start()) << d->Log();

  // Spans 30 s off every whole minute before `now`: a window's edge (whole
  // minutes before a read a few seconds later) never falls next to one.
  const int64_t now = NowS();
  Posted posted;
  std::string spans;
  const char* finishes[] = {"end_turn", "max_tokens", "tool_use", "end_turn"};
  for (int i = 0; i < 600; ++i) {
    Posted::Inv inv{
        "agent-" + std::to_string(i % 3), finishes[i % 4], "INC-" + std::to_string(i % 20),
        now - (i * 53 % 1800) * 60 - 30,  i % 7,           (i * 37 % 101) / 100.0};
    const std::string id = "h-" + std::to_string(i);
    spans += json{{"investigation_id", id},
                  {"agent", inv.agent},
                  {"ts", inv.ts},
                  {"duration_ms", inv.duration_s * 1000},
                  {"confidence", inv.confidence},
                  {"finish_reason", inv.finish},
                  {"incident_id", inv.incident}}
                 .dump() +
             "\n";
    posted.invs[id] = inv;
  }
  auto r = d->Client()->Post("/v1/spans", spans, "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  // Incidents resolved, some again later (with opened_at), and spans' own
  // resolutions, which win over their incident's.
  std::string resolutions;
  const auto resolve = [&](const json& j) { resolutions += j.dump() + "\n"; };
  for (int k = 0; k < 20; ++k) {
    const std::string inc = "INC-" + std::to_string(k);
    resolve({{"incident_id", inc}, {"resolved_at", now - 3600 + k}});
    posted.incident[inc] = {now - 3600 + k, std::nullopt, std::nullopt};
  }
  for (int k = 0; k < 20; k += 3) {
    const std::string inc = "INC-" + std::to_string(k);
    json j = {{"incident_id", inc}, {"resolved_at", now - 100 + k}};
    Posted::Res res{now - 100 + k, std::nullopt, std::nullopt};
    if (k % 2) {
      j["opened_at"] = now - 40 * 3600;
      res.opened_at = now - 40 * 3600;
    }
    resolve(j);
    posted.incident[inc] = res;
  }
  for (int i = 0; i < 600; i += 17) {
    const std::string id = "h-" + std::to_string(i);
    const double ttr = (i * 13) % 5000 + 1;
    resolve({{"investigation_id", id}, {"resolved_at", now - 10}, {"time_to_resolve_s", ttr}});
    posted.own[id] = {now - 10, std::nullopt, ttr};
  }
  r = d->Client()->Post("/v1/resolutions", resolutions, "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;

  ASSERT_TRUE(d->WaitForEvaluations(2)) << d->Log();
  EXPECT_EQ(ExpectRuleRowsMatch(*d, posted, "live"), 18);  // 3 agents x 3 windows x 2 rules

  ASSERT_EQ(d->Stop(), 0);
  d = std::make_unique<DaemonProcess>(AW_BINARY, config, dir.path());
  ASSERT_TRUE(d->Start()) << d->Log();
  ASSERT_TRUE(d->WaitForEvaluations(2)) << d->Log();
  EXPECT_EQ(ExpectRuleRowsMatch(*d, posted, "after a restart"), 18);
  EXPECT_EQ(d->Stop(), 0);
}

}  // namespace
}  // namespace aw
