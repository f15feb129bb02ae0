#include "daemon/ingest/parser.h"

#include <cmath>
#include <initializer_list>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "daemon/common/parse.h"
#include "daemon/common/time_util.h"
#include "daemon/ingest/span_fast_path.h"
#include "daemon/ingest/span_fields.h"

namespace aw::ingest {

using json = nlohmann::json;

const char* RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kMalformed:
      return "malformed";
    case RejectReason::kInvalid:
      return "invalid";
    case RejectReason::kTooOld:
      return "too_old";
    case RejectReason::kFuture:
      return "future";
    case RejectReason::kTooMany:
      return "too_many";
  }
  return "invalid";
}

namespace {

// Records nest three levels (a body's array, a record, its labels): text
// nested deeper is refused before a parser builds it. A few MiB of "[" would
// otherwise take hundreds of MiB to parse, or to describe.
constexpr int kMaxJsonDepth = 32;

size_t TooDeepAt(std::string_view text) { return JsonTooDeepAt(text, kMaxJsonDepth); }

// `text` parsed, or discarded when it is not JSON or nests too deep.
json ParseWithinDepth(std::string_view text) {
  if (TooDeepAt(text)) return json(json::value_t::discarded);
  return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

// Where a text stops being JSON and why, for the error of a body or record
// that is not JSON: the byte, the field whose key or value broke (as a
// path: "model", "labels", "[2].verdict") and the parser's reason, e.g.
// `malformed JSON at byte 37, in "model": invalid string: ill-formed UTF-8
// byte`. Runs only on the error path: a second, SAX pass over the text.
class JsonErrorLocator : public json::json_sax_t {
 public:
  std::string Describe(std::string_view text) {
    json::sax_parse(text, this);
    if (too_deep_ && !failed_) {  // stopped at the level past the limit
      failed_ = true;
      position_ = TooDeepAt(text);
      reason_ = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    }
    if (!failed_) return "malformed JSON";
    std::string out = "malformed JSON at byte ";
    out += std::to_string(position_);
    if (!where_.empty()) {
      out += ", in \"";
      out += where_;
      out += '"';
    }
    out += ": ";
    out += reason_;
    return out;
  }

  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t) override { return Value(); }
  bool number_float(number_float_t, const string_t&) override { return Value(); }
  bool string(string_t&) override { return Value(); }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override { return Open(false); }
  bool key(string_t& k) override {
    stack_.back().key = k;
    stack_.back().has_key = true;
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(true); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& e) override {
    failed_ = true;
    position_ = position;
    where_ = Path();
    // "[json.exception.parse_error.101] parse error at line 1, column 9:
    // syntax error while parsing value - invalid literal; last read: 'x'":
    // the reason without the bytes read (they are the client's, any bytes).
    std::string what = e.what();
    const size_t dash = what.find(" - ");
    const size_t bracket = what.find("] ");
    if (dash != std::string::npos) {
      what = what.substr(dash + 3);
    } else if (bracket != std::string::npos) {
      what = what.substr(bracket + 2);
    }
    const std::string read = "; last read: '" + last_token + "'";
    if (const size_t at = what.find(read); at != std::string::npos) {
      what.erase(at, read.size());
    } else {
      what = what.substr(0, what.find("; last read"));
    }
    reason_ = what;
    return false;
  }

 private:
  struct Level {
    bool array = false;
    size_t index = 0;  // arrays: the element being read
    bool has_key = false;
    std::string key;  // objects: the last key read
  };
  bool Open(bool array) {
    if (stack_.size() == static_cast<size_t>(kMaxJsonDepth)) {
      too_deep_ = true;
      where_ = Path();
      if (where_.size() > 48) where_ = where_.substr(0, 48) + "...";
      return false;  // stops the parse
    }
    stack_.push_back(Level{array, 0, false, {}});
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return Value();
  }
  // A value ended: the next element of an array, or the next key of an
  // object (its last key is done with).
  bool Value() {
    if (stack_.empty()) return true;
    Level& l = stack_.back();
    if (l.array) {
      ++l.index;
    } else {
      l.has_key = false;
    }
    return true;
  }
  std::string Path() const {
    std::string path;
    for (const Level& l : stack_) {
      if (l.array) {
        path += '[';
        path += std::to_string(l.index);
        path += ']';
      } else if (l.has_key) {
        if (!path.empty()) path += '.';
        path += l.key;
      }
    }
    return path;
  }

  std::vector<Level> stack_;
  bool too_deep_ = false;
  bool failed_ = false;
  size_t position_ = 0;
  std::string where_;
  std::string reason_;
};

std::string MalformedJson(std::string_view what, std::string_view text) {
  std::string out(what);
  out += ": ";
  out += JsonErrorLocator().Describe(text);
  return out;
}

// A field error; thrown only inside this file, caught per record.
struct FieldError {
  std::string message;
  RejectReason reason = RejectReason::kInvalid;
};

[[noreturn]] void Fail(const std::string& field, const std::string& why,
                       RejectReason reason = RejectReason::kInvalid) {
  throw FieldError{field + ": " + why, reason};
}

// Finds the first present key among a field's name and its aliases.
// Returns nullptr (and sets *name to the canonical one) when absent.
const json* Find(const json& obj, std::initializer_list<const char*> names,
                 std::string* found_name) {
  for (const char* n : names) {
    auto it = obj.find(n);
    if (it != obj.end() && !it->is_null()) {
      *found_name = n;
      return &*it;
    }
  }
  *found_name = *names.begin();
  return nullptr;
}

std::string GetString(const json& obj, std::initializer_list<const char*> names,
                      const ParseOptions& opt, size_t max_len = 0) {
  std::string name;
  const json* v = Find(obj, names, &name);
  if (!v) return "";
  // OTel's finish_reasons is a string array: take the first.
  if (v->is_array() && !v->empty() && (*v)[0].is_string()) v = &(*v)[0];
  if (!v->is_string()) Fail(name, "must be a string");
  const std::string& s = v->get_ref<const std::string&>();
  const size_t limit = max_len ? max_len : opt.max_string_bytes;
  if (s.size() > limit) Fail(name, "must be at most " + std::to_string(limit) + " bytes");
  return s;
}

std::optional<int64_t> GetCount(const json& obj, std::initializer_list<const char*> names) {
  std::string name;
  const json* v = Find(obj, names, &name);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX / 2)) Fail(name, "is too large");
    return static_cast<int64_t>(u);
  }
  if (v->is_number_integer()) {
    const int64_t i = v->get<int64_t>();
    if (i < 0) Fail(name, "must be a non-negative integer");
    return i;
  }
  Fail(name, "must be a non-negative integer");
}

