// The real binary on an ephemeral loopback port with a real SQLite file:
// every reply code of the ingest API, durability across kill -9, and
// dedup of client retries across a restart.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "daemon/common/hmac.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;

constexpr const char* kIngestToken = "ingest-token-0123456789";
constexpr const char* kAdminToken = "admin-token-0123456789ab";

// Sends `request` as is on a fresh connection; returns everything read.
std::string RawRequest(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  (void)!write(fd, request.data(), request.size());
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(n));
  close(fd);
  return reply;
}

class IngestTest : public ::testing::Test {
 protected:
  std::unique_ptr<DaemonProcess> StartDaemon(
      const std::string& extra_yaml = "",
      const std::string& limits = "{max_body_bytes: 64KiB, max_records_per_request: 500}") {
    const std::string config = dir_.Write("agentwatch.yaml",
                                          "listen: 127.0.0.1:0\n"
                                          "storage: {path: events.db}\n"
                                          "sli_windows: [1h, 7d]\n"
                                          "limits: " +
                                              limits + "\n" + extra_yaml);
    auto d = std::make_unique<DaemonProcess>(AW_BINARY, config, dir_.path());
    EXPECT_TRUE(d->Start()) << d->Log();
    return d;
  }

  static json Post(DaemonProcess& d, const std::string& path, const std::string& body, int* status,
                   const std::string& ctype = "application/json",
                   const httplib::Headers& headers = {}) {
    auto res = d.Client()->Post(path.c_str(), headers, body, ctype.c_str());
    if (!res) {
      *status = -1;
      return json();
    }
    *status = res->status;
    return json::parse(res->body, nullptr, false);
  }

  static double Sli(DaemonProcess& d, const std::string& agent, const std::string& sli,
                    const std::string& window, const std::string& stat = "") {
    auto res = d.Client()->Get(("/api/v1/slis?agent=" + agent).c_str());
    if (!res || res->status != 200) return -1;
    const json body = json::parse(res->body);
    for (const json& row : body["slis"]) {
      if (row["sli"] == sli && row["window"] == window && row["stat"] == stat) {
        return row["value"].is_null() ? -2 : row["value"].get<double>();
      }
    }
    return -3;
  }

  testing::TempDir dir_;
};

TEST_F(IngestTest, AcceptsOneObjectArrayAndNdjson) {
  auto d = StartDaemon();
  int status = 0;
  json r =
      Post(*d, "/v1/spans", R"({"investigation_id":"a","agent":"ir","tool_calls":3})", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(r["accepted"], 1);
  r = Post(*d, "/v1/spans",
           R"([{"investigation_id":"b","agent":"ir"},{"investigation_id":"c","agent":"ir"}])",
           &status);
  EXPECT_EQ(r["accepted"], 2);
  r = Post(*d, "/v1/spans",
           "{\"investigation_id\":\"d\",\"agent\":\"ir\"}\n\n{\"investigation_id\":\"e\",\"agent\":"
           "\"ir\"}\n",
           &status, "application/x-ndjson");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(r["accepted"], 2);
  // httplib always sends a Content-Type, so write this request by hand.
  const std::string body = R"({"investigation_id":"f","agent":"ir"})";
  const std::string reply =
      RawRequest(d->port(),
                 "POST /v1/spans HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: " +
                     std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u)
      << "a missing Content-Type is read as JSON: " << reply;
  EXPECT_EQ(Sli(*d, "ir", "investigations", "1h"), 6);
  EXPECT_EQ(d->Stop(), 0) << d->Log();
}

TEST_F(IngestTest, PartialBatchKeepsValidRecordsAndNamesTheField) {
  auto d = StartDaemon();
  int status = 0;
  json r = Post(*d, "/v1/spans",
                R"([{"investigation_id":"a","agent":"ir"},
                    {"investigation_id":"b","agent":"ir","tool_calls":-1},
                    {"investigation_id":"c","agent":"ir"}])",
                &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(r["accepted"], 2);
  EXPECT_EQ(r["rejected"], 1);
  ASSERT_EQ(r["errors"].size(), 1u);
  EXPECT_EQ(r["errors"][0]["index"], 1);
  EXPECT_EQ(r["errors"][0]["error"], "tool_calls: must be a non-negative integer");

  // The reply is formatted by hand on the writer thread: the same bytes as
  // the canonical dump (compact, keys sorted), with and without errors.
  for (const std::string body : {R"({"investigation_id":"d","agent":"ir"})",
                                 R"([{"investigation_id":"e","agent":"ir"},{"agent":"ir"}])"}) {
    auto res = d->Client()->Post("/v1/spans", body, "application/json");
    ASSERT_TRUE(res);
    const json parsed = json::parse(res->body);
    EXPECT_EQ(res->body, parsed.dump()) << res->body;
    std::vector<std::string> keys;
    for (const auto& [k, v] : parsed.items()) keys.push_back(k);
    EXPECT_EQ(keys,
              (std::vector<std::string>{"accepted", "duplicates", "errors", "held", "rejected"}));
    EXPECT_EQ(parsed["accepted"], 1);
  }
}

