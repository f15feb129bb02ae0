// ParseSpans over JSON and NDJSON bodies. The first byte picks the format
// and a limit set; the rest is the body. Accepted records must serialise.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/ingest/parser.h"

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
