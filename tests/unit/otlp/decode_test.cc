#include "daemon/otlp/decode.h"

#include <gtest/gtest.h>

#include <cmath>

#include "daemon/otlp/otlp.pb.h"
#include "tests/unit/otlp/test_util.h"

namespace aw::otlp {
namespace {

using testing::Fixture;

TEST(DecodeTest, ContentTypes) {
  EXPECT_EQ(EncodingFromContentType("application/x-protobuf"), Encoding::kProtobuf);
  EXPECT_EQ(EncodingFromContentType("application/json; charset=utf-8"), Encoding::kJson);
  EXPECT_EQ(EncodingFromContentType(" Application/JSON "), Encoding::kJson);
  EXPECT_EQ(EncodingFromContentType("text/plain"), std::nullopt);
  EXPECT_EQ(EncodingFromContentType(""), std::nullopt);
}

// The real JS SDK's requests decode to the same spans in both encodings.
TEST(DecodeTest, RealSdkRequestsDecodeInBothEncodings) {
  for (const char* enc : {"json", "proto"}) {
    SCOPED_TRACE(enc);
    const bool json = std::string(enc) == "json";
    size_t spans = 0;
    bool saw_array = false, saw_int = false, saw_resource = false;
    for (int i = 0; i < 4; ++i) {
      const std::string name =
          std::string(enc) + "/00" + std::to_string(i) + "-traces." + (json ? "json" : "pb");
      const std::string body = Fixture(name);
      ASSERT_FALSE(body.empty()) << name;
      auto batch = DecodeTraces(body, json ? Encoding::kJson : Encoding::kProtobuf);
      ASSERT_TRUE(batch.ok()) << name << ": " << batch.status().message();
      for (const OtlpSpan& s : batch->spans) {
        ++spans;
        EXPECT_EQ(s.trace_id.size(), 32u);
        EXPECT_EQ(s.span_id.size(), 16u);
        EXPECT_GE(s.end_ns, s.start_ns);
        EXPECT_GE(s.start_ns, testing::kT0Ns);
        ASSERT_NE(s.resource, nullptr);
        saw_resource |= s.resource->String("service.name").has_value();
        if (auto r = s.attributes.FirstString("gen_ai.response.finish_reasons")) {
          saw_array = true;
          EXPECT_TRUE(*r == "tool_use" || *r == "end_turn") << *r;
        }
        if (s.attributes.Has("gen_ai.usage.input_tokens")) {
          saw_int = true;
          EXPECT_GT(*s.attributes.Int("gen_ai.usage.input_tokens"), 0);
        }
      }
    }
    // seed: root + 2 chat + 3 tools; genai: server + agent + 2 chat + 2 tools + 1 nested chat.
    EXPECT_EQ(spans, 6u + 7u);
    EXPECT_TRUE(saw_array);
    EXPECT_TRUE(saw_int);
    EXPECT_TRUE(saw_resource);
  }
}

TEST(DecodeTest, JsonMappingQuirks) {
  const std::string body = R"({"resource_spans":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"svc"}}]},
    "scopeSpans":[{"spans":[{
      "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
      "parentSpanId":"","name":"x","startTimeUnixNano":"1764000000000000000",
      "endTimeUnixNano":1764000001000000000,"kind":"SPAN_KIND_INTERNAL",
      "somethingNew":{"a":[1,2]},
      "attributes":[
        {"key":"i","value":{"intValue":"9007199254740993"}},
        {"key":"n","value":{"intValue":42}},
        {"key":"d","value":{"doubleValue":"NaN"}},
        {"key":"b","value":{"boolValue":true}},
        {"key":"s","value":{"string_value":"snake"}},
        {"key":"a","value":{"arrayValue":{"values":[{"stringValue":"x"},{"intValue":"2"}]}}},
        {"key":"kv","value":{"kvlistValue":{"values":[]}}},
        {"key":"empty","value":{}},
        {"key":"novalue"}]}]}]}]})";
  auto batch = DecodeTraces(body, Encoding::kJson);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  ASSERT_EQ(batch->spans.size(), 1u);
  const OtlpSpan& s = batch->spans[0];
  EXPECT_EQ(s.trace_id, "5b8efff798038103d269b633813fc60c");  // lowercased
  EXPECT_EQ(s.span_id, "eee19b7ec3c1b174");
  EXPECT_EQ(s.parent_span_id, "");
  EXPECT_EQ(s.start_ns, 1764000000000000000ULL);
  EXPECT_EQ(s.end_ns, 1764000001000000000ULL);
  EXPECT_EQ(s.attributes.Int("i"), 9007199254740993LL);  // beyond a double's precision
  EXPECT_EQ(s.attributes.Int("n"), 42);
  EXPECT_TRUE(std::isnan(std::get<double>(*s.attributes.Find("d"))));
  EXPECT_EQ(std::get<bool>(*s.attributes.Find("b")), true);
  EXPECT_EQ(s.attributes.String("s"), "snake");
  const auto& arr = std::get<std::vector<AttrScalar>>(*s.attributes.Find("a"));
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(arr[1]), 2);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*s.attributes.Find("kv")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*s.attributes.Find("empty")));
  EXPECT_TRUE(s.attributes.Has("novalue"));
  EXPECT_EQ(s.resource->String("service.name"), "svc");
}

