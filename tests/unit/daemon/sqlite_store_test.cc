#include "daemon/store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>

#include "tests/testing/query_plan.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

Span MakeSpan(const std::string& id, TimeMs ts) {
  Span s;
  s.investigation_id = id;
  s.agent = "ir";
  s.ts_ms = ts;
  s.model = "m";
  s.tool_calls = 7;
  s.confidence = 0.25;
  s.labels = {{"env", "prod"}};
  return s;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> Open() {
    auto s = SqliteStore::Open(dir_.File("events.db"), {});
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  testing::TempDir dir_;
};

// The scan parses each distinct labels text once: rows whose label sets
// alternate (and rows without labels) still come back with their own.
TEST_F(SqliteStoreTest, AScanGivesEachRowItsOwnLabels) {
  auto store = Open();
  const std::vector<Labels> sets = {{{"env", "prod"}},
                                    {},
                                    {{"env", "dev"}, {"team", "a"}},
                                    {{"team", "a"}, {"env", "dev"}},
                                    {{"env", "prod"}, {"team", "b"}}};
  EventBatch b;
  std::vector<Labels> want;
  for (int i = 0; i < 60; ++i) {
    Span sp = MakeSpan("s" + std::to_string(i), 1000 + i);
    sp.labels = sets[static_cast<size_t>(i * 7 + i / 5) % sets.size()];
    want.push_back(sp.labels);
    b.spans.push_back(sp);
  }
  ASSERT_TRUE(store->Append(b).ok());
  std::vector<Labels> got;
  EventVisitor v;
  v.span = [&](const Span& s, int64_t) { got.push_back(s.labels); };
  ASSERT_TRUE(store->Scan(v).ok());
  EXPECT_EQ(got, want);
}

TEST_F(SqliteStoreTest, AppendsAndScansInSeqOrderAcrossReopen) {
  {
    auto store = Open();
    EventBatch b1;
    b1.spans = {MakeSpan("a", 1000), MakeSpan("b", 500)};
    Feedback f;
    f.investigation_id = "a";
    f.verdict = Verdict::kOverride;
    f.ts_ms = 2000;
    f.agent = "ir";
    b1.feedback = {f};
    auto first = store->Append(b1);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, 1);
    EventBatch b2;
    Resolution r;
    r.incident_id = "INC-1";
    r.resolved_at_ms = 3000;
    r.opened_at_ms = 100;
    b2.resolutions = {r};
    b2.spans = {MakeSpan("c", 1500)};
    auto second = store->Append(b2);
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(*second, 4);
  }
  auto store = Open();
  EXPECT_EQ(store->last_seq(), 5);
  std::vector<std::string> order;
  EventVisitor v;
  v.span = [&](const Span& s, int64_t seq) {
    order.push_back(std::to_string(seq) + ":span:" + s.investigation_id);
    if (s.investigation_id == "a") {
      EXPECT_EQ(s.tool_calls, 7);
      EXPECT_EQ(s.confidence, 0.25);
      EXPECT_FALSE(s.input_tokens.has_value());
      EXPECT_EQ(s.labels.at("env"), "prod");
    }
  };
  v.feedback = [&](const Feedback& f, int64_t seq) {
    order.push_back(std::to_string(seq) + ":feedback:" + f.investigation_id);
    EXPECT_EQ(f.verdict, Verdict::kOverride);
  };
  v.resolution = [&](const Resolution& r, int64_t seq) {
    order.push_back(std::to_string(seq) + ":resolution:" + r.incident_id);
    EXPECT_EQ(r.opened_at_ms, 100);
    EXPECT_FALSE(r.time_to_resolve_s.has_value());
  };
  ASSERT_TRUE(store->Scan(v).ok());
  EXPECT_EQ(order, (std::vector<std::string>{"1:span:a", "2:span:b", "3:feedback:a", "4:span:c",
                                             "5:resolution:INC-1"}));
}

TEST_F(SqliteStoreTest, PruneDropsOldEvents) {
  auto store = Open();
  EventBatch b;
  b.spans = {MakeSpan("old", 100), MakeSpan("new", 5000)};
  ASSERT_TRUE(store->Append(b).ok());
  auto removed = store->Prune(1000);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  int spans = 0;
  EventVisitor v;
  v.span = [&](const Span& s, int64_t) {
    ++spans;
    EXPECT_EQ(s.investigation_id, "new");
  };
  ASSERT_TRUE(store->Scan(v).ok());
  EXPECT_EQ(spans, 1);
}