std::optional<double> GetNumber(const json& obj, std::initializer_list<const char*> names,
                                double min, double max, const char* range) {
  std::string name;
  const json* v = Find(obj, names, &name);
  if (!v) return std::nullopt;
  if (!v->is_number()) Fail(name, std::string("must be a number ") + range);
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    Fail(name, std::string("must be a number ") + range);
  }
  return d;
}

// Timestamps are RFC 3339 strings or Unix seconds. Absent: nullopt.
std::optional<TimeMs> GetTime(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) {
    auto t = ParseRfc3339(it->get_ref<const std::string&>());
    if (!t) Fail(name, "must be an RFC 3339 time such as 2026-11-25T16:00:00Z or Unix seconds");
    return t;
  }
  if (it->is_number()) {
    const double secs = it->get<double>();
    if (!std::isfinite(secs) || secs < 0 || secs > span_fields::kMaxUnixSeconds) {
      Fail(name, "must be Unix seconds (a non-negative number)");
    }
    return static_cast<TimeMs>(std::llround(secs * 1000.0));
  }
  Fail(name, "must be an RFC 3339 string or Unix seconds");
}

void CheckAge(TimeMs t, const char* name, const ParseOptions& opt) {
  if (span_fields::IsTooOld(t, opt)) {
    Fail(name, "is older than max_event_age (" + FormatDuration(opt.max_event_age) + ")",
         RejectReason::kTooOld);
  }
  if (span_fields::IsFuture(t, opt)) {
    Fail(name,
         "is more than max_clock_skew (" + FormatDuration(opt.max_clock_skew) + ") in the future",
         RejectReason::kFuture);
  }
}

std::string GetAgent(const json& obj, bool required) {
  std::string name;
  const json* v = Find(obj, span_fields::kAgent, &name);
  if (!v) {
    if (required) Fail("agent", "is required");
    return "";
  }
  if (!v->is_string()) Fail(name, "must be a string");
  const std::string& s = v->get_ref<const std::string&>();
  if (s.empty() || s.size() > span_fields::kMaxAgentBytes) Fail(name, "must be 1..64 characters");
  for (char c : s) {
    if (!span_fields::IsAgentChar(c)) Fail(name, "may contain only [a-zA-Z0-9_.:-]");
  }
  return s;
}

