// The store's silences and the alert columns of schema version 3.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "daemon/store/sqlite_store.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

TEST(SilenceStoreTest, SilencesAndAckFlagsSurviveReopen) {
  testing::TempDir dir;
  const std::string path = dir.File("events.db");
  Silence s{"id-1",  {{"agent", "ir", false, true}, {"alertname", "Cost.*", true, false}},
            1000,    5000,
            "alice", "deploy",
            900};
  {
    auto store = SqliteStore::Open(path, {});
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)->SaveSilence(s).ok());
    Silence expired = s;
    expired.ends_at_ms = 2000;  // replaced by id
    ASSERT_TRUE((*store)->SaveSilence(expired).ok());
    StoredAlert a;
    a.fingerprint = "f1";
    a.rule = "r";
    a.state = AlertState::kFiring;
    a.acknowledged = true;
    a.unannounced = true;
    ASSERT_TRUE((*store)->SaveAlertChanges({a}, {}, {}).ok());
  }
  auto store = SqliteStore::Open(path, {});
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto loaded = (*store)->LoadSilences();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->size(), 1u);
  s.ends_at_ms = 2000;
  EXPECT_EQ((*loaded)[0], s);
  auto alerts = (*store)->LoadAlerts();
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_TRUE((*alerts)[0].acknowledged);
  EXPECT_TRUE((*alerts)[0].unannounced);
}

// A version 2 file (no silences, no ack columns) is migrated on open; its
// alerts read as announced and unacknowledged.
TEST(SilenceStoreTest, MigratesVersionTwo) {
  testing::TempDir dir;
  const std::string path = dir.File("events.db");
  { ASSERT_TRUE(SqliteStore::Open(path, {}).ok()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE silences;"
                         "ALTER TABLE alerts DROP COLUMN acknowledged;"
                         "ALTER TABLE alerts DROP COLUMN unannounced;"
                         "UPDATE meta SET value='2' WHERE key='schema_version';"
                         "INSERT INTO alerts VALUES('f1', 'r', '{}', '{}', 2, 1.5, 1, 2, 3, 0);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  auto store = SqliteStore::Open(path, {});
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto alerts = (*store)->LoadAlerts();
  ASSERT_TRUE(alerts.ok()) << alerts.status().message();
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ((*alerts)[0].last_notified_ms, 3);
  EXPECT_FALSE((*alerts)[0].acknowledged);
  EXPECT_FALSE((*alerts)[0].unannounced);
  auto silences = (*store)->LoadSilences();
  ASSERT_TRUE(silences.ok()) << silences.status().message();
  EXPECT_TRUE(silences->empty());
}

}  // namespace
}  // namespace aw
