// OTLP joins in the store: on-time joins written with their investigation,
// late joins applied to the stored record exactly once (also across a
// reopen), JoinedSpans, and the upgrade of a version-1 file.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "daemon/store/sqlite_store.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

Span Investigation(const std::string& id, TimeMs ts) {
  Span s;
  s.investigation_id = id;
  s.agent = "triage";
  s.ts_ms = ts;
  s.tool_calls = 1;
  s.input_tokens = 100;
  s.labels = {{"env", "prod"}};
  return s;
}

LateJoin Late(const std::string& trace, const std::string& span, const std::string& inv,
              int64_t seq, TimeMs at, int64_t add_tools, int64_t add_input) {
  LateJoin l;
  l.join = {trace, span, inv, at};
  l.investigation_seq = seq;
  l.apply = [add_tools, add_input](Span& s) {
    s.tool_calls = s.tool_calls.value_or(0) + add_tools;
    s.input_tokens = s.input_tokens.value_or(0) + add_input;
    s.model = "gpt-late";
  };
  return l;
}

std::vector<Span> ScanSpans(SqliteStore& store) {
  std::vector<Span> out;
  EventVisitor v;
  v.span = [&](const Span& s, int64_t) { out.push_back(s); };
  EXPECT_TRUE(store.Scan(v).ok());
  return out;
}

class SqliteStoreJoinsTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> Open() {
    auto s = SqliteStore::Open(dir_.File("events.db"), {});
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  testing::TempDir dir_;
};

TEST_F(SqliteStoreJoinsTest, LateJoinUpdatesTheStoredRecordExactlyOnceAcrossAReopen) {
  int64_t seq = 0;
  {
    auto store = Open();
    EventBatch b;
    b.spans = {Investigation("other", 900), Investigation("inv", 1000)};
    b.joins = {{"t1", "c1", "inv", 1500}, {"t1", "c2", "inv", 1500}};
    auto first = store->Append(b);
    ASSERT_TRUE(first.ok());
    seq = *first + 1;

    EventBatch late;
    late.late_joins = {Late("t1", "c3", "inv", seq, 2000, 2, 350)};
    std::vector<LateJoinOutcome> applied;
    ASSERT_TRUE(store->Append(late, &applied).ok());
    ASSERT_EQ(applied.size(), 1u);
    EXPECT_TRUE(applied[0].applied);
    ASSERT_TRUE(applied[0].record.has_value());
    EXPECT_EQ(applied[0].record->tool_calls, 1 + 2);
    EXPECT_EQ(applied[0].record->input_tokens, 100 + 350);
    EXPECT_EQ(applied[0].record->labels, (Labels{{"env", "prod"}}));

    // The same descendant again (a client retry): nothing changes.
    ASSERT_TRUE(store->Append(late, &applied).ok());
    ASSERT_EQ(applied.size(), 1u);
    EXPECT_FALSE(applied[0].applied);
    EXPECT_FALSE(applied[0].record.has_value());
    // A descendant joined on time, re-sent late: nothing changes either.
    EventBatch on_time_again;
    on_time_again.late_joins = {Late("t1", "c1", "inv", seq, 2100, 5, 5)};
    ASSERT_TRUE(store->Append(on_time_again, &applied).ok());
    EXPECT_FALSE(applied[0].applied);
    EXPECT_FALSE(applied[0].record.has_value());
  }
  auto store = Open();
  EventBatch again;
  again.late_joins = {Late("t1", "c3", "inv", seq, 9000, 2, 350)};
  std::vector<LateJoinOutcome> applied;
  ASSERT_TRUE(store->Append(again, &applied).ok());
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_FALSE(applied[0].applied);
  EXPECT_FALSE(applied[0].record.has_value());

  const std::vector<Span> spans = ScanSpans(*store);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].investigation_id, "other");
  EXPECT_EQ(spans[0].tool_calls, 1);  // only its own record changed
  EXPECT_EQ(spans[1].investigation_id, "inv");
  EXPECT_EQ(spans[1].tool_calls, 3);
  EXPECT_EQ(spans[1].input_tokens, 450);
  EXPECT_EQ(spans[1].model, "gpt-late");
  EXPECT_FALSE(spans[1].cost_usd.has_value());  // priced when applied, never stored
  EXPECT_EQ(store->last_seq(), seq);            // late joins take no seq

  auto joined = store->JoinedSpans("inv");
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  ASSERT_EQ(joined->size(), 3u);
  EXPECT_EQ((*joined)[0].span_id, "c1");
  EXPECT_FALSE((*joined)[0].joined_late);
  EXPECT_EQ((*joined)[0].joined_at_ms, 1500);
  EXPECT_EQ((*joined)[1].span_id, "c2");
  EXPECT_EQ((*joined)[2].trace_id, "t1");
  EXPECT_EQ((*joined)[2].span_id, "c3");
  EXPECT_TRUE((*joined)[2].joined_late);
  EXPECT_EQ((*joined)[2].joined_at_ms, 2000);
  auto none = store->JoinedSpans("other");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(SqliteStoreJoinsTest, LateJoinCanTargetASpanOfTheSameBatch) {
  auto store = Open();
  EventBatch b;
  b.spans = {Investigation("a", 10), Investigation("b", 20)};
  b.late_joins = {Late("t", "x", "b", 0, 30, 4, 0), Late("t", "x", "b", 0, 30, 4, 0)};
  std::vector<LateJoinOutcome> applied;
  ASSERT_TRUE(store->Append(b, &applied).ok());
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_TRUE(applied[0].applied);
  ASSERT_TRUE(applied[0].record.has_value());
  EXPECT_FALSE(applied[1].applied);
  EXPECT_FALSE(applied[1].record.has_value());  // the same descendant twice in one batch
  const std::vector<Span> spans = ScanSpans(*store);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].tool_calls, 1);
  EXPECT_EQ(spans[1].tool_calls, 5);
}