TEST_F(SqliteStoreTest, AlertChangesAndOutboxCommitTogether) {
  auto store = Open();
  StoredAlert a;
  a.fingerprint = "f1";
  a.rule = "R";
  a.labels = {{"agent", "ir"}};
  a.state = AlertState::kFiring;
  a.value = 0.5;
  a.active_since_ms = 10;
  OutboxItem n;
  n.receiver = "slack";
  n.fingerprint = "f1";
  n.payload = "{}";
  n.created_ms = 10;
  n.next_attempt_ms = 10;
  ASSERT_TRUE(store->SaveAlertChanges({a}, {}, {n}).ok());
  auto alerts = store->LoadAlerts();
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ((*alerts)[0].state, AlertState::kFiring);
  EXPECT_EQ((*alerts)[0].labels.at("agent"), "ir");
  EXPECT_EQ(*store->OutboxDepth(), 1);
  EXPECT_EQ(*store->NextOutboxAttempt(), 10);
  EXPECT_TRUE(store->DueOutbox(9, 10)->empty());
  auto due = store->DueOutbox(10, 10);
  ASSERT_EQ(due->size(), 1u);
  const int64_t id = (*due)[0].id;
  ASSERT_TRUE(store->Reschedule(id, 50, 1, "503").ok());
  EXPECT_TRUE(store->DueOutbox(49, 10)->empty());
  EXPECT_EQ((*store->DueOutbox(50, 10))[0].attempts, 1);
  ASSERT_TRUE(store->MarkDelivered(id, 60).ok());
  EXPECT_EQ(*store->OutboxDepth(), 0);
  EXPECT_EQ(*store->NextOutboxAttempt(), -1);
  ASSERT_TRUE(store->SaveAlertChanges({}, {"f1"}, {}).ok());
  EXPECT_TRUE(store->LoadAlerts()->empty());
}

// A pending notification to `receiver` for the alert `fp`, due at 10.
OutboxItem PendingItem(const std::string& receiver, const std::string& fp) {
  OutboxItem n;
  n.receiver = receiver;
  n.fingerprint = fp;
  n.payload = "{}";
  n.created_ms = n.next_attempt_ms = 10;
  return n;
}

TEST_F(SqliteStoreTest, NewerOutboxItemSupersedesOlderPendingOfTheSameAlert) {
  auto store = Open();
  ASSERT_TRUE(store
                  ->SaveAlertChanges({}, {},
                                     {PendingItem("pd", "f1"), PendingItem("pd", "f2"),
                                      PendingItem("slack", "f1"), PendingItem("pd", "f1")})
                  .ok());
  auto due = store->DueOutbox(10, 10);
  ASSERT_EQ(due->size(), 4u);
  const int64_t newest = (*due)[3].id;
  auto n = store->SupersedeOlder("pd", "f1", newest);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  due = store->DueOutbox(10, 10);
  ASSERT_EQ(due->size(), 3u);  // pd/f2, slack/f1 and the newest pd/f1 stay
  EXPECT_EQ((*due)[2].id, newest);
  EXPECT_EQ(*store->SupersedeOlder("pd", "f1", newest), 0);
}

