#include "daemon/otlp/mapping.h"

#include <nlohmann/json.hpp>

namespace aw::otlp {
namespace {

constexpr const char* kOperation = "gen_ai.operation.name";

bool IsHex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

const char* const kInputKeys[] = {"gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"};
const char* const kOutputKeys[] = {"gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"};
const char* const kCacheReadKeys[] = {"gen_ai.usage.cache_read.input_tokens",
                                      "gen_ai.usage.cache_read_input_tokens"};
const char* const kCacheCreationKeys[] = {"gen_ai.usage.cache_creation.input_tokens",
                                          "gen_ai.usage.cache_write.input_tokens",
                                          "gen_ai.usage.cache_creation_input_tokens"};

template <size_t N>
const char* FirstPresent(const Attributes& a, const char* const (&keys)[N]) {
  for (const char* k : keys) {
    if (a.Has(k)) return k;
  }
  return nullptr;
}

template <size_t N>
std::optional<int64_t> ChildUsage(const Attributes& a, const char* const (&keys)[N]) {
  const char* k = FirstPresent(a, keys);
  if (!k) return std::nullopt;
  auto v = a.Int(k);
  if (v && *v >= 0) return v;
  return std::nullopt;
}

std::string StringOf(const Attributes& a, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (auto s = a.String(k); s && !s->empty()) return *s;
  }
  return "";
}

std::string FinishReasonOf(const Attributes& a) {
  if (auto s = a.FirstString("gen_ai.response.finish_reasons"); s && !s->empty()) return *s;
  if (auto s = a.FirstString("gen_ai.response.finish_reason"); s && !s->empty()) return *s;
  return "";
}

// An attribute as label text: strings as they are, numbers and booleans
// spelled out; arrays and empty values are not labels.
std::optional<std::string> LabelText(const AttrValue* v) {
  if (!v) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(v)) {
    if (s->empty()) return std::nullopt;
    return *s;
  }
  if (const auto* b = std::get_if<bool>(v)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<int64_t>(v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(v)) return nlohmann::json(*d).dump();
  return std::nullopt;
}

// A count the investigation span sent: an integer (negative kept, so the
// validator rejects it with its usual message), or an error for other types.
Status SentCount(const Attributes& a, const char* key, const char* field,
                 std::optional<int64_t>* out) {
  if (!a.Has(key)) return Status::Ok();
  *out = a.Int(key);
  if (!*out) {
    return Status::InvalidArgument(std::string(field) + ": must be a non-negative integer (" + key +
                                   ")");
  }
  return Status::Ok();
}

}  // namespace

bool IsInvestigation(const OtlpSpan& span) {
  if (span.attributes.Has("agent.type")) return true;
  auto op = span.attributes.String(kOperation);
  return op && *op == "invoke_agent";
}

bool HasValidIds(const OtlpSpan& span) {
  return span.trace_id.size() == 32 && IsHex(span.trace_id) && span.span_id.size() == 16 &&
         IsHex(span.span_id) &&
         (span.parent_span_id.empty() ||
          (span.parent_span_id.size() == 16 && IsHex(span.parent_span_id)));
}

ChildFacts FactsOf(const OtlpSpan& span) {
  const Attributes& a = span.attributes;
  ChildFacts f;
  f.span_id = span.span_id;
  f.start_ns = span.start_ns;
  f.end_ns = span.end_ns;
  const auto op = a.String(kOperation).value_or("");
  f.is_tool = op == "execute_tool" || a.Has("gen_ai.tool.name");
  f.is_llm_call = a.Has("gen_ai.usage.input_tokens");
  f.input_tokens = ChildUsage(a, kInputKeys);
  f.output_tokens = ChildUsage(a, kOutputKeys);
  f.cache_read_tokens = ChildUsage(a, kCacheReadKeys);
  f.cache_creation_tokens = ChildUsage(a, kCacheCreationKeys);
  f.model = StringOf(a, {"gen_ai.request.model"});
  f.response_model = StringOf(a, {"gen_ai.response.model"});
  f.provider = StringOf(a, {"gen_ai.provider.name", "gen_ai.system"});
  f.finish_reason = FinishReasonOf(a);
  f.is_model_call = f.is_llm_call || op == "chat" || op == "text_completion" ||
                    op == "generate_content" || f.input_tokens || f.output_tokens ||
                    !f.model.empty() || !f.response_model.empty();
  // An LLM call reported on a tool span is still a tool call, but a tool
  // span is not a model call unless it carries usage.
  if (f.is_tool && !f.is_llm_call && !f.input_tokens && !f.output_tokens) {
    f.is_model_call = false;
  }
  return f;
}