std::string GetId(const json& obj, std::initializer_list<const char*> names, bool required) {
  std::string name;
  const json* v = Find(obj, names, &name);
  if (!v) {
    if (required) Fail(name, "is required");
    return "";
  }
  if (!v->is_string()) Fail(name, "must be a string");
  const std::string& s = v->get_ref<const std::string&>();
  if (s.empty() || s.size() > span_fields::kMaxIdBytes) Fail(name, "must be 1..128 characters");
  for (unsigned char c : s) {
    if (!span_fields::IsIdChar(c)) Fail(name, "must not contain control characters");
  }
  return s;
}

Labels GetLabels(const json& obj, const ParseOptions& opt) {
  Labels labels;
  auto it = obj.find("labels");
  if (it == obj.end() || it->is_null()) return labels;
  if (!it->is_object()) Fail("labels", "must be an object of string values");
  if (it->size() > opt.max_labels) {
    Fail("labels", "at most " + std::to_string(opt.max_labels) + " pairs");
  }
  for (const auto& [k, v] : it->items()) {
    if (!span_fields::IsLabelName(k)) Fail("labels." + k, "name must match [a-zA-Z_][a-zA-Z0-9_]*");
    if (span_fields::IsReservedLabel(k)) Fail("labels." + k, "is a reserved label name");
    if (!v.is_string()) Fail("labels." + k, "must be a string");
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() > span_fields::kMaxLabelValueBytes)
      Fail("labels." + k, "must be at most 256 bytes");
    labels.emplace(k, s);
  }
  return labels;
}

Span ReadSpan(const json& j, const ParseOptions& opt) {
  namespace f = span_fields;
  Span s;
  s.investigation_id = GetId(j, f::kInvestigationId, true);
  s.agent = GetAgent(j, true);
  s.ts_ms = GetTime(j, "ts").value_or(opt.now_ms);
  s.model = GetString(j, f::kModel, opt, f::kMaxNameBytes);
  s.response_model = GetString(j, f::kResponseModel, opt, f::kMaxNameBytes);
  s.provider = GetString(j, f::kProvider, opt, f::kMaxNameBytes);
  s.input_tokens = GetCount(j, f::kInputTokens);
  s.output_tokens = GetCount(j, f::kOutputTokens);
  s.cache_read_tokens = GetCount(j, f::kCacheReadTokens);
  s.cache_creation_tokens = GetCount(j, f::kCacheCreationTokens);
  s.llm_calls = GetCount(j, f::kLlmCalls);
  s.tool_calls = GetCount(j, f::kToolCalls);
  static_assert(f::kMaxCostUsd == 1e9 && f::kMaxDurationMs == 1e12, "the errors name the bounds");
  s.cost_usd = GetNumber(j, f::kCost, 0, f::kMaxCostUsd, "(non-negative USD, at most 1e9)");
  if (auto d = GetNumber(j, f::kDuration, 0, f::kMaxDurationMs,
                         "(non-negative milliseconds, at most 1e12)")) {
    s.duration_ms = static_cast<int64_t>(std::llround(*d));
  }
  s.finish_reason = GetString(j, f::kFinishReason, opt, f::kMaxFinishReasonBytes);
  s.confidence = GetNumber(j, f::kConfidence, 0, 1, "between 0 and 1");
  s.incident_id = GetId(j, f::kIncidentId, false);
  s.labels = GetLabels(j, opt);
  CheckAge(s.ts_ms, "ts", opt);
  return s;
}

Feedback ReadFeedback(const json& j, const ParseOptions& opt) {
  Feedback f;
  f.investigation_id = GetId(j, {"investigation_id"}, true);
  auto v = j.find("verdict");
  if (v == j.end() || v->is_null()) Fail("verdict", "is required");
  if (!v->is_string()) Fail("verdict", "must be \"confirm\" or \"override\"");
  const std::string& verdict = v->get_ref<const std::string&>();
  if (verdict == "confirm") {
    f.verdict = Verdict::kConfirm;
  } else if (verdict == "override") {
    f.verdict = Verdict::kOverride;
  } else {
    Fail("verdict", "must be \"confirm\" or \"override\"");
  }
  f.ts_ms = GetTime(j, "ts").value_or(opt.now_ms);
  f.actor = GetString(j, {"actor"}, opt, 256);
  f.reason = GetString(j, {"reason"}, opt);
  f.agent = GetAgent(j, false);
  CheckAge(f.ts_ms, "ts", opt);
  return f;
}

