#include "daemon/ingest/span_fast_path.h"

#include <simdjson.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

#include "daemon/common/time_util.h"
#include "daemon/ingest/span_fields.h"

namespace aw::ingest {

namespace od = simdjson::ondemand;

namespace {

enum Field {
  kInvestigationId,
  kAgent,
  kTs,
  kModel,
  kResponseModel,
  kProvider,
  kInputTokens,
  kOutputTokens,
  kCacheReadTokens,
  kCacheCreationTokens,
  kLlmCalls,
  kToolCalls,
  kCost,
  kDuration,
  kFinishReason,
  kConfidence,
  kIncidentId,
  kLabels,
  kFieldCount
};

// In Field order.
constexpr const span_fields::Names* kFieldNames[kFieldCount] = {
    &span_fields::kInvestigationId,
    &span_fields::kAgent,
    &span_fields::kTs,
    &span_fields::kModel,
    &span_fields::kResponseModel,
    &span_fields::kProvider,
    &span_fields::kInputTokens,
    &span_fields::kOutputTokens,
    &span_fields::kCacheReadTokens,
    &span_fields::kCacheCreationTokens,
    &span_fields::kLlmCalls,
    &span_fields::kToolCalls,
    &span_fields::kCost,
    &span_fields::kDuration,
    &span_fields::kFinishReason,
    &span_fields::kConfidence,
    &span_fields::kIncidentId,
    &span_fields::kLabels,
};
constexpr size_t kMaxAliases = 4;

struct KeyRef {
  Field field;
  size_t rank;  // 0 for the canonical name, then the aliases in the order they win
};

// Immutable after its first use; built once per process.
const std::unordered_map<std::string_view, KeyRef>& KeyTable() {
  static const auto* const table = [] {
    auto* t = new std::unordered_map<std::string_view, KeyRef>();
    for (int f = 0; f < kFieldCount; ++f) {
      size_t rank = 0;
      for (const char* name : *kFieldNames[f]) {
        t->emplace(name, KeyRef{static_cast<Field>(f), rank++});
      }
    }
    return t;
  }();
  return *table;
}

enum class Kind : uint8_t { kAbsent, kNull, kString, kNumber, kBool, kObject };

struct RawValue {
  Kind kind = Kind::kAbsent;
  std::string_view text;  // a string's content (it holds no escapes), a number's token
};

struct Record {
  std::array<std::array<RawValue, kMaxAliases>, kFieldCount> values;
  Labels labels;
};

// The value a field is read from: its first name present and not null,
// as the nlohmann reader's Find.
const RawValue* Winner(const Record& rec, Field f) {
  for (const RawValue& v : rec.values[f]) {
    if (v.kind != Kind::kAbsent && v.kind != Kind::kNull) return &v;
  }
  return nullptr;
}

bool HasControlChar(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20) return true;
  }
  return false;
}