LateUpdate ApplyChild(Derivation& d, const ChildFacts& c) {
  LateUpdate u;
  if (d.tool_calls && c.is_tool) u.add_tool_calls = 1;
  if (c.is_llm_call) u.add_llm_calls = 1;
  if (d.input_tokens && c.input_tokens) u.add_input_tokens = c.input_tokens;
  if (d.output_tokens && c.output_tokens) u.add_output_tokens = c.output_tokens;
  if (d.cache_read_tokens && c.cache_read_tokens) u.add_cache_read_tokens = c.cache_read_tokens;
  if (d.cache_creation_tokens && c.cache_creation_tokens) {
    u.add_cache_creation_tokens = c.cache_creation_tokens;
  }
  const bool gives_model = (d.model && !c.model.empty()) ||
                           (d.response_model && !c.response_model.empty()) ||
                           (d.provider && !c.provider.empty());
  if (c.is_model_call && gives_model) {
    const bool earlier =
        !d.has_model_source || c.start_ns < d.model_source_start_ns ||
        (c.start_ns == d.model_source_start_ns && c.span_id < d.model_source_span_id);
    if (earlier) {
      d.has_model_source = true;
      d.model_source_start_ns = c.start_ns;
      d.model_source_span_id = c.span_id;
      if (d.model) u.set_model = c.model;
      if (d.response_model) u.set_response_model = c.response_model;
      if (d.provider) u.set_provider = c.provider;
    }
  }
  if (d.finish_reason && c.is_model_call && !c.finish_reason.empty()) {
    const bool later = !d.has_finish_source || c.end_ns > d.finish_source_end_ns ||
                       (c.end_ns == d.finish_source_end_ns && c.span_id > d.finish_source_span_id);
    if (later) {
      d.has_finish_source = true;
      d.finish_source_end_ns = c.end_ns;
      d.finish_source_span_id = c.span_id;
      u.set_finish_reason = c.finish_reason;
    }
  }
  return u;
}

void ApplyLateUpdate(Span& s, const LateUpdate& u) {
  auto add = [](std::optional<int64_t>& field, const std::optional<int64_t>& delta) {
    if (delta) field = field.value_or(0) + *delta;
  };
  add(s.tool_calls, u.add_tool_calls);
  add(s.llm_calls, u.add_llm_calls);
  add(s.input_tokens, u.add_input_tokens);
  add(s.output_tokens, u.add_output_tokens);
  add(s.cache_read_tokens, u.add_cache_read_tokens);
  add(s.cache_creation_tokens, u.add_cache_creation_tokens);
  if (u.set_model) s.model = *u.set_model;
  if (u.set_response_model) s.response_model = *u.set_response_model;
  if (u.set_provider) s.provider = *u.set_provider;
  if (u.set_finish_reason) s.finish_reason = *u.set_finish_reason;
}

std::string InvestigationIdOf(const OtlpSpan& span) {
  const AttrValue* v = span.attributes.Find("investigation.id");
  if (auto text = LabelText(v)) return *text;
  if (span.parent_span_id.empty()) return span.trace_id;
  return span.trace_id + "/" + span.span_id;
}

