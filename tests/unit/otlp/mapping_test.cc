#include "daemon/otlp/mapping.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/otlp/test_util.h"

namespace aw::otlp {
namespace {

using testing::kT0Ms;
using testing::SpanBuilder;

MappingOptions Options() {
  MappingOptions o;
  o.validation.now_ms = kT0Ms + 60'000;
  return o;
}

Result<MappedInvestigation> Map(const OtlpSpan& inv, const std::vector<OtlpSpan>& children = {},
                                const MappingOptions& o = Options()) {
  std::vector<ChildFacts> facts;
  for (const OtlpSpan& c : children) facts.push_back(FactsOf(c));
  std::vector<const ChildFacts*> ptrs;
  for (const ChildFacts& f : facts) ptrs.push_back(&f);
  return MapInvestigation(inv, ptrs, o);
}

Attributes Resource(std::vector<std::pair<std::string, std::string>> kv) {
  Attributes a;
  for (auto& [k, v] : kv) a.Add(k, v);
  return a;
}

// ---- which spans are investigations

TEST(MappingTest, WhichSpansAreInvestigations) {
  EXPECT_TRUE(IsInvestigation(SpanBuilder(1, 1).InvokeAgent("triage")));
  EXPECT_TRUE(IsInvestigation(SpanBuilder(1, 1).Str("agent.type", "incident-response")));
  EXPECT_FALSE(IsInvestigation(SpanBuilder(1, 1).Str("gen_ai.operation.name", "chat")));
  EXPECT_FALSE(IsInvestigation(SpanBuilder(1, 1).Tool("kubectl")));
  EXPECT_FALSE(IsInvestigation(SpanBuilder(1, 1).Str("gen_ai.agent.name", "x")));
}

// ---- agent

TEST(MappingTest, AgentFromAgentNameThenAgentTypeThenServiceName) {
  auto a = Map(SpanBuilder(1, 1)
                   .InvokeAgent("triage")
                   .Str("agent.type", "other")
                   .Resource(Resource({{"service.name", "svc"}})));
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->span.agent, "triage");
  auto b = Map(SpanBuilder(1, 1)
                   .Str("agent.type", "incident-response")
                   .Resource(Resource({{"service.name", "svc"}})));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->span.agent, "incident-response");
  auto c = Map(SpanBuilder(1, 1)
                   .Str("gen_ai.operation.name", "invoke_agent")
                   .Resource(Resource({{"service.name", "svc"}})));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->span.agent, "svc");
  auto d = Map(SpanBuilder(1, 1).Str("gen_ai.operation.name", "invoke_agent"));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("agent: is required"), std::string::npos);
  // The /v1/spans rules apply to the name.
  auto e = Map(SpanBuilder(1, 1).InvokeAgent("Incident Response"));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message().rfind("agent", 0), 0u) << e.status().message();
}

// ---- investigation_id

TEST(MappingTest, InvestigationIdFromAttributeThenTraceIdThenTraceSlashSpan) {
  auto a = Map(SpanBuilder(7, 2, 1).InvokeAgent("t").Str("investigation.id", "inv-7f3a"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->span.investigation_id, "inv-7f3a");
  auto root = Map(SpanBuilder(7, 2).InvokeAgent("t"));
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->span.investigation_id, testing::TraceId(7));
  auto nested = Map(SpanBuilder(7, 2, 1).InvokeAgent("t"));
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->span.investigation_id, testing::TraceId(7) + "/" + testing::SpanId(2));
}

TEST(MappingTest, MalformedIdsAreRejected) {
  OtlpSpan s = SpanBuilder(1, 1).InvokeAgent("t");
  s.trace_id = "abc";
  auto r = Map(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("traceId/spanId"), std::string::npos);
}

// ---- ts, duration_ms

