#include "daemon/ingest/parser.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/unit/daemon/parse_test_options.h"

namespace aw::ingest {
namespace {

using testing::kNow;
using testing::Options;

TEST(ParserTest, ReadsAFullSpan) {
  auto p = ParseSpans(R"({"investigation_id":"inv-7f3a","agent":"incident-response",
    "ts":"2026-11-25T15:59:00Z","model":"claude-sonnet-4-6","input_tokens":18234,
    "output_tokens":2311,"cache_read_tokens":12000,"cache_creation_tokens":0,
    "llm_calls":6,"tool_calls":9,"estimated_cost_usd":0.093,"duration_ms":41200,
    "finish_reason":"end_turn","confidence":0.82,"incident_id":"INC-4411",
    "labels":{"team":"sre","env":"prod"},"unknown_field":[1,2]})",
                      BodyFormat::kJson, Options());
  ASSERT_EQ(p.records.size(), 1u) << (p.errors.empty() ? "" : p.errors[0].error);
  const Span& s = p.records[0].second;
  EXPECT_EQ(s.investigation_id, "inv-7f3a");
  EXPECT_EQ(s.ts_ms, kNow - 60'000);
  EXPECT_EQ(s.tool_calls, 9);
  EXPECT_EQ(s.cost_usd, 0.093);
  EXPECT_EQ(s.confidence, 0.82);
  EXPECT_EQ(s.labels.at("env"), "prod");
  EXPECT_EQ(s.duration_ms, 41200);
}

TEST(ParserTest, AcceptsOpenTelemetryAliases) {
  auto p = ParseSpans(R"({"investigation_id":"i","agent.type":"ir","incident.id":"INC-1",
    "gen_ai.request.model":"m","gen_ai.response.model":"m-2026","gen_ai.provider.name":"anthropic",
    "agent.total_input_tokens":10,"agent.total_output_tokens":20,"agent.tool_calls_made":3,
    "agent.estimated_cost_usd":0.5,"gen_ai.usage.cache_read.input_tokens":4,
    "gen_ai.response.finish_reasons":["stop"],"ts":1795622400})",
                      BodyFormat::kJson, Options());
  ASSERT_EQ(p.records.size(), 1u) << p.errors[0].error;
  const Span& s = p.records[0].second;
  EXPECT_EQ(s.agent, "ir");
  EXPECT_EQ(s.incident_id, "INC-1");
  EXPECT_EQ(s.model, "m");
  EXPECT_EQ(s.response_model, "m-2026");
  EXPECT_EQ(s.provider, "anthropic");
  EXPECT_EQ(s.input_tokens, 10);
  EXPECT_EQ(s.output_tokens, 20);
  EXPECT_EQ(s.tool_calls, 3);
  EXPECT_EQ(s.cost_usd, 0.5);
  EXPECT_EQ(s.cache_read_tokens, 4);
  EXPECT_EQ(s.finish_reason, "stop");
  EXPECT_EQ(s.ts_ms, kNow);
}

TEST(ParserTest, AbsentTimeMeansNow) {
  auto p = ParseSpans(R"({"investigation_id":"i","agent":"a"})", BodyFormat::kJson, Options());
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_EQ(p.records[0].second.ts_ms, kNow);
  EXPECT_FALSE(p.records[0].second.tool_calls.has_value());
}

struct BadSpan {
  const char* body;
  const char* field_message;  // a substring the error must contain
  RejectReason reason;
};

class MalformedSpanTest : public ::testing::TestWithParam<BadSpan> {};

TEST_P(MalformedSpanTest, RejectsNamingTheField) {
  const BadSpan& c = GetParam();
  auto p = ParseSpans(c.body, BodyFormat::kJson, Options());
  EXPECT_TRUE(p.records.empty());
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_NE(p.errors[0].error.find(c.field_message), std::string::npos)
      << "got: " << p.errors[0].error;
  EXPECT_EQ(p.errors[0].reason, c.reason);
}

