// ParseSpans over JSON and NDJSON bodies. The first byte picks the format
// and a limit set; the rest is the body. Accepted records must serialise,
// and the simdjson fast path must give exactly what the nlohmann reader
// alone gives (ParseSpansWithoutFastPath): the same records, errors and
// messages.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "daemon/ingest/parser.h"

namespace {

bool SameDouble(const std::optional<double>& a, const std::optional<double>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || std::memcmp(&*a, &*b, sizeof(double)) == 0;
}

bool SameSpan(const aw::Span& a, const aw::Span& b) {
  return a.investigation_id == b.investigation_id && a.agent == b.agent && a.ts_ms == b.ts_ms &&
         a.model == b.model && a.response_model == b.response_model && a.provider == b.provider &&
         a.input_tokens == b.input_tokens && a.output_tokens == b.output_tokens &&
         a.cache_read_tokens == b.cache_read_tokens &&
         a.cache_creation_tokens == b.cache_creation_tokens && a.llm_calls == b.llm_calls &&
         a.tool_calls == b.tool_calls && SameDouble(a.cost_usd, b.cost_usd) &&
         a.duration_ms == b.duration_ms && a.finish_reason == b.finish_reason &&
         SameDouble(a.confidence, b.confidence) && a.incident_id == b.incident_id &&
         a.labels == b.labels;
}

bool SameParsed(const aw::ingest::Parsed<aw::Span>& a, const aw::ingest::Parsed<aw::Span>& b) {
  if (a.total != b.total || a.malformed != b.malformed || a.errors.size() != b.errors.size() ||
      a.records.size() != b.records.size()) {
    return false;
  }
  for (size_t i = 0; i < a.errors.size(); ++i) {
    if (a.errors[i].index != b.errors[i].index || a.errors[i].error != b.errors[i].error ||
        a.errors[i].reason != b.errors[i].reason) {
      return false;
    }
  }
  for (size_t i = 0; i < a.records.size(); ++i) {
    if (a.records[i].first != b.records[i].first ||
        !SameSpan(a.records[i].second, b.records[i].second)) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  aw::ingest::ParseOptions opts;
  opts.now_ms = 1'764'000'000'000;
  if (mode & 2) opts.max_records = 3;
  if (mode & 4) opts.max_labels = 2;
  const auto format = (mode & 1) ? aw::ingest::BodyFormat::kNdjson : aw::ingest::BodyFormat::kJson;
  auto parsed = aw::ingest::ParseSpans(body, format, opts);
  if (!SameParsed(parsed, aw::ingest::ParseSpansWithoutFastPath(body, format, opts))) {
    __builtin_trap();
  }
  for (const auto& [index, span] : parsed.records) {
    (void)index;
    // What the store does with an accepted record; throws on bad UTF-8.
    const std::string text = aw::ingest::ToJson(span);
    auto back = aw::ingest::SpanFromJson(text, opts);
    if (!back.ok() || back->investigation_id != span.investigation_id) __builtin_trap();
  }
  if (static_cast<int64_t>(parsed.records.size()) > opts.max_records) __builtin_trap();
  return 0;
}