TEST_F(SqliteStoreJoinsTest, ManyLateDescendantsOfOneInvestigationRewriteItOnce) {
  auto store = Open();
  EventBatch b;
  b.spans = {Investigation("a", 10), Investigation("b", 20)};
  auto first = store->Append(b);
  ASSERT_TRUE(first.ok());
  const int64_t seq_a = *first, seq_b = *first + 1;
  // Interleaved descendants of both, one of them re-sent within the batch.
  EventBatch late;
  late.late_joins = {Late("t", "a1", "a", seq_a, 30, 2, 10), Late("t", "b1", "b", seq_b, 31, 3, 0),
                     Late("t", "a2", "a", seq_a, 32, 4, 20), Late("t", "a1", "a", seq_a, 33, 2, 10),
                     Late("t", "a3", "a", seq_a, 34, 1, 30)};
  std::vector<LateJoinOutcome> applied;
  ASSERT_TRUE(store->Append(late, &applied).ok());
  ASSERT_EQ(applied.size(), 5u);
  const std::vector<bool> was_applied = {true, true, true, false, true};
  for (size_t i = 0; i < applied.size(); ++i) EXPECT_EQ(applied[i].applied, was_applied[i]) << i;
  // Only the last applied join of each investigation carries the record,
  // with every descendant in it.
  EXPECT_FALSE(applied[0].record.has_value());
  EXPECT_FALSE(applied[2].record.has_value());
  ASSERT_TRUE(applied[4].record.has_value());
  EXPECT_EQ(applied[4].record->investigation_id, "a");
  EXPECT_EQ(applied[4].record->tool_calls, 1 + 2 + 4 + 1);
  EXPECT_EQ(applied[4].record->input_tokens, 100 + 10 + 20 + 30);
  ASSERT_TRUE(applied[1].record.has_value());
  EXPECT_EQ(applied[1].record->tool_calls, 1 + 3);
  // Stored as the records say, and the join rows are all there.
  const std::vector<Span> spans = ScanSpans(*store);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].tool_calls, 8);
  EXPECT_EQ(spans[0].input_tokens, 160);
  EXPECT_EQ(spans[1].tool_calls, 4);
  auto joined = store->JoinedSpans("a");
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->size(), 3u);
}

TEST_F(SqliteStoreJoinsTest, ALateJoinToAMissingRecordFailsTheWholeBatch) {
  auto store = Open();
  EventBatch b;
  b.spans = {Investigation("a", 10)};
  b.late_joins = {Late("t", "x", "nowhere", 77, 30, 1, 0)};
  auto r = store->Append(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nowhere"), std::string::npos) << r.status().message();
  EXPECT_TRUE(ScanSpans(*store).empty());
  auto joined = store->JoinedSpans("nowhere");
  ASSERT_TRUE(joined.ok());
  EXPECT_TRUE(joined->empty());
}

TEST_F(SqliteStoreJoinsTest, AVersionOneFileIsUpgradedWithItsData) {
  {
    auto store = Open();
    EventBatch b;
    b.spans = {Investigation("old", 5)};
    ASSERT_TRUE(store->Append(b).ok());
  }
  // Make it what version 1 wrote: no join table, schema_version 1.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("events.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE otlp_joined_spans;"
                         "UPDATE meta SET value='1' WHERE key='schema_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto store = Open();
  ASSERT_NE(store, nullptr);
  EventBatch late;
  late.late_joins = {Late("t", "c", "old", 1, 50, 1, 1)};
  std::vector<LateJoinOutcome> applied;
  auto r = store->Append(late, &applied);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(applied[0].applied);
  ASSERT_TRUE(applied[0].record.has_value());
  EXPECT_EQ(applied[0].record->tool_calls, 2);
  store.reset();

  ASSERT_EQ(sqlite3_open(dir_.File("events.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema_version'", -1, &q, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), SqliteStore::kSchemaVersion);
  EXPECT_EQ(SqliteStore::kSchemaVersion, 4);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

}  // namespace
}  // namespace aw