TEST(DecodeTest, EmptyRequestsAreValid) {
  for (const char* body : {"{}", R"({"resourceSpans":[]})", R"({"resourceSpans":null})"}) {
    auto b = DecodeTraces(body, Encoding::kJson);
    ASSERT_TRUE(b.ok()) << body;
    EXPECT_TRUE(b->spans.empty());
  }
  auto pb = DecodeTraces("", Encoding::kProtobuf);
  ASSERT_TRUE(pb.ok());
  EXPECT_TRUE(pb->spans.empty());
}

struct BadJson {
  const char* body;
  const char* error;  // a substring of the message
};

class DecodeBadJsonTest : public ::testing::TestWithParam<BadJson> {};

TEST_P(DecodeBadJsonTest, NamesWhereAndWhat) {
  auto b = DecodeTraces(GetParam().body, Encoding::kJson);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(b.status().message().find(GetParam().error), std::string::npos) << b.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DecodeBadJsonTest,
    ::testing::Values(
        BadJson{"{", "body: not valid JSON"}, BadJson{"[]", "body: expected a JSON object"},
        BadJson{R"({"resourceSpans":{}})", "resourceSpans: expected an array"},
        BadJson{R"({"resourceSpans":[1]})", "resourceSpans[0]: expected an object"},
        BadJson{R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]})",
                "resourceSpans[0].scopeSpans[0].spans[0].traceId: expected a hex string"},
        BadJson{R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":7}]}]}]})",
                "spans[0].spanId: expected a string"},
        BadJson{R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"1e9"}]}]}]})",
                "startTimeUnixNano: expected an integer as a decimal string"},
        BadJson{R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano":-1}]}]}]})",
                "endTimeUnixNano: must not be negative"},
        BadJson{R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a",
                "value":{"intValue":"12x"}}]}]}]}]})",
                "attributes[0].value.intValue: expected an integer"},
        BadJson{R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":1}]}]}]}]})",
                "attributes[0].key: expected a string"},
        BadJson{R"({"resourceSpans":[{"resource":[],"scopeSpans":[]}]})",
                "resourceSpans[0].resource: expected an object"}));

// Refused by a scan before the parser builds the levels (3 MB of "[" took
// 200 MiB of RSS to parse).
TEST(DecodeTest, JsonNestedPast64LevelsIsRefused) {
  auto b = DecodeTraces(std::string(1'000'000, '['), Encoding::kJson);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "body: not valid JSON: nested deeper than 64 levels at byte 65");
  const std::string deep_value =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","value":)" +
      std::string(100, '[') + std::string(100, ']') + "}]}]}]}]}";
  EXPECT_FALSE(DecodeTraces(deep_value, Encoding::kJson).ok());
  auto logs = DecodeLogs(std::string(1'000'000, '{'), Encoding::kJson);
  ASSERT_FALSE(logs.ok());
  EXPECT_NE(logs.status().message().find("nested deeper than 64 levels"), std::string::npos);
}