TEST_F(IngestTest, ReplyCodesForBadRequests) {
  auto d = StartDaemon();
  int status = 0;
  json r = Post(*d, "/v1/spans", "{not json", &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(r["accepted"], 0);
  EXPECT_TRUE(r["errors"][0]["error"].get<std::string>().find("malformed") != std::string::npos);
  r = Post(*d, "/v1/spans", R"({"agent":"ir"})", &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(r["rejected"], 1);
  EXPECT_EQ(r["errors"][0]["error"], "investigation_id: is required");
  Post(*d, "/v1/spans", R"({"investigation_id":"a","agent":"ir"})", &status, "text/plain");
  EXPECT_EQ(status, 415);
  Post(*d, "/v1/spans", std::string(70 * 1024, ' '), &status);
  EXPECT_EQ(status, 413);
  std::string many;
  for (int i = 0; i < 501; ++i)
    many += R"({"investigation_id":"x","agent":"ir"})"
            "\n";
  Post(*d, "/v1/spans", many, &status, "application/x-ndjson");
  EXPECT_EQ(status, 413);
  Post(*d, "/v1/feedback", R"({"investigation_id":"a","verdict":"maybe"})", &status);
  EXPECT_EQ(status, 400);
  auto get = d->Client()->Get("/v1/nothing");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 404);
  auto metrics = d->Client()->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(
                "agentwatch_ingest_rejected_total{endpoint=\"/v1/spans\",reason=\"too_large\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics->body.find(
                "agentwatch_ingest_rejected_total{endpoint=\"/v1/spans\",reason=\"malformed\"} 1"),
            std::string::npos);
}

TEST_F(IngestTest, RetriesAreDuplicatesAndTheFirstRecordStands) {
  auto d = StartDaemon();
  int status = 0;
  Post(*d, "/v1/spans", R"({"investigation_id":"a","agent":"ir","tool_calls":3})", &status);
  json r = Post(*d, "/v1/spans",
                R"([{"investigation_id":"a","agent":"ir","tool_calls":99},
                    {"investigation_id":"b","agent":"ir","tool_calls":5},
                    {"investigation_id":"b","agent":"ir","tool_calls":5}])",
                &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(r["accepted"], 1);
  EXPECT_EQ(r["duplicates"], 2);
  EXPECT_EQ(Sli(*d, "ir", "tool_calls", "1h", "max"), 5);
  Post(*d, "/v1/feedback", R"({"investigation_id":"a","verdict":"override","ts":1795622400})",
       &status);
  r = Post(*d, "/v1/feedback", R"({"investigation_id":"a","verdict":"override","ts":1795622400})",
           &status);
  // The same verdict with the same ts: a duplicate (unless ts is too old).
  if (status == 200) {
    EXPECT_EQ(r["duplicates"], 1);
  }
}

