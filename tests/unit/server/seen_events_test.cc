// The writer's table of stored verdicts and resolutions: after random
// inserts (re-sends among them), lookups and retention cuts, through growth
// from empty and from a reserve, it holds exactly what a std::map of the
// same operations holds; keys that share their low half (the table's
// position) stay distinct.

#include "daemon/server/seen_events.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <utility>

namespace aw::server {
namespace {

TEST(SeenEvents, HoldsWhatAMapHoldsThroughGrowthAndRetention) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    SeenEvents seen;
    if (seed == 2) seen.Reserve(5000);
    std::map<std::pair<uint64_t, uint64_t>, TimeMs> model;
    TimeMs cutoff = 0;
    for (int step = 0; step < 40'000; ++step) {
      // Few distinct low halves, so that positions collide and probes run.
      const EventKey key{rng() % 4096, rng() % 3};
      const int op = static_cast<int>(rng() % 100);
      if (op < 60) {
        const TimeMs ts = cutoff + static_cast<TimeMs>(rng() % 1000);
        seen.Insert(key, ts);
        model.try_emplace({key.lo, key.hi}, ts);  // a re-send keeps the first time
      } else if (op < 99) {
        ASSERT_EQ(seen.Contains(key), model.count({key.lo, key.hi}) == 1)
            << "seed " << seed << " step " << step;
      } else {
        cutoff += 200;
        seen.EraseBefore(cutoff);
        std::erase_if(model, [&](const auto& kv) { return kv.second < cutoff; });
      }
      ASSERT_EQ(seen.size(), model.size()) << "seed " << seed << " step " << step;
    }
    for (const auto& [k, ts] : model) ASSERT_TRUE(seen.Contains({k.first, k.second}));
  }
}

TEST(SeenEvents, EmptyTableAndFullKeys) {
  SeenEvents seen;
  EXPECT_FALSE(seen.Contains({0, 0}));
  seen.EraseBefore(100);
  seen.Insert({0, 0}, 5);  // an all-zero hash is a key like any other
  seen.Insert({~0ull, ~0ull}, 7);
  EXPECT_TRUE(seen.Contains({0, 0}));
  EXPECT_TRUE(seen.Contains({~0ull, ~0ull}));
  EXPECT_FALSE(seen.Contains({0, 1}));
  seen.EraseBefore(6);
  EXPECT_FALSE(seen.Contains({0, 0}));
  EXPECT_TRUE(seen.Contains({~0ull, ~0ull}));
  EXPECT_EQ(seen.size(), 1u);
}

}  // namespace
}  // namespace aw::server