INSTANTIATE_TEST_SUITE_P(
    Table, MalformedSpanTest,
    ::testing::Values(
        BadSpan{R"({"agent":"a"})", "investigation_id: is required", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"","agent":"a"})", "investigation_id: must be 1..128",
                RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":7,"agent":"a"})", "investigation_id: must be a string",
                RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i"})", "agent: is required", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a b"})",
                "agent: may contain only [a-zA-Z0-9_.:-]", RejectReason::kInvalid},
        BadSpan{
            R"({"investigation_id":"i","agent":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})",
            "agent: must be 1..64", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","tool_calls":-1})",
                "tool_calls: must be a non-negative integer", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","tool_calls":1.5})",
                "tool_calls: must be a non-negative integer", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","tool_calls":"9"})",
                "tool_calls: must be a non-negative integer", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","input_tokens":-3})",
                "input_tokens: must be a non-negative integer", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","confidence":1.2})",
                "confidence: must be a number between 0 and 1", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","estimated_cost_usd":-1})",
                "estimated_cost_usd: must be a number", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","duration_ms":"slow"})",
                "duration_ms: must be a number", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","ts":"yesterday"})",
                "ts: must be an RFC 3339", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","ts":"2025-02-29T12:00:00Z"})",
                "ts: must be an RFC 3339", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","ts":"2026-11-31T12:00:00Z"})",
                "ts: must be an RFC 3339", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","ts":"2026-11-01T00:00:00Z"})",
                "ts: is older than max_event_age", RejectReason::kTooOld},
        BadSpan{R"({"investigation_id":"i","agent":"a","ts":"2026-11-25T17:00:00Z"})",
                "ts: is more than max_clock_skew", RejectReason::kFuture},
        BadSpan{R"({"investigation_id":"i","agent":"a","labels":[1]})", "labels: must be an object",
                RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","labels":{"env":3}})",
                "labels.env: must be a string", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","labels":{"bad-name":"x"}})",
                "labels.bad-name: name must match", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","labels":{"agent":"x"}})",
                "labels.agent: is a reserved label name", RejectReason::kInvalid},
        BadSpan{
            R"({"investigation_id":"i","agent":"a","labels":{"a":"1","b":"1","c":"1","d":"1","e":"1","f":"1","g":"1","h":"1","i":"1","j":"1","k":"1","l":"1","m":"1","n":"1","o":"1","p":"1","q":"1"}})",
            "labels: at most 16 pairs", RejectReason::kInvalid},
        BadSpan{R"({"investigation_id":"i","agent":"a","model":5})", "model: must be a string",
                RejectReason::kInvalid},
        BadSpan{R"([3])", "record: must be a JSON object", RejectReason::kInvalid}));

TEST(ParserTest, MalformedJsonIsMalformedBody) {
  auto p = ParseSpans(R"({"investigation_id":)", BodyFormat::kJson, Options());
  EXPECT_TRUE(p.malformed);
  EXPECT_EQ(p.errors[0].reason, RejectReason::kMalformed);
  EXPECT_TRUE(ParseSpans("42", BodyFormat::kJson, Options()).malformed);
  EXPECT_TRUE(ParseSpans("[]", BodyFormat::kJson, Options()).malformed);
  EXPECT_TRUE(ParseSpans("\n\n", BodyFormat::kNdjson, Options()).malformed);
}

TEST(ParserTest, ArrayKeepsValidRecordsAndIndexesErrors) {
  auto p = ParseSpans(R"([{"investigation_id":"a","agent":"x"},{"agent":"x"},
                          {"investigation_id":"c","agent":"x","tool_calls":-2}])",
                      BodyFormat::kJson, Options());
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_EQ(p.records[0].first, 0);
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0].index, 1);
  EXPECT_EQ(p.errors[1].index, 2);
  EXPECT_EQ(p.total, 3);
}

TEST(ParserTest, NdjsonSkipsBlankLinesAndCountsIndexFromZero) {
  auto p = ParseSpans(
      "{\"investigation_id\":\"a\",\"agent\":\"x\"}\n\n  \n{bad json\n"
      "{\"investigation_id\":\"c\",\"agent\":\"x\"}\n",
      BodyFormat::kNdjson, Options());
  EXPECT_EQ(p.total, 3);
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[1].first, 2);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].index, 1);
  EXPECT_EQ(p.errors[0].reason, RejectReason::kMalformed);
}