TEST_F(IngestTest, VerdictBeforeSpanCountsOnceTheSpanArrives) {
  auto d = StartDaemon();
  int status = 0;
  Post(*d, "/v1/feedback", R"({"investigation_id":"late","verdict":"override"})", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(Sli(*d, "ir", "override_rate", "1h"), -3) << "no agent known yet";
  Post(*d, "/v1/spans", R"({"investigation_id":"late","agent":"ir"})", &status);
  Post(*d, "/v1/spans", R"({"investigation_id":"ok","agent":"ir"})", &status);
  Post(*d, "/v1/feedback", R"({"investigation_id":"ok","verdict":"confirm"})", &status);
  EXPECT_EQ(Sli(*d, "ir", "override_rate", "1h"), 0.5);
  EXPECT_EQ(Sli(*d, "ir", "review_coverage", "1h"), 1.0);
}

TEST_F(IngestTest, HeldVerdictsAreReportedAndVerdictsCountUnderTheSpansAgent) {
  auto d = StartDaemon();
  int status = 0;
  // No span yet: stored, and the reply says it waits for its investigation.
  json reply =
      Post(*d, "/v1/feedback", R"({"investigation_id":"early","verdict":"override"})", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(reply["accepted"], 1);
  EXPECT_EQ(reply["held"], 1) << reply.dump();
  reply = Post(*d, "/v1/resolutions", R"({"investigation_id":"early","time_to_resolve_s":60})",
               &status);
  EXPECT_EQ(reply["held"], 1) << reply.dump();
  // A span and its verdict in one go, or the span first: nothing held.
  Post(*d, "/v1/spans", R"({"investigation_id":"known","agent":"ir"})", &status);
  reply = Post(*d, "/v1/feedback", R"({"investigation_id":"known","verdict":"confirm"})", &status);
  EXPECT_EQ(reply["held"], 0) << reply.dump();
  // A verdict without an agent is counted under its span's agent.
  const std::string metrics = d->Client()->Get("/metrics")->body;
  EXPECT_NE(metrics.find("agentwatch_feedback_total{agent=\"ir\",verdict=\"confirm\"} 1"),
            std::string::npos)
      << metrics.substr(0, 2000);
}

TEST_F(IngestTest, AuthTokensAndSignedWebhooks) {
  auto d = StartDaemon(std::string("auth:\n  ingest_tokens: [") + kIngestToken +
                       "]\n  admin_tokens: [" + kAdminToken + "]\n  webhook_secret: hook-secret\n");
  int status = 0;
  const std::string span = R"({"investigation_id":"a","agent":"ir"})";
  Post(*d, "/v1/spans", span, &status);
  EXPECT_EQ(status, 401);
  Post(*d, "/v1/spans", span, &status, "application/json",
       {{"Authorization", "Bearer wrong-token-0000000000"}});
  EXPECT_EQ(status, 401);
  Post(*d, "/v1/spans", span, &status, "application/json",
       {{"Authorization", std::string("Bearer ") + kIngestToken}});
  EXPECT_EQ(status, 200);
  auto reload =
      d->Client()->Post("/-/reload", {{"Authorization", std::string("Bearer ") + kIngestToken}}, "",
                        "application/json");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 403);
  reload = d->Client()->Post("/-/reload", {{"Authorization", std::string("Bearer ") + kAdminToken}},
                             "", "application/json");
  EXPECT_EQ(reload->status, 200);

  const std::string body = R"({"investigation_id":"a","verdict":"confirm"})";
  const std::string now = std::to_string(time(nullptr));
  const auto sign = [&](const std::string& ts, const std::string& b) {
    return "sha256=" + HmacSha256Hex("hook-secret", ts + "." + b);
  };
  Post(*d, "/v1/feedback", body, &status, "application/json",
       {{"X-Agentwatch-Timestamp", now}, {"X-Agentwatch-Signature", sign(now, body)}});
  EXPECT_EQ(status, 200);
  Post(*d, "/v1/feedback", body, &status, "application/json",
       {{"X-Agentwatch-Timestamp", now}, {"X-Agentwatch-Signature", sign(now, body + " ")}});
  EXPECT_EQ(status, 401) << "signature over another body";
  const std::string old = std::to_string(time(nullptr) - 600);
  Post(*d, "/v1/feedback", body, &status, "application/json",
       {{"X-Agentwatch-Timestamp", old}, {"X-Agentwatch-Signature", sign(old, body)}});
  EXPECT_EQ(status, 401) << "older than 5 minutes";
  Post(*d, "/v1/spans", span, &status, "application/json",
       {{"X-Agentwatch-Timestamp", now}, {"X-Agentwatch-Signature", sign(now, span)}});
  EXPECT_EQ(status, 401) << "spans need a token";
}

TEST_F(IngestTest, RefusesNonLoopbackWithoutAuth) {
  const std::string config = dir_.Write("open.yaml", "listen: 0.0.0.0:0\nstorage: {path: x.db}\n");
  std::string out, err;
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"serve", "--config", config}, &out, &err), 1);
  EXPECT_NE(err.find("without auth"), std::string::npos) << err;
}