Resolution ReadResolution(const json& j, const ParseOptions& opt) {
  Resolution r;
  r.incident_id = GetId(j, {"incident_id"}, false);
  r.investigation_id = GetId(j, {"investigation_id"}, false);
  if (r.incident_id.empty() && r.investigation_id.empty()) {
    Fail("incident_id", "incident_id or investigation_id is required");
  }
  if (!r.incident_id.empty() && !r.investigation_id.empty()) {
    Fail("incident_id", "give incident_id or investigation_id, not both");
  }
  r.resolved_at_ms = GetTime(j, "resolved_at").value_or(opt.now_ms);
  r.opened_at_ms = GetTime(j, "opened_at");
  r.time_to_resolve_s =
      GetNumber(j, {"time_to_resolve_s"}, 0, 1e10, "(non-negative seconds, at most 1e10)");
  if (r.opened_at_ms && *r.opened_at_ms > r.resolved_at_ms) {
    Fail("opened_at", "must not be after resolved_at");
  }
  CheckAge(r.resolved_at_ms, "resolved_at", opt);
  return r;
}

template <typename T, typename Reader>
Result<T> FromJson(const json& j, const ParseOptions& opt, Reader read) {
  if (!j.is_object()) return Status::InvalidArgument("record: must be a JSON object");
  try {
    return read(j, opt);
  } catch (const FieldError& e) {
    return Status::InvalidArgument(e.message);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("record: ") + e.what());
  }
}

template <typename T, typename Reader>
void AddRecord(Parsed<T>& out, int index, const json& j, const ParseOptions& opt, Reader read) {
  if (!j.is_object()) {
    out.errors.push_back({index, "record: must be a JSON object", RejectReason::kInvalid});
    return;
  }
  try {
    out.records.emplace_back(index, read(j, opt));
  } catch (const FieldError& e) {
    out.errors.push_back({index, e.message, e.reason});
  } catch (const json::exception& e) {
    out.errors.push_back({index, std::string("record: ") + e.what(), RejectReason::kInvalid});
  }
}

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// `fast`, when given, reads the records it can (span_fast_path.h); the
// others, and every error, go through `read`.
template <typename T, typename Reader>
Parsed<T> ParseBody(std::string_view body, BodyFormat format, const ParseOptions& opt, Reader read,
                    SpanFastPath* fast = nullptr) {
  Parsed<T> out;
  const auto too_many = [&](int n) {
    out.records.clear();
    out.errors.clear();
    out.errors.push_back({0,
                          "body: " + std::to_string(n) +
                              " records exceed max_records_per_request (" +
                              std::to_string(opt.max_records) + ")",
                          RejectReason::kTooMany});
    out.total = n;
  };
  if (format == BodyFormat::kNdjson) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start <= body.size()) {
      size_t end = body.find('\n', start);
      if (end == std::string_view::npos) end = body.size();
      std::string_view line = body.substr(start, end - start);
      if (!IsBlank(line)) lines.push_back(line);
      start = end + 1;
    }
    out.total = static_cast<int>(lines.size());
    if (out.total > opt.max_records) {
      too_many(out.total);
      return out;
    }
    for (int i = 0; i < out.total; ++i) {
      if constexpr (std::is_same_v<T, Span>) {
        Span span;
        if (fast != nullptr && fast->ReadRecord(lines[i], opt, &span)) {
          out.records.emplace_back(i, std::move(span));
          continue;
        }
      }
      json j = ParseWithinDepth(lines[i]);
      if (j.is_discarded()) {
        out.errors.push_back({i, MalformedJson("record", lines[i]), RejectReason::kMalformed});
        continue;
      }
      AddRecord(out, i, j, opt, read);
    }
    if (out.total == 0) {
      out.malformed = true;
      out.errors.push_back({0, "body: no records", RejectReason::kMalformed});
    }
    return out;
  }
  if constexpr (std::is_same_v<T, Span>) {
    if (fast != nullptr) {
      if (auto read_fast = fast->ReadJsonBody(body, opt)) return std::move(*read_fast);
    }
  }
  json doc = ParseWithinDepth(body);
  if (doc.is_discarded()) {
    out.malformed = true;
    out.errors.push_back({0, MalformedJson("body", body), RejectReason::kMalformed});
    return out;
  }
  if (doc.is_array()) {
    out.total = static_cast<int>(doc.size());
    if (out.total > opt.max_records) {
      too_many(out.total);
      return out;
    }
    if (out.total == 0) {
      out.malformed = true;
      out.errors.push_back({0, "body: empty array", RejectReason::kMalformed});
      return out;
    }
    for (int i = 0; i < out.total; ++i) AddRecord(out, i, doc[i], opt, read);
    return out;
  }
  if (doc.is_object()) {
    out.total = 1;
    AddRecord(out, 0, doc, opt, read);
    return out;
  }
  out.malformed = true;
  out.errors.push_back(
      {0, "body: must be a JSON object, an array of objects or NDJSON", RejectReason::kMalformed});
  return out;
}

