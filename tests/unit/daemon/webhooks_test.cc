// PagerDuty v3 and Slack interaction parsing and signature checks
// (daemon/ingest/webhooks.h). Pure: time and secrets are passed in.

#include "daemon/ingest/webhooks.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/common/hmac.h"
#include "daemon/common/time_util.h"

namespace aw::ingest {
namespace {

using json = nlohmann::json;

constexpr TimeMs kNow = 1'764'000'000'000;  // 2025-11-24T16:00:00Z

ParseOptions Opts() {
  ParseOptions o;
  o.now_ms = kNow;
  return o;
}

std::string Iso(TimeMs t) { return FormatRfc3339(t); }

std::string PdBody(const std::string& event_type, const json& data,
                   const std::string& occurred_at = Iso(kNow - 60'000)) {
  return json{{"event",
               {{"id", "01DEN5PDB1FVMWVSRW1PQVXSN3"},
                {"event_type", event_type},
                {"resource_type", "incident"},
                {"occurred_at", occurred_at},
                {"agent", nullptr},
                {"client", nullptr},
                {"data", data}}}}
      .dump();
}

json Incident() {
  return {{"id", "Q2ABC3D"},
          {"type", "incident"},
          {"number", 4411},
          {"status", "resolved"},
          {"created_at", Iso(kNow - 3'600'000)}};
}

// ---- PagerDuty signature ----

TEST(PagerDutySignatureTest, AcceptsAnyMatchingV1Entry) {
  const std::string body = PdBody("incident.resolved", Incident());
  const std::string good = "v1=" + HmacSha256Hex("pd-secret", body);
  const std::string other = "v1=" + HmacSha256Hex("old-secret", body);
  EXPECT_TRUE(VerifyPagerDutySignature(good, body, "pd-secret"));
  EXPECT_TRUE(VerifyPagerDutySignature(other + "," + good, body, "pd-secret"));
  EXPECT_TRUE(VerifyPagerDutySignature(good + ", " + other, body, "pd-secret"));
  EXPECT_TRUE(VerifyPagerDutySignature(other, body, "old-secret"));
}

TEST(PagerDutySignatureTest, RejectsWrongBodySecretOrScheme) {
  const std::string body = PdBody("incident.resolved", Incident());
  const std::string hex = HmacSha256Hex("pd-secret", body);
  EXPECT_FALSE(VerifyPagerDutySignature("v1=" + hex, body + " ", "pd-secret"));
  EXPECT_FALSE(VerifyPagerDutySignature("v1=" + hex, body, "other-secret"));
  EXPECT_FALSE(VerifyPagerDutySignature("v0=" + hex, body, "pd-secret"));
  EXPECT_FALSE(VerifyPagerDutySignature(hex, body, "pd-secret"));
  EXPECT_FALSE(VerifyPagerDutySignature("", body, "pd-secret"));
  EXPECT_FALSE(VerifyPagerDutySignature("v1=", body, "pd-secret"));
  EXPECT_FALSE(VerifyPagerDutySignature(",,,", body, "pd-secret"));
  // Upper-case hex is not what PagerDuty sends (lower-case base16).
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(VerifyPagerDutySignature("v1=" + upper, body, "pd-secret"));
  // No secret configured: nothing verifies, not even an HMAC under "".
  EXPECT_FALSE(VerifyPagerDutySignature("v1=" + HmacSha256Hex("", body), body, ""));
}

// ---- PagerDuty payload ----

TEST(PagerDutyWebhookTest, ResolvedIncidentBecomesResolutionsByIdAndNumber) {
  auto r = ParsePagerDutyWebhook(PdBody("incident.resolved", Incident()), Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->ignored);
  EXPECT_EQ(r->kind, "incident.resolved");
  ASSERT_EQ(r->resolutions.size(), 2u);
  EXPECT_EQ(r->resolutions[0].incident_id, "Q2ABC3D");
  EXPECT_EQ(r->resolutions[1].incident_id, "4411");
  for (const Resolution& res : r->resolutions) {
    EXPECT_TRUE(res.investigation_id.empty());
    EXPECT_EQ(res.resolved_at_ms, kNow - 60'000);
    ASSERT_TRUE(res.opened_at_ms.has_value());
    EXPECT_EQ(*res.opened_at_ms, kNow - 3'600'000);
  }
  EXPECT_TRUE(r->feedback.empty());
}

TEST(PagerDutyWebhookTest, WithoutNumberOrCreatedAt) {
  json data = {{"id", "PXYZ"}};
  auto r =
      ParsePagerDutyWebhook(PdBody("incident.resolved", data, "2025-11-24T15:59:00.250Z"), Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->resolutions.size(), 1u);
  EXPECT_EQ(r->resolutions[0].incident_id, "PXYZ");
  EXPECT_EQ(r->resolutions[0].resolved_at_ms, kNow - 60'000 + 250);
  EXPECT_FALSE(r->resolutions[0].opened_at_ms.has_value());
}

TEST(PagerDutyWebhookTest, OtherEventTypesAreIgnored) {
  for (const char* type : {"incident.triggered", "incident.acknowledged", "pagey.ping",
                           "service.updated", "incident.annotated"}) {
    auto r = ParsePagerDutyWebhook(PdBody(type, json::object()), Opts());
    ASSERT_TRUE(r.ok()) << type << ": " << r.status().message();
    EXPECT_TRUE(r->ignored) << type;
    EXPECT_EQ(r->kind, type);
    EXPECT_TRUE(r->resolutions.empty());
  }
}

TEST(PagerDutyWebhookTest, MalformedPayloadsNameTheField) {
  struct Case {
    std::string body;
    std::string error;
  };
  json no_id = Incident();
  no_id.erase("id");
  json bad_created = Incident();
  bad_created["created_at"] = "yesterday";
  json long_id = Incident();
  long_id["id"] = std::string(200, 'x');
  json bad_number = Incident();
  bad_number["number"] = "4411";
  json after = Incident();
  after["created_at"] = Iso(kNow);
  json no_occurred = json::parse(PdBody("incident.resolved", Incident()));
  no_occurred["event"].erase("occurred_at");
  const std::vector<Case> cases = {
      {"{", "body: malformed JSON"},
      {"[]", "body: must be a PagerDuty v3 envelope"},
      {"{}", "event: is required"},
      {R"({"event": 3})", "event: must be an object"},
      {R"({"event": {"data": {}}})", "event.event_type: must be a string"},
      {R"({"event": {"event_type": "incident.resolved", "occurred_at": "2025-11-24T15:00:00Z"}})",
       "event.data: must be an incident object"},
      {no_occurred.dump(), "event.occurred_at: is required"},
      {PdBody("incident.resolved", Incident(), "soon"), "event.occurred_at: must be an RFC 3339"},
      {PdBody("incident.resolved", json{{"id", "P1"}}, Iso(kNow - 30LL * 86'400'000)),
       "event.occurred_at: is older than max_event_age"},
      {PdBody("incident.resolved", no_id), "event.data.id: is required"},
      {PdBody("incident.resolved", long_id), "event.data.id: must be 1..128 characters"},
      {PdBody("incident.resolved", bad_created), "event.data.created_at: must be an RFC 3339"},
      {PdBody("incident.resolved", bad_number), "event.data.number: must be a non-negative"},
      {PdBody("incident.resolved", after), "event.data.created_at: must not be after"},
  };
  for (const Case& c : cases) {
    auto r = ParsePagerDutyWebhook(c.body, Opts());
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().message().rfind(c.error, 0), 0u)
        << "got \"" << r.status().message() << "\", want prefix \"" << c.error << "\"";
  }
}

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// A value nested a million deep (2 MB, under the 4 MiB body limit) must be
// rejected by type, not copied: copying recurses once per level.
TEST(PagerDutyWebhookTest, DeeplyNestedValuesAreRejectedWithoutRecursing) {
  const std::string deep = Nested(1'000'000);
  for (
      const std::string& body :
      {R"({"event":{"event_type":"incident.resolved","occurred_at":"2025-11-24T15:59:00Z","data":{"id":)" +
           deep + "}}}",
       R"({"event":{"event_type":"incident.resolved","occurred_at":)" + deep +
           R"(,"data":{"id":"P1"}}})",
       R"({"event":{"event_type":"incident.resolved","occurred_at":"2025-11-24T15:59:00Z","data":{"id":"P1","created_at":)" +
           deep + "}}}"}) {
    auto r = ParsePagerDutyWebhook(body, Opts());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("must be"), std::string::npos) << r.status().message();
  }
}

// ---- Slack signature ----

std::string SlackSig(const std::string& secret, const std::string& ts, const std::string& body) {
  return "v0=" + HmacSha256Hex(secret, "v0:" + ts + ":" + body);
}

TEST(SlackSignatureTest, AcceptsWithinFiveMinutesEitherWay) {
  const std::string body = "payload=%7B%7D";
  for (int64_t offset : {0, -300, 300, -17}) {
    const std::string ts = std::to_string(kNow / 1000 + offset);
    EXPECT_TRUE(VerifySlackSignature(ts, SlackSig("s3cret", ts, body), body, "s3cret", kNow).ok())
        << offset;
  }
}

TEST(SlackSignatureTest, RejectionsNameTheHeader) {
  const std::string body = "payload=%7B%7D";
  const std::string ts = std::to_string(kNow / 1000);
  const auto check = [&](const std::string& t, const std::string& sig, const std::string& b,
                         const std::string& secret, const std::string& want) {
    Status s = VerifySlackSignature(t, sig, b, secret, kNow);
    ASSERT_FALSE(s.ok()) << want;
    EXPECT_EQ(s.message().rfind(want, 0), 0u) << s.message();
  };
  check(ts, SlackSig("s3cret", ts, body), body + "x", "s3cret",
        "X-Slack-Signature: does not match");
  check(ts, SlackSig("other", ts, body), body, "s3cret", "X-Slack-Signature: does not match");
  check(ts, "", body, "s3cret", "X-Slack-Signature: is required");
  check(ts, HmacSha256Hex("s3cret", "v0:" + ts + ":" + body), body, "s3cret",
        "X-Slack-Signature: does not match");
  check("", SlackSig("s3cret", "", body), body, "s3cret", "X-Slack-Request-Timestamp: is required");
  check("12a", SlackSig("s3cret", "12a", body), body, "s3cret",
        "X-Slack-Request-Timestamp: must be Unix seconds");
  check("-5", SlackSig("s3cret", "-5", body), body, "s3cret",
        "X-Slack-Request-Timestamp: must be Unix seconds");
  check("99999999999999999999999", SlackSig("s3cret", "99999999999999999999999", body), body,
        "s3cret", "X-Slack-Request-Timestamp: must be Unix seconds");
  for (int64_t offset : {-301, 301, -86400}) {
    const std::string t = std::to_string(kNow / 1000 + offset);
    check(t, SlackSig("s3cret", t, body), body, "s3cret",
          "X-Slack-Request-Timestamp: more than 5 minutes");
  }
  // The timestamp is part of what is signed: moving it breaks the signature.
  const std::string t2 = std::to_string(kNow / 1000 + 1);
  check(t2, SlackSig("s3cret", ts, body), body, "s3cret", "X-Slack-Signature: does not match");
  check(ts, SlackSig("", ts, body), body, "", "slack_signing_secret: not configured");
}

// ---- Slack payload ----

std::string FormEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

json BlockActions(const json& actions,
                  const json& user = {
                      {"id", "U024BE7LH"}, {"username", "alice"}, {"name", "alice"}}) {
  return {{"type", "block_actions"}, {"user", user},
          {"api_app_id", "A02"},     {"token", "legacy"},
          {"trigger_id", "123.456"}, {"response_url", "https://hooks.slack.com/actions/T/1/x"},
          {"actions", actions}};
}

json Button(const std::string& value, const std::string& text = "Confirm",
            const std::string& action_ts = "") {
  json a = {{"action_id", "aw_verdict"},
            {"block_id", "b1"},
            {"type", "button"},
            {"text", {{"type", "plain_text"}, {"text", text}}},
            {"value", value}};
  if (!action_ts.empty()) a["action_ts"] = action_ts;
  return a;
}

std::string Form(const json& payload) { return "payload=" + FormEncode(payload.dump()); }

TEST(FormValueTest, DecodesPlusPercentAndFindsTheKey) {
  EXPECT_EQ(FormValue("a=1&payload=%7B%22x%22%3A+1%7D&b=2", "payload"), R"({"x": 1})");
  EXPECT_EQ(FormValue("payload=", "payload"), "");
  EXPECT_EQ(FormValue("payload", "payload"), "");
  EXPECT_EQ(FormValue("pay%6Coad=v", "payload"), "v");
  EXPECT_EQ(FormValue("x=1", "payload"), std::nullopt);
  EXPECT_EQ(FormValue("", "payload"), std::nullopt);
  EXPECT_EQ(FormValue("payload=%7", "payload"), std::nullopt);
  EXPECT_EQ(FormValue("payload=%zz", "payload"), std::nullopt);
  EXPECT_EQ(FormValue("payload=%", "payload"), std::nullopt);
}

TEST(SlackInteractionTest, ConfirmAndOverrideButtonsBecomeVerdicts) {
  auto r = ParseSlackInteraction(
      Form(BlockActions(json::array({Button("confirm:inv-7f3a", "Confirm", "1764000000.123456")}))),
      Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->feedback.size(), 1u);
  EXPECT_FALSE(r->ignored);
  const Feedback& f = r->feedback[0];
  EXPECT_EQ(f.investigation_id, "inv-7f3a");
  EXPECT_EQ(f.verdict, Verdict::kConfirm);
  EXPECT_EQ(f.actor, "alice");
  EXPECT_EQ(f.ts_ms, 1'764'000'000'123);

  r = ParseSlackInteraction(
      Form(BlockActions(
          json::array({Button(
              R"({"investigation_id":"inv:with:colons","verdict":"override","agent":"incident-response","reason":"wrong service"})",
              "Override")}),
          json{{"id", "U024BE7LH"}})),
      Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->feedback.size(), 1u);
  EXPECT_EQ(r->feedback[0].investigation_id, "inv:with:colons");
  EXPECT_EQ(r->feedback[0].verdict, Verdict::kOverride);
  EXPECT_EQ(r->feedback[0].agent, "incident-response");
  EXPECT_EQ(r->feedback[0].reason, "wrong service");
  EXPECT_EQ(r->feedback[0].actor, "U024BE7LH") << "falls back to user.id";
  EXPECT_EQ(r->feedback[0].ts_ms, kNow) << "no action_ts: now";

  // The id is everything after the first colon.
  r = ParseSlackInteraction(Form(BlockActions(json::array({Button("override:a:b")}))), Opts());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->feedback.size(), 1u);
  EXPECT_EQ(r->feedback[0].investigation_id, "a:b");
}

TEST(SlackInteractionTest, OtherButtonsAndPayloadTypesAreIgnored) {
  for (const json& payload :
       {BlockActions(json::array({Button("snooze:inv-1"), Button("open-runbook")})),
        BlockActions(json::array({Button("{\"foo\": 1}"), Button("{not json")})),
        BlockActions(json::array({json{{"type", "static_select"}, {"value", "confirm:inv-1"}}})),
        BlockActions(json::array()), json{{"type", "view_submission"}, {"user", {{"id", "U1"}}}},
        json{{"type", "shortcut"}}}) {
    auto r = ParseSlackInteraction(Form(payload), Opts());
    ASSERT_TRUE(r.ok()) << payload.dump() << ": " << r.status().message();
    EXPECT_TRUE(r->ignored) << payload.dump();
    EXPECT_TRUE(r->feedback.empty());
  }
}

TEST(SlackInteractionTest, MalformedPayloadsNameTheField) {
  struct Case {
    std::string body;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"", "payload: missing"},
      {"foo=bar", "payload: missing"},
      {"payload=%zz", "payload: missing or badly encoded"},
      {"payload=" + FormEncode("{"), "payload: malformed JSON"},
      {"payload=" + FormEncode("[1]"), "payload: must be a JSON object"},
      {"payload=" + FormEncode("{}"), "payload.type: must be a string"},
      {Form(json{{"type", "block_actions"}}), "payload.actions: must be an array"},
      {Form(json{{"type", "block_actions"}, {"user", "alice"}, {"actions", json::array()}}),
       "payload.user: must be an object"},
      {Form(BlockActions(json::array({7}))), "payload.actions[0]: must be an object"},
      {Form(BlockActions(json::array({Button("open"), Button("confirm:")}))),
       "payload.actions[1].value: investigation_id: must be 1..128 characters"},
      {Form(BlockActions(json::array({Button("confirm:" + std::string(129, 'x'))}))),
       "payload.actions[0].value: investigation_id: must be 1..128 characters"},
      {Form(BlockActions(json::array({Button(R"({"investigation_id":"a","verdict":"maybe"})")}))),
       "payload.actions[0].value: verdict: must be \"confirm\" or \"override\""},
      {Form(BlockActions(json::array({Button(R"({"investigation_id":"a"})")}))),
       "payload.actions[0].value: verdict: is required"},
      {Form(BlockActions(json::array({Button(R"({"investigation_id":7,"verdict":"confirm"})")}))),
       "payload.actions[0].value: investigation_id: must be a string"},
      {Form(BlockActions(json::array(
           {Button(R"({"investigation_id":"a","verdict":"confirm","agent":"bad agent"})")}))),
       "payload.actions[0].value: agent: may contain only"},
      {Form(BlockActions(json::array({Button("confirm:a", "Confirm", "1000000000.5")}))),
       "payload.actions[0].action_ts: is older than max_event_age"},
      {Form(BlockActions(json::array({Button("confirm:a")}),
                         json{{"username", std::string(300, 'u')}})),
       "payload.user.username: must be at most 256 bytes"},
  };
  for (const Case& c : cases) {
    auto r = ParseSlackInteraction(c.body, Opts());
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().message().rfind(c.error, 0), 0u)
        << "got \"" << r.status().message() << "\", want prefix \"" << c.error << "\"";
  }
}

