// Over 500 lines on purpose: one daemon fixture and its OTLP request helpers
// serve every case here; the SDK case reuses them.
//
// OTLP/HTTP ingest against the real binary: the reply codes of /v1/traces
// and /v1/logs, and the real OpenTelemetry JS SDK (tests/otel/agents.js)
// exporting two agents over JSON and over protobuf, checked on
// /api/v1/slis against what it sent.

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include <sqlite3.h>
#include <zlib.h>
#include <nlohmann/json.hpp>

#include "tests/testing/daemon_process.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Ns(int64_t ms) { return std::to_string(ms) + "000000"; }

json Attr(const std::string& key, const json& value) {
  json v;
  if (value.is_string())
    v["stringValue"] = value;
  else if (value.is_number_integer())
    v["intValue"] = std::to_string(value.get<int64_t>());
  else
    v["doubleValue"] = value;
  return json{{"key", key}, {"value", v}};
}

// An OTLP JSON span; `attrs` as key -> value.
json OtlpSpan(const std::string& trace, const std::string& span, const std::string& parent,
              int64_t start_ms, int64_t end_ms, const json& attrs) {
  json a = json::array();
  for (const auto& [k, v] : attrs.items()) a.push_back(Attr(k, v));
  json s{{"traceId", trace},
         {"spanId", span},
         {"name", "s"},
         {"kind", 1},
         {"startTimeUnixNano", Ns(start_ms)},
         {"endTimeUnixNano", Ns(end_ms)},
         {"attributes", a}};
  if (!parent.empty()) s["parentSpanId"] = parent;
  return s;
}

std::string TracesBody(const json& spans) {
  return json{
      {"resourceSpans",
       json::array({json{{"resource", {{"attributes", json::array({Attr("service.name", "svc")})}}},
                         {"scopeSpans", json::array({json{{"spans", spans}}})}}})}}
      .dump();
}

std::string Gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

class OtlpTest : public ::testing::Test {
 protected:
  std::unique_ptr<DaemonProcess> StartDaemon(const std::string& limits = "{max_body_bytes: 64KiB}",
                                             const std::string& extra = "") {
    const std::string config = dir_.Write("agentwatch.yaml",
                                          "listen: 127.0.0.1:0\n"
                                          "storage: {path: events.db}\n"
                                          "sli_windows: [7d]\n"
                                          "limits: " +
                                              limits + "\n" + extra);
    auto d = std::make_unique<DaemonProcess>(AW_BINARY, config, dir_.path());
    EXPECT_TRUE(d->Start()) << d->Log();
    return d;
  }

  // The value of one SLI row for `agent` in the 7d window; NaN when absent or null.
  static double Sli(DaemonProcess& d, const std::string& agent, const std::string& sli,
                    const std::string& stat = "") {
    auto res = d.Client()->Get(("/api/v1/slis?agent=" + agent).c_str());
    if (!res || res->status != 200) return std::nan("");
    const json body = json::parse(res->body);
    for (const json& row : body["slis"]) {
      if (row["agent"] == agent && row["sli"] == sli && row["window"] == "7d" &&
          row["stat"] == stat) {
        return row["value"].is_null() ? std::nan("") : row["value"].get<double>();
      }
    }
    return std::nan("");
  }

  testing::TempDir dir_;
};

const std::string kTrace = "0af7651916cd43dd8448eb211c80319c";
const std::string kRoot = "b7ad6b7169203331";

TEST_F(OtlpTest, UnsupportedContentTypeIs415) {
  auto d = StartDaemon();
  auto res = d->Client()->Post("/v1/traces", "x", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 415);
  res = d->Client()->Post("/v1/logs", "x", "application/x-ndjson");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 415);
}