TEST(DecodeTest, MalformedProtobufIsAnError) {
  pb::ExportTraceServiceRequest req;
  auto* span = req.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\x01'));
  span->set_name("agent");
  const std::string good = req.SerializeAsString();
  for (const std::string& bad :
       {good.substr(0, good.size() - 3), std::string("\xff\xff\xff\xff", 4),
        std::string("\x0a\x80\x80\x80\x80\x10", 6) /* a length far past the end */,
        std::string("\x0b", 1) /* start-group on field 1 */}) {
    auto b = DecodeTraces(bad, Encoding::kProtobuf);
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.status().message(), "body: not a valid protobuf ExportTraceServiceRequest");
  }
  // A JSON body sent as protobuf is malformed too (and vice versa).
  EXPECT_FALSE(DecodeTraces(Fixture("json/000-traces.json"), Encoding::kProtobuf).ok());
  EXPECT_FALSE(DecodeTraces(Fixture("proto/000-traces.pb"), Encoding::kJson).ok());
}

TEST(DecodeTest, UnknownProtobufFieldsAreSkipped) {
  pb::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* span = rs->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\xab'));
  span->set_span_id(std::string(8, '\xcd'));
  span->set_start_time_unix_nano(5);
  span->set_end_time_unix_nano(7);
  std::string body = req.SerializeAsString();
  // Field 99 (a varint) at the top level, and a whole Span with events (11),
  // links (13) and status (15) we do not declare.
  body += std::string("\x98\x06\x01", 3);
  pb::ExportTraceServiceRequest more;
  auto* s2 = more.add_resource_spans()->add_scope_spans()->add_spans();
  s2->set_name("second");
  std::string span_bytes = s2->SerializeAsString();
  span_bytes += std::string("\x5a\x02\x10\x01", 4);  // field 11, length 2
  span_bytes += std::string("\x7a\x00", 2);          // field 15, empty
  // A length-delimited field: tag, one-byte length (all are short), bytes.
  auto wrap = [](char tag, const std::string& inner) {
    std::string out;
    out.push_back(tag);
    out.push_back(static_cast<char>(inner.size()));
    out.append(inner);
    return out;
  };
  body.append(wrap('\x0a', wrap('\x12', wrap('\x12', span_bytes))));
  auto b = DecodeTraces(body, Encoding::kProtobuf);
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_EQ(b->spans.size(), 2u);
  EXPECT_EQ(b->spans[0].trace_id, "abababababababababababababababab");
  EXPECT_EQ(b->spans[0].span_id, "cdcdcdcdcdcdcdcd");
  EXPECT_EQ(b->spans[0].start_ns, 5u);
  EXPECT_EQ(b->spans[1].name, "second");
}

TEST(DecodeTest, ProtobufAttributeKinds) {
  pb::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* ra = rs->mutable_resource()->add_attributes();
  ra->set_key("service.name");
  ra->mutable_value()->set_string_value("svc");
  auto* span = rs->add_scope_spans()->add_spans();
  auto add = [&](const char* key) {
    auto* kv = span->add_attributes();
    kv->set_key(key);
    return kv->mutable_value();
  };
  add("i")->set_int_value(-3);
  add("d")->set_double_value(0.5);
  add("b")->set_bool_value(false);
  add("x")->set_bytes_value(std::string("\x01\xff", 2));
  auto* arr = add("a")->mutable_array_value();
  arr->add_values()->set_string_value("stop");
  add("kv")->mutable_kvlist_value();
  auto b = DecodeTraces(req.SerializeAsString(), Encoding::kProtobuf);
  ASSERT_TRUE(b.ok());
  const Attributes& a = b->spans[0].attributes;
  EXPECT_EQ(a.Int("i"), -3);
  EXPECT_EQ(a.Double("d"), 0.5);
  EXPECT_EQ(std::get<bool>(*a.Find("b")), false);
  EXPECT_EQ(a.String("x"), "01ff");
  EXPECT_EQ(a.FirstString("a"), "stop");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*a.Find("kv")));
  EXPECT_EQ(b->spans[0].resource->String("service.name"), "svc");
  EXPECT_EQ(b->spans[0].trace_id, "");  // absent: the mapping rejects or ignores it
}

