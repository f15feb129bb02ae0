// The evaluator renders stale SLI blocks only after ingest has been quiet:
// never between commits of a steady stream, at once after a start, and
// again after a tick made blocks stale.

#include "daemon/server/idle_warming.h"

#include <gtest/gtest.h>

namespace aw::server {
namespace {

using std::chrono::milliseconds;

TEST(IdleWarming, WaitsForIngestToBeQuiet) {
  const IdleWarming::TimePoint t0{std::chrono::hours(1)};
  IdleWarming w(milliseconds(200), t0);
  EXPECT_TRUE(w.Ready(t0)) << "a start leaves every block to render";
  EXPECT_EQ(w.Wait(t0, milliseconds(1000)), IdleWarming::Duration::zero());

  // A steady stream: a commit every 50 ms is never quiet long enough.
  for (int i = 0; i < 10; ++i) {
    const auto now = t0 + milliseconds(50 * i);
    w.Ingested(now);
    EXPECT_FALSE(w.Ready(now + milliseconds(49)));
  }
  const auto last = t0 + milliseconds(450);
  EXPECT_FALSE(w.Ready(last + milliseconds(199)));
  EXPECT_EQ(w.Wait(last + milliseconds(50), milliseconds(1000)), milliseconds(150));
  EXPECT_EQ(w.Wait(last + milliseconds(50), milliseconds(20)), milliseconds(20));
  EXPECT_TRUE(w.Ready(last + milliseconds(200)));

  // Warming steps until one finds nothing more to render.
  w.Warmed(false);
  EXPECT_TRUE(w.Ready(last + milliseconds(201)));
  w.Warmed(true);
  EXPECT_FALSE(w.Ready(last + milliseconds(202)));
  EXPECT_EQ(w.Wait(last + milliseconds(202), milliseconds(1000)), milliseconds(1000));

  // A tick makes blocks stale without ingest: ready at once.
  w.MoreStale();
  EXPECT_TRUE(w.Ready(last + milliseconds(203)));
}

}  // namespace
}  // namespace aw::server