TEST_F(OtlpTest, UndecodableBodyIs400WithAnRpcStatusInTheRequestsEncoding) {
  auto d = StartDaemon();
  auto res = d->Client()->Post("/v1/traces", "{\"resourceSpans\": 3}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  const json status = json::parse(res->body, nullptr, false);
  ASSERT_TRUE(status.is_object()) << res->body;
  EXPECT_EQ(status["code"], 3) << res->body;
  EXPECT_FALSE(status["message"].get<std::string>().empty());

  // A truncated protobuf field: length 0x7f with one byte behind it.
  res = d->Client()->Post("/v1/traces", std::string("\x0a\x7f\x01", 3), "application/x-protobuf");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/x-protobuf");
  EXPECT_FALSE(res->body.empty());

  res = d->Client()->Post("/v1/logs", "not json", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(OtlpTest, BodyOverTheLimitIs413) {
  auto d = StartDaemon("{max_body_bytes: 4KiB}");
  auto res = d->Client()->Post("/v1/traces", std::string(8192, ' '), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  // The server's own rejection has the shape of every OTLP error: a google.rpc.Status.
  const json status = json::parse(res->body);
  EXPECT_EQ(status.value("code", 0), 3) << res->body;
  EXPECT_EQ(status.value("message", ""), "body: exceeds limits.max_body_bytes (4096 bytes)");
  EXPECT_FALSE(status.contains("accepted")) << res->body;
}

TEST_F(OtlpTest, GzipBodiesAreInflatedAndABombOverTheLimitIs413) {
  auto d = StartDaemon();
  const int64_t t = NowMs() - 60'000;
  const std::string body =
      TracesBody(json::array({OtlpSpan(kTrace, kRoot, "", t, t + 1000, {{"agent.type", "ir"}})}));
  auto res = d->Client()->Post("/v1/traces", {{"Content-Encoding", "gzip"}}, Gzip(body),
                               "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Sli(*d, "ir", "investigations"), 1);
  // 8 MiB of spaces inflated from a few KiB: over the 64 KiB limit.
  res = d->Client()->Post("/v1/traces", {{"Content-Encoding", "gzip"}},
                          Gzip(std::string(8 << 20, ' ')), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
}

TEST_F(OtlpTest, InvalidInvestigationSpanIsAPartialSuccessAndTheValidOnesAreStored) {
  auto d = StartDaemon();
  const int64_t t = NowMs() - 60'000;
  const json spans =
      json::array({OtlpSpan(kTrace, kRoot, "", t, t + 1000,
                            {{"agent.type", "ir"}, {"agent.tool_calls_made", 4}}),
                   OtlpSpan("1af7651916cd43dd8448eb211c80319c", kRoot, "", t, t + 1000,
                            {{"agent.type", "ir"}, {"agent.total_input_tokens", -5}})});
  auto res = d->Client()->Post("/v1/traces", TracesBody(spans), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const json reply = json::parse(res->body);
  EXPECT_EQ(reply["partialSuccess"]["rejectedSpans"], "1") << res->body;
  EXPECT_NE(reply["partialSuccess"]["errorMessage"].get<std::string>().find("input_tokens"),
            std::string::npos)
      << res->body;
  EXPECT_EQ(Sli(*d, "ir", "investigations"), 1);
  EXPECT_EQ(Sli(*d, "ir", "tool_calls", "max"), 4);

  // All well: an empty response, and children joined into their investigation.
  const std::string trace2 = "2af7651916cd43dd8448eb211c80319c";
  const json family = json::array({OtlpSpan(trace2, "0000000000000002", kRoot, t, t + 10,
                                            {{"gen_ai.operation.name", "execute_tool"}}),
                                   OtlpSpan(trace2, "0000000000000003", kRoot, t, t + 10,
                                            {{"gen_ai.operation.name", "execute_tool"}})});
  res = d->Client()->Post("/v1/traces", TracesBody(family), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{}");
  res = d->Client()->Post(
      "/v1/traces",
      TracesBody(json::array({OtlpSpan(trace2, kRoot, "", t, t + 2000, {{"agent.type", "ir"}})})),
      "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(Sli(*d, "ir", "investigations"), 2);
  EXPECT_EQ(Sli(*d, "ir", "tool_calls", "p50"), 2)
      << "the two tool spans held before their investigation";

  auto metrics = d->Client()->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("agentwatch_otlp_spans_held"), std::string::npos);
  EXPECT_NE(metrics->body.find("agentwatch_otlp_spans_joined_late_total"), std::string::npos);
  EXPECT_NE(metrics->body.find("agentwatch_otlp_spans_dropped_total"), std::string::npos);
}

TEST_F(OtlpTest, StoreUnavailableIs503AndTheRetryIsStored) {
  auto d = StartDaemon();
  const int64_t t = NowMs() - 60'000;
  const std::string body = TracesBody(json::array(
      {OtlpSpan(kTrace, "0000000000000009", kRoot, t, t + 10, {{"gen_ai.tool.name", "kubectl"}}),
       OtlpSpan(kTrace, kRoot, "", t, t + 1000, {{"agent.type", "ir"}})}));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("events.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10'000);  // the daemon may be mid-commit
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto res = d->Client()->Post("/v1/traces", body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  // The SDK's retry: not a duplicate of the failed attempt, and the child
  // joins again.
  res = d->Client()->Post("/v1/traces", body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Sli(*d, "ir", "investigations"), 1);
  EXPECT_EQ(Sli(*d, "ir", "tool_calls", "max"), 1);
}

// Metric value of a series without labels in /metrics text; NaN when absent.
double Metric(DaemonProcess& d, const std::string& name) {
  auto res = d.Client()->Get("/metrics");
  if (!res) return std::nan("");
  std::istringstream lines(res->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nan("");
}

TEST_F(OtlpTest, ALateDescendantTheStoreCannotTakeIs503AndItsRetryApplies) {
  auto d = StartDaemon();
  const int64_t t = NowMs() - 60'000;
  auto res = d->Client()->Post(
      "/v1/traces",
      TracesBody(json::array({OtlpSpan(kTrace, kRoot, "", t, t + 1000, {{"agent.type", "ir"}})})),
      "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(Sli(*d, "ir", "tool_calls", "max"), 0);
  const std::string late = TracesBody(json::array(
      {OtlpSpan(kTrace, "0000000000000009", kRoot, t, t + 10, {{"gen_ai.tool.name", "kubectl"}})}));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("events.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10'000);  // the daemon may be mid-commit
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  res = d->Client()->Post("/v1/traces", late, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(Sli(*d, "ir", "tool_calls", "max"), 0);  // nothing of it applied
  EXPECT_EQ(Metric(*d, "agentwatch_otlp_spans_joined_late_total"), 0);
  // The retry is not a duplicate of the failed attempt: it joins, once.
  for (int i = 0; i < 2; ++i) {
    res = d->Client()->Post("/v1/traces", late, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
  }
  EXPECT_EQ(Sli(*d, "ir", "tool_calls", "max"), 1);
  EXPECT_EQ(Metric(*d, "agentwatch_otlp_spans_joined_late_total"), 1);
}

TEST_F(OtlpTest, VerdictEventsOnLogsAreFeedback) {
  auto d = StartDaemon();
  const int64_t t = NowMs() - 60'000;
  auto res = d->Client()->Post(
      "/v1/traces",
      TracesBody(json::array({OtlpSpan(kTrace, kRoot, "", t, t + 1000, {{"agent.type", "ir"}})})),
      "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const json record{
      {"timeUnixNano", Ns(t + 5000)},
      {"eventName", "gen_ai.evaluation.result"},
      {"traceId", kTrace},
      {"spanId", kRoot},
      {"attributes", json::array({Attr("gen_ai.evaluation.name", "oncall_verdict"),
                                  Attr("gen_ai.evaluation.score.label", "overridden")})}};
  const json logs{
      {"resourceLogs",
       json::array(
           {json{{"scopeLogs", json::array({json{{"logRecords", json::array({record})}}})}}})}};
  res = d->Client()->Post("/v1/logs", logs.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->body, "{}");
  EXPECT_EQ(Sli(*d, "ir", "override_rate"), 1);
}

TEST_F(OtlpTest, AVerdictFindsANonRootAgentSpanAfterARestart) {
  // Agent spans under a server span: ids "<trace>/<span>". After a restart
  // a verdict naming the span, or only the trace, still reaches them.
  auto d = StartDaemon();
  const int64_t t = NowMs() - 60'000;
  const std::string trace2 = "5b8efff798038103d269b633813fc60c";
  const json spans = json::array({OtlpSpan(kTrace, "00000000000000a1", "00000000000000f0", t,
                                           t + 1000, {{"agent.type", "ir"}}),
                                  OtlpSpan(trace2, "00000000000000b1", "00000000000000f1", t,
                                           t + 1000, {{"agent.type", "ir"}})});
  auto res = d->Client()->Post("/v1/traces", TracesBody(spans), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  ASSERT_EQ(d->Stop(), 0) << d->Log();
  ASSERT_TRUE(d->Start()) << d->Log();
  const auto verdict = [&](const std::string& trace, const std::string& span, const char* label) {
    json record{{"timeUnixNano", Ns(t + 5000)},
                {"eventName", "gen_ai.evaluation.result"},
                {"traceId", trace},
                {"attributes", json::array({Attr("gen_ai.evaluation.name", "oncall_verdict"),
                                            Attr("gen_ai.evaluation.score.label", label)})}};
    if (!span.empty()) record["spanId"] = span;
    const json logs{
        {"resourceLogs",
         json::array(
             {json{{"scopeLogs", json::array({json{{"logRecords", json::array({record})}}})}}})}};
    auto r = d->Client()->Post("/v1/logs", logs.dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  };
  verdict(kTrace, "00000000000000a1", "overridden");
  verdict(trace2, "", "confirmed");
  EXPECT_EQ(Sli(*d, "ir", "review_coverage"), 1);
  EXPECT_EQ(Sli(*d, "ir", "override_rate"), 0.5);
  auto page = d->Client()->Get("/api/v1/investigations/" + kTrace + "%2F00000000000000a1");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200) << page->body;
  EXPECT_EQ(json::parse(page->body).at("verdicts").at(0).at("verdict"), "override") << page->body;
}

// The figures a late join can change, as /api/v1/slis shows them.
struct Figures {
  double investigations, tool_max, tool_p50, input_max, output_max, cost;
};
std::ostream& operator<<(std::ostream& o, const Figures& f) {
  return o << "{inv " << f.investigations << ", tools " << f.tool_max << "/" << f.tool_p50
           << ", in " << f.input_max << ", out " << f.output_max << ", cost " << f.cost << "}";
}

TEST_F(OtlpTest, ALateDescendantUpdatesTheStoredInvestigationOnceAlsoAfterARestart) {
  // USD per million tokens for model m.
  constexpr double kIn = 3, kOut = 15;
  auto d = StartDaemon("{max_body_bytes: 64KiB}", "pricing: {m: {input: 3, output: 15}}\n");
  const int64_t t = NowMs() - 60'000;
  const auto post = [&](const json& spans) {
    auto res = d->Client()->Post("/v1/traces", TracesBody(spans), "application/json");
    EXPECT_TRUE(res);
    if (res) {
      EXPECT_EQ(res->status, 200) << res->body;
      EXPECT_EQ(res->body, "{}");
    }
  };
  const auto figures = [&] {
    return Figures{Sli(*d, "ir", "investigations"),       Sli(*d, "ir", "tool_calls", "max"),
                   Sli(*d, "ir", "tool_calls", "p50"),    Sli(*d, "ir", "input_tokens", "max"),
                   Sli(*d, "ir", "output_tokens", "max"), Sli(*d, "ir", "cost_usd")};
  };
  const json root = OtlpSpan(kTrace, kRoot, "", t, t + 1000, {{"agent.type", "ir"}});
  const json tool1 =
      OtlpSpan(kTrace, "0000000000000001", kRoot, t, t + 10, {{"gen_ai.tool.name", "kubectl"}});
  const json tool2 = OtlpSpan(kTrace, "0000000000000002", kRoot, t + 20, t + 30,
                              {{"gen_ai.operation.name", "execute_tool"}});
  // A model call under a span that is not an investigation: still a descendant.
  const json step =
      OtlpSpan(kTrace, "0000000000000003", kRoot, t + 40, t + 900, {{"step", "plan"}});
  const json chat = OtlpSpan(kTrace, "0000000000000004", "0000000000000003", t + 50, t + 800,
                             {{"gen_ai.request.model", "m"},
                              {"gen_ai.usage.input_tokens", 1000},
                              {"gen_ai.usage.output_tokens", 200}});

  // The investigation with one tool span joined on time.
  post(json::array({root, tool1}));
  const Figures before = figures();
  EXPECT_EQ(before.investigations, 1);
  EXPECT_EQ(before.tool_max, 1);
  EXPECT_TRUE(std::isnan(before.input_max)) << before;  // no samples yet
  EXPECT_EQ(before.cost, 0) << before;                  // no model: unpriced
  // Late: a tool span, then a model call (tokens, no cost sent: priced by model).
  post(json::array({tool2}));
  post(json::array({step, chat}));
  const Figures want{1, 2, 2, 1000, 200, (1000 * kIn + 200 * kOut) / 1e6};
  const auto same = [&](const Figures& got) {
    EXPECT_EQ(got.investigations, want.investigations);
    EXPECT_EQ(got.tool_max, want.tool_max);
    EXPECT_EQ(got.tool_p50, want.tool_p50);
    EXPECT_EQ(got.input_max, want.input_max);
    EXPECT_EQ(got.output_max, want.output_max);
    EXPECT_NEAR(got.cost, want.cost, 1e-12) << got;
  };
  same(figures());
  EXPECT_EQ(Metric(*d, "agentwatch_otlp_spans_joined_late_total"), 2);
  EXPECT_EQ(Metric(*d, "agentwatch_otlp_spans_dropped_total"), 0);

  // A client retry of the late spans changes nothing.
  post(json::array({tool2, step, chat}));
  same(figures());
  EXPECT_EQ(Metric(*d, "agentwatch_otlp_spans_joined_late_total"), 2);

  // After a restart on the same file the figures are rebuilt with the late
  // joins, and re-sending everything (the investigation too, which makes
  // its descendants late joins again) still changes nothing.
  ASSERT_EQ(d->Stop(), 0) << d->Log();
  ASSERT_TRUE(d->Start()) << d->Log();
  same(figures());
  post(json::array({root}));
  post(json::array({tool1, tool2}));
  post(json::array({chat, step}));
  same(figures());
  EXPECT_EQ(Metric(*d, "agentwatch_otlp_spans_joined_late_total"), 0);
  // The investigation's page lists the joins and carries the updated record.
  auto page = d->Client()->Get("/api/v1/investigations/" + kTrace);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200) << page->body;
  const json inv = json::parse(page->body);
  std::vector<std::string> listed;
  for (const json& j : inv.at("spans")) {
    EXPECT_EQ(j.at("trace_id"), kTrace);
    listed.push_back(j.at("span_id").get<std::string>() + ":" +
                     (j.at("joined_late").get<bool>() ? "late" : "on time"));
  }
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, (std::vector<std::string>{"0000000000000001:on time", "0000000000000002:late",
                                              "0000000000000004:late"}));
  EXPECT_EQ(inv.at("tool_calls"), 2) << inv;
  EXPECT_EQ(inv.at("input_tokens"), 1000) << inv;
  ASSERT_EQ(d->Stop(), 0) << d->Log();

  // The joins as stored: one on time, two late (the step span changed
  // nothing, so it has no row).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("events.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db,
                         "SELECT span_id, joined_late, investigation_id FROM otlp_joined_spans "
                         "ORDER BY span_id",
                         -1, &q, nullptr),
      SQLITE_OK);
  std::vector<std::string> rows;
  while (sqlite3_step(q) == SQLITE_ROW) {
    rows.push_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, 0))) + ":" +
                   std::to_string(sqlite3_column_int(q, 1)) + ":" +
                   reinterpret_cast<const char*>(sqlite3_column_text(q, 2)));
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  EXPECT_EQ(rows, (std::vector<std::string>{"0000000000000001:0:" + kTrace,
                                            "0000000000000002:1:" + kTrace,
                                            "0000000000000004:1:" + kTrace}));
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

class OtelSdkTest : public OtlpTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(OtelSdkTest, RealSdkAgentsGiveTheSlisTheySent) {
  std::string ignored;
  if (RunShell("command -v node >/dev/null 2>&1", &ignored) != 0) {
    GTEST_SKIP() << "node is not installed (scripts/install-deps.sh installs it)";
  }
  const std::string otel = std::string(AW_SOURCE_DIR) + "/tests/otel";
  if (!std::filesystem::exists(otel + "/node_modules")) {
    std::string out;
    ASSERT_EQ(RunShell("cd '" + otel + "' && npm ci --no-audit --no-fund 2>&1", &out), 0) << out;
  }
  auto d = StartDaemon("{max_body_bytes: 1MiB}");
  constexpr int kCount = 6;
  // Span times two hours back, verdicts one hour back: inside the 7d window
  // and max_event_age.
  std::string out;
  const int rc = RunShell("AW_T0_MS=" + std::to_string(NowMs() - 2 * 3600 * 1000) + " node '" +
                              otel + "/agents.js' " + d->url() + " " + GetParam() + " " +
                              std::to_string(kCount) + " 2>&1",
                          &out);
  ASSERT_EQ(rc, 0) << out << d->Log();
  std::istringstream lines(out);
  int printed = 0;
  for (std::string line; std::getline(lines, line);) printed += !line.empty();
  EXPECT_EQ(printed, 2 * kCount) << out;

  // incident-response: the seed article's summary totals on the root span.
  EXPECT_EQ(Sli(*d, "incident-response", "investigations"), kCount);
  EXPECT_EQ(Sli(*d, "incident-response", "tool_calls", "max"), 3);
  EXPECT_EQ(Sli(*d, "incident-response", "tool_calls", "p50"), 3);
  EXPECT_EQ(Sli(*d, "incident-response", "input_tokens", "max"), 18234);
  EXPECT_EQ(Sli(*d, "incident-response", "output_tokens", "max"), 2311);
  EXPECT_NEAR(Sli(*d, "incident-response", "cost_usd"), 0.093 * kCount, 1e-9);
  // triage: GenAI conventions under a server span, totals from descendants:
  // two execute_tool spans; chats 1200+400+2000 in, 300+50+500 out.
  EXPECT_EQ(Sli(*d, "triage", "investigations"), kCount);
  EXPECT_EQ(Sli(*d, "triage", "tool_calls", "max"), 2);
  EXPECT_EQ(Sli(*d, "triage", "tool_calls", "p50"), 2);
  EXPECT_NEAR(Sli(*d, "triage", "input_tokens", "max"), 3600, 36);
  EXPECT_NEAR(Sli(*d, "triage", "input_tokens", "p50"), 3600, 36);
  EXPECT_NEAR(Sli(*d, "triage", "output_tokens", "max"), 850, 8.5);
  // Verdicts through the logs exporter: every incident-response one
  // confirmed, every triage one (named by its non-root agent span) overridden.
  EXPECT_EQ(Sli(*d, "incident-response", "override_rate"), 0);
  EXPECT_EQ(Sli(*d, "incident-response", "review_coverage"), 1);
  EXPECT_EQ(Sli(*d, "triage", "override_rate"), 1);
  EXPECT_EQ(Sli(*d, "triage", "review_coverage"), 1);
}

INSTANTIATE_TEST_SUITE_P(Exporters, OtelSdkTest, ::testing::Values("json", "proto"));

}  // namespace
}  // namespace aw
