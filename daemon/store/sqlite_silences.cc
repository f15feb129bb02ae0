// SqliteStore: the silences table (schema 3).

#include <nlohmann/json.hpp>

#include "daemon/store/sqlite_rows.h"
#include "daemon/store/sqlite_store.h"

namespace aw {

using json = nlohmann::json;
using store_rows::BindText;
using store_rows::ColText;
using store_rows::Stmt;

namespace {

std::string MatchersToText(const std::vector<SilenceMatcher>& matchers) {
  json out = json::array();
  for (const SilenceMatcher& m : matchers) {
    out.push_back(
        {{"name", m.name}, {"value", m.value}, {"isRegex", m.is_regex}, {"isEqual", m.is_equal}});
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<SilenceMatcher> MatchersFromText(const std::string& text) {
  std::vector<SilenceMatcher> out;
  const json j = json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const json& m : j) {
    if (!m.is_object()) continue;
    SilenceMatcher sm;
    sm.name = m.value("name", "");
    sm.value = m.value("value", "");
    sm.is_regex = m.value("isRegex", false);
    sm.is_equal = m.value("isEqual", true);
    out.push_back(std::move(sm));
  }
  return out;
}

}  // namespace

Status SqliteStore::SaveSilence(const Silence& silence) {
  std::lock_guard lock(mu_);
  Status s = CheckFile();
  if (!s.ok()) return s;
  Stmt q(db_,
         "INSERT OR REPLACE INTO silences(id, matchers, starts_at, ends_at, created_by, comment, "
         "updated_at) VALUES(?,?,?,?,?,?,?)");
  if (!q) return Error("save silence");
  sqlite3_stmt* st = q.get();
  BindText(st, 1, silence.id);
  BindText(st, 2, MatchersToText(silence.matchers));
  sqlite3_bind_int64(st, 3, silence.starts_at_ms);
  sqlite3_bind_int64(st, 4, silence.ends_at_ms);
  BindText(st, 5, silence.created_by);
  BindText(st, 6, silence.comment);
  sqlite3_bind_int64(st, 7, silence.updated_at_ms);
  if (sqlite3_step(st) != SQLITE_DONE) return Error("save silence");
  return Status::Ok();
}

Status SqliteStore::DeleteSilences(const std::vector<std::string>& ids) {
  if (ids.empty()) return Status::Ok();
  std::lock_guard lock(mu_);
  return Transaction([&]() -> Status {
    Stmt q(db_, "DELETE FROM silences WHERE id = ?");
    bool ok = static_cast<bool>(q);
    for (size_t i = 0; ok && i < ids.size(); ++i) {
      sqlite3_reset(q.get());
      BindText(q.get(), 1, ids[i]);
      ok = sqlite3_step(q.get()) == SQLITE_DONE;
    }
    // Worded here: finalising the statement clears SQLite's message.
    return ok ? Status::Ok() : Error("delete silences");
  });
}

Result<std::vector<Silence>> SqliteStore::LoadSilences() {
  std::lock_guard lock(mu_);
  Stmt q(db_,
         "SELECT id, matchers, starts_at, ends_at, created_by, comment, updated_at FROM silences "
         "ORDER BY starts_at, id");
  if (!q) return Error("load silences");
  std::vector<Silence> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    sqlite3_stmt* st = q.get();
    Silence s;
    s.id = ColText(st, 0);
    s.matchers = MatchersFromText(ColText(st, 1));
    s.starts_at_ms = sqlite3_column_int64(st, 2);
    s.ends_at_ms = sqlite3_column_int64(st, 3);
    s.created_by = ColText(st, 4);
    s.comment = ColText(st, 5);
    s.updated_at_ms = sqlite3_column_int64(st, 6);
    out.push_back(std::move(s));
  }
  if (rc != SQLITE_DONE) return Error("load silences");
  return out;
}

}  // namespace aw