TEST(SlackInteractionTest, DeeplyNestedValueIsRejectedWithoutRecursing) {
  const std::string value =
      R"({"investigation_id":)" + Nested(1'000'000) + R"(,"verdict":"confirm"})";
  auto r = ParseSlackInteraction(Form(BlockActions(json::array({Button(value)}))), Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "payload.actions[0].value: investigation_id: must be a string");
}

TEST(SlackInteractionTest, MalformedActionTsFallsBackToNow) {
  for (const char* ts : {"", "abc", "1.2.3", "123456789012345"}) {
    auto r = ParseSlackInteraction(Form(BlockActions(json::array({Button("confirm:a", "C", ts)}))),
                                   Opts());
    ASSERT_TRUE(r.ok()) << ts << ": " << r.status().message();
    ASSERT_EQ(r->feedback.size(), 1u);
    EXPECT_EQ(r->feedback[0].ts_ms, kNow) << ts;
  }
}

TEST(SlackActionValueTest, RecognisesOnlyItsOwnForms) {
  EXPECT_FALSE(ParseSlackActionValue("", Opts()).has_value());
  EXPECT_FALSE(ParseSlackActionValue("confirm", Opts()).has_value());
  EXPECT_FALSE(ParseSlackActionValue("Confirm:inv-1", Opts()).has_value());
  EXPECT_FALSE(ParseSlackActionValue("{\"verdict\":\"confirm\"}", Opts()).has_value());
  auto v = ParseSlackActionValue("  override:inv-1 ", Opts());
  ASSERT_TRUE(v.has_value());
  ASSERT_TRUE(v->ok());
  EXPECT_EQ((*v)->investigation_id, "inv-1");
  EXPECT_EQ((*v)->verdict, Verdict::kOverride);
}