TEST(ParserTest, TooManyRecordsRejectsTheBody) {
  std::string body;
  for (int i = 0; i < 6; ++i)
    body += R"({"investigation_id":"a","agent":"x"})"
            "\n";
  auto p = ParseSpans(body, BodyFormat::kNdjson, Options());
  EXPECT_TRUE(p.records.empty());
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].reason, RejectReason::kTooMany);
}

TEST(ParserTest, FeedbackNeedsAKnownVerdict) {
  auto ok = ParseFeedback(R"({"investigation_id":"i","verdict":"override","agent":"ir",
                              "actor":"alice","reason":"dns"})",
                          BodyFormat::kJson, Options());
  ASSERT_EQ(ok.records.size(), 1u);
  EXPECT_EQ(ok.records[0].second.verdict, Verdict::kOverride);
  EXPECT_EQ(ok.records[0].second.agent, "ir");
  auto bad =
      ParseFeedback(R"({"investigation_id":"i","verdict":"maybe"})", BodyFormat::kJson, Options());
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_NE(bad.errors[0].error.find("verdict: must be"), std::string::npos);
  auto missing = ParseFeedback(R"({"investigation_id":"i"})", BodyFormat::kJson, Options());
  EXPECT_NE(missing.errors[0].error.find("verdict: is required"), std::string::npos);
}

TEST(ParserTest, ResolutionNeedsExactlyOneKey) {
  auto ok = ParseResolutions(R"({"incident_id":"INC-1","resolved_at":"2026-11-25T15:00:00Z",
                                 "opened_at":"2026-11-25T14:00:00Z"})",
                             BodyFormat::kJson, Options());
  ASSERT_EQ(ok.records.size(), 1u);
  EXPECT_EQ(*ok.records[0].second.opened_at_ms, kNow - 2 * 3'600'000);
  auto none =
      ParseResolutions(R"({"resolved_at":"2026-11-25T15:00:00Z"})", BodyFormat::kJson, Options());
  EXPECT_NE(none.errors[0].error.find("incident_id"), std::string::npos);
  auto both = ParseResolutions(R"({"incident_id":"a","investigation_id":"b"})", BodyFormat::kJson,
                               Options());
  EXPECT_NE(both.errors[0].error.find("not both"), std::string::npos);
  auto reversed = ParseResolutions(R"({"incident_id":"a","resolved_at":"2026-11-25T14:00:00Z",
                                      "opened_at":"2026-11-25T15:00:00Z"})",
                                   BodyFormat::kJson, Options());
  EXPECT_NE(reversed.errors[0].error.find("opened_at: must not be after"), std::string::npos);
  auto ttr = ParseResolutions(R"({"investigation_id":"b","time_to_resolve_s":-4})",
                              BodyFormat::kJson, Options());
  EXPECT_NE(ttr.errors[0].error.find("time_to_resolve_s"), std::string::npos);
  // Over the bound: the error says what the bound is.
  auto huge = ParseResolutions(R"({"investigation_id":"b","time_to_resolve_s":1e11})",
                               BodyFormat::kJson, Options());
  ASSERT_EQ(huge.errors.size(), 1u);
  EXPECT_NE(huge.errors[0].error.find("time_to_resolve_s: must be a number (non-negative "
                                      "seconds, at most 1e10)"),
            std::string::npos)
      << huge.errors[0].error;
}

TEST(ParserTest, CanonicalJsonRoundTrips) {
  auto p = ParseSpans(R"({"investigation_id":"i","agent":"a","tool_calls":4,
                          "confidence":0.5,"labels":{"env":"prod"}})",
                      BodyFormat::kJson, Options());
  ASSERT_EQ(p.records.size(), 1u);
  auto again = SpanFromJson(ToJson(p.records[0].second), Options());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->tool_calls, 4);
  EXPECT_EQ(again->labels, p.records[0].second.labels);
  EXPECT_EQ(again->ts_ms, kNow);
}

