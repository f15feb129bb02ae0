// The real binary against hostile or broken clients: the native
// on-call webhooks (PagerDuty v3, Slack) accept only what their secret
// signed; TLS; every limit answers a 4xx with a reason, is counted, and
// leaves the daemon serving everyone else.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "daemon/common/hmac.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/raw_socket.h"
#include "tests/testing/signed_webhooks.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;
using testing::RawSocket;
using Clock = std::chrono::steady_clock;

constexpr const char* kIngestToken = "ingest-token-0123456789";
constexpr const char* kAdminToken = "admin-token-0123456789ab";
constexpr const char* kPdSecret = "pd-subscription-secret";
constexpr const char* kSlackSecret = "slack-signing-secret";

std::string Bearer() { return std::string("Bearer ") + kIngestToken; }

std::string Iso(std::time_t t) {
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class SecurityTest : public ::testing::Test {
 protected:
  std::unique_ptr<DaemonProcess> StartDaemon(const std::string& extra_yaml,
                                             const std::string& limits =
                                                 "{max_body_bytes: 64KiB, "
                                                 "max_records_per_request: 500}") {
    const std::string config = dir_.Write("agentwatch.yaml",
                                          "listen: 127.0.0.1:0\n"
                                          "storage: {path: events.db}\n"
                                          "sli_windows: [1h]\n"
                                          "limits: " +
                                              limits + "\n" + extra_yaml);
    auto d = std::make_unique<DaemonProcess>(AW_BINARY, config, dir_.path());
    EXPECT_TRUE(d->Start()) << d->Log();
    return d;
  }

  static std::string AuthYaml() {
    return std::string("auth:\n  ingest_tokens: [") + kIngestToken + "]\n  admin_tokens: [" +
           kAdminToken + "]\n  pagerduty_webhook_secret: " + kPdSecret +
           "\n  slack_signing_secret: " + kSlackSecret + "\n";
  }

  static json Post(DaemonProcess& d, const std::string& path, const std::string& body, int* status,
                   const httplib::Headers& headers = {},
                   const std::string& ctype = "application/json") {
    auto res = d.Client()->Post(path.c_str(), headers, body, ctype.c_str());
    if (!res) {
      *status = -1;
      return json();
    }
    *status = res->status;
    return json::parse(res->body, nullptr, false);
  }

  static std::string FirstError(const json& reply) {
    if (!reply.is_object() || !reply.contains("errors") || reply["errors"].empty()) {
      return reply.is_object() && reply.contains("error") ? reply["error"].get<std::string>()
                                                          : reply.dump();
    }
    return reply["errors"][0]["error"].get<std::string>();
  }

  static std::string Metrics(DaemonProcess& d, const httplib::Headers& headers = {}) {
    auto res = d.Client()->Get("/metrics", headers);
    return res ? res->body : "";
  }

  static bool HasMetric(const std::string& metrics, const std::string& line) {
    return metrics.find(line) != std::string::npos;
  }

  // The value of one SLI row (and its sample count), or nullopt when absent.
  static std::optional<json> SliRow(DaemonProcess& d, const std::string& agent,
                                    const std::string& sli, const std::string& window) {
    auto res = d.Client()->Get(("/api/v1/slis?agent=" + agent).c_str());
    if (!res || res->status != 200) return std::nullopt;
    const json reply = json::parse(res->body);  // outlives the loop (C++20 range-for)
    for (const json& row : reply["slis"]) {
      if (row["sli"] == sli && row["window"] == window && row["stat"] == "") return row;
    }
    return std::nullopt;
  }

  static bool Healthy(DaemonProcess& d) {
    int status = 0;
    Post(d, "/v1/spans",
         R"({"investigation_id":"probe-)" + std::to_string(probe_++) + R"(","agent":"probe"})",
         &status, {{"Authorization", Bearer()}});
    return status == 200;
  }

  testing::TempDir dir_;
  static inline int probe_ = 0;
};

// ---- PagerDuty Webhooks v3 ----

std::string PdResolved(const std::string& id, int number, std::time_t occurred,
                       std::time_t created) {
  return json{{"event",
               {{"id", "01DEN5PDB1FVMWVSRW1PQVXSN3"},
                {"event_type", "incident.resolved"},
                {"resource_type", "incident"},
                {"occurred_at", Iso(occurred)},
                {"agent", {{"id", "PXPGF42"}, {"type", "user_reference"}}},
                {"client", nullptr},
                {"data",
                 {{"id", id},
                  {"type", "incident"},
                  {"number", number},
                  {"status", "resolved"},
                  {"created_at", Iso(created)},
                  {"title", "checkout latency"}}}}}}
      .dump();
}

httplib::Headers PdSigned(const std::string& body, const std::string& secret = kPdSecret) {
  httplib::Headers h = testing::PagerDutySignedHeaders(body, secret);
  h.emplace("X-Webhook-Id", "whk-1");
  h.emplace("User-Agent", "PagerDuty-Webhook/V3.0");
  return h;
}

TEST_F(SecurityTest, PagerDutyResolvedIncidentsAreVerifiedAndPairedWithConfidence) {
  auto d = StartDaemon(AuthYaml());
  const std::time_t now = std::time(nullptr);
  int status = 0;
  // Three investigations, two naming PagerDuty's incident id and one the
  // incident number.
  json r = Post(*d, "/v1/spans",
                json::array({{{"investigation_id", "i1"},
                              {"agent", "ir"},
                              {"confidence", 0.9},
                              {"incident_id", "Q1AAAAA"},
                              {"ts", now - 3000}},
                             {{"investigation_id", "i2"},
                              {"agent", "ir"},
                              {"confidence", 0.5},
                              {"incident_id", "Q2BBBBB"},
                              {"ts", now - 3000}},
                             {{"investigation_id", "i3"},
                              {"agent", "ir"},
                              {"confidence", 0.1},
                              {"incident_id", "4413"},
                              {"ts", now - 3000}}})
                    .dump(),
                &status, {{"Authorization", Bearer()}});
  ASSERT_EQ(status, 200) << r.dump();
  ASSERT_EQ(r["accepted"], 3);

  const std::string body = PdResolved("Q1AAAAA", 4411, now - 60, now - 3600);
  // Unsigned, wrongly signed, signed over another body, a bearer token: 401.
  r = Post(*d, "/v1/webhooks/pagerduty", body, &status);
  EXPECT_EQ(status, 401);
  EXPECT_EQ(FirstError(r), "X-PagerDuty-Signature: is required");
  Post(*d, "/v1/webhooks/pagerduty", body, &status, PdSigned(body, "guessed-secret"));
  EXPECT_EQ(status, 401);
  Post(*d, "/v1/webhooks/pagerduty", body, &status, PdSigned(body + " "));
  EXPECT_EQ(status, 401);
  r = Post(*d, "/v1/webhooks/pagerduty", body, &status, {{"Authorization", Bearer()}});
  EXPECT_EQ(status, 401) << "a bearer token does not replace the signature";
  auto slis = SliRow(*d, "ir", "confidence_resolution_correlation", "1h");
  ASSERT_TRUE(slis.has_value());
  EXPECT_EQ((*slis)["samples"], 0) << "nothing unverified was applied";

  // Rotation: an old and the current secret's signatures side by side.
  httplib::Headers rotated = {
      {"X-PagerDuty-Signature",
       "v1=" + HmacSha256Hex("old-secret", body) + ",v1=" + HmacSha256Hex(kPdSecret, body)}};
  r = Post(*d, "/v1/webhooks/pagerduty", body, &status, rotated);
  EXPECT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["accepted"], 2) << "one resolution by id, one by number";
  const std::string b2 = PdResolved("Q2BBBBB", 4412, now - 50, now - 1800);
  EXPECT_EQ(Post(*d, "/v1/webhooks/pagerduty", b2, &status, PdSigned(b2))["accepted"], 2);
  const std::string b3 = PdResolved("Q3CCCCC", 4413, now - 40, now - 600);
  EXPECT_EQ(Post(*d, "/v1/webhooks/pagerduty", b3, &status, PdSigned(b3))["accepted"], 2);
  ASSERT_TRUE(testing::WaitFor([&] {
    auto row = SliRow(*d, "ir", "confidence_resolution_correlation", "1h");
    return row && (*row)["samples"] == 3;
  })) << SliRow(*d, "ir", "confidence_resolution_correlation", "1h").value_or(json()).dump();
  // Confidence 0.9/0.5/0.1 against 3540/1750/560 s to resolve: r > 0.9.
  EXPECT_GT((*SliRow(*d, "ir", "confidence_resolution_correlation", "1h"))["value"].get<double>(),
            0.9);

  // Events we do not use: acknowledged (PagerDuty must not retry), counted.
  json ping = json::parse(body);
  ping["event"]["event_type"] = "pagey.ping";
  ping["event"]["data"] = {{"type", "ping"}};
  r = Post(*d, "/v1/webhooks/pagerduty", ping.dump(), &status, PdSigned(ping.dump()));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(r["accepted"], 0);

  // Signed but malformed: 400 naming the field.
  json bad = json::parse(body);
  bad["event"]["occurred_at"] = "yesterday";
  r = Post(*d, "/v1/webhooks/pagerduty", bad.dump(), &status, PdSigned(bad.dump()));
  EXPECT_EQ(status, 400);
  EXPECT_EQ(FirstError(r).rfind("event.occurred_at: must be an RFC 3339", 0), 0u) << r.dump();
  r = Post(*d, "/v1/webhooks/pagerduty", "{", &status, PdSigned("{"));
  EXPECT_EQ(status, 400);
  EXPECT_EQ(FirstError(r), "body: malformed JSON");

  const std::string m = Metrics(*d);
  EXPECT_TRUE(HasMetric(
      m,
      R"(agentwatch_ingest_rejected_total{endpoint="/v1/webhooks/pagerduty",reason="unauthorized"} 4)"))
      << m;
  EXPECT_TRUE(HasMetric(
      m,
      R"(agentwatch_ingest_rejected_total{endpoint="/v1/webhooks/pagerduty",reason="ignored_event"} 1)"));
  EXPECT_TRUE(HasMetric(
      m,
      R"(agentwatch_ingest_rejected_total{endpoint="/v1/webhooks/pagerduty",reason="invalid"} 1)"));
  EXPECT_TRUE(HasMetric(
      m,
      R"(agentwatch_ingest_rejected_total{endpoint="/v1/webhooks/pagerduty",reason="malformed"} 1)"));
  EXPECT_EQ(d->Stop(), 0);
}

