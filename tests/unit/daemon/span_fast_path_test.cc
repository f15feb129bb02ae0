// The simdjson fast path of ParseSpans against the nlohmann reader alone
// (ParseSpansWithoutFastPath): the same Parsed<Span> for every body, valid
// or not, byte for byte; and the fast path really reads the common records.

#include "daemon/ingest/span_fast_path.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/ingest/parser.h"

#include "tests/unit/daemon/parse_test_options.h"

namespace aw::ingest {
namespace {

using testing::kNow;
using testing::Options;

std::string Bits(double d) {
  uint64_t u = 0;
  std::memcpy(&u, &d, sizeof u);
  return std::to_string(u);
}

template <typename T>
std::string Opt(const std::optional<T>& v) {
  if (!v) return "-";
  if constexpr (std::is_same_v<T, double>) {
    return Bits(*v);
  } else {
    return std::to_string(*v);
  }
}

// Every field of the result, doubles by their bits: equal text, equal result.
std::string Describe(const Parsed<Span>& p) {
  std::ostringstream o;
  o << "total=" << p.total << " malformed=" << p.malformed << "\n";
  for (const auto& e : p.errors) {
    o << "error " << e.index << " " << RejectReasonName(e.reason) << " " << e.error << "\n";
  }
  for (const auto& [i, s] : p.records) {
    o << "record " << i << " id=" << s.investigation_id << " agent=" << s.agent << " ts=" << s.ts_ms
      << " model=" << s.model << " rmodel=" << s.response_model << " provider=" << s.provider
      << " in=" << Opt(s.input_tokens) << " out=" << Opt(s.output_tokens)
      << " cr=" << Opt(s.cache_read_tokens) << " cc=" << Opt(s.cache_creation_tokens)
      << " llm=" << Opt(s.llm_calls) << " tools=" << Opt(s.tool_calls)
      << " cost=" << Opt(s.cost_usd) << " dur=" << Opt(s.duration_ms)
      << " finish=" << s.finish_reason << " conf=" << Opt(s.confidence)
      << " incident=" << s.incident_id << " labels=";
    for (const auto& [k, v] : s.labels) o << k << "=" << v << ";";
    o << "\n";
  }
  return o.str();
}

// Both paths on `body`, in both formats, with two limit sets; `wide`: no
// age or skew limit in practice, so the other checks on a time are reached.
void ExpectSame(const std::string& body, bool wide = false) {
  for (BodyFormat format : {BodyFormat::kJson, BodyFormat::kNdjson}) {
    for (size_t max_labels : {size_t{16}, size_t{2}}) {
      ParseOptions o = Options();
      o.max_labels = max_labels;
      if (wide) o.max_event_age = o.max_clock_skew = Millis{int64_t{1} << 60};
      ASSERT_EQ(Describe(ParseSpans(body, format, o)),
                Describe(ParseSpansWithoutFastPath(body, format, o)))
          << "body: " << body << "\nformat: " << (format == BodyFormat::kJson ? "json" : "ndjson")
          << " max_labels " << max_labels;
    }
  }
}

// Records a client sends: the loadgen's shape, the README's, OTel aliases.
const std::vector<std::string> kWellFormed = {
    R"({"investigation_id":"inv-7f3a","agent":"incident-response","ts":"2026-11-25T15:59:00Z","model":"claude-sonnet-4-6","input_tokens":18234,"output_tokens":2311,"cache_read_tokens":12000,"cache_creation_tokens":0,"llm_calls":6,"tool_calls":9,"estimated_cost_usd":0.093,"duration_ms":41200,"finish_reason":"end_turn","confidence":0.82,"incident_id":"INC-4411","labels":{"team":"sre","env":"prod"}})",
    R"({"investigation_id":"i","agent":"a"})",
    R"( { "investigation_id" : "i-2" , "agent" : "ir", "ts" : 1795622340.25 , "tool_calls" : 0 } )",
    R"({"investigation_id":"i","agent.type":"ir","incident.id":"INC-1","gen_ai.request.model":"m","gen_ai.response.model":"m-2026","gen_ai.provider.name":"anthropic","agent.total_input_tokens":10,"agent.total_output_tokens":20,"agent.tool_calls_made":3,"agent.estimated_cost_usd":0.5,"gen_ai.usage.cache_read.input_tokens":4,"ts":1795622400})",
    R"({"investigation_id":"ü-名","agent":"a","model":"m ü","estimated_cost_usd":1e-3,"confidence":1,"duration_ms":12.5,"labels":{}})",
    R"({"investigation_id":"i","agent":"a","model":null,"provider":"p","gen_ai.system":"s","labels":null})",
};

TEST(SpanFastPathTest, ReadsTheCommonRecords) {
  SpanFastPath fast;
  for (const std::string& record : kWellFormed) {
    Span span;
    EXPECT_TRUE(fast.ReadRecord(record, Options(), &span)) << record;
    EXPECT_FALSE(span.investigation_id.empty()) << record;
  }
  auto body = fast.ReadJsonBody("[" + kWellFormed[0] + "," + kWellFormed[1] + "]", Options());
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(body->total, 2);
  ASSERT_EQ(body->records.size(), 2u);
  EXPECT_EQ(body->records[1].first, 1);
}

TEST(SpanFastPathTest, LeavesWhatItDoesNotReadExactlyToNlohmann) {
  SpanFastPath fast;
  for (
      const char* record : {
          R"({"investigation_id":"i","agent":"a","unknown":1})",      // unknown key
          R"({"investigation_id":"i","agent":"a","agent":"b"})",      // repeated key
          R"({"investigation_id":"i\u0041","agent":"a"})",            // an escape
          R"({"investigation_id":"i","agent":"a","tool_calls":-0})",  // "-0" is 0 to nlohmann
          R"({"investigation_id":"i","agent":"a","tool_calls":-1})",  // an error to word
          R"({"investigation_id":"i","agent":"a","labels":{"x":"1","x":"2"}})",
          R"({"investigation_id":"i","agent":"a","gen_ai.response.finish_reasons":["stop"]})",
          R"({"investigation_id":"i","agent":"a"} x)",                 // trailing bytes
          R"({"investigation_id":"i","agent":"a",})",                  // trailing comma
          R"({"investigation_id":"i","agent":"a","cost":01})",         // leading zero
          "\xEF\xBB\xBF{\"investigation_id\":\"i\",\"agent\":\"a\"}",  // BOM: nlohmann skips it
          "{\"investigation_id\":\"i\",\"agent\":\"a\",\"model\":\"m\t\"}",  // raw tab in a string
          // Out of a double's range, even where an alias loses to the name:
          // nlohmann refuses the whole body.
          R"({"investigation_id":"i","agent":"a","agent.estimated_cost_usd":1e400,"estimated_cost_usd":1})",
          R"({"investigation_id":"i","agent":"a","confidence":-1e999})",
      }) {
    Span span;
    EXPECT_FALSE(fast.ReadRecord(record, Options(), &span)) << record;
  }
}

// Found by the random records under clang, whose argument order differs.
TEST(SpanFastPathTest, SameResultForNumbersOutOfRangeUnderALosingAlias) {
  ExpectSame(
      R"({"agent":"agent-8","agent.estimated_cost_usd":1e400,"ts":"2026-11-25T15:59:00Z","estimated_cost_usd":0.093,
"gen_ai.request.model":"s-73","investigation_id":"inv-845339"})");
  ExpectSame(
      R"({"investigation_id":"i","agent":"a","agent.tool_calls_made":1e999,"tool_calls":2})");
  ExpectSame(R"({"investigation_id":"i","agent":"a","tool_calls":99999999999999999999})");
}

TEST(SpanFastPathTest, SameResultOnTheParserTestsAndTheFuzzCorpus) {
  std::vector<std::string> bodies = kWellFormed;
  for (
      const char* b : {
          R"({"agent":"a"})",
          R"({"investigation_id":"","agent":"a"})",
          R"({"investigation_id":7,"agent":"a"})",
          R"({"investigation_id":"i"})",
          R"({"investigation_id":"i","agent":"a b"})",
          R"({"investigation_id":"i","agent":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})",
          R"({"investigation_id":"i","agent":"a","tool_calls":-1})",
          R"({"investigation_id":"i","agent":"a","tool_calls":1.5})",
          R"({"investigation_id":"i","agent":"a","tool_calls":"9"})",
          R"({"investigation_id":"i","agent":"a","input_tokens":-3})",
          R"({"investigation_id":"i","agent":"a","confidence":1.2})",
          R"({"investigation_id":"i","agent":"a","estimated_cost_usd":-1})",
          R"({"investigation_id":"i","agent":"a","duration_ms":"slow"})",
          R"({"investigation_id":"i","agent":"a","ts":"yesterday"})",
          R"({"investigation_id":"i","agent":"a","ts":"2025-02-29T12:00:00Z"})",
          R"({"investigation_id":"i","agent":"a","ts":"2026-11-31T12:00:00Z"})",
          R"({"investigation_id":"i","agent":"a","ts":"2026-11-01T00:00:00Z"})",
          R"({"investigation_id":"i","agent":"a","ts":"2026-11-25T17:00:00Z"})",
          R"({"investigation_id":"i","agent":"a","labels":[1]})",
          R"({"investigation_id":"i","agent":"a","labels":{"env":3}})",
          R"({"investigation_id":"i","agent":"a","labels":{"bad-name":"x"}})",
          R"({"investigation_id":"i","agent":"a","labels":{"agent":"x"}})",
          R"({"investigation_id":"i","agent":"a","labels":{"a":"1","b":"1","c":"1","d":"1","e":"1","f":"1","g":"1","h":"1","i":"1","j":"1","k":"1","l":"1","m":"1","n":"1","o":"1","p":"1","q":"1"}})",
          R"({"investigation_id":"i","agent":"a","model":5})",
          R"([3])",
          // A broken literal under an alias that loses: still malformed JSON.
          R"({"investigation_id":"i","agent":"a","model":"m","gen_ai.request.model":tru})",
          R"({"investigation_id":"i","agent":"a","model":"m","gen_ai.request.model":truex})",
          R"({"investigation_id":"i","agent":"a","model":"m","gen_ai.request.model":nul})",
          R"({"investigation_id":"i","agent":"a","model":"m","gen_ai.request.model":1.})",
          R"({"investigation_id":)",
          "42",
          "[]",
          "\n\n",
          R"([{"investigation_id":"a","agent":"x"},{"agent":"x"},
               {"investigation_id":"c","agent":"x","tool_calls":-2}])",
          "{\"investigation_id\":\"a\",\"agent\":\"x\"}\n\n  \n{bad json\n"
          "{\"investigation_id\":\"c\",\"agent\":\"x\"}\n",
      }) {
    bodies.emplace_back(b);
  }
  // Every numeric field with every number form whose reading differs
  // between readers if done carelessly ("-0" is +0.0 to nlohmann).
  for (const char* field :
       {"estimated_cost_usd", "confidence", "duration_ms", "ts", "tool_calls", "input_tokens"}) {
    for (const char* number :
         {"-0", "0", "-0.0", "0.0", "1e2", "1E-3", "5.0", "0.1", "1e-400", "4611686018427387903",
          "4611686018427387904", "18446744073709551615", "18446744073709551616", "1795622340.5"}) {
      bodies.push_back(std::string(R"({"investigation_id":"i","agent":"a",")") + field +
                       "\":" + number + "}");
    }
  }
  // Bodies the fast path must refuse as a whole: over max_records (5), bytes after the array.
  std::string six = "[";
  for (int i = 0; i < 6; ++i) six += std::string(i ? "," : "") + kWellFormed[1];
  bodies.push_back(six + "]");
  bodies.push_back("[" + kWellFormed[1] + "] x");
  bodies.push_back("[" + kWellFormed[1] + "]]");
  const std::filesystem::path corpus =
      std::filesystem::path(AW_SOURCE_DIR) / "fuzz/corpus/fuzz_span_parser";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    // The fuzz target's first byte picks the format and limits.
    if (!text.str().empty()) bodies.push_back(text.str().substr(1));
    ++files;
  }
  EXPECT_GT(files, 0);
  for (const std::string& body : bodies) ExpectSame(body);
  for (const char* ts : {"1e11", "100000000000.5", "1e12", "-1", "-0", "0"}) {
    ExpectSame(std::string(R"({"investigation_id":"i","agent":"a","ts":)") + ts + "}",
               /*wide=*/true);
  }
}

