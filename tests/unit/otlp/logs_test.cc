#include "daemon/otlp/logs.h"

#include <gtest/gtest.h>

#include <fstream>

#include "daemon/otlp/decode.h"
#include "tests/unit/otlp/test_util.h"

namespace aw::otlp {
namespace {

OtlpLogRecord Eval(std::string name, std::string label,
                   std::string event = "gen_ai.evaluation.result") {
  OtlpLogRecord r;
  r.trace_id = testing::TraceId(3);
  r.span_id = testing::SpanId(1);
  r.event_name = std::move(event);
  r.time_ns = testing::kT0Ns;
  r.attributes.Add("gen_ai.evaluation.name", std::move(name));
  r.attributes.Add("gen_ai.evaluation.score.label", std::move(label));
  r.resource = std::make_shared<const Attributes>();
  return r;
}

TEST(LogsTest, VerdictEventsBecomeFeedback) {
  LogBatch b;
  b.records = {Eval("oncall_verdict", "confirm"),
               Eval("oncall_verdict", "Confirmed"),
               Eval("oncall_verdict", "override"),
               Eval("oncall_verdict", "overridden"),
               Eval("oncall_verdict", "maybe"),
               Eval("relevance", "confirm"),
               Eval("oncall_verdict", "confirm", "some.other.event")};
  auto r = VerdictsFromLogs(b, LogsOptions{}, 0);
  ASSERT_EQ(r.verdicts.size(), 4u);
  EXPECT_EQ(r.ignored, 3);
  EXPECT_EQ(r.rejected, 0);
  EXPECT_EQ(r.verdicts[0].feedback.verdict, Verdict::kConfirm);
  EXPECT_EQ(r.verdicts[1].feedback.verdict, Verdict::kConfirm);
  EXPECT_EQ(r.verdicts[2].feedback.verdict, Verdict::kOverride);
  EXPECT_EQ(r.verdicts[3].feedback.verdict, Verdict::kOverride);
  EXPECT_EQ(r.verdicts[0].feedback.investigation_id, testing::TraceId(3));
  EXPECT_EQ(r.verdicts[0].trace_id, testing::TraceId(3));
  EXPECT_EQ(r.verdicts[0].span_id, testing::SpanId(1));
  EXPECT_EQ(r.verdicts[0].feedback.ts_ms, testing::kT0Ms);
}

TEST(LogsTest, ConfiguredEvaluationsAndEventNameAttribute) {
  OtlpLogRecord r = Eval("review", "confirm", "");
  r.attributes.Add("event.name", std::string("gen_ai.evaluation.result"));
  r.time_ns = 0;
  r.observed_time_ns = 0;
  LogBatch b;
  b.records = {r};
  EXPECT_TRUE(VerdictsFromLogs(b, LogsOptions{}, 5).verdicts.empty());
  auto got = VerdictsFromLogs(b, LogsOptions{{"review", "oncall_verdict"}}, 5);
  ASSERT_EQ(got.verdicts.size(), 1u);
  EXPECT_EQ(got.verdicts[0].feedback.ts_ms, 5);  // no time at all: now
}

TEST(LogsTest, VerdictWithoutTraceIdIsRejected) {
  OtlpLogRecord r = Eval("oncall_verdict", "confirm");
  r.trace_id.clear();
  r.span_id = "nothex";
  LogBatch b;
  b.records = {Eval("oncall_verdict", "override"), r};
  auto got = VerdictsFromLogs(b, LogsOptions{}, 0);
  EXPECT_EQ(got.verdicts.size(), 1u);
  EXPECT_EQ(got.rejected, 1);
  EXPECT_NE(got.error.find("logRecords[1].traceId"), std::string::npos);
}

TEST(LogsTest, RealSdkEvaluationEvents) {
  auto batch = DecodeLogs(testing::Fixture("json/004-logs.json"), Encoding::kJson);
  ASSERT_TRUE(batch.ok());
  auto got = VerdictsFromLogs(*batch, LogsOptions{}, 0);
  ASSERT_EQ(got.verdicts.size(), 2u);  // the JSON run's two investigations
  EXPECT_EQ(got.ignored, 2);           // relevance evaluations
  std::ifstream ids(std::string(AW_SOURCE_DIR) +
                    "/tests/unit/otlp/fixtures/json/investigations.txt");
  std::string agent, trace_id, span_id;
  ids >> agent >> trace_id >> span_id;
  EXPECT_EQ(got.verdicts[0].trace_id, trace_id);
  EXPECT_EQ(got.verdicts[0].span_id, span_id);
  EXPECT_EQ(got.verdicts[0].feedback.verdict, Verdict::kConfirm);
  EXPECT_EQ(got.verdicts[0].feedback.reason, "reviewed by the on-call engineer");
  EXPECT_EQ(got.verdicts[0].feedback.ts_ms, testing::kT0Ms + 3'600'000);
  EXPECT_EQ(got.verdicts[1].feedback.verdict, Verdict::kOverride);
}

}  // namespace
}  // namespace aw::otlp