// ---- Slack interactivity ----

httplib::Headers SlackSigned(const std::string& body, std::time_t ts,
                             const std::string& secret = kSlackSecret) {
  return testing::SlackSignedHeaders(body, ts, secret);
}

std::string SlackButton(const std::string& value, const std::string& username, size_t padding = 0) {
  json payload = {
      {"type", "block_actions"},
      {"user", {{"id", "U024BE7LH"}, {"username", username}, {"team_id", "T1"}}},
      {"trigger_id", "1.2.3"},
      {"response_url", "https://hooks.slack.com/actions/T1/1/x"},
      {"actions", json::array({{{"type", "button"},
                                {"action_id", "aw-verdict"},
                                {"block_id", "b"},
                                {"value", value},
                                {"text", {{"type", "plain_text"}, {"text", "Confirm"}}}}})}};
  // Real payloads carry the whole message (blocks, state): often > 8 KiB.
  if (padding > 0) payload["message"] = {{"text", std::string(padding, 'm')}};
  return "payload=" + testing::FormEncode(payload.dump());
}

TEST_F(SecurityTest, SlackButtonsBecomeVerdictsOnlyWhenSignedAndFresh) {
  auto d = StartDaemon(AuthYaml());
  int status = 0;
  const std::string form = "application/x-www-form-urlencoded";
  Post(*d, "/v1/spans",
       R"([{"investigation_id":"inv-1","agent":"ir"},{"investigation_id":"inv-2","agent":"ir"}])",
       &status, {{"Authorization", Bearer()}});
  ASSERT_EQ(status, 200);

  const std::string confirm = SlackButton("confirm:inv-1", "alice");
  const std::time_t now = std::time(nullptr);
  json r = Post(*d, "/v1/webhooks/slack", confirm, &status, {}, form);
  EXPECT_EQ(status, 401);
  EXPECT_EQ(FirstError(r), "X-Slack-Request-Timestamp: is required");
  r = Post(*d, "/v1/webhooks/slack", confirm, &status, SlackSigned(confirm, now, "guessed"), form);
  EXPECT_EQ(status, 401);
  EXPECT_EQ(FirstError(r), "X-Slack-Signature: does not match the body");
  r = Post(*d, "/v1/webhooks/slack", confirm, &status, SlackSigned(confirm, now - 301), form);
  EXPECT_EQ(status, 401) << "a replay older than 5 minutes";
  EXPECT_EQ(FirstError(r).rfind("X-Slack-Request-Timestamp: more than 5 minutes", 0), 0u);
  r = Post(*d, "/v1/webhooks/slack", confirm, &status, {{"Authorization", Bearer()}}, form);
  EXPECT_EQ(status, 401);
  EXPECT_FALSE(
      SliRow(*d, "ir", "override_rate", "1h").value_or(json{{"value", 1}})["value"].is_number())
      << "no verdict counted yet";

  r = Post(*d, "/v1/webhooks/slack", confirm, &status, SlackSigned(confirm, now), form);
  EXPECT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["accepted"], 1);
  // Over httplib's 8 KiB cap for form bodies of ordinary handlers.
  const std::string override_big =
      SlackButton(R"({"investigation_id":"inv-2","verdict":"override","reason":"wrong service"})",
                  "bob", 20'000);
  ASSERT_GT(override_big.size(), 16'000u);
  r = Post(*d, "/v1/webhooks/slack", override_big, &status, SlackSigned(override_big, now), form);
  EXPECT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["accepted"], 1);
  ASSERT_TRUE(testing::WaitFor([&] {
    auto row = SliRow(*d, "ir", "override_rate", "1h");
    return row && (*row)["value"] == 0.5 && (*row)["samples"] == 2;
  }));

  // Signed but not ours or malformed.
  const std::string other = SlackButton("open-runbook", "alice");
  r = Post(*d, "/v1/webhooks/slack", other, &status, SlackSigned(other, now), form);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(r["accepted"], 0);
  const std::string empty_id = SlackButton("override:", "alice");
  r = Post(*d, "/v1/webhooks/slack", empty_id, &status, SlackSigned(empty_id, now), form);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(FirstError(r), "payload.actions[0].value: investigation_id: must be 1..128 characters");
  r = Post(*d, "/v1/webhooks/slack", "text=hello", &status, SlackSigned("text=hello", now), form);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(FirstError(r).rfind("payload: missing", 0), 0u);

  const std::string m = Metrics(*d);
  EXPECT_TRUE(HasMetric(
      m,
      R"(agentwatch_ingest_rejected_total{endpoint="/v1/webhooks/slack",reason="unauthorized"} 4)"))
      << m;
  EXPECT_TRUE(HasMetric(
      m,
      R"(agentwatch_ingest_rejected_total{endpoint="/v1/webhooks/slack",reason="ignored_event"} 1)"));
  EXPECT_TRUE(HasMetric(
      m, R"(agentwatch_ingest_rejected_total{endpoint="/v1/webhooks/slack",reason="invalid"} 2)"));
  EXPECT_EQ(d->Stop(), 0);
}

