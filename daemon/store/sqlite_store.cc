// SqliteStore's core: opening the file, the file identity check, errors,
// the one write-transaction shape, prepared statements, pruning and backup.
// Its other parts: sqlite_schema.cc (schema and migrations),
// sqlite_events.cc (event append, joins, replay), sqlite_alerts.cc,
// sqlite_outbox.cc, group_store.cc and sqlite_silences.cc.

#include "daemon/store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/store/sqlite_internal.h"
#include "daemon/store/sqlite_rows.h"

namespace aw {

namespace store_internal {

bool IsDamage(int code) {
  code &= 0xff;
  return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

// The salvage goes through .dump, not .recover: Debian 12's sqlite3 3.40.1
// fails .recover on any file ("SQL logic error"). .dump skips the damaged
// pages and ends in ROLLBACK, which the sed turns into COMMIT.
std::string RecoveryHint(const std::string& path) {
  return "the database file " + path +
         " is damaged. Stop agentwatch and either restore a backup, or salvage the "
         "readable rows: sqlite3 " +
         path + " .dump | sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' | sqlite3 " + path +
         ".salvaged, then move " + path + ".salvaged to " + path + " and delete " + path +
         "-wal and " + path + "-shm (see README, Operations)";
}

std::string LabelsToText(const Labels& labels) {
  return labels.empty() ? std::string() : nlohmann::json(labels).dump();
}

}  // namespace store_internal

namespace {

using store_internal::IsDamage;
using store_internal::RecoveryHint;
using store_rows::ColText;
using store_rows::kSpanColumns;
using store_rows::Stmt;

Status DbError(sqlite3* db, const std::string& what) {
  return Status::Unavailable(what + ": " + sqlite3_errmsg(db));
}

}  // namespace

SqliteStore::SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

Status SqliteStore::Error(const std::string& what) const {
  const int code = sqlite3_extended_errcode(db_);
  if (IsDamage(code)) {
    return Status::Unavailable(what + ": " + sqlite3_errmsg(db_) + ": " + RecoveryHint(path_));
  }
  return Status::Unavailable(what + ": " + sqlite3_errmsg(db_) + " (database " + path_ + ")");
}

Status SqliteStore::CheckFile() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    return Status::Unavailable("the database file " + path_ +
                               " was deleted while agentwatch was running: writes are refused "
                               "so that nothing is acknowledged and then lost; restart "
                               "agentwatch (see README, Operations)");
  }
  if (static_cast<uint64_t>(st.st_dev) != dev_ || static_cast<uint64_t>(st.st_ino) != ino_) {
    return Status::Unavailable("the database file " + path_ +
                               " was replaced by another file while agentwatch was running: "
                               "writes are refused; restart agentwatch (see README, Operations)");
  }
  return Status::Ok();
}

SqliteStore::~SqliteStore() {
  // Its thread and connection go before db_ closes, so that db_'s close is
  // the last one (unless an API reader is still open) and, as before,
  // checkpoints what is left and deletes the WAL.
  checkpointer_.reset();
  sqlite3_finalize(insert_span_);
  sqlite3_finalize(insert_feedback_);
  sqlite3_finalize(insert_resolution_);
  sqlite3_finalize(replace_span_);
  sqlite3_finalize(select_span_);
  sqlite3_finalize(insert_join_);
  sqlite3_close(db_);
}

Status SqliteStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    sqlite3_free(err);
    return Error("sqlite");
  }
  return Status::Ok();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, Options options) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Unavailable("cannot open " + path + ": " + msg);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, path));
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers don't block the writer and a commit is one sequential
  // append. NORMAL survives a process crash (kill -9); FULL also a power cut.
  Status s = store->Exec("PRAGMA journal_mode=WAL");
  if (!s.ok()) return s;
  s = store->Exec(options.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  if (!s.ok()) return s;
  s = store->Exec("PRAGMA cache_size=-16384");  // 16 MiB: inserts append, reads are rare
  if (!s.ok()) return s;
  // The identity of the file just opened (sqlite3_open_v2 created it):
  // CheckFile compares the path to it, from the migration's transaction on.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::Unavailable("cannot stat " + path + " after opening it");
  }
  store->dev_ = static_cast<uint64_t>(st.st_dev);
  store->ino_ = static_cast<uint64_t>(st.st_ino);
  // Open is the only user yet; the lock is what Transaction and last_seq_ expect.
  std::lock_guard lock(store->mu_);
  s = store->Migrate();
  if (!s.ok()) return s;
  s = store->Prepare();
  if (!s.ok()) return s;
  if (options.quick_check) {
    Stmt q(db, "PRAGMA quick_check");
    if (!q) return store->Error("quick_check");
    int step;
    std::string problems;
    while ((step = sqlite3_step(q.get())) == SQLITE_ROW) {
      const std::string line = ColText(q.get(), 0);
      if (line != "ok" && problems.size() < 500) problems += (problems.empty() ? "" : "; ") + line;
    }
    if (step != SQLITE_DONE) return store->Error("quick_check");
    if (!problems.empty()) {
      return Status::Unavailable("quick_check: " + problems + ": " + RecoveryHint(path));
    }
  }
  // From here on the WAL is copied back off the commit path.
  auto checkpointer = WalCheckpointer::Start(
      db, path, {options.sync_full, options.wal_limit_pages, options.checkpoint_thread});
  if (!checkpointer.ok()) return checkpointer.status();
  store->checkpointer_ = std::move(checkpointer).value();
  return store;
}

