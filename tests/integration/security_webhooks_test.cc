// The native on-call webhooks against the real binary (PagerDuty v3,
// Slack interactivity): each accepts only what its secret signed, fresh.

#include "tests/integration/security_fixture.h"

namespace aw::security_test {
namespace {

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

}  // namespace
}  // namespace aw::security_test
