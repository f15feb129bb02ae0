#pragma once

// OTLP spans -> agentwatch investigations (CONTRACT.md, "OTLP/HTTP"): which
// spans are investigations, what each descendant contributes, and the Span
// record of an investigation with its descendants. Pure functions of their
// arguments; thread-safe.
//
// Invariant: an investigation built from a set of descendants equals the one
// built from a subset followed by a LateUpdate for each remaining descendant
// (the fold is order-independent), so joining a child late gives the same
// record as joining it on time.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/common/status.h"
#include "daemon/common/types.h"
#include "daemon/ingest/parser.h"
#include "daemon/otlp/otlp_types.h"

namespace aw::otlp {

struct MappingOptions {
  // Label name -> attribute, looked up on the span, then on its resource.
  Labels labels{{"env", "deployment.environment.name"}, {"version", "gen_ai.agent.version"}};
  // The same validation /v1/spans applies (now_ms must be set per request).
  ingest::ParseOptions validation;
};

// `gen_ai.operation.name` = `invoke_agent`, or an `agent.type` attribute.
bool IsInvestigation(const OtlpSpan& span);

// True when the ids have the lengths OTLP requires (16-byte trace id, 8-byte
// span id, parent empty or 8 bytes). Spans failing this cannot be joined.
bool HasValidIds(const OtlpSpan& span);

// What a non-investigation span contributes to the investigation it
// descends from. Small: the assembler holds these, not whole spans.
struct ChildFacts {
  std::string span_id;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  bool is_tool = false;        // execute_tool, or a gen_ai.tool.name attribute
  bool is_llm_call = false;    // carries gen_ai.usage.input_tokens
  bool is_model_call = false;  // an LLM call, or any gen_ai.usage.* / request model
  // Negative or non-integer usage values are dropped (a child is never rejected).
  std::optional<int64_t> input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens;
  std::string model, response_model, provider, finish_reason;
};
ChildFacts FactsOf(const OtlpSpan& span);

// Which fields of an investigation come from its descendants, and the
// descendants that decided the model and finish reason so far.
struct Derivation {
  bool tool_calls = false;
  bool input_tokens = false;
  bool output_tokens = false;
  bool cache_read_tokens = false;
  bool cache_creation_tokens = false;
  // Each of model, response_model and provider that the span leaves empty is
  // taken from the earliest-started model-call descendant carrying one.
  bool model = false;
  bool response_model = false;
  bool provider = false;
  bool finish_reason = false;  // empty on the span
  // Ties on time are broken by span id, so the fold does not depend on order.
  bool has_model_source = false;
  uint64_t model_source_start_ns = 0;  // the earliest-started model-call descendant
  std::string model_source_span_id;
  bool has_finish_source = false;
  uint64_t finish_source_end_ns = 0;  // the latest-ended one with a finish reason
  std::string finish_source_span_id;
};

// A change to a stored investigation from a descendant that arrived after
// it. add_*: add to the stored value (an absent stored value counts as 0);
// nullopt leaves the field alone. set_*: replace the stored value.
// Cost is not carried: the stored cost, when it was not sent as
// agent.estimated_cost_usd, is re-priced from the new tokens.
struct LateUpdate {
  std::string investigation_id;
  std::string agent;
  std::string trace_id;
  std::string child_span_id;  // the descendant that caused it (dedup key)
  std::optional<int64_t> add_tool_calls;
  std::optional<int64_t> add_llm_calls;
  std::optional<int64_t> add_input_tokens;
  std::optional<int64_t> add_output_tokens;
  std::optional<int64_t> add_cache_read_tokens;
  std::optional<int64_t> add_cache_creation_tokens;
  std::optional<std::string> set_model, set_response_model, set_provider;
  std::optional<std::string> set_finish_reason;
  bool cost_was_sent = false;  // true: the investigation's cost is fixed, do not re-price

  bool empty() const {
    return !add_tool_calls && !add_llm_calls && !add_input_tokens && !add_output_tokens &&
           !add_cache_read_tokens && !add_cache_creation_tokens && !set_model &&
           !set_response_model && !set_provider && !set_finish_reason;
  }
};

// Folds one descendant into `derivation` and returns the change it makes
// (investigation_id, agent and trace_id are left for the caller). The update
// is empty when the descendant changes nothing, e.g. a tool span under an
// investigation that sent agent.tool_calls_made: the sent total wins.
LateUpdate ApplyChild(Derivation& derivation, const ChildFacts& child);

// Applies a LateUpdate to a Span (tests, and a store that keeps Span values).
void ApplyLateUpdate(Span& span, const LateUpdate& update);

struct MappedInvestigation {
  Span span;
  Derivation derivation;
  bool cost_was_sent = false;
};

// The investigation record of `span` (IsInvestigation(span) must hold) with
// `descendants` joined, validated as /v1/spans validates. Errors name the
// field: "input_tokens: must be a non-negative integer".
Result<MappedInvestigation> MapInvestigation(const OtlpSpan& span,
                                             const std::vector<const ChildFacts*>& descendants,
                                             const MappingOptions& options);

// The investigation id of an investigation span (CONTRACT's rule).
std::string InvestigationIdOf(const OtlpSpan& span);

}  // namespace aw::otlp
