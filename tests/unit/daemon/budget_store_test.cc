// The store's record of budget thresholds that fired (schema version 2).

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "daemon/store/sqlite_store.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

class BudgetFiredStoreTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
};

// A version 1 file (before budgets) gains the budget_fired table on open;
// marks commit with the alert changes and load by period start.
TEST_F(BudgetFiredStoreTest, MigratesVersionOneAndRoundTripsMarks) {
  const std::string path = dir_.File("events.db");
  { ASSERT_TRUE(SqliteStore::Open(path, {}).ok()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE budget_fired; "
                         "UPDATE meta SET value='1' WHERE key='schema_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto store = SqliteStore::Open(path, {});
  ASSERT_TRUE(store.ok()) << store.status().message();
  StoredAlert a;
  a.fingerprint = "f1";
  a.rule = "ir-daily";
  a.labels = {{"alertname", "ir-daily"}, {"threshold", "0.8"}};
  a.state = AlertState::kFiring;
  const std::vector<BudgetFired> marks = {{"ir-daily", "0.8", 1000, 1500},
                                          {"ir-daily", "projected", 1000, 1600},
                                          {"ir-daily", "0.8", 0, 10}};
  ASSERT_TRUE((*store)->SaveAlertChanges({a}, {}, {}, marks).ok());
  // The same mark again is no error and no duplicate.
  ASSERT_TRUE((*store)->SaveAlertChanges({}, {}, {}, {marks[0]}).ok());
  auto loaded = (*store)->LoadBudgetFired(1000);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].threshold, "0.8");
  EXPECT_EQ((*loaded)[0].period_start_ms, 1000);
  EXPECT_EQ((*loaded)[0].fired_at_ms, 1500);
  EXPECT_EQ((*loaded)[1].threshold, "projected");
  EXPECT_EQ((*store)->LoadBudgetFired(0)->size(), 3u);
  EXPECT_EQ((*store)->LoadAlerts()->size(), 1u);
}

}  // namespace
}  // namespace aw
