#pragma once

// JSON -> validated records. Pure: the time ("now") and the limits are passed
// in. Every error names the field and the reason, e.g.
// "tool_calls: must be a non-negative integer".
//
// Owns the JSON record formats of CONTRACT.md; a record it returns is valid
// (no later stage re-checks it). Pure functions; thread-safe.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/common/status.h"
#include "daemon/common/types.h"

namespace aw::ingest {

enum class BodyFormat { kJson, kNdjson };

struct ParseOptions {
  TimeMs now_ms = 0;
  Millis max_event_age{7LL * 24 * 3600 * 1000};  // older: "too_old"
  Millis max_clock_skew{5 * 60 * 1000};          // further ahead: rejected
  int64_t max_records = 10'000;
  size_t max_labels = 16;
  size_t max_string_bytes = 1024;  // any string field
};

// Why a record was rejected, for agentwatch_ingest_rejected_total{reason}.
enum class RejectReason { kMalformed, kInvalid, kTooOld, kFuture, kTooMany };
const char* RejectReasonName(RejectReason r);  // malformed|invalid|too_old|future|too_many

struct RecordError {
  int index = 0;
  std::string error;  // "tool_calls: must be a non-negative integer"
  RejectReason reason = RejectReason::kInvalid;
};

template <typename T>
struct Parsed {
  std::vector<std::pair<int, T>> records;  // (index, record), in body order
  std::vector<RecordError> errors;
  int total = 0;           // records seen (blank NDJSON lines not counted)
  bool malformed = false;  // the body as a whole could not be read
};

// A body is one object, an array of objects, or NDJSON.
Parsed<Span> ParseSpans(std::string_view body, BodyFormat format, const ParseOptions& options);
// ParseSpans through the nlohmann reader alone: the reference the fast
// path (span_fast_path.h) is tested against; same result, slower.
Parsed<Span> ParseSpansWithoutFastPath(std::string_view body, BodyFormat format,
                                       const ParseOptions& options);
Parsed<Feedback> ParseFeedback(std::string_view body, BodyFormat format,
                               const ParseOptions& options);
Parsed<Resolution> ParseResolutions(std::string_view body, BodyFormat format,
                                    const ParseOptions& options);

// One record from the text of a JSON object (rule tests, replay). The
// error's message names the field; "record: malformed JSON" for text that
// is not JSON.
Result<Span> SpanFromJson(std::string_view json_object, const ParseOptions& options);
Result<Feedback> FeedbackFromJson(std::string_view json_object, const ParseOptions& options);
Result<Resolution> ResolutionFromJson(std::string_view json_object, const ParseOptions& options);

// A span built from another source (OTLP) through the same checks, with
// the same messages, as a /v1/spans record; returns it as /v1/spans would
// have read it.
Result<Span> ValidateSpan(const Span& span, const ParseOptions& options);

// Serialises a record back to its canonical JSON text (store, replay
// output). Throws on invalid UTF-8, which the parsers never accept.
std::string ToJson(const Span& span);
std::string ToJson(const Feedback& feedback);
std::string ToJson(const Resolution& resolution);

}  // namespace aw::ingest
