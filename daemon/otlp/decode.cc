#include "daemon/otlp/decode.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "daemon/common/parse.h"
#include "daemon/otlp/otlp.pb.h"

namespace aw::otlp {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------- protobuf

AttrScalar ScalarFromPb(const pb::AnyValue& v) {
  switch (v.value_case()) {
    case pb::AnyValue::kStringValue:
      return v.string_value();
    case pb::AnyValue::kBoolValue:
      return v.bool_value();
    case pb::AnyValue::kIntValue:
      return static_cast<int64_t>(v.int_value());
    case pb::AnyValue::kDoubleValue:
      return v.double_value();
    case pb::AnyValue::kBytesValue:
      return ToHex(v.bytes_value());
    default:
      return std::monostate{};
  }
}

AttrValue ValueFromPb(const pb::AnyValue& v) {
  if (v.value_case() == pb::AnyValue::kArrayValue) {
    std::vector<AttrScalar> out;
    out.reserve(v.array_value().values_size());
    for (const pb::AnyValue& e : v.array_value().values()) out.push_back(ScalarFromPb(e));
    return out;
  }
  return std::visit([](auto&& s) -> AttrValue { return s; }, ScalarFromPb(v));
}

Attributes AttributesFromPb(const google::protobuf::RepeatedPtrField<pb::KeyValue>& kvs) {
  Attributes out;
  for (const pb::KeyValue& kv : kvs) out.Add(kv.key(), ValueFromPb(kv.value()));
  return out;
}

Result<TraceBatch> TracesFromProtobuf(std::string_view body) {
  pb::ExportTraceServiceRequest req;
  if (body.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Status::InvalidArgument("body: not a valid protobuf ExportTraceServiceRequest");
  }
  TraceBatch batch;
  for (const pb::ResourceSpans& rs : req.resource_spans()) {
    auto resource =
        std::make_shared<const Attributes>(AttributesFromPb(rs.resource().attributes()));
    for (const pb::ScopeSpans& ss : rs.scope_spans()) {
      for (const pb::Span& s : ss.spans()) {
        OtlpSpan span;
        span.trace_id = ToHex(s.trace_id());
        span.span_id = ToHex(s.span_id());
        span.parent_span_id = ToHex(s.parent_span_id());
        span.name = s.name();
        span.start_ns = s.start_time_unix_nano();
        span.end_ns = s.end_time_unix_nano();
        span.attributes = AttributesFromPb(s.attributes());
        span.resource = resource;
        batch.spans.push_back(std::move(span));
      }
    }
  }
  return batch;
}

Result<LogBatch> LogsFromProtobuf(std::string_view body) {
  pb::ExportLogsServiceRequest req;
  if (body.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Status::InvalidArgument("body: not a valid protobuf ExportLogsServiceRequest");
  }
  LogBatch batch;
  for (const pb::ResourceLogs& rl : req.resource_logs()) {
    auto resource =
        std::make_shared<const Attributes>(AttributesFromPb(rl.resource().attributes()));
    for (const pb::ScopeLogs& sl : rl.scope_logs()) {
      for (const pb::LogRecord& r : sl.log_records()) {
        OtlpLogRecord rec;
        rec.trace_id = ToHex(r.trace_id());
        rec.span_id = ToHex(r.span_id());
        rec.event_name = r.event_name();
        rec.time_ns = r.time_unix_nano();
        rec.observed_time_ns = r.observed_time_unix_nano();
        rec.attributes = AttributesFromPb(r.attributes());
        rec.resource = resource;
        batch.records.push_back(std::move(rec));
      }
    }
  }
  return batch;
}

// -------------------------------------------------------------------- JSON

// A decoding error at a JSON path; thrown and caught inside this file only.
struct JsonError {
  std::string message;
};

// Where we are in the document, as a chain on the stack: the text is only
// built for an error message, never on the hot path.
struct Path {
  const Path* parent = nullptr;
  const char* key = nullptr;  // a member name, or nullptr for an array index
  size_t index = 0;

