#include "daemon/store/instance_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

// flock(2) locks belong to an open file description, so a second Acquire
// in the same process conflicts exactly as a second process would.
TEST(InstanceLockTest, SecondAcquireOnTheSameStoreFailsAndNamesTheFile) {
  testing::TempDir dir;
  const std::string db = dir.File("agentwatch.db");
  auto first = InstanceLock::Acquire(db);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->path(), db + ".lock");

  auto second = InstanceLock::Acquire(db);
  ASSERT_FALSE(second.ok());
  const std::string msg = second.status().message();
  EXPECT_NE(msg.find(db), std::string::npos) << msg;
  EXPECT_NE(msg.find("another agentwatch process (pid " + std::to_string(getpid()) + ")"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find(db + ".lock"), std::string::npos) << msg;
}

TEST(InstanceLockTest, ReleasedWhenDestroyedOrMoved) {
  testing::TempDir dir;
  const std::string db = dir.File("agentwatch.db");
  {
    auto first = InstanceLock::Acquire(db);
    ASSERT_TRUE(first.ok());
    InstanceLock moved = std::move(first).value();
    EXPECT_FALSE(InstanceLock::Acquire(db).ok());
  }
  EXPECT_TRUE(InstanceLock::Acquire(db).ok());
}

TEST(InstanceLockTest, OtherStoresAreIndependent) {
  testing::TempDir dir;
  auto a = InstanceLock::Acquire(dir.File("a.db"));
  auto b = InstanceLock::Acquire(dir.File("b.db"));
  EXPECT_TRUE(a.ok());
  EXPECT_TRUE(b.ok());
}

TEST(InstanceLockTest, UnwritableFolderIsAnError) {
  auto lock = InstanceLock::Acquire("/nonexistent-dir/agentwatch.db");
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.status().message().find("/nonexistent-dir/agentwatch.db.lock"), std::string::npos);
}

}  // namespace
}  // namespace aw
