// Over 500 lines on purpose: the cases share one fixture that computes the
// expected listings from the spans each case sent (Sent).
//
// GET /api/v1/investigations and /api/v1/investigations/{id} against the
// real binary: filters, order, limit, bad parameters, verdicts (the latest
// by ts counts), resolutions, ids holding '/', auth with protect_reads, the
// investigations behind a firing alert, and the examples/otel SDK agent.

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/daemon_process.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;

constexpr const char* kToken = "ingest-token-0123456789";
constexpr const char* kAdminToken = "admin-token-0123456789ab";

int64_t NowSec() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Written here with gmtime, not with the daemon's formatter.
std::string Rfc3339(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct Reply {
  int status = -1;
  json body;
};

// One span the test sent, for computing the expected listings.
struct Sent {
  std::string id;
  std::string agent;
  int64_t ts = 0;  // unix seconds
  std::string env;
  std::string verdict;  // the one that should count ("" = none)
};

class InvestigationsTest : public ::testing::Test {
 protected:
  std::unique_ptr<DaemonProcess> StartDaemon(const std::string& extra_yaml = "") {
    const std::string config =
        dir_.Write("agentwatch.yaml",
                   "listen: 127.0.0.1:0\nstorage: {path: events.db}\nevaluation_interval: 200ms\n" +
                       extra_yaml);
    auto d = std::make_unique<DaemonProcess>(AW_BINARY, config, dir_.path());
    EXPECT_TRUE(d->Start()) << d->Log();
    return d;
  }

  static Reply Get(DaemonProcess& d, const std::string& path,
                   const httplib::Headers& headers = {}) {
    Reply r;
    auto res = d.Client()->Get(path.c_str(), headers);
    if (!res) return r;
    r.status = res->status;
    r.body = json::parse(res->body, nullptr, false);
    return r;
  }

  static void Post(DaemonProcess& d, const std::string& path, const json& body,
                   const httplib::Headers& headers = {}) {
    auto res = d.Client()->Post(path.c_str(), headers, body.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    ASSERT_EQ(json::parse(res->body)["rejected"], 0) << res->body;
  }

  static std::vector<std::string> Ids(const json& body) {
    std::vector<std::string> ids;
    for (const json& inv : body["investigations"]) ids.push_back(inv["investigation_id"]);
    return ids;
  }

  // The expected listing: the sent spans that pass `keep`, newest first.
  static std::vector<std::string> Expected(std::vector<Sent> sent,
                                           const std::function<bool(const Sent&)>& keep,
                                           size_t limit = 1000) {
    std::stable_sort(sent.begin(), sent.end(),
                     [](const Sent& a, const Sent& b) { return a.ts > b.ts; });
    std::vector<std::string> ids;
    for (const Sent& s : sent) {
      if (ids.size() < limit && keep(s)) ids.push_back(s.id);
    }
    return ids;
  }

  testing::TempDir dir_;
};

TEST_F(InvestigationsTest, ListsNewestFirstWithFiltersLimitAndLatestVerdicts) {
  auto d = StartDaemon();
  const int64_t now = NowSec();
  std::vector<Sent> sent;
  for (int i = 0; i < 24; ++i) {
    // Distinct times, sent in a shuffled order below.
    sent.push_back({"inv-" + std::to_string(i), i % 3 == 0 ? "triage" : "ir", now - 3600 - 97 * i,
                    i % 2 ? "prod" : "staging", ""});
  }
  std::mt19937 rng(7);
  std::vector<Sent> order = sent;
  std::shuffle(order.begin(), order.end(), rng);
  json spans = json::array();
  for (const Sent& s : order) {
    spans.push_back({{"investigation_id", s.id},
                     {"agent", s.agent},
                     {"ts", s.ts},
                     {"tool_calls", 3},
                     {"labels", {{"env", s.env}}}});
  }
  Post(*d, "/v1/spans", spans);

  // Verdicts: the latest by ts counts, whatever the arrival order.
  json feedback = json::array();
  for (int i = 0; i < 24; i += 2) {
    const bool override_last = (i / 2) % 3 == 0;
    const std::string first = override_last ? "confirm" : "override";
    const std::string last = override_last ? "override" : "confirm";
    // The later verdict (by ts) is sent first; the earlier one arrives
    // after it and must not replace it.
    feedback.push_back({{"investigation_id", sent[i].id}, {"verdict", last}, {"ts", now - 60}});
    feedback.push_back({{"investigation_id", sent[i].id}, {"verdict", first}, {"ts", now - 120}});
    sent[i].verdict = last;
  }
  Post(*d, "/v1/feedback", feedback);

  Reply all = Get(*d, "/api/v1/investigations");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(Ids(all.body), Expected(sent, [](const Sent&) { return true; }));
  // Each listed record carries its fields and its counting verdict.
  std::map<std::string, Sent> by_id;
  for (const Sent& s : sent) by_id[s.id] = s;
  for (const json& inv : all.body["investigations"]) {
    const Sent& s = by_id.at(inv["investigation_id"]);
    EXPECT_EQ(inv["agent"], s.agent);
    EXPECT_EQ(inv["ts"], Rfc3339(s.ts));
    EXPECT_EQ(inv["labels"]["env"], s.env);
    EXPECT_EQ(inv["tool_calls"], 3);
    EXPECT_EQ(inv["verdict"], s.verdict.empty() ? json(nullptr) : json(s.verdict)) << inv;
  }

  EXPECT_EQ(Ids(Get(*d, "/api/v1/investigations?agent=triage").body),
            Expected(sent, [](const Sent& s) { return s.agent == "triage"; }));
  EXPECT_EQ(Ids(Get(*d, "/api/v1/investigations?limit=5").body),
            Expected(
                sent, [](const Sent&) { return true; }, 5));
  EXPECT_EQ(Ids(Get(*d, "/api/v1/investigations?agent=ir&limit=4").body),
            Expected(
                sent, [](const Sent& s) { return s.agent == "ir"; }, 4));
  for (const char* v : {"confirm", "override"}) {
    EXPECT_EQ(Ids(Get(*d, std::string("/api/v1/investigations?verdict=") + v).body),
              Expected(sent, [&](const Sent& s) { return s.verdict == v; }))
        << v;
  }
  EXPECT_EQ(Ids(Get(*d, "/api/v1/investigations?verdict=none").body),
            Expected(sent, [](const Sent& s) { return s.verdict.empty(); }));

  // from/to are inclusive; RFC 3339 and Unix seconds both work.
  const int64_t from = sent[15].ts;
  const int64_t to = sent[4].ts;
  const auto in_range = [&](const Sent& s) { return s.ts >= from && s.ts <= to; };
  EXPECT_EQ(
      Ids(Get(*d, "/api/v1/investigations?from=" + Rfc3339(from) + "&to=" + Rfc3339(to)).body),
      Expected(sent, in_range));
  EXPECT_EQ(Ids(Get(*d, "/api/v1/investigations?from=" + std::to_string(from) +
                            "&to=" + std::to_string(to) + "&agent=ir&verdict=override")
                    .body),
            Expected(sent, [&](const Sent& s) {
              return in_range(s) && s.agent == "ir" && s.verdict == "override";
            }));
  EXPECT_EQ(Get(*d, "/api/v1/investigations?agent=nobody").body["investigations"], json::array());

  // A verdict that changes later (by ts) changes what is listed.
  Post(*d, "/v1/feedback",
       json{{"investigation_id", sent[0].id}, {"verdict", "override"}, {"ts", now}});
  Post(*d, "/v1/feedback",
       json{{"investigation_id", sent[2].id}, {"verdict", "confirm"}, {"ts", now}});
  sent[0].verdict = "override";
  sent[2].verdict = "confirm";
  EXPECT_EQ(Ids(Get(*d, "/api/v1/investigations?verdict=override").body),
            Expected(sent, [](const Sent& s) { return s.verdict == "override"; }));
  EXPECT_EQ(d->Stop(), 0) << d->Log();
}

TEST_F(InvestigationsTest, BadParametersAre400NamingTheParameter) {
  auto d = StartDaemon();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"limit=0", "limit"},
      {"limit=1001", "limit"},
      {"limit=ten", "limit"},
      {"limit=-5", "limit"},
      {"verdict=maybe", "verdict"},
      {"from=yesterday", "from"},
      {"to=2026-13-01T00:00:00Z", "to"},
      {"from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "from"},
      {"agent=has%20space", "agent"},
      {"alert=", "alert"},
      {"alert=0123456789abcdef&agent=ir", "agent"},
      {"alert=0123456789abcdef&from=0", "from"},
  };
  for (const auto& [query, param] : cases) {
    const Reply r = Get(*d, "/api/v1/investigations?" + query);
    EXPECT_EQ(r.status, 400) << query << " " << r.body;
    const std::string error = r.body.value("error", "");
    EXPECT_EQ(error.rfind(param + ":", 0), 0u) << query << " -> " << error;
  }
  // limit 1000 is the largest allowed; an unknown alert is 404 naming it.
  EXPECT_EQ(Get(*d, "/api/v1/investigations?limit=1000").status, 200);
  const Reply unknown = Get(*d, "/api/v1/investigations?alert=feedfacefeedface");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.value("error", "").find("feedfacefeedface"), std::string::npos)
      << unknown.body;
  EXPECT_EQ(d->Stop(), 0) << d->Log();
}