TEST_F(IngestTest, AcknowledgedRecordsSurviveKill9AndRetriesStayDuplicates) {
  auto d = StartDaemon();
  std::mutex mu;
  std::vector<std::string> acked_bodies;
  int64_t acked = 0;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      auto client = d->Client();
      for (int batch = 0; !stop; ++batch) {
        std::string body;
        for (int i = 0; i < 20; ++i) {
          body += R"({"investigation_id":"c)" + std::to_string(c) + "-" + std::to_string(batch) +
                  "-" + std::to_string(i) + R"(","agent":"load","tool_calls":)" +
                  std::to_string(i) + "}\n";
        }
        auto res = client->Post("/v1/spans", body, "application/x-ndjson");
        if (!res || res->status != 200) return;  // the daemon is gone
        const json r = json::parse(res->body);
        std::lock_guard lock(mu);
        acked += r["accepted"].get<int64_t>();
        acked_bodies.push_back(body);
      }
    });
  }
  ASSERT_TRUE(testing::WaitFor([&] {
    std::lock_guard lock(mu);
    return acked >= 2000;
  }));
  d->Kill9();
  stop = true;
  for (auto& t : clients) t.join();

  auto again =
      std::make_unique<DaemonProcess>(AW_BINARY, dir_.File("agentwatch.yaml"), dir_.path());
  ASSERT_TRUE(again->Start()) << again->Log();
  const double stored = Sli(*again, "load", "investigations", "1h");
  EXPECT_GE(stored, static_cast<double>(acked)) << "an acknowledged record was lost";
  EXPECT_LE(stored, static_cast<double>(acked + 4 * 20)) << "more than the in-flight batches";
  int64_t duplicates = 0, accepted = 0;
  for (const std::string& body : acked_bodies) {
    int status = 0;
    json r = Post(*again, "/v1/spans", body, &status, "application/x-ndjson");
    ASSERT_EQ(status, 200);
    duplicates += r["duplicates"].get<int64_t>();
    accepted += r["accepted"].get<int64_t>();
  }
  EXPECT_EQ(accepted, 0);
  EXPECT_EQ(duplicates, acked);
  EXPECT_EQ(Sli(*again, "load", "investigations", "1h"), stored);
  EXPECT_EQ(again->Stop(), 0);
}