Result<MappedInvestigation> MapInvestigation(const OtlpSpan& span,
                                             const std::vector<const ChildFacts*>& descendants,
                                             const MappingOptions& options) {
  const Attributes& a = span.attributes;
  static const Attributes kNoResource;
  const Attributes& r = span.resource ? *span.resource : kNoResource;
  if (!HasValidIds(span)) {
    return Status::InvalidArgument("traceId/spanId: must be 16 and 8 bytes (32 and 16 hex digits)");
  }
  MappedInvestigation out;
  Span& s = out.span;
  Derivation& d = out.derivation;

  s.agent = StringOf(a, {"gen_ai.agent.name", "agent.type"});
  if (s.agent.empty()) s.agent = StringOf(r, {"service.name"});
  if (s.agent.empty()) {
    return Status::InvalidArgument(
        "agent: is required (gen_ai.agent.name, agent.type or resource service.name)");
  }
  s.investigation_id = InvestigationIdOf(span);
  if (span.end_ns == 0) return Status::InvalidArgument("ts: endTimeUnixNano is required");
  if (span.end_ns < span.start_ns) {
    return Status::InvalidArgument("duration_ms: endTimeUnixNano is before startTimeUnixNano");
  }
  s.ts_ms = static_cast<TimeMs>(span.end_ns / 1'000'000);
  s.duration_ms = static_cast<int64_t>((span.end_ns - span.start_ns) / 1'000'000);

  Status st = SentCount(a, "agent.tool_calls_made", "tool_calls", &s.tool_calls);
  if (!st.ok()) return st;
  struct TokenField {
    std::optional<int64_t>* field;
    bool* derived;
    const char* total_key;  // agent.total_* (or nullptr)
    const char* name;
    const char* own_key;  // the span's own gen_ai.usage.* key present, if any
  };
  const TokenField tokens[] = {
      {&s.input_tokens, &d.input_tokens, "agent.total_input_tokens", "input_tokens",
       FirstPresent(a, kInputKeys)},
      {&s.output_tokens, &d.output_tokens, "agent.total_output_tokens", "output_tokens",
       FirstPresent(a, kOutputKeys)},
      {&s.cache_read_tokens, &d.cache_read_tokens, nullptr, "cache_read_tokens",
       FirstPresent(a, kCacheReadKeys)},
      {&s.cache_creation_tokens, &d.cache_creation_tokens, nullptr, "cache_creation_tokens",
       FirstPresent(a, kCacheCreationKeys)},
  };
  for (const TokenField& t : tokens) {
    const char* key = t.total_key && a.Has(t.total_key) ? t.total_key : t.own_key;
    if (key) {
      st = SentCount(a, key, t.name, t.field);
      if (!st.ok()) return st;
    } else {
      *t.derived = true;
    }
  }
  d.tool_calls = !s.tool_calls.has_value();
  if (d.tool_calls) s.tool_calls = 0;
  s.llm_calls = 0;

  if (a.Has("agent.estimated_cost_usd") || a.Has("gen_ai.usage.cost")) {
    const char* key =
        a.Has("agent.estimated_cost_usd") ? "agent.estimated_cost_usd" : "gen_ai.usage.cost";
    s.cost_usd = a.Double(key);
    if (!s.cost_usd) {
      return Status::InvalidArgument(std::string("estimated_cost_usd: must be a number (") + key +
                                     ")");
    }
    out.cost_was_sent = true;
  }
  s.model = StringOf(a, {"gen_ai.request.model"});
  s.response_model = StringOf(a, {"gen_ai.response.model"});
  s.provider = StringOf(a, {"gen_ai.provider.name", "gen_ai.system"});
  d.model = s.model.empty();
  d.response_model = s.response_model.empty();
  d.provider = s.provider.empty();
  s.finish_reason = FinishReasonOf(a);
  d.finish_reason = s.finish_reason.empty();
  if (a.Has("agent.confidence")) {
    s.confidence = a.Double("agent.confidence");
    if (!s.confidence) return Status::InvalidArgument("confidence: must be a number in 0..1");
  }
  s.incident_id = LabelText(a.Find("incident.id")).value_or("");
  for (const auto& [label, attr] : options.labels) {
    auto text = LabelText(a.Find(attr));
    if (!text) text = LabelText(r.Find(attr));
    if (text) s.labels[label] = *text;
  }

  for (const ChildFacts* c : descendants) ApplyLateUpdate(s, ApplyChild(d, *c));

  // The same checks and messages as /v1/spans, on the record it would read.
  auto valid = ingest::ValidateSpan(s, options.validation);
  if (!valid.ok()) return valid.status();
  s = std::move(valid).value();
  return out;
}

}  // namespace aw::otlp