  std::string str() const {
    std::string s = parent ? parent->str() : "";
    if (key) {
      if (!s.empty() && *key) s += '.';
      s += key;
    } else {
      s += '[';
      s += std::to_string(index);
      s += ']';
    }
    return s;
  }
  Path Key(const char* k) const { return Path{this, k, 0}; }
  Path At(size_t i) const { return Path{this, nullptr, i}; }
};

[[noreturn]] void Fail(const Path& path, const std::string& what) {
  throw JsonError{path.str() + ": " + what};
}

// The member under its lowerCamelCase name, else its snake_case name.
const json* Member(const json& obj, const char* camel, const char* snake = nullptr) {
  auto it = obj.find(camel);
  if (it != obj.end() && !it->is_null()) return &*it;
  if (snake) {
    it = obj.find(snake);
    if (it != obj.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

const json& Object(const json& v, const Path& path) {
  if (!v.is_object()) Fail(path, "expected an object");
  return v;
}

// A repeated field: absent or null is empty.
const json* Array(const json& obj, const char* camel, const char* snake, const Path& path) {
  const json* v = Member(obj, camel, snake);
  if (v && !v->is_array()) Fail(path.Key(camel), "expected an array");
  return v;
}

std::string String(const json& obj, const char* camel, const char* snake, const Path& path) {
  const json* v = Member(obj, camel, snake);
  if (!v) return "";
  if (!v->is_string()) Fail(path.Key(camel), "expected a string");
  return v->get<std::string>();
}

std::string HexId(const json& obj, const char* camel, const char* snake, const Path& path) {
  std::string s = String(obj, camel, snake, path);
  for (char& c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      Fail(path.Key(camel), "expected a hex string");
    }
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// A 64-bit integer: the JSON mapping writes it as a decimal string; numbers
// are accepted too.
template <typename T>
T Integer(const json& v, const Path& path) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) Fail(path, "out of range");
      return static_cast<T>(u);
    }
    const int64_t i = v.get<int64_t>();
    if (std::is_unsigned_v<T> && i < 0) Fail(path, "must not be negative");
    return static_cast<T>(i);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) ||
        d < static_cast<double>(std::numeric_limits<T>::min()) ||
        d >= static_cast<double>(std::numeric_limits<T>::max())) {
      Fail(path, "expected an integer");
    }
    return static_cast<T>(d);
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    T out{};
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, out);
    if (ec != std::errc() || ptr != end || s.empty()) {
      Fail(path, "expected an integer as a decimal string, got \"" + s.substr(0, 40) + "\"");
    }
    return out;
  }
  Fail(path, "expected an integer");
}

uint64_t Nanos(const json& obj, const char* camel, const char* snake, const Path& path) {
  const json* v = Member(obj, camel, snake);
  return v ? Integer<uint64_t>(*v, path.Key(camel)) : 0;
}

double Double(const json& v, const Path& path) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    // The JSON mapping spells the non-finite doubles as strings.
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  Fail(path, "expected a number");
}

AttrScalar ScalarFromJson(const json& v, const Path& path) {
  Object(v, path);
  if (const json* s = Member(v, "stringValue", "string_value")) {
    if (!s->is_string()) Fail(path.Key("stringValue"), "expected a string");
    return s->get<std::string>();
  }
  if (const json* b = Member(v, "boolValue", "bool_value")) {
    if (!b->is_boolean()) Fail(path.Key("boolValue"), "expected true or false");
    return b->get<bool>();
  }
  if (const json* i = Member(v, "intValue", "int_value")) {
    return Integer<int64_t>(*i, path.Key("intValue"));
  }
  if (const json* d = Member(v, "doubleValue", "double_value")) {
    return Double(*d, path.Key("doubleValue"));
  }
  if (const json* b = Member(v, "bytesValue", "bytes_value")) {
    // base64 in the JSON mapping: kept as sent, we never read it.
    if (!b->is_string()) Fail(path.Key("bytesValue"), "expected a string");
    return b->get<std::string>();
  }
  return std::monostate{};
}

AttrValue ValueFromJson(const json& v, const Path& path) {
  Object(v, path);
  if (const json* a = Member(v, "arrayValue", "array_value")) {
    const Path apath = path.Key("arrayValue");
    Object(*a, apath);
    std::vector<AttrScalar> out;
    if (const json* values = Array(*a, "values", nullptr, apath)) {
      out.reserve(values->size());
      const Path vpath = apath.Key("values");
      for (size_t i = 0; i < values->size(); ++i) {
        out.push_back(ScalarFromJson((*values)[i], vpath.At(i)));
      }
    }
    return out;
  }
  return std::visit([](auto&& s) -> AttrValue { return s; }, ScalarFromJson(v, path));
}