// Random records around the edges: every field and alias, nulls, the wrong
// type, numbers in every JSON form, escapes, control bytes, non-ASCII,
// repeated and unknown keys, labels at and over their limits, broken
// syntax; bodies as NDJSON, arrays and single objects.
class RecordGenerator {
 public:
  explicit RecordGenerator(uint64_t seed) : rng_(seed) {}

  // `clean`: the values a well-behaved client sends (still any alias, null,
  // spacing and order), so the fast path reads most of them.
  std::string Record(bool clean) {
    clean_ = clean;
    std::vector<std::string> members;
    if (Chance(95)) members.push_back(Member(Pick(kIdNames), StringValue(true)));
    if (Chance(95)) members.push_back(Member(Pick(kAgentNames), AgentValue()));
    const int extra = Int(0, 10);
    for (int i = 0; i < extra; ++i) members.push_back(RandomMember());
    if (clean && Chance(50)) {  // one edge in an otherwise clean record
      clean_ = false;
      members.push_back(RandomMember());
      clean_ = true;
    }
    if (Chance(5) && !members.empty()) members.push_back(members[Index(members.size())]);
    std::shuffle(members.begin(), members.end(), rng_);
    std::string text = Space() + "{";
    for (size_t i = 0; i < members.size(); ++i) {
      if (i > 0) text += "," + Space();
      text += members[i];
    }
    text += Space() + "}" + Space();
    if (!clean_ && Chance(4)) text = Mangle(text);
    return text;
  }