TEST(MappingTest, TsIsSpanEndAndDurationIsEndMinusStart) {
  auto a = Map(SpanBuilder(1, 1).InvokeAgent("t").Times(250, 41'450));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->span.ts_ms, kT0Ms + 41'450);
  EXPECT_EQ(a->span.duration_ms, 41'200);
  auto back = Map(SpanBuilder(1, 1).InvokeAgent("t").Times(500, 400));
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find("duration_ms"), std::string::npos);
  // Too old for /v1/spans: rejected the same way.
  MappingOptions late = Options();
  late.validation.now_ms = kT0Ms + 30LL * 24 * 3600 * 1000;
  EXPECT_FALSE(Map(SpanBuilder(1, 1).InvokeAgent("t"), {}, late).ok());
}

// ---- tool_calls

TEST(MappingTest, ToolCallsFromTotalElseCountedDescendants) {
  std::vector<OtlpSpan> kids = {SpanBuilder(1, 2, 1).Tool("a"),
                                SpanBuilder(1, 3, 1).Str("gen_ai.tool.name", "b"),
                                SpanBuilder(1, 4, 1).Str("gen_ai.operation.name", "execute_tool"),
                                SpanBuilder(1, 5, 1).Chat(10, 1)};
  auto sent = Map(SpanBuilder(1, 1).Str("agent.type", "x").Int("agent.tool_calls_made", 9), kids);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->span.tool_calls, 9);
  auto counted = Map(SpanBuilder(1, 1).InvokeAgent("t"), kids);
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(counted->span.tool_calls, 3);
  auto none = Map(SpanBuilder(1, 1).InvokeAgent("t"));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->span.tool_calls, 0);  // a sample: no tools used
}

// ---- tokens

TEST(MappingTest, TokensFromTotalsThenOwnUsageThenDescendantSum) {
  std::vector<OtlpSpan> kids = {
      SpanBuilder(1, 2, 1).Chat(100, 10).Int("gen_ai.usage.cache_read.input_tokens", 5),
      SpanBuilder(1, 3, 1).Chat(200, 20).Int("gen_ai.usage.cache_creation.input_tokens", 7)};
  auto totals = Map(SpanBuilder(1, 1)
                        .Str("agent.type", "x")
                        .Int("agent.total_input_tokens", 18234)
                        .Int("agent.total_output_tokens", 2311)
                        .Int("gen_ai.usage.input_tokens", 1),
                    kids);
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->span.input_tokens, 18234);
  EXPECT_EQ(totals->span.output_tokens, 2311);
  EXPECT_EQ(totals->span.cache_read_tokens, 5);  // no total for it: summed
  EXPECT_EQ(totals->span.cache_creation_tokens, 7);
  auto own = Map(SpanBuilder(1, 1).InvokeAgent("t").Int("gen_ai.usage.input_tokens", 50), kids);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->span.input_tokens, 50);
  EXPECT_EQ(own->span.output_tokens, 30);
  auto summed = Map(SpanBuilder(1, 1).InvokeAgent("t"), kids);
  ASSERT_TRUE(summed.ok());
  EXPECT_EQ(summed->span.input_tokens, 300);
  EXPECT_EQ(summed->span.output_tokens, 30);
  auto nothing = Map(SpanBuilder(1, 1).InvokeAgent("t"));
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(nothing->span.input_tokens, std::nullopt);  // not a sample
}

TEST(MappingTest, NegativeOrNonIntegerCountsRejectTheInvestigation) {
  auto neg = Map(SpanBuilder(1, 1).Str("agent.type", "x").Int("agent.total_input_tokens", -5));
  ASSERT_FALSE(neg.ok());
  EXPECT_EQ(neg.status().message(), "input_tokens: must be a non-negative integer");
  auto text = Map(SpanBuilder(1, 1).Str("agent.type", "x").Str("agent.tool_calls_made", "many"));
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("tool_calls: must be a non-negative integer"),
            std::string::npos);
  // A JS SDK sends whole numbers as doubles: they are integers.
  auto dbl = Map(SpanBuilder(1, 1).Str("agent.type", "x").Attr("agent.tool_calls_made", 3.0));
  ASSERT_TRUE(dbl.ok());
  EXPECT_EQ(dbl->span.tool_calls, 3);
  // A child is never rejected: its bad count is ignored.
  auto child = Map(SpanBuilder(1, 1).InvokeAgent("t"),
                   {SpanBuilder(1, 2, 1).Chat(-100, 5), SpanBuilder(1, 3, 1).Chat(10, 5)});
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(child->span.input_tokens, 10);
}