Attributes AttributesFromJson(const json& obj, const Path& path) {
  Attributes out;
  const json* kvs = Array(obj, "attributes", nullptr, path);
  if (!kvs) return out;
  const Path list = path.Key("attributes");
  for (size_t i = 0; i < kvs->size(); ++i) {
    const Path at = list.At(i);
    const json& kv = Object((*kvs)[i], at);
    std::string key = String(kv, "key", nullptr, at);
    const json* value = Member(kv, "value");
    out.Add(std::move(key), value ? ValueFromJson(*value, at.Key("value")) : AttrValue{});
  }
  return out;
}

std::shared_ptr<const Attributes> ResourceFromJson(const json& parent, const Path& path) {
  const json* r = Member(parent, "resource");
  if (!r) return std::make_shared<const Attributes>();
  const Path rpath = path.Key("resource");
  return std::make_shared<const Attributes>(AttributesFromJson(Object(*r, rpath), rpath));
}

json ParseJson(std::string_view body) {
  // OTLP nests values in values (kvlist, array): deep, but not this deep.
  constexpr int kMaxDepth = 64;
  if (const size_t at = JsonTooDeepAt(body, kMaxDepth)) {
    throw JsonError{"body: not valid JSON: nested deeper than " + std::to_string(kMaxDepth) +
                    " levels at byte " + std::to_string(at)};
  }
  json root = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) throw JsonError{"body: not valid JSON"};
  if (!root.is_object()) throw JsonError{"body: expected a JSON object"};
  return root;
}

TraceBatch TracesFromJsonOrThrow(std::string_view body) {
  const json root = ParseJson(body);
  const Path top{nullptr, "", 0};
  TraceBatch batch;
  const json* rss = Array(root, "resourceSpans", "resource_spans", top);
  if (!rss) return batch;
  const Path rlist = top.Key("resourceSpans");
  for (size_t i = 0; i < rss->size(); ++i) {
    const Path rpath = rlist.At(i);
    const json& rs = Object((*rss)[i], rpath);
    auto resource = ResourceFromJson(rs, rpath);
    const json* sss = Array(rs, "scopeSpans", "scope_spans", rpath);
    if (!sss) continue;
    const Path slist = rpath.Key("scopeSpans");
    for (size_t j = 0; j < sss->size(); ++j) {
      const Path spath = slist.At(j);
      const json& ss = Object((*sss)[j], spath);
      const json* spans = Array(ss, "spans", nullptr, spath);
      if (!spans) continue;
      const Path list = spath.Key("spans");
      batch.spans.reserve(batch.spans.size() + spans->size());
      for (size_t k = 0; k < spans->size(); ++k) {
        const Path path = list.At(k);
        const json& s = Object((*spans)[k], path);
        OtlpSpan span;
        span.trace_id = HexId(s, "traceId", "trace_id", path);
        span.span_id = HexId(s, "spanId", "span_id", path);
        span.parent_span_id = HexId(s, "parentSpanId", "parent_span_id", path);
        span.name = String(s, "name", nullptr, path);
        span.start_ns = Nanos(s, "startTimeUnixNano", "start_time_unix_nano", path);
        span.end_ns = Nanos(s, "endTimeUnixNano", "end_time_unix_nano", path);
        span.attributes = AttributesFromJson(s, path);
        span.resource = resource;
        batch.spans.push_back(std::move(span));
      }
    }
  }
  return batch;
}

LogBatch LogsFromJsonOrThrow(std::string_view body) {
  const json root = ParseJson(body);
  const Path top{nullptr, "", 0};
  LogBatch batch;
  const json* rls = Array(root, "resourceLogs", "resource_logs", top);
  if (!rls) return batch;
  const Path rlist = top.Key("resourceLogs");
  for (size_t i = 0; i < rls->size(); ++i) {
    const Path rpath = rlist.At(i);
    const json& rl = Object((*rls)[i], rpath);
    auto resource = ResourceFromJson(rl, rpath);
    const json* sls = Array(rl, "scopeLogs", "scope_logs", rpath);
    if (!sls) continue;
    const Path slist = rpath.Key("scopeLogs");
    for (size_t j = 0; j < sls->size(); ++j) {
      const Path spath = slist.At(j);
      const json& sl = Object((*sls)[j], spath);
      const json* recs = Array(sl, "logRecords", "log_records", spath);
      if (!recs) continue;
      const Path list = spath.Key("logRecords");
      for (size_t k = 0; k < recs->size(); ++k) {
        const Path path = list.At(k);
        const json& r = Object((*recs)[k], path);
        OtlpLogRecord rec;
        rec.trace_id = HexId(r, "traceId", "trace_id", path);
        rec.span_id = HexId(r, "spanId", "span_id", path);
        rec.event_name = String(r, "eventName", "event_name", path);
        rec.time_ns = Nanos(r, "timeUnixNano", "time_unix_nano", path);
        rec.observed_time_ns = Nanos(r, "observedTimeUnixNano", "observed_time_unix_nano", path);
        rec.attributes = AttributesFromJson(r, path);
        rec.resource = resource;
        batch.records.push_back(std::move(rec));
      }
    }
  }
  return batch;
}