Status SqliteStore::Prepare() {
  const auto prep = [&](const char* sql, sqlite3_stmt** out) {
    return sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, out, nullptr) == SQLITE_OK;
  };
  if (!prep("INSERT INTO spans VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &insert_span_) ||
      !prep("INSERT INTO feedback VALUES(?,?,?,?,?,?,?)", &insert_feedback_) ||
      !prep("INSERT INTO resolutions VALUES(?,?,?,?,?,?)", &insert_resolution_) ||
      !prep("REPLACE INTO spans VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &replace_span_) ||
      !prep((std::string("SELECT ") + kSpanColumns + " FROM spans WHERE seq=?").c_str(),
            &select_span_) ||
      !prep("INSERT OR IGNORE INTO otlp_joined_spans VALUES(?,?,?,?,?)", &insert_join_)) {
    return Error("prepare");
  }
  return Status::Ok();
}

int64_t SqliteStore::last_seq() const {
  std::lock_guard lock(mu_);
  return last_seq_;
}

SqliteStore::EventCounts SqliteStore::CountEvents() {
  std::lock_guard lock(mu_);
  EventCounts c;
  const std::pair<const char*, int64_t*> queries[] = {
      {"SELECT count(*) FROM spans", &c.spans},
      {"SELECT count(*) FROM feedback", &c.feedback},
      {"SELECT count(*) FROM resolutions", &c.resolutions}};
  for (const auto& [sql, out] : queries) {
    Stmt q(db_, sql);
    if (q && sqlite3_step(q.get()) == SQLITE_ROW) *out = sqlite3_column_int64(q.get(), 0);
  }
  return c;
}

Result<int64_t> SqliteStore::Prune(TimeMs cutoff_ms) {
  std::lock_guard lock(mu_);
  int64_t removed = 0;
  const char* kDeletes[] = {
      "DELETE FROM spans WHERE ts < ?1",
      "DELETE FROM feedback WHERE ts < ?1",
      "DELETE FROM resolutions WHERE resolved_at < ?1",
      "DELETE FROM outbox WHERE status != 0 AND created < ?1",
      // Joins are not events: removed, not counted.
      "DELETE FROM otlp_joined_spans WHERE joined_at_ms < ?1",
  };
  for (const char* sql : kDeletes) {
    Stmt st(db_, sql);
    if (!st) return Error("prune");
    sqlite3_bind_int64(st.get(), 1, cutoff_ms);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("prune");
    if (std::string_view(sql).find("otlp_joined_spans") == std::string_view::npos) {
      removed += sqlite3_changes(db_);
    }
  }
  return removed;
}

Status SqliteStore::Backup(const std::string& dest_path) {
  sqlite3* dest = nullptr;
  if (sqlite3_open(dest_path.c_str(), &dest) != SQLITE_OK) {
    std::string msg = dest ? sqlite3_errmsg(dest) : "out of memory";
    sqlite3_close(dest);
    return Status::Unavailable("backup: cannot open " + dest_path + ": " + msg);
  }
  std::lock_guard lock(mu_);
  sqlite3_backup* b = sqlite3_backup_init(dest, "main", db_, "main");
  if (!b) {
    Status err = DbError(dest, "backup");
    sqlite3_close(dest);
    return err;
  }
  sqlite3_backup_step(b, -1);
  const int rc = sqlite3_backup_finish(b);
  Status result = rc == SQLITE_OK ? Status::Ok() : DbError(dest, "backup");
  sqlite3_close(dest);
  return result;
}

Status SqliteStore::Transaction(const std::function<Status()>& body) {
  Status s = CheckFile();
  if (!s.ok()) return s;
  s = Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  s = body();
  if (!s.ok()) {
    (void)Exec("ROLLBACK");
    return s;
  }
  s = Exec("COMMIT");
  if (!s.ok()) (void)Exec("ROLLBACK");
  return s;
}

}  // namespace aw
