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

#include <nlohmann/json_fwd.hpp>

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
Parsed<Feedback> ParseFeedback(std::string_view body, BodyFormat format,
                               const ParseOptions& options);
Parsed<Resolution> ParseResolutions(std::string_view body, BodyFormat format,
                                    const ParseOptions& options);

// One record from an already-parsed JSON object (rule tests, replay).
// The error's message names the field.
Result<Span> SpanFromJson(const nlohmann::json& j, const ParseOptions& options);
Result<Feedback> FeedbackFromJson(const nlohmann::json& j, const ParseOptions& options);
Result<Resolution> ResolutionFromJson(const nlohmann::json& j, const ParseOptions& options);

// Serialises a record back to its canonical JSON (store, replay output).
nlohmann::json ToJson(const Span& span);
nlohmann::json ToJson(const Feedback& feedback);
nlohmann::json ToJson(const Resolution& resolution);

}  // namespace aw::ingest