TEST_F(InvestigationsTest, OneInvestigationWithItsVerdictsAndResolution) {
  auto d = StartDaemon();
  const int64_t now = NowSec();
  const int64_t ts = now - 1800;
  Post(*d, "/v1/spans",
       json{{"investigation_id", "inv-7f3a"},
            {"agent", "incident-response"},
            {"ts", ts},
            {"model", "claude-sonnet-4-6"},
            {"input_tokens", 18234},
            {"output_tokens", 2311},
            {"tool_calls", 9},
            {"estimated_cost_usd", 0.093},
            {"duration_ms", 41200},
            {"confidence", 0.82},
            {"incident_id", "INC-4411"},
            {"labels", {{"env", "prod"}}}});
  // Arrival order differs from ts order: the override (latest ts) counts.
  Post(*d, "/v1/feedback",
       json{{"investigation_id", "inv-7f3a"},
            {"verdict", "confirm"},
            {"ts", now - 600},
            {"actor", "bob"}});
  Post(*d, "/v1/feedback",
       json{{"investigation_id", "inv-7f3a"},
            {"verdict", "override"},
            {"ts", now - 300},
            {"actor", "alice"},
            {"reason", "root cause was the DNS change"}});
  Post(*d, "/v1/feedback",
       json{{"investigation_id", "inv-7f3a"},
            {"verdict", "confirm"},
            {"ts", now - 900},
            {"actor", "carol"}});
  // By incident, without opened_at: opened when the investigation started.
  Post(*d, "/v1/resolutions", json{{"incident_id", "INC-4411"}, {"resolved_at", now - 60}});

  Reply r = Get(*d, "/api/v1/investigations/inv-7f3a");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["investigation_id"], "inv-7f3a");
  EXPECT_EQ(r.body["agent"], "incident-response");
  EXPECT_EQ(r.body["ts"], Rfc3339(ts));
  EXPECT_EQ(r.body["model"], "claude-sonnet-4-6");
  EXPECT_EQ(r.body["input_tokens"], 18234);
  EXPECT_EQ(r.body["output_tokens"], 2311);
  EXPECT_EQ(r.body["tool_calls"], 9);
  EXPECT_EQ(r.body["duration_ms"], 41200);
  EXPECT_DOUBLE_EQ(r.body["estimated_cost_usd"].get<double>(), 0.093);
  EXPECT_DOUBLE_EQ(r.body["cost_usd"].get<double>(), 0.093);
  EXPECT_DOUBLE_EQ(r.body["confidence"].get<double>(), 0.82);
  EXPECT_EQ(r.body["incident_id"], "INC-4411");
  EXPECT_EQ(r.body["labels"], (json{{"env", "prod"}}));
  EXPECT_EQ(r.body["verdict"], "override");
  EXPECT_EQ(r.body["spans"], json::array()) << "a /v1/spans record has no joined spans";
  const json& v = r.body["verdicts"];
  ASSERT_EQ(v.size(), 3u) << r.body;
  EXPECT_EQ(v[0]["actor"], "alice");
  EXPECT_EQ(v[0]["verdict"], "override");
  EXPECT_EQ(v[0]["reason"], "root cause was the DNS change");
  EXPECT_EQ(v[0]["ts"], Rfc3339(now - 300));
  EXPECT_EQ(v[0]["counts"], true);
  EXPECT_EQ(v[1]["actor"], "bob");
  EXPECT_EQ(v[1]["counts"], false);
  EXPECT_EQ(v[2]["actor"], "carol");
  const json& res = r.body["resolution"];
  EXPECT_EQ(res["by"], "incident_id");
  EXPECT_EQ(res["resolved_at"], Rfc3339(now - 60));
  // ts - duration_ms = ts - 41.2 s.
  EXPECT_DOUBLE_EQ(res["time_to_resolve_s"].get<double>(), (now - 60 - ts) + 41.2);

  // A resolution naming the investigation wins over its incident's.
  Post(*d, "/v1/resolutions",
       json{{"investigation_id", "inv-7f3a"},
            {"resolved_at", now - 30},
            {"time_to_resolve_s", 1830}});
  r = Get(*d, "/api/v1/investigations/inv-7f3a");
  EXPECT_EQ(r.body["resolution"]["by"], "investigation_id");
  EXPECT_EQ(r.body["resolution"]["time_to_resolve_s"], 1830);
  // A later verdict by ts takes over.
  Post(*d, "/v1/feedback",
       json{{"investigation_id", "inv-7f3a"},
            {"verdict", "confirm"},
            {"ts", now},
            {"actor", "dave"}});
  r = Get(*d, "/api/v1/investigations/inv-7f3a");
  EXPECT_EQ(r.body["verdict"], "confirm");
  EXPECT_EQ(r.body["verdicts"][0]["actor"], "dave");

  // Unknown ids; a verdict held for a span that never came is no record.
  Reply missing = Get(*d, "/api/v1/investigations/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.value("error", "").find("nope"), std::string::npos);
  Post(*d, "/v1/feedback", json{{"investigation_id", "held-1"}, {"verdict", "confirm"}});
  EXPECT_EQ(Get(*d, "/api/v1/investigations/held-1").status, 404);

  // OTLP-style ids hold '/': as %2F and raw.
  const std::string otlp_id = "4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7";
  Post(*d, "/v1/spans", json{{"investigation_id", otlp_id}, {"agent", "triage"}, {"ts", now - 10}});
  r = Get(*d, "/api/v1/investigations/4bf92f3577b34da6a3ce929d0e0e4736%2F00f067aa0ba902b7");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["investigation_id"], otlp_id);
  EXPECT_EQ(r.body["verdicts"], json::array());
  EXPECT_EQ(r.body["resolution"], nullptr);
  r = Get(*d, "/api/v1/investigations/" + otlp_id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["investigation_id"], otlp_id);
  EXPECT_EQ(d->Stop(), 0) << d->Log();
}

