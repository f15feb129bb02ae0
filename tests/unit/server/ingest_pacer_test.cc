// Evaluations on ingest are paced: after one that took d, the next waits
// until d has passed again (at most half the evaluator's time under
// sustained ingest), and an evaluation that took no time never delays the
// next one.

#include "daemon/server/ingest_pacer.h"

#include <gtest/gtest.h>

namespace aw::server {
namespace {

using std::chrono::milliseconds;

TEST(IngestPacer, ReadyFromTheStart) {
  const IngestPacer::TimePoint t0{std::chrono::hours(1)};
  IngestPacer p;
  EXPECT_TRUE(p.Ready(t0));
  EXPECT_EQ(p.Wait(t0, milliseconds(1000)), IngestPacer::Duration::zero());
}

TEST(IngestPacer, WaitsAsLongAsTheLastEvaluationTook) {
  const IngestPacer::TimePoint t0{std::chrono::hours(1)};
  IngestPacer p;
  p.Ran(t0, t0 + milliseconds(30));
  EXPECT_FALSE(p.Ready(t0 + milliseconds(30)));
  EXPECT_FALSE(p.Ready(t0 + milliseconds(59)));
  EXPECT_EQ(p.Wait(t0 + milliseconds(40), milliseconds(1000)), milliseconds(20));
  EXPECT_EQ(p.Wait(t0 + milliseconds(40), milliseconds(5)), milliseconds(5)) << "capped";
  EXPECT_TRUE(p.Ready(t0 + milliseconds(60)));
  EXPECT_EQ(p.Wait(t0 + milliseconds(70), milliseconds(1000)), IngestPacer::Duration::zero());

  // A short evaluation next: its own length counts, not the long one's.
  p.Ran(t0 + milliseconds(60), t0 + milliseconds(62));
  EXPECT_FALSE(p.Ready(t0 + milliseconds(63)));
  EXPECT_TRUE(p.Ready(t0 + milliseconds(64)));
}

TEST(IngestPacer, ThePauseIsCappedAtOneSecond) {
  const IngestPacer::TimePoint t0{std::chrono::hours(1)};
  IngestPacer p;
  p.Ran(t0, t0 + std::chrono::minutes(5));  // a clock moved during it, or a huge fleet
  const auto end = t0 + std::chrono::minutes(5);
  EXPECT_FALSE(p.Ready(end + milliseconds(999)));
  EXPECT_TRUE(p.Ready(end + milliseconds(1000)));
  // A clock that went backwards: no pause at all.
  p.Ran(end, t0);
  EXPECT_TRUE(p.Ready(t0));
}

TEST(IngestPacer, AnInstantEvaluationNeverDelaysTheNext) {
  // A frozen test clock makes every evaluation take no time.
  const IngestPacer::TimePoint t0{std::chrono::hours(1)};
  IngestPacer p;
  p.Ran(t0, t0);
  EXPECT_TRUE(p.Ready(t0));
  EXPECT_EQ(p.Wait(t0, milliseconds(1000)), IngestPacer::Duration::zero());
}

}  // namespace
}  // namespace aw::server