// ---- llm_calls

TEST(MappingTest, LlmCallsCountDescendantsWithInputTokens) {
  auto a = Map(SpanBuilder(1, 1).Str("agent.type", "x").Int("agent.total_input_tokens", 5),
               {SpanBuilder(1, 2, 1).Chat(1, 1), SpanBuilder(1, 3, 1).Chat(2, 2),
                SpanBuilder(1, 4, 1).Str("gen_ai.operation.name", "chat")});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->span.llm_calls, 2);
}

// ---- cost

TEST(MappingTest, CostFromEstimatedCostElseLeftForPricing) {
  auto sent = Map(SpanBuilder(1, 1).Str("agent.type", "x").Attr("agent.estimated_cost_usd", 0.093));
  ASSERT_TRUE(sent.ok());
  EXPECT_DOUBLE_EQ(*sent->span.cost_usd, 0.093);
  EXPECT_TRUE(sent->cost_was_sent);
  auto priced = Map(SpanBuilder(1, 1).InvokeAgent("t"));
  ASSERT_TRUE(priced.ok());
  EXPECT_EQ(priced->span.cost_usd, std::nullopt);  // PriceSpan by model, downstream
  EXPECT_FALSE(priced->cost_was_sent);
  EXPECT_FALSE(
      Map(SpanBuilder(1, 1).Str("agent.type", "x").Attr("agent.estimated_cost_usd", -1.0)).ok());
}

// ---- model, response_model, provider

TEST(MappingTest, ModelFromSpanElseFirstModelCallByStart) {
  std::vector<OtlpSpan> kids = {SpanBuilder(1, 2, 1)
                                    .Chat(1, 1)
                                    .Times(500, 600)
                                    .Str("gen_ai.request.model", "late")
                                    .Str("gen_ai.provider.name", "p2"),
                                SpanBuilder(1, 3, 1)
                                    .Chat(1, 1)
                                    .Times(100, 900)
                                    .Str("gen_ai.request.model", "first")
                                    .Str("gen_ai.response.model", "first-2026")
                                    .Str("gen_ai.system", "anthropic"),
                                SpanBuilder(1, 4, 1).Tool("t").Times(0, 10)};
  auto own = Map(SpanBuilder(1, 1).InvokeAgent("t").Str("gen_ai.request.model", "mine"), kids);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->span.model, "mine");
  EXPECT_EQ(own->span.response_model, "first-2026");  // each empty field falls back
  EXPECT_EQ(own->span.provider, "anthropic");
  auto derived = Map(SpanBuilder(1, 1).InvokeAgent("t"), kids);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(derived->span.model, "first");
  EXPECT_EQ(derived->span.response_model, "first-2026");
  EXPECT_EQ(derived->span.provider, "anthropic");
  auto provider = Map(SpanBuilder(1, 1)
                          .InvokeAgent("t")
                          .Str("gen_ai.provider.name", "openai")
                          .Str("gen_ai.system", "x"));
  ASSERT_TRUE(provider.ok());
  EXPECT_EQ(provider->span.provider, "openai");
}

// ---- finish_reason

TEST(MappingTest, FinishReasonFromSpanElseLastModelCallByEnd) {
  auto arr = [](std::string s) { return AttrValue(std::vector<AttrScalar>{std::move(s)}); };
  std::vector<OtlpSpan> kids = {SpanBuilder(1, 2, 1).Chat(1, 1).Times(0, 900).Attr(
                                    "gen_ai.response.finish_reasons", arr("end_turn")),
                                SpanBuilder(1, 3, 1).Chat(1, 1).Times(0, 300).Attr(
                                    "gen_ai.response.finish_reasons", arr("tool_use"))};
  auto own = Map(
      SpanBuilder(1, 1).InvokeAgent("t").Attr("gen_ai.response.finish_reasons", arr("max_tokens")),
      kids);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->span.finish_reason, "max_tokens");
  auto single =
      Map(SpanBuilder(1, 1).InvokeAgent("t").Str("gen_ai.response.finish_reason", "stop"));
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->span.finish_reason, "stop");
  auto derived = Map(SpanBuilder(1, 1).InvokeAgent("t"), kids);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(derived->span.finish_reason, "end_turn");
}