TEST_F(InvestigationsTest, ReadsNeedATokenWithProtectReads) {
  auto d = StartDaemon(std::string("auth: {ingest_tokens: [") + kToken + "], admin_tokens: [" +
                       kAdminToken + "], protect_reads: true}\n");
  const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kToken}};
  Post(*d, "/v1/spans", json{{"investigation_id", "a"}, {"agent", "ir"}}, auth);
  EXPECT_EQ(Get(*d, "/api/v1/investigations").status, 401);
  EXPECT_EQ(Get(*d, "/api/v1/investigations/a").status, 401);
  EXPECT_EQ(
      Get(*d, "/api/v1/investigations", {{"Authorization", "Bearer wrong-token-000000"}}).status,
      401);
  Reply r = Get(*d, "/api/v1/investigations", auth);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Ids(r.body), std::vector<std::string>{"a"});
  EXPECT_EQ(Get(*d, "/api/v1/investigations/a", auth).status, 200);
  EXPECT_EQ(d->Stop(), 0) << d->Log();
}

TEST_F(InvestigationsTest, AlertListsTheInvestigationsBehindItsFigure) {
  dir_.Write("rules/agents.yaml", R"(groups:
- name: agents
  rules:
  - alert: OverridesInProd
    sli: override_rate
    window: 5 investigations
    where: {env: prod}
    threshold: 0.3
    min_samples: 3
  - alert: BusyHour
    sli: investigations
    window: 1h
    threshold: 2
)");
  auto d = StartDaemon("rule_files: [rules/*.yaml]\n");
  const int64_t now = NowSec();
  std::vector<Sent> sent;
  // ir: 8 prod spans, then 2 newer staging ones (2 in the last hour: not
  // busy); cost: 2 prod spans before the last hour and 3 in it (busy).
  for (int i = 0; i < 8; ++i)
    sent.push_back({"ir-p" + std::to_string(i), "ir", now - 7200 + 60 * i, "prod", ""});
  for (int i = 0; i < 2; ++i)
    sent.push_back({"ir-s" + std::to_string(i), "ir", now - 600 + 60 * i, "staging", ""});
  for (int i = 0; i < 2; ++i)
    sent.push_back({"cost-old" + std::to_string(i), "cost", now - 5000 + 60 * i, "prod", ""});
  for (int i = 0; i < 3; ++i)
    sent.push_back({"cost-" + std::to_string(i), "cost", now - 1800 + 60 * i, "prod", ""});
  json spans = json::array();
  for (const Sent& s : sent) {
    spans.push_back({{"investigation_id", s.id},
                     {"agent", s.agent},
                     {"ts", s.ts},
                     {"labels", {{"env", s.env}}}});
  }
  Post(*d, "/v1/spans", spans);
  // Verdicts on ir's prod spans: 2 overrides and 2 confirms among the latest
  // five (ir-p3..ir-p7), and an override outside them (ir-p0).
  const std::map<std::string, std::string> verdicts = {{"ir-p0", "override"},
                                                       {"ir-p4", "override"},
                                                       {"ir-p5", "confirm"},
                                                       {"ir-p6", "override"},
                                                       {"ir-p7", "confirm"}};
  json feedback = json::array();
  for (const auto& [id, v] : verdicts) {
    feedback.push_back({{"investigation_id", id}, {"verdict", v}});
    for (Sent& s : sent) {
      if (s.id == id) s.verdict = v;
    }
  }
  Post(*d, "/v1/feedback", feedback);

  // Wait for both alerts to fire (for: 0), then find their fingerprints.
  std::map<std::string, json> firing;
  ASSERT_TRUE(testing::WaitFor([&] {
    firing.clear();
    const Reply r = Get(*d, "/api/v1/alerts");
    for (const json& a : r.body["alerts"]) {
      if (a["state"] == "firing")
        firing[a["name"].get<std::string>() + "/" + a["labels"].value("agent", "")] = a;
    }
    return firing.count("OverridesInProd/ir") && firing.count("BusyHour/cost");
  })) << Get(*d, "/api/v1/alerts").body
      << d->Log();

  // Count window: the latest 5 of ir's prod spans, newest first, with
  // their verdicts; staging and the other agent are not behind the figure.
  const std::string fp = firing["OverridesInProd/ir"]["fingerprint"];
  std::vector<std::string> window_ids = Expected(
      sent, [](const Sent& s) { return s.agent == "ir" && s.env == "prod"; }, 5);
  Reply r = Get(*d, "/api/v1/investigations?alert=" + fp);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Ids(r.body), window_ids);
  EXPECT_EQ(r.body["alert"]["name"], "OverridesInProd");
  EXPECT_EQ(r.body["alert"]["fingerprint"], fp);
  EXPECT_EQ(r.body["alert"]["window"], "5 investigations");
  int overrides = 0;
  for (const json& inv : r.body["investigations"]) {
    const auto it = verdicts.find(inv["investigation_id"]);
    EXPECT_EQ(inv["verdict"], it == verdicts.end() ? json(nullptr) : json(it->second));
    overrides += inv["verdict"] == "override";
  }
  EXPECT_EQ(overrides, 2);
  // verdict= and limit= apply within the window: ir-p0 stays out.
  EXPECT_EQ(Ids(Get(*d, "/api/v1/investigations?verdict=override&alert=" + fp).body),
            Expected(sent, [&](const Sent& s) {
              return std::find(window_ids.begin(), window_ids.end(), s.id) != window_ids.end() &&
                     s.verdict == "override";
            }));
  EXPECT_EQ(Ids(Get(*d, "/api/v1/investigations?limit=2&alert=" + fp).body),
            std::vector<std::string>(window_ids.begin(), window_ids.begin() + 2));

  EXPECT_EQ(firing.count("BusyHour/ir"), 0u);
  // Time window (1h, by agent): cost's spans of the last hour only.
  const std::string busy = firing["BusyHour/cost"]["fingerprint"];
  r = Get(*d, "/api/v1/investigations?alert=" + busy);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Ids(r.body),
            Expected(sent, [&](const Sent& s) { return s.agent == "cost" && s.ts > now - 3600; }));
  EXPECT_EQ(Ids(r.body).size(), 3u);
  EXPECT_EQ(r.body["alert"]["window"], "1h");
  EXPECT_EQ(d->Stop(), 0) << d->Log();
}

