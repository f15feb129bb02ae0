#pragma once

// The JSON names each span field is read from, canonical name first, then
// its aliases in the order they win. Shared by the two span readers
// (parser.cc and span_fast_path.cc) so that they cannot drift apart.
// Internal to daemon/ingest.

#include <initializer_list>
#include <string_view>

#include "daemon/ingest/parser.h"

namespace aw::ingest::span_fields {

using Names = std::initializer_list<const char*>;

inline constexpr Names kInvestigationId = {"investigation_id", "gen_ai.conversation.id"};
inline constexpr Names kAgent = {"agent", "agent.type", "gen_ai.agent.name"};
inline constexpr Names kTs = {"ts"};
inline constexpr Names kModel = {"model", "gen_ai.request.model"};
inline constexpr Names kResponseModel = {"response_model", "gen_ai.response.model"};
inline constexpr Names kProvider = {"provider", "gen_ai.provider.name", "gen_ai.system"};
inline constexpr Names kInputTokens = {"input_tokens", "agent.total_input_tokens",
                                       "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"};
inline constexpr Names kOutputTokens = {"output_tokens", "agent.total_output_tokens",
                                        "gen_ai.usage.output_tokens",
                                        "gen_ai.usage.completion_tokens"};
inline constexpr Names kCacheReadTokens = {"cache_read_tokens",
                                           "gen_ai.usage.cache_read.input_tokens",
                                           "gen_ai.usage.cache_read_input_tokens"};
inline constexpr Names kCacheCreationTokens = {
    "cache_creation_tokens", "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation_input_tokens"};
inline constexpr Names kLlmCalls = {"llm_calls", "agent.llm_calls"};
inline constexpr Names kToolCalls = {"tool_calls", "agent.tool_calls_made"};
inline constexpr Names kCost = {"estimated_cost_usd", "agent.estimated_cost_usd",
                                "gen_ai.usage.cost"};
inline constexpr Names kDuration = {"duration_ms"};
inline constexpr Names kFinishReason = {"finish_reason", "gen_ai.response.finish_reasons"};
inline constexpr Names kConfidence = {"confidence"};
inline constexpr Names kIncidentId = {"incident_id", "incident.id"};
inline constexpr Names kLabels = {"labels"};

// Limits and ranges both readers check.
inline constexpr size_t kMaxIdBytes = 128;
inline constexpr size_t kMaxAgentBytes = 64;
inline constexpr size_t kMaxNameBytes = 256;  // model, response_model, provider
inline constexpr size_t kMaxFinishReasonBytes = 64;
inline constexpr size_t kMaxLabelValueBytes = 256;
inline constexpr double kMaxCostUsd = 1e9;
inline constexpr double kMaxDurationMs = 1e12;
inline constexpr double kMaxUnixSeconds = 1e11;

inline bool IsAgentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

inline bool IsIdChar(unsigned char c) { return c >= 0x20 && c != 0x7f; }

inline bool IsLabelName(std::string_view k) {
  if (k.empty() || k.size() > 64) return false;
  for (size_t i = 0; i < k.size(); ++i) {
    const char c = k[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return k.rfind("__", 0) != 0;
}

inline bool IsReservedLabel(std::string_view k) { return k == "agent" || k == "alertname"; }

inline bool IsTooOld(TimeMs t, const ParseOptions& opt) {
  return opt.now_ms - t > opt.max_event_age.count();
}
inline bool IsFuture(TimeMs t, const ParseOptions& opt) {
  return t - opt.now_ms > opt.max_clock_skew.count();
}

}  // namespace aw::ingest::span_fields
