#pragma once

// The fast reader of /v1/spans records: simdjson ondemand for the records
// it can read exactly as the nlohmann reader (parser.cc) would, and a "no"
// for everything else (any error, any escape in the text, an unknown or
// repeated key, an array value), which the nlohmann reader then reads and
// words. So an accepted record and every error message are the nlohmann
// reader's, and the common well-formed record skips its DOM.
// Internal to daemon/ingest. Not thread-safe: one per parse.

#include <memory>
#include <optional>
#include <string_view>

#include "daemon/common/types.h"
#include "daemon/ingest/parser.h"

namespace aw::ingest {

class SpanFastPath {
 public:
  SpanFastPath();
  ~SpanFastPath();
  SpanFastPath(const SpanFastPath&) = delete;
  SpanFastPath& operator=(const SpanFastPath&) = delete;

  // True with *out set to what the nlohmann reader makes of `record` (the
  // text of one JSON object); false: ask the nlohmann reader.
  bool ReadRecord(std::string_view record, const ParseOptions& options, Span* out);

  // A BodyFormat::kJson body (one object or an array of objects) whose
  // every record the fast path reads: what ParseSpans returns for it.
  // nullopt otherwise.
  std::optional<Parsed<Span>> ReadJsonBody(std::string_view body, const ParseOptions& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aw::ingest
