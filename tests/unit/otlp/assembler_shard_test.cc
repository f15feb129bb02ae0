// The assembler on a shard: investigations of agents another shard serves
// are not kept, and their descendants never update them here.

#include <gtest/gtest.h>

#include "daemon/common/clock.h"
#include "daemon/config/shard.h"
#include "daemon/otlp/assembler.h"
#include "tests/testing/fake_clock.h"
#include "tests/unit/otlp/test_util.h"

namespace aw::otlp {
namespace {

using testing::Batch;
using testing::kT0Ms;
using testing::SpanBuilder;
using namespace std::chrono_literals;

class AssemblerShardTest : public ::testing::Test {
 protected:
  AssemblyResult Send(std::vector<OtlpSpan> spans) {
    return assembler_.Ingest(
        Batch(std::move(spans)), clock_.NowMs(),
        [this](const std::string& agent) { return shard_.Misdirected(agent); });
  }
  FakeClock clock_{kT0Ms + 10'000};
  Assembler assembler_{AssemblerOptions{}};
  // This shard serves "mine" only.
  ShardMap shard_{ShardSpec{{"mine"}, 0, 0, {}}};
};

TEST_F(AssemblerShardTest, ForeignInvestigationsAreMisdirectedAndForgotten) {
  auto r = Send({SpanBuilder(1, 1).InvokeAgent("theirs").Times(0, 5000),
                 SpanBuilder(1, 2, 1).Chat(100, 10).Times(10, 20),
                 SpanBuilder(2, 1).InvokeAgent("mine").Times(0, 5000)});
  ASSERT_EQ(r.investigations.size(), 1u);
  EXPECT_EQ(r.investigations[0].span.agent, "mine");
  EXPECT_TRUE(r.rejected.empty());
  ASSERT_EQ(r.misdirected.size(), 1u);
  EXPECT_EQ(r.misdirected[0].index, 0u);
  EXPECT_NE(r.misdirected[0].error.find("agent: \"theirs\""), std::string::npos);
  EXPECT_EQ(assembler_.counters().investigations_held, 1);

  // A child of the foreign investigation arriving later updates nothing;
  // a child of our own does.
  clock_.Advance(1s);
  auto late = Send(
      {SpanBuilder(1, 3, 1).Tool("t").Times(30, 40), SpanBuilder(2, 3, 1).Tool("t").Times(30, 40)});
  ASSERT_EQ(late.late_updates.size(), 1u);
  EXPECT_EQ(late.late_updates[0].agent, "mine");
  EXPECT_EQ(assembler_.counters().waiting, 2);  // the foreign one's children
}

TEST_F(AssemblerShardTest, WithoutAPredicateEverythingIsKept) {
  auto r = assembler_.Ingest(Batch({SpanBuilder(1, 1).InvokeAgent("theirs").Times(0, 5000)}),
                             clock_.NowMs());
  EXPECT_EQ(r.investigations.size(), 1u);
  EXPECT_TRUE(r.misdirected.empty());
}

}  // namespace
}  // namespace aw::otlp
