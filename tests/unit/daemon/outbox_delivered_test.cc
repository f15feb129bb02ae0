// When each outbox item was delivered (schema version 4): kept by
// MarkDelivered, read with an alert's notifications, and added to a file
// an older agentwatch wrote.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "daemon/store/investigation_reads.h"
#include "daemon/store/sqlite_store.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

OutboxItem Item(const std::string& fingerprint, TimeMs created) {
  OutboxItem n;
  n.receiver = "hook";
  n.fingerprint = fingerprint;
  n.payload = "{\"resolved\": false}";
  n.created_ms = created;
  n.next_attempt_ms = created;
  return n;
}

int SchemaVersion(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  EXPECT_EQ(
      sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema_version'", -1, &q, nullptr),
      SQLITE_OK);
  const int version = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
  sqlite3_finalize(q);
  sqlite3_close(db);
  return version;
}

TEST(OutboxDeliveredTest, DeliveryTimeIsStoredAndReadWithTheNotifications) {
  testing::TempDir dir;
  const std::string path = dir.File("events.db");
  auto store = SqliteStore::Open(path, {});
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->SaveAlertChanges({}, {}, {Item("f1", 1000), Item("f1", 2000)}).ok());
  auto due = (*store)->DueOutbox(5000, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  const int64_t first = (*due)[0].id;
  ASSERT_TRUE((*store)->Reschedule(first, 1500, 1, "503 Service Unavailable").ok());
  ASSERT_TRUE((*store)->MarkDelivered(first, 4321).ok());

  auto reader = InvestigationReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  auto read = (*reader)->Notifications("f1", 10);
  ASSERT_TRUE(read.ok()) << read.status().message();
  ASSERT_EQ(read->size(), 2u);
  // Newest first: the second is still pending.
  EXPECT_EQ((*read)[0].delivered_ms, 0);
  EXPECT_EQ((*read)[0].state, NotificationRecord::State::kPending);
  EXPECT_EQ((*read)[1].id, first);
  EXPECT_EQ((*read)[1].state, NotificationRecord::State::kDelivered);
  EXPECT_EQ((*read)[1].delivered_ms, 4321);
  EXPECT_EQ((*read)[1].attempts, 1);
}

// A version 3 file (no delivered column) is migrated on open: its delivered
// items read as delivered at an unknown time, and new deliveries keep theirs.
TEST(OutboxDeliveredTest, MigratesVersionThree) {
  testing::TempDir dir;
  const std::string path = dir.File("events.db");
  {
    auto store = SqliteStore::Open(path, {});
    ASSERT_TRUE(store.ok()) << store.status().message();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "ALTER TABLE outbox DROP COLUMN delivered;"
                         "UPDATE meta SET value='3' WHERE key='schema_version';"
                         "INSERT INTO outbox(receiver, fingerprint, payload, created, "
                         "next_attempt, attempts, last_error, status) VALUES"
                         "('hook', 'f1', '{}', 100, 100, 0, NULL, 1),"
                         "('hook', 'f1', '{}', 200, 200, 0, NULL, 0);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  ASSERT_EQ(SchemaVersion(path), 3);

  auto store = SqliteStore::Open(path, {});
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ(SchemaVersion(path), SqliteStore::kSchemaVersion);
  auto due = (*store)->DueOutbox(1000, 10);
  ASSERT_TRUE(due.ok()) << due.status().message();
  ASSERT_EQ(due->size(), 1u) << "the pending item survives the migration";
  ASSERT_TRUE((*store)->MarkDelivered((*due)[0].id, 777).ok());

  auto reader = InvestigationReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  auto read = (*reader)->Notifications("f1", 10);
  ASSERT_TRUE(read.ok()) << read.status().message();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].delivered_ms, 777);
  EXPECT_EQ((*read)[1].state, NotificationRecord::State::kDelivered);
  EXPECT_EQ((*read)[1].delivered_ms, 0) << "delivered before the store kept the time";

  // Opening again is a no-op (the column is there).
  store->reset();
  EXPECT_TRUE(SqliteStore::Open(path, {}).ok());
}

}  // namespace
}  // namespace aw