std::string_view TrimTrailingSpace(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, the JSON number grammar:
// simdjson ondemand only looks at the first byte of a scalar it is not asked
// to convert.
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (IsDigit(s[i])) {
    while (i < n && IsDigit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  return i == n;
}

template <typename T>
bool FromChars(std::string_view token, T* out) {
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

// The double nlohmann's get<double>() gives for the token: integers are
// read as integers and converted (so "-0" is +0.0), the rest correctly
// rounded as strtod does. False where nlohmann would read it otherwise
// (integer overflow, which it reads as a float) or fail.
bool TokenToDouble(std::string_view token, double* out) {
  if (token.find_first_of(".eE") != std::string_view::npos) {
    return FromChars(token, out) && std::isfinite(*out);
  }
  if (token.front() == '-') {
    int64_t i = 0;
    if (!FromChars(token, &i)) return false;
    *out = static_cast<double>(i);
    return true;
  }
  uint64_t u = 0;
  if (!FromChars(token, &u)) return false;
  *out = static_cast<double>(u);
  return true;
}

bool ReadId(const Record& rec, Field f, bool required, std::string* out) {
  const RawValue* v = Winner(rec, f);
  if (v == nullptr) return !required;
  if (v->kind != Kind::kString || v->text.empty() || v->text.size() > span_fields::kMaxIdBytes) {
    return false;
  }
  for (unsigned char c : v->text) {
    if (!span_fields::IsIdChar(c)) return false;
  }
  out->assign(v->text);
  return true;
}

bool ReadAgent(const Record& rec, std::string* out) {
  const RawValue* v = Winner(rec, kAgent);
  if (v == nullptr || v->kind != Kind::kString || v->text.empty() ||
      v->text.size() > span_fields::kMaxAgentBytes) {
    return false;
  }
  for (char c : v->text) {
    if (!span_fields::IsAgentChar(c)) return false;
  }
  out->assign(v->text);
  return true;
}

bool ReadString(const Record& rec, Field f, size_t limit, std::string* out) {
  const RawValue* v = Winner(rec, f);
  if (v == nullptr) return true;
  if (v->kind != Kind::kString || v->text.size() > limit) return false;
  out->assign(v->text);
  return true;
}

bool ReadCount(const Record& rec, Field f, std::optional<int64_t>* out) {
  const RawValue* v = Winner(rec, f);
  if (v == nullptr) return true;
  // Only plain non-negative integers; "-0", "5.0" and the like are left to
  // the nlohmann reader.
  if (v->kind != Kind::kNumber || v->text.find_first_of("-.eE") != std::string_view::npos) {
    return false;
  }
  uint64_t u = 0;
  if (!FromChars(v->text, &u) || u > static_cast<uint64_t>(INT64_MAX / 2)) return false;
  *out = static_cast<int64_t>(u);
  return true;
}

bool ReadNumber(const Record& rec, Field f, double min, double max, std::optional<double>* out) {
  const RawValue* v = Winner(rec, f);
  if (v == nullptr) return true;
  double d = 0;
  if (v->kind != Kind::kNumber || !TokenToDouble(v->text, &d) || d < min || d > max) return false;
  *out = d;
  return true;
}

bool ReadTs(const Record& rec, const ParseOptions& opt, TimeMs* out) {
  const RawValue* v = Winner(rec, kTs);
  if (v == nullptr) {
    *out = opt.now_ms;
    return true;
  }
  if (v->kind == Kind::kString) {
    const std::optional<TimeMs> t = ParseRfc3339(std::string(v->text));
    if (!t) return false;
    *out = *t;
    return true;
  }
  double secs = 0;
  if (v->kind != Kind::kNumber || !TokenToDouble(v->text, &secs) || secs < 0 ||
      secs > span_fields::kMaxUnixSeconds) {
    return false;
  }
  *out = static_cast<TimeMs>(std::llround(secs * 1000.0));
  return true;
}

bool ReadLabels(od::value& value, const ParseOptions& opt, Labels* out) {
  od::object obj;
  if (value.get_object().get(obj)) return false;
  for (auto field_result : obj) {
    od::field field;
    std::string_view key, text;
    od::json_type type;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return false;
    od::value& v = field.value();
    if (v.type().get(type) || type != od::json_type::string || v.get_string().get(text)) {
      return false;
    }
    if (HasControlChar(text) || out->size() >= opt.max_labels || !span_fields::IsLabelName(key) ||
        span_fields::IsReservedLabel(key) || text.size() > span_fields::kMaxLabelValueBytes) {
      return false;
    }
    // A repeated name: nlohmann keeps the last value, words nothing; leave it to it.
    if (!out->emplace(std::string(key), std::string(text)).second) return false;
  }
  return true;
}

// Reads one field's value into its slot; false for what the fast path does
// not read.
bool ReadValue(od::value& v, Field field, const ParseOptions& opt, Record* rec, RawValue* slot) {
  od::json_type type;
  if (v.type().get(type)) return false;
  switch (type) {
    case od::json_type::string: {
      std::string_view text;
      if (v.get_string().get(text) || HasControlChar(text)) return false;
      *slot = {Kind::kString, text};
      return true;
    }
    case od::json_type::number: {
      const std::string_view token = TrimTrailingSpace(v.raw_json_token());
      // Also a value that loses to an alias: the nlohmann reader refuses
      // the whole body over a number out of a double's range (1e400).
      double value = 0;
      if (!IsJsonNumber(token) || !TokenToDouble(token, &value)) return false;
      *slot = {Kind::kNumber, token};
      return true;
    }
    case od::json_type::boolean: {
      const std::string_view token = TrimTrailingSpace(v.raw_json_token());
      if (token != "true" && token != "false") return false;
      *slot = {Kind::kBool, token};
      return true;
    }
    case od::json_type::null: {
      if (TrimTrailingSpace(v.raw_json_token()) != "null") return false;
      *slot = {Kind::kNull, {}};
      return true;
    }
    case od::json_type::object:
      if (field != kLabels || !ReadLabels(v, opt, &rec->labels)) return false;
      *slot = {Kind::kObject, {}};
      return true;
    case od::json_type::array:
      return false;  // finish_reasons arrays and the like: the nlohmann reader's
  }
  return false;
}

bool ReadSpanObject(od::object obj, const ParseOptions& opt, Record* rec, Span* out) {
  const auto& keys = KeyTable();
  for (auto field_result : obj) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return false;
    const auto it = keys.find(key);
    if (it == keys.end()) return false;  // unknown keys: nlohmann checks them
    RawValue& slot = rec->values[it->second.field][it->second.rank];
    if (slot.kind != Kind::kAbsent) return false;  // repeated: nlohmann keeps the last
    if (!ReadValue(field.value(), it->second.field, opt, rec, &slot)) return false;
  }
  Span& s = *out;
  namespace f = span_fields;
  if (!ReadId(*rec, kInvestigationId, true, &s.investigation_id) || !ReadAgent(*rec, &s.agent) ||
      !ReadTs(*rec, opt, &s.ts_ms) || !ReadString(*rec, kModel, f::kMaxNameBytes, &s.model) ||
      !ReadString(*rec, kResponseModel, f::kMaxNameBytes, &s.response_model) ||
      !ReadString(*rec, kProvider, f::kMaxNameBytes, &s.provider) ||
      !ReadCount(*rec, kInputTokens, &s.input_tokens) ||
      !ReadCount(*rec, kOutputTokens, &s.output_tokens) ||
      !ReadCount(*rec, kCacheReadTokens, &s.cache_read_tokens) ||
      !ReadCount(*rec, kCacheCreationTokens, &s.cache_creation_tokens) ||
      !ReadCount(*rec, kLlmCalls, &s.llm_calls) || !ReadCount(*rec, kToolCalls, &s.tool_calls) ||
      !ReadNumber(*rec, kCost, 0, f::kMaxCostUsd, &s.cost_usd) ||
      !ReadString(*rec, kFinishReason, f::kMaxFinishReasonBytes, &s.finish_reason) ||
      !ReadNumber(*rec, kConfidence, 0, 1, &s.confidence) ||
      !ReadId(*rec, kIncidentId, false, &s.incident_id)) {
    return false;
  }
  std::optional<double> duration;
  if (!ReadNumber(*rec, kDuration, 0, f::kMaxDurationMs, &duration)) return false;
  if (duration) s.duration_ms = static_cast<int64_t>(std::llround(*duration));
  if (f::IsTooOld(s.ts_ms, opt) || f::IsFuture(s.ts_ms, opt)) return false;
  const RawValue* labels = Winner(*rec, kLabels);
  if (labels != nullptr && labels->kind != Kind::kObject) return false;
  s.labels = std::move(rec->labels);
  return true;
}

// Text the fast path reads: no escapes (their decoding differs in corner
// cases: lone surrogates), no control bytes but JSON whitespace.
bool IsPlainText(std::string_view text) {
  if (std::memchr(text.data(), '\\', text.size()) != nullptr) return false;
  for (unsigned char c : text) {
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

bool AtEnd(od::document& doc) { return doc.current_location().error() == simdjson::OUT_OF_BOUNDS; }

}  // namespace

struct SpanFastPath::Impl {
  od::parser parser;
  std::string padded;  // the text, then SIMDJSON_PADDING readable bytes

  simdjson::simdjson_result<od::document> Iterate(std::string_view text) {
    padded.assign(text);
    padded.resize(text.size() + simdjson::SIMDJSON_PADDING, ' ');
    return parser.iterate(padded.data(), text.size(), padded.size());
  }
};

SpanFastPath::SpanFastPath() : impl_(std::make_unique<Impl>()) {}
SpanFastPath::~SpanFastPath() = default;

bool SpanFastPath::ReadRecord(std::string_view record, const ParseOptions& options, Span* out) {
  if (!IsPlainText(record)) return false;
  od::document doc;
  od::object obj;
  if (impl_->Iterate(record).get(doc) || doc.get_object().get(obj)) return false;
  Record rec;
  Span span;
  if (!ReadSpanObject(obj, options, &rec, &span) || !AtEnd(doc)) return false;
  *out = std::move(span);
  return true;
}

std::optional<Parsed<Span>> SpanFastPath::ReadJsonBody(std::string_view body,
                                                       const ParseOptions& options) {
  if (!IsPlainText(body)) return std::nullopt;
  od::document doc;
  od::json_type type;
  if (impl_->Iterate(body).get(doc) || doc.type().get(type)) return std::nullopt;
  Parsed<Span> out;
  if (type == od::json_type::object) {
    od::object obj;
    Record rec;
    Span span;
    if (doc.get_object().get(obj) || !ReadSpanObject(obj, options, &rec, &span) || !AtEnd(doc)) {
      return std::nullopt;
    }
    out.total = 1;
    out.records.emplace_back(0, std::move(span));
    return out;
  }
  od::array array;
  if (type != od::json_type::array || doc.get_array().get(array)) return std::nullopt;
  int index = 0;
  for (auto element : array) {
    od::object obj;
    Record rec;
    Span span;
    // Over max_records: the nlohmann reader words the refusal.
    if (index >= options.max_records || std::move(element).get_object().get(obj) ||
        !ReadSpanObject(obj, options, &rec, &span)) {
      return std::nullopt;
    }
    out.records.emplace_back(index++, std::move(span));
  }
  if (index == 0 || !AtEnd(doc)) return std::nullopt;
  out.total = index;
  return out;
}

}  // namespace aw::ingest