TEST(ParserTest, OneRecordFromTextNamesWhatIsWrong) {
  auto bad = SpanFromJson("{not json", Options());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "record: malformed JSON at byte 3: invalid literal; expected string literal");
  auto array = FeedbackFromJson("[1]", Options());
  ASSERT_FALSE(array.ok());
  EXPECT_EQ(array.status().message(), "record: must be a JSON object");
  // The same message as the record would get in a body.
  const std::string record = R"({"investigation_id":"i","agent":"a","tool_calls":-1})";
  auto one = SpanFromJson(record, Options());
  auto body = ParseSpans(record, BodyFormat::kJson, Options());
  ASSERT_FALSE(one.ok());
  ASSERT_EQ(body.errors.size(), 1u);
  EXPECT_EQ(one.status().message(), body.errors[0].error);
  EXPECT_NE(one.status().message().find("tool_calls"), std::string::npos);
}

TEST(ParserTest, ValidateSpanAppliesTheRecordChecks) {
  Span s;
  s.investigation_id = "i";
  s.agent = "a";
  s.ts_ms = kNow;
  s.confidence = 0.5;
  auto ok = ValidateSpan(s, Options());
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->confidence, 0.5);
  s.confidence = 1.5;
  auto bad = ValidateSpan(s, Options());
  ASSERT_FALSE(bad.ok());
  auto as_body = ParseSpans(ToJson(s), BodyFormat::kJson, Options());
  ASSERT_EQ(as_body.errors.size(), 1u);
  EXPECT_EQ(bad.status().message(), as_body.errors[0].error);
  EXPECT_NE(bad.status().message().find("confidence"), std::string::npos);
}

}  // namespace

// Text that is not JSON: the error says where (the byte, the field whose key
// or value broke) and why, without echoing the bytes it could not read.
TEST(ParserTest, MalformedJsonNamesTheByteTheFieldAndTheReason) {
  const auto first_error = [](std::string_view body, BodyFormat format = BodyFormat::kJson) {
    const auto p = ParseSpans(body, format, Options());
    return p.errors.empty() ? std::string("(none)") : p.errors[0].error;
  };
  EXPECT_EQ(first_error("{\"investigation_id\":\"a\",\"agent\":\"ir\",\"model\":\"ab\xff\"}"),
            "body: malformed JSON at byte 49, in \"model\": invalid string: ill-formed UTF-8 byte");
  EXPECT_EQ(first_error("[{\"agent\":\"ir\"},{\"agent\":\"ir\",\"labels\":{\"te\xff"
                        "am\":\"x\"}}]"),
            "body: malformed JSON at byte 44, in \"[1].labels\": invalid string: ill-formed UTF-8 "
            "byte; expected string literal");
  EXPECT_EQ(first_error("{\"investigation_id\":\"a\",\"tool_calls\":1e400}"),
            "body: malformed JSON at byte 42, in \"tool_calls\": number overflow parsing '1e400'");
  EXPECT_EQ(first_error("{\"investigation_id\":\"a\","),
            "body: malformed JSON at byte 25: unexpected end of input; expected string literal");
  EXPECT_EQ(first_error("{\"a\":[1,2,{\"b\":tru}]}"),
            "body: malformed JSON at byte 19, in \"a[2].b\": invalid literal");
  EXPECT_EQ(
      first_error(
          "{\"agent\":\"ir\",\"investigation_id\":\"x\"}\n{\"agent\":\"ir\",\"model\":\"\xc3\"}",
          BodyFormat::kNdjson),
      "record: malformed JSON at byte 25, in \"model\": invalid string: ill-formed UTF-8 byte");
  // Nested past 32 levels: refused by a scan, before a parser builds it.
  EXPECT_EQ(first_error(std::string(100'000, '[')),
            "body: malformed JSON at byte 33, in "
            "\"[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]...\": "
            "nested deeper than 32 levels");
  // Brackets inside strings do not nest: this one is read (and lacks its id).
  EXPECT_EQ(first_error("{\"labels\":{\"[[[\":\"" + std::string(40, '{') + "\"}}"),
            "investigation_id: is required");
  auto verdict =
      FeedbackFromJson("{\"investigation_id\":\"a\",\"verdict\":\"con\xfe\"}", Options());
  ASSERT_FALSE(verdict.ok());
  EXPECT_EQ(verdict.status().message(),
            "record: malformed JSON at byte 39, in \"verdict\": invalid string: ill-formed UTF-8 "
            "byte");
}

}  // namespace aw::ingest