TEST(PagerDutyWebhookTest, AcknowledgedNamesTheAlertByIncidentKey) {
  json data = Incident();
  data["status"] = "acknowledged";
  data["incident_key"] = "9f2c0a11b2c3d4e5";
  auto r = ParsePagerDutyWebhook(PdBody("incident.acknowledged", data), Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->ignored);
  EXPECT_EQ(r->acknowledged, std::vector<std::string>{"9f2c0a11b2c3d4e5"});
  EXPECT_TRUE(r->resolutions.empty());

  data["incident_key"] = nullptr;  // an incident agentwatch did not open
  r = ParsePagerDutyWebhook(PdBody("incident.acknowledged", data), Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->ignored);
  EXPECT_TRUE(r->acknowledged.empty());

  data["incident_key"] = 7;
  r = ParsePagerDutyWebhook(PdBody("incident.acknowledged", data), Opts());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("event.data.incident_key:", 0), 0u);
}

TEST(SlackInteractionTest, SilenceButtonIsAClickNotAVerdict) {
  json silence = Button("9f2c0a11b2c3d4e5", "Silence 1h");
  silence["action_id"] = kSlackSilenceActionId;
  auto r = ParseSlackInteraction(Form(BlockActions(json::array({silence}))), Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->ignored);
  EXPECT_TRUE(r->feedback.empty());
  ASSERT_EQ(r->silence_clicks.size(), 1u);
  EXPECT_EQ(r->silence_clicks[0].fingerprint, "9f2c0a11b2c3d4e5");
  EXPECT_EQ(r->silence_clicks[0].actor, "alice");

  // The same value on another button is not ours.
  r = ParseSlackInteraction(Form(BlockActions(json::array({Button("9f2c0a11b2c3d4e5")}))), Opts());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->silence_clicks.empty());
  EXPECT_TRUE(r->ignored);
}

}  // namespace
}  // namespace aw::ingest