// ---- confidence, incident_id

TEST(MappingTest, ConfidenceAndIncidentId) {
  auto a = Map(SpanBuilder(1, 1)
                   .Str("agent.type", "x")
                   .Attr("agent.confidence", 0.82)
                   .Str("incident.id", "INC-4411"));
  ASSERT_TRUE(a.ok());
  EXPECT_DOUBLE_EQ(*a->span.confidence, 0.82);
  EXPECT_EQ(a->span.incident_id, "INC-4411");
  auto out = Map(SpanBuilder(1, 1).Str("agent.type", "x").Attr("agent.confidence", 1.5));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message().rfind("confidence", 0), 0u) << out.status().message();
}

// ---- labels

TEST(MappingTest, LabelsFromSpanThenResourceThroughTheConfiguredMap) {
  auto a = Map(SpanBuilder(1, 1)
                   .InvokeAgent("t")
                   .Str("deployment.environment.name", "prod")
                   .Resource(Resource({{"deployment.environment.name", "staging"},
                                       {"gen_ai.agent.version", "1.4.0"}})));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->span.labels, (Labels{{"env", "prod"}, {"version", "1.4.0"}}));
  MappingOptions o = Options();
  o.labels = {{"team", "team.name"}, {"shard", "shard.id"}};
  auto b = Map(SpanBuilder(1, 1)
                   .InvokeAgent("t")
                   .Int("shard.id", 3)
                   .Str("deployment.environment.name", "prod"),
               {}, o);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->span.labels, (Labels{{"shard", "3"}}));
}

// ---- the fold: late equals on time

TEST(MappingTest, LateUpdatesGiveTheSameRecordAsJoiningOnTime) {
  auto arr = [](std::string s) { return AttrValue(std::vector<AttrScalar>{std::move(s)}); };
  std::vector<OtlpSpan> kids = {SpanBuilder(1, 2, 1)
                                    .Chat(100, 10)
                                    .Times(10, 200)
                                    .Str("gen_ai.request.model", "m1")
                                    .Attr("gen_ai.response.finish_reasons", arr("tool_use")),
                                SpanBuilder(1, 3, 1).Tool("kubectl").Times(210, 300),
                                SpanBuilder(1, 4, 1)
                                    .Chat(50, 5)
                                    .Times(5, 900)
                                    .Str("gen_ai.request.model", "m0")
                                    .Int("gen_ai.usage.cache_read.input_tokens", 7)
                                    .Attr("gen_ai.response.finish_reasons", arr("end_turn"))};
  const OtlpSpan inv = SpanBuilder(1, 1).InvokeAgent("t").Times(0, 1000);
  auto all = Map(inv, kids);
  ASSERT_TRUE(all.ok());
  std::vector<size_t> order = {0, 1, 2};
  do {
    for (size_t split = 0; split <= kids.size(); ++split) {
      std::vector<OtlpSpan> first;
      for (size_t k = 0; k < split; ++k) first.push_back(kids[order[k]]);
      auto part = Map(inv, first);
      ASSERT_TRUE(part.ok());
      Span s = part->span;
      Derivation d = part->derivation;
      for (size_t k = split; k < kids.size(); ++k) {
        ApplyLateUpdate(s, ApplyChild(d, FactsOf(kids[order[k]])));
      }
      EXPECT_EQ(s.tool_calls, all->span.tool_calls);
      EXPECT_EQ(s.llm_calls, all->span.llm_calls);
      EXPECT_EQ(s.input_tokens, all->span.input_tokens);
      EXPECT_EQ(s.output_tokens, all->span.output_tokens);
      EXPECT_EQ(s.cache_read_tokens, all->span.cache_read_tokens);
      EXPECT_EQ(s.model, all->span.model);
      EXPECT_EQ(s.finish_reason, all->span.finish_reason);
    }
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(all->span.model, "m0");
  EXPECT_EQ(all->span.finish_reason, "end_turn");
  EXPECT_EQ(all->span.input_tokens, 150);
  EXPECT_EQ(all->span.tool_calls, 1);
  EXPECT_EQ(all->span.llm_calls, 2);
}

}  // namespace
}  // namespace aw::otlp