// Superseding looks up one alert's pending items through an index, not by
// walking every pending item, and a file without that index (written by an
// earlier version) gains it at open.
TEST_F(SqliteStoreTest, SupersedeFindsOneAlertsPendingItemsByIndex) {
  const std::string path = dir_.File("events.db");
  { ASSERT_TRUE(SqliteStore::Open(path, {}).ok()); }
  const auto plan = [&] {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const std::string detail =
        QueryPlan(db,
                  "UPDATE outbox SET status = 3, last_error = ? "
                  "WHERE status = 0 AND receiver = ? AND fingerprint = ? AND id < ?");
    sqlite3_exec(db, "DROP INDEX IF EXISTS outbox_pending_by_alert", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return detail;
  };
  EXPECT_NE(plan().find("outbox_pending_by_alert (receiver=? AND fingerprint=? AND id<?)"),
            std::string::npos);
  // plan() dropped the index: as an older file, it is made again at open.
  { ASSERT_TRUE(SqliteStore::Open(path, {}).ok()); }
  EXPECT_NE(plan().find("outbox_pending_by_alert"), std::string::npos);
}

// A receiver answering again: its items backing off become due now; items
// already due, other receivers' items and delivered ones keep their times.
TEST_F(SqliteStoreTest, ExpediteReceiverMakesItsPendingItemsDueNow) {
  auto store = Open();
  ASSERT_TRUE(store
                  ->SaveAlertChanges({}, {},
                                     {PendingItem("pd", "f1"), PendingItem("pd", "f2"),
                                      PendingItem("pd", "f3"), PendingItem("slack", "f1")})
                  .ok());
  auto due = store->DueOutbox(10, 10);
  ASSERT_EQ(due->size(), 4u);
  ASSERT_TRUE(store->Reschedule((*due)[0].id, 5'000, 3, "503").ok());
  ASSERT_TRUE(store->Reschedule((*due)[1].id, 9'000, 4, "503").ok());
  ASSERT_TRUE(store->Reschedule((*due)[2].id, 8'000, 1, "503").ok());
  ASSERT_TRUE(store->MarkDelivered((*due)[2].id, 20).ok());  // then delivered
  ASSERT_TRUE(store->Reschedule((*due)[3].id, 7'000, 2, "503").ok());
  auto moved = store->ExpediteReceiver("pd", 100);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 2);
  due = store->DueOutbox(100, 10);
  ASSERT_EQ(due->size(), 2u);  // both pd items backing off, oldest first
  EXPECT_EQ((*due)[0].fingerprint, "f1");
  EXPECT_EQ((*due)[0].attempts, 3);
  EXPECT_EQ((*due)[1].fingerprint, "f2");
  EXPECT_EQ(*store->NextOutboxAttempt(), 100);
  EXPECT_EQ((*store->DueOutbox(7'000, 10)).size(), 3u);  // slack kept its time
  EXPECT_EQ(*store->ExpediteReceiver("pd", 100), 0);
}

// 12 KiB of garbage in the middle of a file with 50k spans: the store must
// refuse (at open or at the scan), naming the file and the way to recover,
// never rebuild from part of the data.
TEST_F(SqliteStoreTest, DamagedFileIsRefusedWithItsPathAndRecovery) {
  const std::string path = dir_.File("events.db");
  {
    auto store = Open();
    EventBatch b;
    for (int i = 0; i < 50'000; ++i) b.spans.push_back(MakeSpan("inv" + std::to_string(i), i));
    ASSERT_TRUE(store->Append(b).ok());
  }
  {
    std::FILE* f = std::fopen(path.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 0, SEEK_END);
    const long size = std::ftell(f);
    ASSERT_GT(size, 1'000'000);
    std::fseek(f, size / 2, SEEK_SET);
    std::string garbage(12 * 1024, '\0');
    for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131 + 7) % 251);
    std::fwrite(garbage.data(), 1, garbage.size(), f);
    std::fclose(f);
  }
  Status failure = Status::Ok();
  auto store = SqliteStore::Open(path, {});
  if (!store.ok()) {
    failure = store.status();
  } else {
    int64_t seen = 0;
    EventVisitor v;
    v.span = [&](const Span&, int64_t) { ++seen; };
    failure = (*store)->Scan(v);
    EXPECT_LT(seen, 50'000);
  }
  ASSERT_FALSE(failure.ok());
  EXPECT_NE(failure.message().find(path), std::string::npos) << failure.message();
  EXPECT_NE(failure.message().find(".dump"), std::string::npos) << failure.message();
}

TEST_F(SqliteStoreTest, QuickCheckAtOpenFindsDamageOutsideTheScannedTables) {
  const std::string path = dir_.File("events.db");
  {
    auto store = Open();
    EventBatch b;
    for (int i = 0; i < 20'000; ++i) b.spans.push_back(MakeSpan("inv" + std::to_string(i), i));
    ASSERT_TRUE(store->Append(b).ok());
  }
  {
    std::FILE* f = std::fopen(path.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 0, SEEK_END);
    const long size = std::ftell(f);
    std::fseek(f, size / 2, SEEK_SET);
    std::string garbage(12 * 1024, '\x5a');
    std::fwrite(garbage.data(), 1, garbage.size(), f);
    std::fclose(f);
  }
  SqliteStore::Options o;
  o.quick_check = true;
  auto store = SqliteStore::Open(path, o);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(path), std::string::npos);
}

TEST_F(SqliteStoreTest, WritesFailOnceTheFileIsDeletedOrReplaced) {
  const std::string path = dir_.File("events.db");
  auto store = Open();
  EventBatch b;
  b.spans = {MakeSpan("a", 1)};
  ASSERT_TRUE(store->Append(b).ok());
  ASSERT_EQ(std::remove(path.c_str()), 0);
  b.spans = {MakeSpan("b", 2)};
  auto r = store->Append(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("deleted"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(path), std::string::npos);
  EXPECT_FALSE(store->SaveAlertChanges({}, {}, {}).ok());
  // Another file at the same path is not the one open either.
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  r = store->Append(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("replaced"), std::string::npos) << r.status().message();
}

TEST_F(SqliteStoreTest, RefusesAFileFromANewerVersion) {
  { auto store = Open(); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("events.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value='99' WHERE key='schema_version'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteStore::Open(dir_.File("events.db"), {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("newer"), std::string::npos);
}

TEST_F(SqliteStoreTest, BackupIsAReadableCopy) {
  auto store = Open();
  EventBatch b;
  b.spans = {MakeSpan("x", 1)};
  ASSERT_TRUE(store->Append(b).ok());
  ASSERT_TRUE(store->Backup(dir_.File("copy.db")).ok());
  auto copy = SqliteStore::Open(dir_.File("copy.db"), {});
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ((*copy)->last_seq(), 1);
}

}  // namespace
}  // namespace aw