  std::string Body() {
    const int n = Int(1, 7);
    std::vector<std::string> records;
    for (int i = 0; i < n; ++i) records.push_back(Record(Chance(50)));
    std::string body;
    switch (Int(0, 2)) {
      case 0:  // NDJSON-shaped
        for (const auto& r : records) body += r + (Chance(10) ? "\n\n" : "\n");
        break;
      case 1:  // an array
        body = "[";
        for (size_t i = 0; i < records.size(); ++i) body += (i ? "," : "") + records[i];
        body += "]";
        break;
      default:
        body = records[0];
    }
    if (Chance(3)) body = Mangle(body);
    return body;
  }

  // Values a clean record takes.
  std::string CleanValue(const char* name) {
    static constexpr const char* kCleanNumbers[] = {
        "0", "1", "42", "18234", "0.5", "0.093", "1e-3", "0.9999999999999999", "1E0", "12.5"};
    static constexpr const char* kCleanTimes[] = {"\"2026-11-25T15:59:00Z\"",
                                                  "\"2026-11-25T15:59:00.123+01:00\"", "1795622340",
                                                  "1795622340.5", "null"};
    const std::string n = name;
    if (n == "ts") return Pick(kCleanTimes);
    if (n == "labels") return Chance(10) ? "null" : R"({"env":"prod","team":"sre"})";
    for (const char* c : kCountNames) {
      if (n == c) return Chance(10) ? "null" : std::to_string(Int(0, 1'000'000));
    }
    for (const char* c : kNumberNames) {
      if (n == c) return Pick(kCleanNumbers);
    }
    return Chance(10) ? "null" : "\"s-" + std::to_string(Int(0, 99)) + "\"";
  }

