#include "daemon/otlp/logs.h"

#include <algorithm>
#include <cctype>

namespace aw::otlp {
namespace {

bool IsHexId(const std::string& s, size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

LogsResult VerdictsFromLogs(const LogBatch& batch, const LogsOptions& options, TimeMs now_ms) {
  LogsResult out;
  for (size_t i = 0; i < batch.records.size(); ++i) {
    const OtlpLogRecord& r = batch.records[i];
    const Attributes& a = r.attributes;
    // The event name is the LogRecord field in current OTLP; older SDKs put
    // it in an event.name attribute.
    std::string event = r.event_name;
    if (event.empty()) event = a.String("event.name").value_or("");
    const std::string evaluation = a.String("gen_ai.evaluation.name").value_or("");
    const std::string label = Lower(a.String("gen_ai.evaluation.score.label").value_or(""));
    Verdict verdict = Verdict::kNone;
    if (label == "confirm" || label == "confirmed") verdict = Verdict::kConfirm;
    if (label == "override" || label == "overridden") verdict = Verdict::kOverride;
    const bool wanted =
        std::find(options.verdict_evaluations.begin(), options.verdict_evaluations.end(),
                  evaluation) != options.verdict_evaluations.end();
    if (event != "gen_ai.evaluation.result" || !wanted || verdict == Verdict::kNone) {
      ++out.ignored;
      continue;
    }
    if (!IsHexId(r.trace_id, 32)) {
      ++out.rejected;
      if (out.error.empty()) {
        out.error = "logRecords[" + std::to_string(i) +
                    "].traceId: a verdict needs the trace id of its investigation";
      }
      continue;
    }
    OtlpVerdict v;
    v.trace_id = r.trace_id;
    v.span_id = IsHexId(r.span_id, 16) ? r.span_id : "";
    v.index = i;
    v.feedback.investigation_id = r.trace_id;
    v.feedback.verdict = verdict;
    const uint64_t ns = r.time_ns ? r.time_ns : r.observed_time_ns;
    v.feedback.ts_ms = ns ? static_cast<TimeMs>(ns / 1'000'000) : now_ms;
    // Not in the GenAI conventions; read when an agent sends them.
    v.feedback.actor = a.String("user.id").value_or(a.String("enduser.id").value_or(""));
    v.feedback.reason = a.String("gen_ai.evaluation.explanation").value_or("");
    v.feedback.agent = a.String("gen_ai.agent.name").value_or("");
    out.verdicts.push_back(std::move(v));
  }
  return out;
}

}  // namespace aw::otlp
