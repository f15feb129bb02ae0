#include "daemon/server/replay_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace aw::server {
namespace {

TEST(ReplayCacheTest, SecondClaimInsideTheWindowIsAReplay) {
  ReplayCache cache;
  EXPECT_TRUE(cache.Claim("sig", 1000, 301'000));
  EXPECT_FALSE(cache.Claim("sig", 1001, 301'000));
  EXPECT_FALSE(cache.Claim("sig", 300'999, 301'000));
  EXPECT_TRUE(cache.Claim("other", 1001, 301'000));
}

TEST(ReplayCacheTest, ExpiredClaimsAreForgotten) {
  ReplayCache cache;
  EXPECT_TRUE(cache.Claim("sig", 1000, 2000));
  EXPECT_TRUE(cache.Claim("sig", 2000, 3000));  // the first window is over
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.Claim("late", 5000, 4000));  // already past its window
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ReplayCacheTest, BoundedDroppingTheFirstToExpire) {
  ReplayCache cache(3);
  EXPECT_TRUE(cache.Claim("a", 0, 100));
  EXPECT_TRUE(cache.Claim("b", 0, 300));
  EXPECT_TRUE(cache.Claim("c", 0, 200));
  EXPECT_TRUE(cache.Claim("d", 0, 400));  // drops "a"
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.evicted(), 1);
  EXPECT_FALSE(cache.Claim("b", 1, 300));
  EXPECT_FALSE(cache.Claim("c", 1, 200));
  EXPECT_FALSE(cache.Claim("d", 1, 400));
}

TEST(ReplayCacheTest, ConcurrentClaimsAdmitExactlyOne) {
  ReplayCache cache;
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 1000; ++k) {
        // std::to_string alone: GCC 12 warns (-Wrestrict) on "k" + to_string.
        if (cache.Claim(std::to_string(k), 0, 1000)) ++admitted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1000);
}

TEST(ReplayCacheTest, ReleasedClaimCanBeClaimedAgain) {
  // A request that was not stored (503) is released so its retry is accepted.
  ReplayCache cache;
  EXPECT_TRUE(cache.Claim("sig", 1000, 301'000));
  cache.Release("sig");
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.Claim("sig", 2000, 301'000));
  EXPECT_FALSE(cache.Claim("sig", 3000, 301'000));
  cache.Release("never-claimed");  // no effect
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace aw::server
