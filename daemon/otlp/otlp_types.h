#pragma once

// The OTLP records agentwatch reads, decoded from protobuf or JSON into plain
// values that carry no protobuf or JSON types. Ids are lowercase hex as the
// OTLP JSON mapping writes them (empty when absent); lengths are not checked
// here (the mapping does). Immutable values; safe to share between threads.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace aw::otlp {

// A scalar attribute value. Bytes values are kept as lowercase hex; nested
// key-value lists are not read (kept as monostate).
using AttrScalar = std::variant<std::monostate, std::string, bool, int64_t, double>;
// An attribute value: a scalar or an array of scalars (nested arrays inside
// an array are not read).
using AttrValue =
    std::variant<std::monostate, std::string, bool, int64_t, double, std::vector<AttrScalar>>;

// A small attribute map in the order sent. Spans carry tens of attributes,
// so a linear scan beats hashing. On a repeated key the first one wins.
class Attributes {
 public:
  void Add(std::string key, AttrValue value) {
    items_.emplace_back(std::move(key), std::move(value));
  }
  const AttrValue* Find(std::string_view key) const {
    for (const auto& [k, v] : items_) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  bool Has(std::string_view key) const { return Find(key) != nullptr; }
  // The value as a string (string values only), or nullopt.
  std::optional<std::string> String(std::string_view key) const;
  // An integer: an int value, an integral double, or a decimal string.
  std::optional<int64_t> Int(std::string_view key) const;
  // A number: int, double, or a numeric string.
  std::optional<double> Double(std::string_view key) const;
  // The first element of an array of strings, or a plain string value.
  std::optional<std::string> FirstString(std::string_view key) const;

  const std::vector<std::pair<std::string, AttrValue>>& items() const { return items_; }
  size_t size() const { return items_.size(); }

 private:
  std::vector<std::pair<std::string, AttrValue>> items_;
};

// One span as sent. The resource's attributes are shared by every span of
// its ResourceSpans.
struct OtlpSpan {
  std::string trace_id;        // 32 hex digits when valid
  std::string span_id;         // 16 hex digits when valid
  std::string parent_span_id;  // empty for a root span
  std::string name;
  uint64_t start_ns = 0;  // Unix nanoseconds
  uint64_t end_ns = 0;
  Attributes attributes;
  std::shared_ptr<const Attributes> resource;  // never null after decoding
};

struct TraceBatch {
  std::vector<OtlpSpan> spans;  // in request order
};

// One log record as sent (only what the evaluation events need).
struct OtlpLogRecord {
  std::string trace_id;
  std::string span_id;
  std::string event_name;  // the event_name field; empty when absent
  uint64_t time_ns = 0;
  uint64_t observed_time_ns = 0;
  Attributes attributes;
  std::shared_ptr<const Attributes> resource;  // never null after decoding
};

struct LogBatch {
  std::vector<OtlpLogRecord> records;
};

// Lowercase hex of raw bytes.
std::string ToHex(std::string_view bytes);

}  // namespace aw::otlp