void PutIf(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
template <typename T>
void PutIf(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

}  // namespace

Parsed<Span> ParseSpans(std::string_view body, BodyFormat format, const ParseOptions& options) {
  SpanFastPath fast;
  return ParseBody<Span>(body, format, options, ReadSpan, &fast);
}
Parsed<Span> ParseSpansWithoutFastPath(std::string_view body, BodyFormat format,
                                       const ParseOptions& options) {
  return ParseBody<Span>(body, format, options, ReadSpan);
}
Parsed<Feedback> ParseFeedback(std::string_view body, BodyFormat format,
                               const ParseOptions& options) {
  return ParseBody<Feedback>(body, format, options, ReadFeedback);
}
Parsed<Resolution> ParseResolutions(std::string_view body, BodyFormat format,
                                    const ParseOptions& options) {
  return ParseBody<Resolution>(body, format, options, ReadResolution);
}

namespace {

// Parses `text` as one record: the same checks and messages as a record of a
// body, "record: malformed JSON" when it is not JSON at all.
template <typename T, typename Reader>
Result<T> FromJsonText(std::string_view text, const ParseOptions& opt, Reader read) {
  const json j = ParseWithinDepth(text);
  if (j.is_discarded()) return Status::InvalidArgument(MalformedJson("record", text));
  return FromJson<T>(j, opt, read);
}

json SpanJson(const Span& s) {
  json j = {
      {"investigation_id", s.investigation_id}, {"agent", s.agent}, {"ts", FormatRfc3339(s.ts_ms)}};
  PutIf(j, "model", s.model);
  PutIf(j, "response_model", s.response_model);
  PutIf(j, "provider", s.provider);
  PutIf(j, "input_tokens", s.input_tokens);
  PutIf(j, "output_tokens", s.output_tokens);
  PutIf(j, "cache_read_tokens", s.cache_read_tokens);
  PutIf(j, "cache_creation_tokens", s.cache_creation_tokens);
  PutIf(j, "llm_calls", s.llm_calls);
  PutIf(j, "tool_calls", s.tool_calls);
  PutIf(j, "estimated_cost_usd", s.cost_usd);
  PutIf(j, "duration_ms", s.duration_ms);
  PutIf(j, "finish_reason", s.finish_reason);
  PutIf(j, "confidence", s.confidence);
  PutIf(j, "incident_id", s.incident_id);
  if (!s.labels.empty()) j["labels"] = s.labels;
  return j;
}

}  // namespace

Result<Span> SpanFromJson(std::string_view text, const ParseOptions& options) {
  return FromJsonText<Span>(text, options, ReadSpan);
}
Result<Feedback> FeedbackFromJson(std::string_view text, const ParseOptions& options) {
  return FromJsonText<Feedback>(text, options, ReadFeedback);
}
Result<Resolution> ResolutionFromJson(std::string_view text, const ParseOptions& options) {
  return FromJsonText<Resolution>(text, options, ReadResolution);
}

Result<Span> ValidateSpan(const Span& span, const ParseOptions& options) {
  return FromJson<Span>(SpanJson(span), options, ReadSpan);
}

std::string ToJson(const Span& span) { return SpanJson(span).dump(); }

std::string ToJson(const Feedback& f) {
  json j = {{"investigation_id", f.investigation_id},
            {"verdict", VerdictName(f.verdict)},
            {"ts", FormatRfc3339(f.ts_ms)}};
  PutIf(j, "actor", f.actor);
  PutIf(j, "reason", f.reason);
  PutIf(j, "agent", f.agent);
  return j.dump();
}

std::string ToJson(const Resolution& r) {
  json j = {{"resolved_at", FormatRfc3339(r.resolved_at_ms)}};
  PutIf(j, "incident_id", r.incident_id);
  PutIf(j, "investigation_id", r.investigation_id);
  if (r.opened_at_ms) j["opened_at"] = FormatRfc3339(*r.opened_at_ms);
  PutIf(j, "time_to_resolve_s", r.time_to_resolve_s);
  return j.dump();
}

}  // namespace aw::ingest
