#pragma once

// OTLP log records -> verdicts (CONTRACT.md, "/v1/logs"): an event named
// gen_ai.evaluation.result whose gen_ai.evaluation.name is one of the
// configured verdict evaluations and whose gen_ai.evaluation.score.label is
// confirm/confirmed or override/overridden is a Feedback on the
// investigation of its trace. Every other record is ignored, never rejected.
// Pure; thread-safe.

#include <string>
#include <vector>

#include "daemon/common/types.h"
#include "daemon/otlp/otlp_types.h"

namespace aw::otlp {

struct LogsOptions {
  std::vector<std::string> verdict_evaluations{"oncall_verdict"};
};

// A verdict and how to find its investigation. The store resolves it:
// the investigation whose span is (trace_id, span_id) when span_id names an
// investigation span; else by trace id as CONTRACT says for a bare trace id
// (the investigation whose id is the trace id, else the trace's
// earliest-started investigation). `feedback.investigation_id` is preset to
// the trace id (the common case: the agent span is the trace's root).
struct OtlpVerdict {
  Feedback feedback;
  std::string trace_id;
  std::string span_id;  // may be empty
  size_t index = 0;     // of the record in the request
};

struct LogsResult {
  std::vector<OtlpVerdict> verdicts;
  int64_t ignored = 0;   // records that are not verdicts
  int64_t rejected = 0;  // verdict events without a usable trace id
  std::string error;     // the first rejection's reason, for partialSuccess
};

// `now_ms` stamps a verdict whose record has neither time nor observed time.
LogsResult VerdictsFromLogs(const LogBatch& batch, const LogsOptions& options, TimeMs now_ms);

}  // namespace aw::otlp