TEST(DecodeTest, LogsInBothEncodings) {
  auto json = DecodeLogs(Fixture("json/004-logs.json"), Encoding::kJson);
  ASSERT_TRUE(json.ok()) << json.status().message();
  ASSERT_EQ(json->records.size(), 4u);  // 2 verdicts + 2 other evaluations
  EXPECT_EQ(json->records[0].event_name, "gen_ai.evaluation.result");
  EXPECT_EQ(json->records[0].time_ns, 1764003600000000000ULL);
  EXPECT_EQ(json->records[0].trace_id.size(), 32u);
  EXPECT_EQ(json->records[0].resource->String("service.name"), "oncall-review");

  pb::ExportLogsServiceRequest req;
  auto* rec = req.add_resource_logs()->add_scope_logs()->add_log_records();
  rec->set_event_name("gen_ai.evaluation.result");
  rec->set_trace_id(std::string(16, '\x11'));
  rec->set_span_id(std::string(8, '\x22'));
  rec->set_time_unix_nano(9);
  auto* kv = rec->add_attributes();
  kv->set_key("gen_ai.evaluation.name");
  kv->mutable_value()->set_string_value("oncall_verdict");
  auto pbl = DecodeLogs(req.SerializeAsString(), Encoding::kProtobuf);
  ASSERT_TRUE(pbl.ok());
  ASSERT_EQ(pbl->records.size(), 1u);
  EXPECT_EQ(pbl->records[0].trace_id, std::string(32, '1'));
  EXPECT_EQ(pbl->records[0].span_id, std::string(16, '2'));
  EXPECT_EQ(pbl->records[0].attributes.String("gen_ai.evaluation.name"), "oncall_verdict");
  EXPECT_FALSE(DecodeLogs("\xff\xff", Encoding::kProtobuf).ok());
  EXPECT_FALSE(
      DecodeLogs(R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":true}]}]}]})",
                 Encoding::kJson)
          .ok());
}

TEST(DecodeTest, Responses) {
  EXPECT_EQ(EncodeTraceResponse(0, "", Encoding::kJson), "{}");
  EXPECT_EQ(EncodeTraceResponse(2, "input_tokens: must be a non-negative integer", Encoding::kJson),
            R"({"partialSuccess":{"errorMessage":"input_tokens: must be a non-negative integer",)"
            R"("rejectedSpans":"2"}})");
  EXPECT_EQ(EncodeTraceResponse(0, "", Encoding::kProtobuf), "");
  pb::ExportTraceServiceResponse resp;
  ASSERT_TRUE(resp.ParseFromString(EncodeTraceResponse(3, "bad", Encoding::kProtobuf)));
  EXPECT_EQ(resp.partial_success().rejected_spans(), 3);
  EXPECT_EQ(resp.partial_success().error_message(), "bad");
  pb::ExportLogsServiceResponse lresp;
  ASSERT_TRUE(lresp.ParseFromString(EncodeLogsResponse(1, "x", Encoding::kProtobuf)));
  EXPECT_EQ(lresp.partial_success().rejected_log_records(), 1);
  EXPECT_EQ(EncodeLogsResponse(1, "x", Encoding::kJson),
            R"({"partialSuccess":{"errorMessage":"x","rejectedLogRecords":"1"}})");
  pb::RpcStatus st;
  ASSERT_TRUE(st.ParseFromString(EncodeRpcStatus(3, "body: not valid JSON", Encoding::kProtobuf)));
  EXPECT_EQ(st.code(), 3);
  EXPECT_EQ(st.message(), "body: not valid JSON");
  EXPECT_EQ(EncodeRpcStatus(3, "m", Encoding::kJson), R"({"code":3,"message":"m"})");
}

}  // namespace
}  // namespace aw::otlp
