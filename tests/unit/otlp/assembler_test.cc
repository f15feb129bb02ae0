#include "daemon/otlp/assembler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>

#include "daemon/common/clock.h"
#include "daemon/otlp/decode.h"
#include "tests/testing/fake_clock.h"
#include "tests/unit/otlp/test_util.h"

namespace aw::otlp {
namespace {

using testing::Batch;
using testing::kT0Ms;
using testing::SpanBuilder;
using namespace std::chrono_literals;

AssemblerOptions Opts(int64_t max_pending = 100'000, Millis window = 2min) {
  AssemblerOptions o;
  o.assembly_window = window;
  o.max_pending_spans = max_pending;
  return o;
}

// A GenAI agent: invoke_agent (1) with chat (2), execute_tool (3) and a chat
// inside the tool (4); no totals.
OtlpSpan Agent(int trace) { return SpanBuilder(trace, 1).InvokeAgent("triage").Times(0, 5000); }
OtlpSpan Chat(int trace) { return SpanBuilder(trace, 2, 1).Chat(1200, 300).Times(20, 800); }
OtlpSpan Tool(int trace) { return SpanBuilder(trace, 3, 1).Tool("get_logs").Times(900, 950); }
OtlpSpan Nested(int trace) { return SpanBuilder(trace, 4, 3).Chat(400, 50).Times(910, 940); }

class AssemblerTest : public ::testing::Test {
 protected:
  AssemblyResult Send(std::vector<OtlpSpan> spans) {
    return assembler_.Ingest(Batch(std::move(spans)), clock_.NowMs());
  }
  FakeClock clock_{kT0Ms + 10'000};
  Assembler assembler_{Opts()};
};

TEST_F(AssemblerTest, ChildrenBeforeTheParentAreJoinedWhenItArrives) {
  auto r1 = Send({Chat(1), Nested(1)});
  EXPECT_TRUE(r1.investigations.empty());
  EXPECT_EQ(assembler_.counters().waiting, 2);
  clock_.Advance(1s);
  auto r2 = Send({Tool(1)});
  EXPECT_TRUE(r2.investigations.empty());
  clock_.Advance(1s);
  auto r3 = Send({Agent(1)});
  ASSERT_EQ(r3.investigations.size(), 1u);
  const Span& s = r3.investigations[0].span;
  EXPECT_EQ(s.investigation_id, testing::TraceId(1));
  EXPECT_EQ(s.agent, "triage");
  EXPECT_EQ(s.tool_calls, 1);
  EXPECT_EQ(s.llm_calls, 2);
  EXPECT_EQ(s.input_tokens, 1600);
  EXPECT_EQ(s.output_tokens, 350);
  EXPECT_EQ(r3.investigations[0].joined_span_ids,
            (std::vector<std::string>{testing::SpanId(2), testing::SpanId(3), testing::SpanId(4)}));
  EXPECT_TRUE(r3.late_updates.empty());
  const auto c = assembler_.counters();
  EXPECT_EQ(c.joined_total, 3);
  EXPECT_EQ(c.waiting, 0);
  EXPECT_EQ(c.held, 3);  // kept for the window: later descendants may chain through them
}

TEST_F(AssemblerTest, ChildrenWithTheParentInOneRequest) {
  auto r = Send({Nested(1), Agent(1), Tool(1), Chat(1)});
  ASSERT_EQ(r.investigations.size(), 1u);
  EXPECT_EQ(r.investigations[0].span.tool_calls, 1);
  EXPECT_EQ(r.investigations[0].span.llm_calls, 2);
  EXPECT_EQ(r.investigations[0].index, 1u);
  EXPECT_TRUE(r.late_updates.empty());
}

TEST_F(AssemblerTest, ChildrenAfterTheParentAreLateUpdatesExactlyOnce) {
  auto r1 = Send({Agent(1)});
  ASSERT_EQ(r1.investigations.size(), 1u);
  EXPECT_EQ(r1.investigations[0].span.tool_calls, 0);
  EXPECT_EQ(r1.investigations[0].span.input_tokens, std::nullopt);
  Span stored = r1.investigations[0].span;

  clock_.Advance(30s);
  // The grandchild arrives before the tool span it hangs from: held, then
  // joined through it when the tool span arrives.
  auto r2 = Send({Nested(1)});
  EXPECT_TRUE(r2.late_updates.empty());
  auto r3 = Send({Tool(1), Chat(1)});
  ASSERT_EQ(r3.late_updates.size(), 3u);
  for (const LateUpdate& u : r3.late_updates) {
    EXPECT_EQ(u.investigation_id, testing::TraceId(1));
    EXPECT_EQ(u.agent, "triage");
    EXPECT_FALSE(u.cost_was_sent);
    ApplyLateUpdate(stored, u);
  }
  EXPECT_EQ(stored.tool_calls, 1);
  EXPECT_EQ(stored.llm_calls, 2);
  EXPECT_EQ(stored.input_tokens, 1600);
  EXPECT_EQ(stored.output_tokens, 350);
  EXPECT_EQ(assembler_.counters().joined_late_total, 3);

  // A client retry of the same spans changes nothing.
  auto again = Send({Tool(1), Chat(1), Nested(1), Agent(1)});
  EXPECT_TRUE(again.late_updates.empty());
  EXPECT_TRUE(again.investigations.empty());
  EXPECT_EQ(again.duplicates, 4);
  EXPECT_EQ(assembler_.counters().joined_late_total, 3);
}

TEST_F(AssemblerTest, SeedAgentTotalsWinOverLateChildren) {
  auto root = SpanBuilder(5, 1)
                  .Str("agent.type", "incident-response")
                  .Int("agent.total_input_tokens", 18234)
                  .Int("agent.total_output_tokens", 2311)
                  .Int("agent.tool_calls_made", 3)
                  .Attr("agent.estimated_cost_usd", 0.093)
                  .Str("incident.id", "INC-4411");
  auto r1 = Send({root, SpanBuilder(5, 2, 1).Chat(9000, 1000)});
  ASSERT_EQ(r1.investigations.size(), 1u);
  const Span& s = r1.investigations[0].span;
  EXPECT_EQ(s.agent, "incident-response");
  EXPECT_EQ(s.input_tokens, 18234);
  EXPECT_EQ(s.tool_calls, 3);
  EXPECT_EQ(s.llm_calls, 1);
  EXPECT_TRUE(r1.investigations[0].cost_was_sent);
  auto r2 = Send({SpanBuilder(5, 3, 1).Str("gen_ai.tool.name", "kubectl"),
                  SpanBuilder(5, 4, 1).Chat(9234, 1311)});
  // The tool span changes nothing (tool_calls was sent); the chat adds an LLM call only.
  ASSERT_EQ(r2.late_updates.size(), 1u);
  EXPECT_EQ(r2.late_updates[0].add_llm_calls, 1);
  EXPECT_EQ(r2.late_updates[0].add_input_tokens, std::nullopt);
  EXPECT_EQ(r2.late_updates[0].add_tool_calls, std::nullopt);
  EXPECT_TRUE(r2.late_updates[0].cost_was_sent);
  EXPECT_EQ(assembler_.counters().joined_late_total, 2);
}

TEST_F(AssemblerTest, NestedInvestigationsEachKeepTheirOwnDescendants) {
  // outer agent (1) -> inner agent (2) -> chat (3); outer -> tool (4)
  auto r =
      Send({SpanBuilder(1, 3, 2).Chat(10, 1), SpanBuilder(1, 4, 1).Tool("x"),
            SpanBuilder(1, 2, 1).InvokeAgent("inner"), SpanBuilder(1, 1).InvokeAgent("outer")});
  ASSERT_EQ(r.investigations.size(), 2u);
  std::map<std::string, Span> by_agent;
  for (auto& i : r.investigations) by_agent[i.span.agent] = i.span;
  EXPECT_EQ(by_agent["outer"].tool_calls, 1);
  EXPECT_EQ(by_agent["outer"].llm_calls, 0);
  EXPECT_EQ(by_agent["inner"].llm_calls, 1);
  EXPECT_EQ(by_agent["inner"].investigation_id, testing::TraceId(1) + "/" + testing::SpanId(2));
}

TEST_F(AssemblerTest, AgentUnderAServerSpan) {
  auto r = Send({SpanBuilder(1, 9).Times(0, 6000), SpanBuilder(1, 1, 9).InvokeAgent("triage"),
                 SpanBuilder(1, 2, 1).Chat(5, 5)});
  ASSERT_EQ(r.investigations.size(), 1u);
  EXPECT_EQ(r.investigations[0].span.investigation_id,
            testing::TraceId(1) + "/" + testing::SpanId(1));
  EXPECT_EQ(r.investigations[0].span.llm_calls, 1);
  // The server span is not a descendant and is never counted as rejected.
  EXPECT_TRUE(r.rejected.empty());
  EXPECT_EQ(assembler_.counters().waiting, 1);
}

TEST_F(AssemblerTest, InvalidInvestigationIsRejectedAndItsChildrenWait) {
  auto r = Send({SpanBuilder(1, 1).Str("agent.type", "x").Int("agent.total_input_tokens", -1),
                 SpanBuilder(1, 2, 1).Chat(1, 1), SpanBuilder(2, 1).InvokeAgent("ok")});
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].index, 0u);
  EXPECT_EQ(r.rejected[0].error, "input_tokens: must be a non-negative integer");
  ASSERT_EQ(r.investigations.size(), 1u);
  EXPECT_EQ(r.investigations[0].index, 2u);
  EXPECT_EQ(assembler_.counters().waiting, 1);
  // Re-sent as it was: rejected again, not a duplicate.
  auto again = Send({SpanBuilder(1, 1).Str("agent.type", "x").Int("agent.total_input_tokens", -1)});
  EXPECT_EQ(again.rejected.size(), 1u);
  EXPECT_EQ(again.duplicates, 0);
}

TEST_F(AssemblerTest, MalformedIdsAreIgnoredForChildrenAndRejectedForInvestigations) {
  OtlpSpan child = SpanBuilder(1, 2, 1).Chat(1, 1);
  child.span_id = "xyz";
  OtlpSpan inv = SpanBuilder(1, 1).InvokeAgent("t");
  inv.trace_id = "";
  auto r = Send({child, inv});
  EXPECT_EQ(r.invalid_ids, 1);
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(assembler_.counters().held, 0);
}

TEST_F(AssemblerTest, SpansThatNeverGetTheirInvestigationExpireAfterTheWindow) {
  Send({Chat(1), Tool(1)});
  clock_.Advance(119s);
  assembler_.Expire(clock_.NowMs());
  EXPECT_EQ(assembler_.counters().waiting, 2);
  clock_.Advance(1s);
  assembler_.Expire(clock_.NowMs());
  auto c = assembler_.counters();
  EXPECT_EQ(c.waiting, 0);
  EXPECT_EQ(c.held, 0);
  EXPECT_EQ(c.expired_total, 2);
  EXPECT_EQ(c.dropped_total, 0);
  // The investigation, now too late for them, has no descendants.
  auto r = Send({Agent(1)});
  ASSERT_EQ(r.investigations.size(), 1u);
  EXPECT_EQ(r.investigations[0].span.llm_calls, 0);
}

TEST_F(AssemblerTest, LateChildAfterTheWindowIsNotJoined) {
  Send({Agent(1)});
  clock_.Advance(2min);
  auto r = Send({Chat(1)});
  EXPECT_TRUE(r.late_updates.empty());
  EXPECT_EQ(assembler_.counters().investigations_held, 0);
  EXPECT_EQ(assembler_.counters().waiting, 1);
}

TEST(AssemblerBoundTest, OldestAreDroppedFirstAtTheBound) {
  Assembler a(Opts(/*max_pending=*/3));
  TimeMs now = kT0Ms;
  a.Ingest(Batch({SpanBuilder(1, 2, 1).Chat(1, 1)}), now++);  // oldest
  a.Ingest(Batch({SpanBuilder(2, 2, 1).Chat(2, 2)}), now++);
  a.Ingest(Batch({SpanBuilder(3, 2, 1).Chat(3, 3)}), now++);
  EXPECT_EQ(a.counters().dropped_total, 0);
  a.Ingest(Batch({SpanBuilder(4, 2, 1).Chat(4, 4)}), now++);
  auto c = a.counters();
  EXPECT_EQ(c.dropped_total, 1);
  EXPECT_EQ(c.held, 3);
  // Trace 1 lost its child; trace 2 still has it.
  auto r1 = a.Ingest(Batch({SpanBuilder(1, 1).InvokeAgent("t")}), now++);
  ASSERT_EQ(r1.investigations.size(), 1u);
  EXPECT_EQ(r1.investigations[0].span.llm_calls, 0);
  auto r2 = a.Ingest(Batch({SpanBuilder(3, 1).InvokeAgent("t")}), now++);
  ASSERT_EQ(r2.investigations.size(), 1u);
  EXPECT_EQ(r2.investigations[0].span.input_tokens, 3);
  EXPECT_LE(a.counters().held + a.counters().investigations_held, 3);
}

TEST(AssemblerBoundTest, ABigRequestStillJoinsBeforeTheBoundApplies) {
  Assembler a(Opts(/*max_pending=*/2));
  std::vector<OtlpSpan> spans = {SpanBuilder(1, 1).InvokeAgent("t")};
  for (int i = 2; i < 12; ++i) spans.push_back(SpanBuilder(1, i, 1).Tool("x"));
  auto r = a.Ingest(Batch(spans), kT0Ms);
  ASSERT_EQ(r.investigations.size(), 1u);
  EXPECT_EQ(r.investigations[0].span.tool_calls, 10);
  auto c = a.counters();
  EXPECT_EQ(c.held + c.investigations_held, 2);
  EXPECT_EQ(c.dropped_total, 0);  // joined spans are not lost data
}

TEST_F(AssemblerTest, RollbackLetsTheRetryThrough) {
  Send({Chat(1)});
  auto failed = Send({Agent(1), Tool(1)});
  ASSERT_EQ(failed.investigations.size(), 1u);
  assembler_.Rollback(failed);  // the store could not commit: 503
  EXPECT_EQ(assembler_.counters().waiting, 1);
  auto retry = Send({Agent(1), Tool(1)});
  EXPECT_EQ(retry.duplicates, 0);
  ASSERT_EQ(retry.investigations.size(), 1u);
  EXPECT_EQ(retry.investigations[0].span.llm_calls, 1);
  EXPECT_EQ(retry.investigations[0].span.tool_calls, 1);
  EXPECT_EQ(assembler_.counters().joined_total, 2);

  // A failed late update is undone too, derivation included.
  auto late_failed = Send({Nested(1)});
  ASSERT_EQ(late_failed.late_updates.size(), 1u);
  assembler_.Rollback(late_failed);
  auto late_retry = Send({Nested(1)});
  ASSERT_EQ(late_retry.late_updates.size(), 1u);
  EXPECT_EQ(late_retry.late_updates[0].add_input_tokens, 400);
  EXPECT_EQ(assembler_.counters().joined_late_total, 1);
}

TEST(AssemblerCycleTest, ParentCyclesDoNotHang) {
  Assembler a(Opts());
  auto r = a.Ingest(Batch({SpanBuilder(1, 2, 3).Chat(1, 1), SpanBuilder(1, 3, 2).Chat(1, 1),
                           SpanBuilder(1, 4, 4).Chat(1, 1)}),
                    kT0Ms);
  EXPECT_TRUE(r.investigations.empty());
  EXPECT_EQ(a.counters().waiting, 3);
}

// Any arrival order of a trace's spans, split over any requests, gives the
// same stored record once late updates are applied.
TEST(AssemblerOrderTest, AnyOrderAnySplitGivesTheSameRecord) {
  const std::vector<OtlpSpan> spans = {Agent(1),
                                       Chat(1),
                                       Tool(1),
                                       Nested(1),
                                       SpanBuilder(1, 5, 1).Tool("restart").Times(960, 990),
                                       SpanBuilder(1, 6, 4).Str("gen_ai.tool.name", "deep")};
  Assembler reference(Opts());
  auto all = reference.Ingest(Batch(spans), kT0Ms);
  ASSERT_EQ(all.investigations.size(), 1u);
  const Span expected = all.investigations[0].span;
  EXPECT_EQ(expected.tool_calls, 3);
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::vector<OtlpSpan> shuffled = spans;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    Assembler a(Opts());
    std::optional<Span> stored;
    std::vector<LateUpdate> pending;
    TimeMs now = kT0Ms;
    for (size_t i = 0; i < shuffled.size();) {
      const size_t n = 1 + rng() % 3;
      std::vector<OtlpSpan> req(shuffled.begin() + i,
                                shuffled.begin() + std::min(shuffled.size(), i + n));
      i += req.size();
      auto r = a.Ingest(Batch(req), now += 100);
      for (auto& inv : r.investigations) stored = inv.span;
      for (auto& u : r.late_updates) {
        ASSERT_TRUE(stored.has_value());
        ApplyLateUpdate(*stored, u);
      }
    }
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->tool_calls, expected.tool_calls);
    EXPECT_EQ(stored->llm_calls, expected.llm_calls);
    EXPECT_EQ(stored->input_tokens, expected.input_tokens);
    EXPECT_EQ(stored->output_tokens, expected.output_tokens);
    EXPECT_EQ(stored->model, expected.model);
    EXPECT_EQ(stored->finish_reason, expected.finish_reason);
  }
}