std::string JsonResponse(const char* rejected_key, int64_t rejected, const std::string& message) {
  if (rejected == 0 && message.empty()) return "{}";
  json partial = json::object();
  // int64 as a decimal string, as the JSON mapping writes 64-bit integers.
  partial[rejected_key] = std::to_string(rejected);
  partial["errorMessage"] = message;
  return json{{"partialSuccess", partial}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::optional<Encoding> EncodingFromContentType(std::string_view content_type) {
  std::string base(content_type.substr(0, content_type.find(';')));
  while (!base.empty() && std::isspace(static_cast<unsigned char>(base.back()))) base.pop_back();
  size_t start = 0;
  while (start < base.size() && std::isspace(static_cast<unsigned char>(base[start]))) ++start;
  base = base.substr(start);
  for (char& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (base == "application/x-protobuf" || base == "application/protobuf") {
    return Encoding::kProtobuf;
  }
  if (base == "application/json") return Encoding::kJson;
  return std::nullopt;
}

Result<TraceBatch> DecodeTraces(std::string_view body, Encoding encoding) {
  try {
    if (encoding == Encoding::kProtobuf) return TracesFromProtobuf(body);
    return TracesFromJsonOrThrow(body);
  } catch (const JsonError& e) {
    return Status::InvalidArgument(e.message);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("body: out of memory while decoding");
  } catch (const std::exception& e) {
    // nlohmann accessors are guarded above; this is the backstop that keeps
    // a surprise from escaping the library.
    return Status::InvalidArgument(std::string("body: ") + e.what());
  }
}

Result<LogBatch> DecodeLogs(std::string_view body, Encoding encoding) {
  try {
    if (encoding == Encoding::kProtobuf) return LogsFromProtobuf(body);
    return LogsFromJsonOrThrow(body);
  } catch (const JsonError& e) {
    return Status::InvalidArgument(e.message);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("body: out of memory while decoding");
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("body: ") + e.what());
  }
}

std::string EncodeTraceResponse(int64_t rejected_spans, const std::string& error_message,
                                Encoding encoding) {
  if (encoding == Encoding::kJson) {
    return JsonResponse("rejectedSpans", rejected_spans, error_message);
  }
  pb::ExportTraceServiceResponse resp;
  if (rejected_spans != 0 || !error_message.empty()) {
    resp.mutable_partial_success()->set_rejected_spans(rejected_spans);
    resp.mutable_partial_success()->set_error_message(error_message);
  }
  return resp.SerializeAsString();
}

std::string EncodeLogsResponse(int64_t rejected_log_records, const std::string& error_message,
                               Encoding encoding) {
  if (encoding == Encoding::kJson) {
    return JsonResponse("rejectedLogRecords", rejected_log_records, error_message);
  }
  pb::ExportLogsServiceResponse resp;
  if (rejected_log_records != 0 || !error_message.empty()) {
    resp.mutable_partial_success()->set_rejected_log_records(rejected_log_records);
    resp.mutable_partial_success()->set_error_message(error_message);
  }
  return resp.SerializeAsString();
}

std::string EncodeRpcStatus(int32_t code, const std::string& message, Encoding encoding) {
  if (encoding == Encoding::kJson) {
    return json{{"code", code}, {"message", message}}.dump(-1, ' ', false,
                                                           json::error_handler_t::replace);
  }
  pb::RpcStatus status;
  status.set_code(code);
  status.set_message(message);
  return status.SerializeAsString();
}

}  // namespace aw::otlp