TEST_F(SecurityTest, WebhooksWithoutTheirSecretAnswer404) {
  auto d = StartDaemon(std::string("auth:\n  ingest_tokens: [") + kIngestToken +
                       "]\n  admin_tokens: [" + kAdminToken + "]\n");
  int status = 0;
  const std::string body = PdResolved("Q1", 1, std::time(nullptr), std::time(nullptr) - 60);
  // Even a request "signed" with an empty secret is refused.
  json r = Post(*d, "/v1/webhooks/pagerduty", body, &status, PdSigned(body, ""));
  EXPECT_EQ(status, 404);
  EXPECT_NE(FirstError(r).find("auth.pagerduty_webhook_secret"), std::string::npos) << r.dump();
  const std::string slack = SlackButton("confirm:x", "alice");
  r = Post(*d, "/v1/webhooks/slack", slack, &status, SlackSigned(slack, std::time(nullptr), ""),
           "application/x-www-form-urlencoded");
  EXPECT_EQ(status, 404);
  EXPECT_NE(FirstError(r).find("auth.slack_signing_secret"), std::string::npos) << r.dump();
}

// ---- TLS ----

TEST_F(SecurityTest, TlsListenerServesHttpsAndRefusesPlainHttp) {
  const std::string cert = dir_.File("cert.pem");
  const std::string key = dir_.File("key.pem");
  std::string out, err;
  ASSERT_EQ(testing::RunBinary(
                "/usr/bin/openssl",
                {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                 "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                &out, &err),
            0)
      << err;
  const std::string config =
      dir_.Write("agentwatch.yaml",
                 "listen: 127.0.0.1:0\nstorage: {path: events.db}\nsli_windows: [1h]\n"
                 "tls: {cert_file: cert.pem, key_file: key.pem}\n");
  // DaemonProcess polls readiness over plain HTTP, so start this one here.
  const std::string port_file = dir_.File("port");
  const pid_t pid = fork();
  if (pid == 0) {
    const int log = open(dir_.File("stderr.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 2);
    execl(AW_BINARY, AW_BINARY, "serve", "--config", config.c_str(), "--port-file",
          port_file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  struct Reaper {  // SIGKILLs the daemon if an assertion returns early
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};
  int port = 0;
  const bool up = testing::WaitFor(
      [&] {
        std::ifstream in(port_file);
        return static_cast<bool>(in >> port) && port > 0;
      },
      std::chrono::seconds(20));
  const auto stop = [&] {
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    reaper.pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  };
  if (!up) {
    stop();
    std::ifstream log(dir_.File("stderr.log"));
    FAIL() << "daemon did not start: " << std::string(std::istreambuf_iterator<char>(log), {});
  }

  httplib::SSLClient tls("127.0.0.1", port);
  tls.set_ca_cert_path(cert.c_str());
  tls.enable_server_certificate_verification(true);
  tls.set_connection_timeout(5);
  auto res =
      tls.Post("/v1/spans", R"({"investigation_id":"tls-1","agent":"ir"})", "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["accepted"], 1);
  auto slis = tls.Get("/api/v1/slis?agent=ir");
  ASSERT_TRUE(slis);
  EXPECT_NE(slis->body.find(R"("sli":"investigations")"), std::string::npos);

  // The certificate is checked: a client trusting another CA refuses it.
  const std::string other_cert = dir_.File("other.pem");
  ASSERT_EQ(testing::RunBinary(
                "/usr/bin/openssl",
                {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir_.File("other.key"),
                 "-out", other_cert, "-days", "1", "-subj", "/CN=127.0.0.1"},
                &out, &err),
            0);
  httplib::SSLClient untrusting("127.0.0.1", port);
  untrusting.set_ca_cert_path(other_cert.c_str());
  untrusting.enable_server_certificate_verification(true);
  EXPECT_FALSE(untrusting.Get("/-/healthy"));

  // Plain HTTP on the TLS port gets no HTTP answer.
  httplib::Client plain("127.0.0.1", port);
  plain.set_connection_timeout(5);
  plain.set_read_timeout(5);
  auto plain_res =
      plain.Post("/v1/spans", R"({"investigation_id":"plain","agent":"ir"})", "application/json");
  EXPECT_FALSE(plain_res && plain_res->status == 200);
  // ... and the daemon keeps serving TLS clients.
  res = tls.Get("/-/healthy");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(stop(), 0);
}

// ---- Limits ----

TEST_F(SecurityTest, SizeLimitsAnswer413WithTheReasonAndAreCounted) {
  auto d = StartDaemon("", "{max_body_bytes: 64KiB, max_records_per_request: 5}");
  int status = 0;
  json r = Post(*d, "/v1/spans", std::string(70 * 1024, ' '), &status);
  EXPECT_EQ(status, 413);
  EXPECT_EQ(FirstError(r), "body: exceeds limits.max_body_bytes (65536 bytes)");
  std::string six;
  for (int i = 0; i < 6; ++i)
    six += R"({"investigation_id":"n)" + std::to_string(i) +
           R"(","agent":"ir"})"
           "\n";
  r = Post(*d, "/v1/spans", six, &status, {}, "application/x-ndjson");
  EXPECT_EQ(status, 413);
  EXPECT_EQ(FirstError(r), "body: 6 records exceed max_records_per_request (5)");
  // The webhooks are bounded by the same body limit.
  r = Post(*d, "/v1/webhooks/slack", "payload=" + std::string(70 * 1024, 'x'), &status, {},
           "application/x-www-form-urlencoded");
  EXPECT_EQ(status, 413);
  // Endpoints outside ingest answer their usual error shape.
  r = Post(*d, "/api/v1/silences", std::string(70 * 1024, ' '), &status);
  EXPECT_EQ(status, 413);
  EXPECT_EQ(r.value("error", ""), "body: exceeds limits.max_body_bytes (65536 bytes)") << r;
  EXPECT_FALSE(r.contains("accepted")) << r;
  const std::string m = Metrics(*d);
  EXPECT_TRUE(HasMetric(
      m, R"(agentwatch_ingest_rejected_total{endpoint="/v1/spans",reason="too_large"} 1)"))
      << m;
  EXPECT_TRUE(HasMetric(
      m, R"(agentwatch_ingest_rejected_total{endpoint="/v1/spans",reason="too_many"} 1)"));
  EXPECT_TRUE(HasMetric(
      m,
      R"(agentwatch_ingest_rejected_total{endpoint="/v1/webhooks/slack",reason="too_large"} 1)"));
  EXPECT_TRUE(Healthy(*d));
}

TEST_F(SecurityTest, FieldLimitsAnswer400NamingTheField) {
  auto d = StartDaemon("");
  struct Case {
    json span;
    std::string error;
  };
  json labels17 = json::object();
  for (int i = 0; i < 17; ++i) labels17[std::string("label_").append(std::to_string(i))] = "v";
  const std::vector<Case> cases = {
      {{{"investigation_id", std::string(129, 'i')}, {"agent", "ir"}},
       "investigation_id: must be 1..128 characters"},
      {{{"investigation_id", "a"}, {"agent", std::string(65, 'a')}},
       "agent: must be 1..64 characters"},
      {{{"investigation_id", "a"}, {"agent", "ir"}, {"model", std::string(257, 'm')}},
       "model: must be at most 256 bytes"},
      {{{"investigation_id", "a"}, {"agent", "ir"}, {"finish_reason", std::string(65, 'f')}},
       "finish_reason: must be at most 64 bytes"},
      {{{"investigation_id", "a"}, {"agent", "ir"}, {"labels", labels17}},
       "labels: at most 16 pairs"},
      {{{"investigation_id", "a"}, {"agent", "ir"}, {"labels", {{"team", std::string(257, 't')}}}},
       "labels.team: must be at most 256 bytes"},
      {{{"investigation_id", "a"}, {"agent", "ir"}, {"labels", {{std::string(65, 'k'), "v"}}}},
       std::string("labels.").append(65, 'k').append(": name must match [a-zA-Z_][a-zA-Z0-9_]*")},
  };
  for (const Case& c : cases) {
    int status = 0;
    json r = Post(*d, "/v1/spans", c.span.dump(), &status);
    EXPECT_EQ(status, 400) << c.error;
    EXPECT_EQ(FirstError(r), c.error);
  }
  const std::string m = Metrics(*d);
  EXPECT_TRUE(
      HasMetric(m, R"(agentwatch_ingest_rejected_total{endpoint="/v1/spans",reason="invalid"} )" +
                       std::to_string(cases.size())))
      << m;
}

TEST_F(SecurityTest, NoInputCrashesTheDaemon) {
  auto d = StartDaemon("", "{max_body_bytes: 4MiB}");
  int status = 0;
  // Nested a million deep (2 MB): parsed without recursion, rejected by shape.
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  Post(*d, "/v1/spans", deep, &status);
  EXPECT_EQ(status, 400);
  Post(*d, "/v1/spans", R"({"investigation_id":"a","agent":"ir","labels":)" + deep + "}", &status);
  EXPECT_EQ(status, 400);
  Post(*d, "/v1/feedback", R"({"investigation_id":)" + deep + R"(,"verdict":"confirm"})", &status);
  EXPECT_EQ(status, 400);
  // Bytes that are not UTF-8, NULs, a lone surrogate escape.
  Post(*d, "/v1/spans", std::string("{\"investigation_id\":\"\xff\xfe\",\"agent\":\"ir\"}"),
       &status);
  EXPECT_EQ(status, 400);
  static const char kNul[] = "{\"investigation_id\":\"a\0b\",\"agent\":\"ir\"}";
  Post(*d, "/v1/spans", std::string(kNul, sizeof kNul - 1), &status);
  EXPECT_EQ(status, 400);
  Post(*d, "/v1/spans", R"({"investigation_id":"\ud800","agent":"ir"})", &status);
  EXPECT_EQ(status, 400);
  EXPECT_TRUE(Healthy(*d)) << d->Log();
  EXPECT_EQ(d->Stop(), 0) << d->Log();
}

TEST_F(SecurityTest, OversizedHeaderIsRejectedAndTheDaemonKeepsServing) {
  auto d = StartDaemon("");
  int status = 0;
  json r = Post(*d, "/v1/spans", R"({"investigation_id":"h","agent":"ir"})", &status,
                {{"X-Padding", std::string(9000, 'p')}});
  EXPECT_EQ(status, 431);
  EXPECT_NE(FirstError(r).find("8192 bytes"), std::string::npos) << r.dump();
  // A header just under the cap is fine.
  Post(*d, "/v1/spans", R"({"investigation_id":"h","agent":"ir"})", &status,
       {{"X-Padding", std::string(8000, 'p')}});
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(
      HasMetric(Metrics(*d),
                R"(agentwatch_ingest_rejected_total{endpoint="/v1/spans",reason="too_large"} 1)"));
  EXPECT_TRUE(Healthy(*d));
}

TEST_F(SecurityTest, IdleConnectionsDoNotBlockANewClient) {
  auto d = StartDaemon("", "{max_connections: 200}");
  std::vector<std::unique_ptr<RawSocket>> idle;
  for (int i = 0; i < 100; ++i) {
    idle.push_back(std::make_unique<RawSocket>(d->port()));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  // A worker thread waits on each idle socket for up to the keep-alive
  // timeout (5 s); with too few threads the next client would queue
  // behind them for longer than this client waits.
  httplib::Client c("127.0.0.1", d->port());
  c.set_connection_timeout(2);
  c.set_read_timeout(2);
  const auto start = Clock::now();
  auto res = c.Post("/v1/spans", R"({"investigation_id":"busy","agent":"ir"})", "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
}

TEST_F(SecurityTest, StalledClientsAreClosedAfterTheReadTimeout) {
  auto d = StartDaemon("", "{read_timeout: 1s}");
  // Half a body, then nothing.
  RawSocket body_stall(d->port());
  ASSERT_TRUE(body_stall.connected());
  ASSERT_TRUE(
      body_stall.Send("POST /v1/spans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 100\r\n\r\n{\"investigation_id\":"));
  // Half the headers, then nothing.
  RawSocket header_stall(d->port());
  ASSERT_TRUE(header_stall.connected());
  ASSERT_TRUE(header_stall.Send("POST /v1/spans HTTP/1.1\r\nHost: x\r\nContent-Le"));
  // Meanwhile others are served.
  EXPECT_TRUE(Healthy(*d));

  const auto start = Clock::now();
  bool closed = false;
  // The stalled body gets a 400 naming the reason once read_timeout passes
  // (the default is 10 s; 1 s applies, with a margin for a loaded host) ...
  const std::string reply = body_stall.Read(
      std::chrono::seconds(8), &closed,
      [](const std::string& r) { return r.find("limits.read_timeout") != std::string::npos; });
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(reply.rfind("HTTP/1.1 408", 0), 0u) << reply;
  EXPECT_NE(reply.find("limits.read_timeout"), std::string::npos) << reply;
  // ... and so do the stalled headers.
  bool header_closed = false;
  const std::string header_reply = header_stall.Read(
      std::chrono::seconds(8), &header_closed,
      [](const std::string& r) { return r.find("limits.read_timeout") != std::string::npos; });
  EXPECT_EQ(header_reply.rfind("HTTP/1.1 408", 0), 0u) << header_reply;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  // Both connections are then closed, after the keep-alive wait (5 s).
  body_stall.Read(std::chrono::seconds(8), &closed);
  EXPECT_TRUE(closed) << "the daemon kept a stalled connection open";
  header_stall.Read(std::chrono::seconds(8), &header_closed);
  EXPECT_TRUE(header_closed) << "the daemon kept a stalled connection open";
  EXPECT_TRUE(HasMetric(
      Metrics(*d), R"(agentwatch_ingest_rejected_total{endpoint="/v1/spans",reason="timeout"} 2)"));
  EXPECT_TRUE(Healthy(*d));
}

}  // namespace
}  // namespace aw
