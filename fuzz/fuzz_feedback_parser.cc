// ParseFeedback and ParseResolutions over JSON and NDJSON bodies. The
// first byte picks the parser and format; the rest is the body.

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
  const auto format = (mode & 1) ? aw::ingest::BodyFormat::kNdjson : aw::ingest::BodyFormat::kJson;
  if (mode & 2) {
    auto parsed = aw::ingest::ParseResolutions(body, format, opts);
    for (const auto& [index, r] : parsed.records) {
      (void)index;
      if (r.incident_id.empty() == r.investigation_id.empty()) __builtin_trap();
      const std::string text = aw::ingest::ToJson(r);
      auto back = aw::ingest::ResolutionFromJson(text, opts);
      if (!back.ok()) __builtin_trap();
    }
  } else {
    auto parsed = aw::ingest::ParseFeedback(body, format, opts);
    for (const auto& [index, f] : parsed.records) {
      (void)index;
      if (f.verdict == aw::Verdict::kNone) __builtin_trap();
      const std::string text = aw::ingest::ToJson(f);
      auto back = aw::ingest::FeedbackFromJson(text, opts);
      if (!back.ok() || back->verdict != f.verdict) __builtin_trap();
    }
  }
  return 0;
}
