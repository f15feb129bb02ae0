#pragma once

// What SQLite's planner would do: tests that a query uses an index.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

namespace aw {

// EXPLAIN QUERY PLAN of `sql` on `db`: every row's detail, joined by "; ".
inline std::string QueryPlan(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &st, nullptr),
            SQLITE_OK);
  std::string plan;
  while (sqlite3_step(st) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
    plan += "; ";
  }
  sqlite3_finalize(st);
  return plan;
}

}  // namespace aw
