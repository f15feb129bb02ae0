#pragma once

// OTLP/HTTP request bodies -> OtlpSpan / OtlpLogRecord values, and the reply
// bodies. Owns the wire formats only: no HTTP, no store, no mapping. The body
// is taken already decompressed (the server inflates gzip under its limit).
//
// Protobuf: the ExportTraceServiceRequest / ExportLogsServiceRequest messages
// (unknown fields are skipped). JSON: the OTLP JSON mapping: lowerCamelCase
// keys (snake_case accepted too, as protobuf's JSON parsers do), traceId /
// spanId as hex, 64-bit integers as decimal strings or numbers, enum values as
// numbers or names. Unknown JSON keys are ignored.
//
// Errors: a body that cannot be decoded returns InvalidArgument with a message
// naming where (e.g. "resourceSpans[0].scopeSpans[1].spans[3].traceId: expected
// a hex string"). Never throws and never crashes on any input (fuzzed).
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/common/status.h"
#include "daemon/otlp/otlp_types.h"

namespace aw::otlp {

enum class Encoding { kProtobuf, kJson };

// From a Content-Type header: "application/x-protobuf" -> kProtobuf,
// "application/json" (parameters such as charset ignored) -> kJson, anything
// else -> nullopt (415).
std::optional<Encoding> EncodingFromContentType(std::string_view content_type);

Result<TraceBatch> DecodeTraces(std::string_view body, Encoding encoding);
Result<LogBatch> DecodeLogs(std::string_view body, Encoding encoding);

// An ExportTraceServiceResponse: "{}" / empty message when rejected == 0 and
// the message is empty, else with partialSuccess {rejectedSpans, errorMessage}.
std::string EncodeTraceResponse(int64_t rejected_spans, const std::string& error_message,
                                Encoding encoding);
// An ExportLogsServiceResponse, likewise with rejectedLogRecords.
std::string EncodeLogsResponse(int64_t rejected_log_records, const std::string& error_message,
                               Encoding encoding);
// A google.rpc.Status for a 4xx/5xx reply. `code` is a google.rpc.Code
// (3 = INVALID_ARGUMENT, 8 = RESOURCE_EXHAUSTED, 14 = UNAVAILABLE).
std::string EncodeRpcStatus(int32_t code, const std::string& message, Encoding encoding);

}  // namespace aw::otlp
