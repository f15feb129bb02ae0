#include "daemon/store/investigation_reads.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "daemon/store/sqlite_store.h"
#include "tests/testing/query_plan.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

Span MakeSpan(const std::string& id, TimeMs ts, const std::string& env) {
  Span s;
  s.investigation_id = id;
  s.agent = "ir";
  s.ts_ms = ts;
  s.labels = {{"env", env}};
  return s;
}

TEST(InvestigationReaderTest, SchemaOneFileGetsTheReadIndexesAndListingsUseThem) {
  testing::TempDir dir;
  const std::string path = dir.File("events.db");
  {
    auto store = SqliteStore::Open(path, {});
    ASSERT_TRUE(store.ok()) << store.status().message();
    EventBatch b;
    b.spans = {MakeSpan("a", 1000, "prod"), MakeSpan("b", 3000, "staging"),
               MakeSpan("c", 2000, "prod")};
    ASSERT_TRUE((*store)->Append(b).ok());
  }
  // Make it a schema 1 file: no read indexes.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP INDEX spans_ts; DROP INDEX spans_investigation; "
                         "DROP INDEX feedback_investigation; "
                         "UPDATE meta SET value='1' WHERE key='schema_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_NE(QueryPlan(db, "SELECT seq FROM spans ORDER BY ts DESC, seq DESC").find("TEMP B-TREE"),
            std::string::npos);
  sqlite3_close(db);

  auto store = SqliteStore::Open(path, {});
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const std::string list_plan = QueryPlan(db, "SELECT seq FROM spans ORDER BY ts DESC, seq DESC");
  EXPECT_NE(list_plan.find("spans_ts"), std::string::npos) << list_plan;
  EXPECT_EQ(list_plan.find("TEMP B-TREE"), std::string::npos) << list_plan;
  const std::string id_plan = QueryPlan(db, "SELECT seq FROM spans WHERE investigation_id = 'a'");
  EXPECT_NE(id_plan.find("spans_investigation"), std::string::npos) << id_plan;
  const std::string verdict_plan =
      QueryPlan(db, "SELECT verdict FROM feedback WHERE investigation_id = 'a'");
  EXPECT_NE(verdict_plan.find("feedback_investigation"), std::string::npos) << verdict_plan;
  sqlite3_close(db);

  // The reader sees what the store wrote, newest first, labels filtered.
  auto reader = InvestigationReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  InvestigationQuery q;
  auto all = (*reader)->List(q);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].span.investigation_id, "b");
  EXPECT_EQ((*all)[1].span.investigation_id, "c");
  EXPECT_EQ((*all)[2].span.investigation_id, "a");
  q.labels = {{"env", "prod"}};
  q.latest_n = 1;
  auto latest_prod = (*reader)->List(q);
  ASSERT_TRUE(latest_prod.ok());
  ASSERT_EQ(latest_prod->size(), 1u);
  EXPECT_EQ((*latest_prod)[0].span.investigation_id, "c");
}

}  // namespace
}  // namespace aw