// What the real JS SDK sent, request by request, in both encodings.
TEST(AssemblerFixtureTest, RealSdkRequestsAssembleBothAgentKinds) {
  for (const char* enc : {"json", "proto"}) {
    SCOPED_TRACE(enc);
    const bool json = std::string(enc) == "json";
    Assembler a(Opts());
    std::map<std::string, Span> stored;  // by investigation id
    for (int i = 0; i < 4; ++i) {
      const std::string body = testing::Fixture(std::string(enc) + "/00" + std::to_string(i) +
                                                "-traces." + (json ? "json" : "pb"));
      auto batch = DecodeTraces(body, json ? Encoding::kJson : Encoding::kProtobuf);
      ASSERT_TRUE(batch.ok()) << batch.status().message();
      auto r = a.Ingest(*batch, kT0Ms + 60'000 + i);
      EXPECT_TRUE(r.rejected.empty()) << r.rejected[0].error;
      for (auto& inv : r.investigations) stored[inv.span.investigation_id] = inv.span;
      for (auto& u : r.late_updates) ApplyLateUpdate(stored.at(u.investigation_id), u);
    }
    std::ifstream ids(std::string(AW_SOURCE_DIR) + "/tests/unit/otlp/fixtures/" + enc +
                      "/investigations.txt");
    std::string agent, trace_id, span_id;
    int seen = 0;
    while (ids >> agent >> trace_id >> span_id) {
      ++seen;
      if (agent == "incident-response") {
        const Span& s = stored.at(trace_id);  // a root span: the trace id
        EXPECT_EQ(s.agent, "incident-response");
        EXPECT_EQ(s.incident_id, "INC-4400");
        EXPECT_EQ(s.input_tokens, 18234);
        EXPECT_EQ(s.output_tokens, 2311);
        EXPECT_EQ(s.tool_calls, 3);
        EXPECT_EQ(s.llm_calls, 2);
        EXPECT_DOUBLE_EQ(*s.cost_usd, 0.093);
        EXPECT_DOUBLE_EQ(*s.confidence, 0.82);
        EXPECT_EQ(s.duration_ms, 41'200);
        EXPECT_EQ(s.ts_ms, kT0Ms + 41'200);
        EXPECT_EQ(s.model, "claude-sonnet-4-6");
        EXPECT_EQ(s.finish_reason, "end_turn");
        EXPECT_EQ(s.labels, (Labels{{"env", "prod"}}));
      } else {
        const Span& s = stored.at(trace_id + "/" + span_id);  // under a server span
        EXPECT_EQ(s.agent, "triage");
        EXPECT_EQ(s.tool_calls, 2);
        EXPECT_EQ(s.llm_calls, 3);
        EXPECT_EQ(s.input_tokens, 1200 + 400 + 2000);
        EXPECT_EQ(s.output_tokens, 300 + 50 + 500);
        EXPECT_EQ(s.cache_read_tokens, 100);
        EXPECT_EQ(s.model, "claude-sonnet-4-6");
        EXPECT_EQ(s.response_model, "claude-sonnet-4-6-20261001");
        EXPECT_EQ(s.provider, "anthropic");
        EXPECT_EQ(s.finish_reason, "end_turn");
        EXPECT_EQ(s.duration_ms, 4990);
        EXPECT_EQ(s.labels, (Labels{{"env", "staging"}, {"version", "1.4.0"}}));
      }
    }
    EXPECT_EQ(seen, 2);
    EXPECT_EQ(stored.size(), 2u);
  }
}

}  // namespace
}  // namespace aw::otlp