 private:
  static constexpr const char* kIdNames[] = {"investigation_id", "gen_ai.conversation.id"};
  static constexpr const char* kAgentNames[] = {"agent", "agent.type", "gen_ai.agent.name"};
  static constexpr const char* kStringNames[] = {"model",
                                                 "gen_ai.request.model",
                                                 "response_model",
                                                 "gen_ai.response.model",
                                                 "provider",
                                                 "gen_ai.provider.name",
                                                 "gen_ai.system",
                                                 "finish_reason",
                                                 "incident_id",
                                                 "incident.id",
                                                 "gen_ai.response.finish_reasons"};
  static constexpr const char* kCountNames[] = {"input_tokens",
                                                "agent.total_input_tokens",
                                                "gen_ai.usage.input_tokens",
                                                "gen_ai.usage.prompt_tokens",
                                                "output_tokens",
                                                "agent.total_output_tokens",
                                                "gen_ai.usage.output_tokens",
                                                "gen_ai.usage.completion_tokens",
                                                "cache_read_tokens",
                                                "gen_ai.usage.cache_read.input_tokens",
                                                "gen_ai.usage.cache_read_input_tokens",
                                                "cache_creation_tokens",
                                                "gen_ai.usage.cache_creation.input_tokens",
                                                "gen_ai.usage.cache_write.input_tokens",
                                                "gen_ai.usage.cache_creation_input_tokens",
                                                "llm_calls",
                                                "agent.llm_calls",
                                                "tool_calls",
                                                "agent.tool_calls_made"};
  static constexpr const char* kNumberNames[] = {"estimated_cost_usd", "agent.estimated_cost_usd",
                                                 "gen_ai.usage.cost", "duration_ms", "confidence"};
  static constexpr const char* kNumbers[] = {"0",
                                             "1",
                                             "42",
                                             "18234",
                                             "-0",
                                             "-1",
                                             "5.0",
                                             "0.5",
                                             "1e2",
                                             "1E-3",
                                             "0.093",
                                             "01",
                                             "1.",
                                             ".5",
                                             "-",
                                             "1e",
                                             "2e+2",
                                             "1e400",
                                             "1e-400",
                                             "4611686018427387903",
                                             "4611686018427387904",
                                             "9223372036854775807",
                                             "18446744073709551615",
                                             "18446744073709551616",
                                             "123456789012345678901234",
                                             "1795622340",
                                             "1795622340.5",
                                             "1795622400123",
                                             "0.9999999999999999",
                                             "1e9",
                                             "1e12",
                                             "1000000000.0000001",
                                             "-0.0",
                                             "3.14159e0",
                                             "true",
                                             "false",
                                             "null",
                                             "nul",
                                             "tru",
                                             "\"7\"",
                                             "[1]",
                                             "{}",
                                             "NaN",
                                             "Infinity",
                                             "0x10",
                                             "+1"};
  static constexpr const char* kStrings[] = {"\"abc\"",
                                             "\"\"",
                                             "\"claude-sonnet-4-6\"",
                                             "\"m \xc3\xbc\"",
                                             "\"\xe5\x90\x8d\"",
                                             "\"a\\u0041\"",
                                             "\"a\\n\"",
                                             "\"\\ud800\"",
                                             "\"\\udc00\"",
                                             "\"a\tb\"",
                                             "\"a\x01\"",
                                             "\"a\x7f\"",
                                             "\"\xff\"",
                                             "\"\xed\xa0\x80\"",
                                             "\"end_turn\"",
                                             "[\"stop\"]",
                                             "[]",
                                             "[1]",
                                             "7",
                                             "null",
                                             "true",
                                             "{\"a\":1}",
                                             "\"a\\\"b\"",
                                             "\"a/b\"",
                                             "\"a\\/b\""};
  static constexpr const char* kTimes[] = {"\"2026-11-25T15:59:00Z\"",
                                           "\"2026-11-25T15:59:00.123+01:00\"",
                                           "\"2026-11-25T16:04:00Z\"",
                                           "\"2026-11-25T16:06:00Z\"",
                                           "\"2026-11-18T15:59:00Z\"",
                                           "\"2026-11-17T15:59:00Z\"",
                                           "\"bad\"",
                                           "\"2025-02-29T12:00:00Z\"",
                                           "\"2026-11-25t15:59:00z\""};
  static constexpr const char* kLabelNames[] = {"env",   "team",      "_x",       "a1", "1a", "__x",
                                                "agent", "alertname", "bad-name", "",   "x"};
  static constexpr const char* kUnknown[] = {"unknown", "Agent", "ts ", "labels2", "x"};