// The dedup tables of verdicts and resolutions are rebuilt from the store
// on a restart: the same records sent again are duplicates, a new verdict
// for the same investigation is not.
TEST_F(IngestTest, VerdictsAndResolutionsRetriedAfterARestartAreDuplicates) {
  // Explicit times: a verdict or resolution without one is stamped when it
  // arrives, so a retry of it would be a new record.
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string verdict_a =
      R"({"investigation_id":"a","verdict":"override","ts":)" + std::to_string(now - 600) + "}";
  const std::string resolution_a =
      R"({"incident_id":"INC-1","time_to_resolve_s":60,"resolved_at":)" +
      std::to_string(now - 300) + "}";
  int status = 0;
  {
    auto d = StartDaemon();
    Post(*d, "/v1/spans",
         R"([{"investigation_id":"a","agent":"ir","incident_id":"INC-1","confidence":0.9},
             {"investigation_id":"b","agent":"ir","confidence":0.2},
             {"investigation_id":"c","agent":"ir","confidence":0.5}])",
         &status);
    ASSERT_EQ(status, 200);
    json r = Post(*d, "/v1/feedback",
                  verdict_a + "\n" + R"({"investigation_id":"b","verdict":"confirm"})" + "\n" +
                      R"({"investigation_id":"c","verdict":"confirm"})",
                  &status, "application/x-ndjson");
    ASSERT_EQ(status, 200) << r.dump();
    ASSERT_EQ(r["accepted"], 3) << r.dump();
    r = Post(*d, "/v1/resolutions", resolution_a, &status);
    ASSERT_EQ(status, 200) << r.dump();
    ASSERT_EQ(r["accepted"], 1) << r.dump();
    EXPECT_EQ(d->Stop(), 0);
  }
  auto d = StartDaemon();
  EXPECT_NEAR(Sli(*d, "ir", "override_rate", "1h"), 1.0 / 3, 1e-12);
  json r = Post(*d, "/v1/feedback", verdict_a, &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["duplicates"], 1) << r.dump();
  EXPECT_EQ(r["accepted"], 0) << r.dump();
  r = Post(*d, "/v1/resolutions", resolution_a, &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["duplicates"], 1) << r.dump();
  EXPECT_EQ(r["accepted"], 0) << r.dump();
  // A new verdict on an investigation already reviewed is not a duplicate.
  r = Post(*d, "/v1/feedback", R"({"investigation_id":"c","verdict":"override"})", &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["accepted"], 1) << r.dump();
  EXPECT_NEAR(Sli(*d, "ir", "override_rate", "1h"), 2.0 / 3, 1e-12);
}

TEST_F(IngestTest, AgentsBeyondTheCardinalityCapCountAsOther) {
  auto d = StartDaemon("", "{max_agents: 2}");
  int status = 0;
  Post(*d, "/v1/spans",
       R"([{"investigation_id":"a","agent":"one"},{"investigation_id":"b","agent":"two"},
           {"investigation_id":"c","agent":"three"},{"investigation_id":"d","agent":"four"}])",
       &status);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(Sli(*d, "one", "investigations", "1h"), 1);
  EXPECT_EQ(Sli(*d, "other", "investigations", "1h"), 2);
  EXPECT_EQ(Sli(*d, "three", "investigations", "1h"), -3);
  const std::string metrics = d->Client()->Get("/metrics")->body;
  EXPECT_NE(metrics.find("agentwatch_cardinality_limited_total 2"), std::string::npos);
  EXPECT_NE(metrics.find("agentwatch_investigations_total{agent=\"other\"} 2"), std::string::npos);
  EXPECT_EQ(metrics.find("agent=\"three\""), std::string::npos);
}

TEST_F(IngestTest, StoreUnavailableIs503AndARetryLaterIsAccepted) {
  auto d = StartDaemon();
  // Another process holds SQLite's write lock longer than the daemon's busy
  // timeout: the commit fails, so the request must not get a 2xx.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("events.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10'000);  // the daemon may be mid-commit
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  int status = 0;
  const std::string span = R"({"investigation_id":"locked","agent":"ir"})";
  auto res = d->Client()->Post("/v1/spans", span, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  json r = Post(*d, "/v1/spans", span, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(r["accepted"], 1) << "the failed attempt must not have been counted";
}

TEST_F(IngestTest, HealthAndReadiness) {
  auto d = StartDaemon();
  auto c = d->Client();
  EXPECT_EQ(c->Get("/-/healthy")->status, 200);
  EXPECT_EQ(c->Get("/-/ready")->status, 200);
  // Probes are answered on the IO thread; HEAD still finds them, without a body.
  for (const char* probe : {"/-/healthy", "/-/ready"}) {
    auto head = c->Head(probe);
    ASSERT_TRUE(head) << probe;
    EXPECT_EQ(head->status, 200) << probe;
    EXPECT_TRUE(head->body.empty()) << probe;
  }
  auto metrics = c->Get("/metrics");
  EXPECT_NE(metrics->body.find("agentwatch_build_info{version="), std::string::npos);
  EXPECT_EQ(d->Stop(), 0);
}

}  // namespace
}  // namespace aw