// Runs a shell command; returns its exit code and stdout.
int RunShell(const std::string& cmd, std::string* out) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out->append(buf, n);
  const int rc = pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST_F(InvestigationsTest, ExampleSdkAgentIsListed) {
  std::string ignored;
  if (RunShell("command -v node >/dev/null 2>&1", &ignored) != 0) {
    GTEST_SKIP() << "node is not installed (scripts/install-deps.sh installs it)";
  }
  // The example reuses the pinned SDK install of tests/otel.
  const std::string otel = std::string(AW_SOURCE_DIR) + "/tests/otel";
  if (!std::filesystem::exists(otel + "/node_modules")) {
    std::string out;
    ASSERT_EQ(RunShell("cd '" + otel + "' && npm ci --no-audit --no-fund 2>&1", &out), 0) << out;
  }
  auto d = StartDaemon(std::string("auth: {ingest_tokens: [") + kToken + "], admin_tokens: [" +
                       kAdminToken + "]}\n");
  std::string out;
  const int rc = RunShell("NODE_PATH='" + otel + "/node_modules' AGENTWATCH_URL=" + d->url() +
                              " AW_TOKEN=" + kToken + " node '" + AW_SOURCE_DIR +
                              "/examples/otel/agent.js' example-triage 2>&1",
                          &out);
  ASSERT_EQ(rc, 0) << out << d->Log();
  const std::string trace_id = out.substr(0, out.find('\n'));
  ASSERT_EQ(trace_id.size(), 32u) << out;

  const Reply list = Get(*d, "/api/v1/investigations?agent=example-triage");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(Ids(list.body), std::vector<std::string>{trace_id});
  const Reply r = Get(*d, "/api/v1/investigations/" + trace_id);
  ASSERT_EQ(r.status, 200) << r.body;
  // What agent.js sent: two chats (1200+2000 in, 300+500 out), one tool.
  EXPECT_EQ(r.body["tool_calls"], 1);
  EXPECT_EQ(r.body["llm_calls"], 2);
  EXPECT_EQ(r.body["input_tokens"], 3200);
  EXPECT_EQ(r.body["output_tokens"], 800);
  EXPECT_EQ(r.body["model"], "claude-sonnet-4-6");
  EXPECT_EQ(r.body["finish_reason"], "end_turn");
  EXPECT_EQ(r.body["incident_id"], "INC-1");
  EXPECT_EQ(d->Stop(), 0) << d->Log();
}

}  // namespace
}  // namespace aw