  bool Chance(int percent) { return Int(0, 99) < percent; }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  size_t Index(size_t n) { return static_cast<size_t>(Int(0, static_cast<int>(n) - 1)); }
  template <size_t N>
  const char* Pick(const char* const (&a)[N]) {
    return a[Index(N)];
  }
  std::string Space() {
    static constexpr const char* kSpaces[] = {"", "", "", " ", "\t", "\r", "  ", "\n"};
    return Chance(15) ? Pick(kSpaces) : "";
  }
  std::string Member(const std::string& name, const std::string& value) {
    return "\"" + name + "\"" + Space() + ":" + Space() + value;
  }
  std::string StringValue(bool id) {
    if (clean_ || Chance(70)) {
      std::string s =
          id ? "inv-" + std::to_string(Int(0, 1'000'000)) : "v" + std::to_string(Int(0, 9));
      if (Chance(3)) s = std::string(static_cast<size_t>(Int(120, 300)), 'x');
      return "\"" + s + "\"";
    }
    return Pick(kStrings);
  }
  std::string AgentValue() {
    if (clean_) return "\"agent-" + std::to_string(Int(0, 9)) + "\"";
    static constexpr const char* kAgents[] = {
        "\"ir\"",        "\"incident-response\"", "\"a b\"", "\"\"",
        "\"a:b.c_d-e\"", "\"\xc3\xbc\"",          "5",       "null"};
    if (Chance(10)) return "\"" + std::string(static_cast<size_t>(Int(60, 70)), 'a') + "\"";
    return Pick(kAgents);
  }
  std::string Labels() {
    if (Chance(10)) return Pick(kNumbers);
    std::string text = "{";
    const int n = Chance(10) ? Int(15, 18) : Int(0, 4);
    for (int i = 0; i < n; ++i) {
      if (i) text += ",";
      std::string name = Chance(70) ? "l" + std::to_string(Chance(5) ? 0 : i) : Pick(kLabelNames);
      std::string value = Chance(85) ? "\"v" + std::to_string(i) + "\"" : Pick(kStrings);
      if (Chance(2)) value = "\"" + std::string(static_cast<size_t>(Int(250, 260)), 'v') + "\"";
      text += Member(name, value);
    }
    return text + "}";
  }
  std::string RandomMember() {
    if (clean_) {
      static constexpr const char* kCleanNames[] = {"model",
                                                    "gen_ai.request.model",
                                                    "provider",
                                                    "gen_ai.system",
                                                    "finish_reason",
                                                    "incident_id",
                                                    "incident.id",
                                                    "input_tokens",
                                                    "tool_calls",
                                                    "llm_calls",
                                                    "agent.tool_calls_made",
                                                    "estimated_cost_usd",
                                                    "gen_ai.usage.cost",
                                                    "duration_ms",
                                                    "confidence",
                                                    "ts",
                                                    "labels"};
      const char* name = Pick(kCleanNames);
      return Member(name, CleanValue(name));
    }
    switch (Int(0, 6)) {
      case 0:
        return Member(Pick(kStringNames), StringValue(false));
      case 1:
      case 2:
        return Member(Pick(kCountNames), Pick(kNumbers));
      case 3:
        return Member(Pick(kNumberNames), Pick(kNumbers));
      case 4:
        return Member("ts", Chance(60) ? Pick(kTimes) : Pick(kNumbers));
      case 5:
        return Member("labels", Labels());
      default:
        return Chance(30) ? Member(Pick(kUnknown), Pick(kNumbers))
                          : Member(Pick(kCountNames), std::to_string(Int(0, 100000)));
    }
  }
  std::string Mangle(std::string text) {
    if (text.empty()) return text;
    const size_t at = Index(text.size());
    switch (Int(0, 3)) {
      case 0:
        return text.substr(0, at);
      case 1:
        text[at] = static_cast<char>(Int(0, 255));
        return text;
      case 2:
        return text.insert(at, Pick(kNumbers));
      default:
        text.erase(at, 1);
        return text;
    }
  }

  std::mt19937_64 rng_;
  bool clean_ = false;
};

TEST(SpanFastPathTest, SameResultOnRandomRecords) {
  RecordGenerator gen(20261130);
  SpanFastPath fast;
  int read_fast = 0;
  constexpr int kBodies = 8'000;
  for (int i = 0; i < kBodies; ++i) {
    const std::string body = gen.Body();
    ExpectSame(body);
    if (::testing::Test::HasFatalFailure()) return;
    Span span;
    read_fast += fast.ReadRecord(gen.Record(true), Options(), &span) ? 1 : 0;
  }
  // Clean records must mostly reach the fast path, or this test shows little.
  EXPECT_GT(read_fast, kBodies / 4) << read_fast;
}

}  // namespace
}  // namespace aw::ingest
