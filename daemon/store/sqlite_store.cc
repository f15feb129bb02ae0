#include "daemon/store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <map>
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/store/sqlite_rows.h"

namespace aw {

namespace {

using json = nlohmann::json;
using store_rows::BindTextOrNull;
using store_rows::ColInt;
using store_rows::ColReal;
using store_rows::ColText;
using store_rows::kSpanColumns;
using store_rows::LabelsFromText;
using store_rows::SpanFromRow;
using store_rows::Stmt;

void BindInt(sqlite3_stmt* s, int i, const std::optional<int64_t>& v) {
  if (v)
    sqlite3_bind_int64(s, i, *v);
  else
    sqlite3_bind_null(s, i);
}
void BindReal(sqlite3_stmt* s, int i, const std::optional<double>& v) {
  if (v)
    sqlite3_bind_double(s, i, *v);
  else
    sqlite3_bind_null(s, i);
}

std::string LabelsToText(const Labels& labels) {
  return labels.empty() ? std::string() : json(labels).dump();
}

// Binds a span to the 19 columns of `spans`, seq first.
void BindSpan(sqlite3_stmt* st, int64_t seq, const Span& sp) {
  sqlite3_bind_int64(st, 1, seq);
  BindTextOrNull(st, 2, sp.investigation_id);
  BindTextOrNull(st, 3, sp.agent);
  sqlite3_bind_int64(st, 4, sp.ts_ms);
  BindTextOrNull(st, 5, sp.model);
  BindTextOrNull(st, 6, sp.response_model);
  BindTextOrNull(st, 7, sp.provider);
  BindInt(st, 8, sp.input_tokens);
  BindInt(st, 9, sp.output_tokens);
  BindInt(st, 10, sp.cache_read_tokens);
  BindInt(st, 11, sp.cache_creation_tokens);
  BindInt(st, 12, sp.llm_calls);
  BindInt(st, 13, sp.tool_calls);
  BindReal(st, 14, sp.cost_usd);
  BindInt(st, 15, sp.duration_ms);
  BindTextOrNull(st, 16, sp.finish_reason);
  BindReal(st, 17, sp.confidence);
  BindTextOrNull(st, 18, sp.incident_id);
  BindTextOrNull(st, 19, LabelsToText(sp.labels));
}

Status DbError(sqlite3* db, const std::string& what) {
  return Status::Unavailable(what + ": " + sqlite3_errmsg(db));
}

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

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Events: no secondary index here (dedup lives in memory), so batched
-- inserts stay near SQLite's raw speed; schema 2 adds the read indexes below.
CREATE TABLE IF NOT EXISTS spans(
  seq INTEGER PRIMARY KEY, investigation_id TEXT NOT NULL, agent TEXT NOT NULL,
  ts INTEGER NOT NULL, model TEXT, response_model TEXT, provider TEXT,
  input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER,
  cache_creation_tokens INTEGER, llm_calls INTEGER, tool_calls INTEGER,
  cost_usd REAL, duration_ms INTEGER, finish_reason TEXT, confidence REAL,
  incident_id TEXT, labels TEXT);
CREATE TABLE IF NOT EXISTS feedback(
  seq INTEGER PRIMARY KEY, investigation_id TEXT NOT NULL, verdict INTEGER NOT NULL,
  ts INTEGER NOT NULL, actor TEXT, reason TEXT, agent TEXT);
CREATE TABLE IF NOT EXISTS resolutions(
  seq INTEGER PRIMARY KEY, incident_id TEXT, investigation_id TEXT,
  resolved_at INTEGER NOT NULL, opened_at INTEGER, time_to_resolve_s REAL);
CREATE TABLE IF NOT EXISTS alerts(
  fingerprint TEXT PRIMARY KEY, rule TEXT NOT NULL, labels TEXT, annotations TEXT,
  state INTEGER NOT NULL, value REAL NOT NULL, active_since INTEGER NOT NULL,
  fired_at INTEGER NOT NULL, last_notified INTEGER NOT NULL,
  keep_firing_since INTEGER NOT NULL);
-- status: 0 pending, 1 delivered, 2 failed, 3 superseded by a newer item.
CREATE TABLE IF NOT EXISTS outbox(
  id INTEGER PRIMARY KEY AUTOINCREMENT, receiver TEXT NOT NULL, fingerprint TEXT,
  payload TEXT NOT NULL, created INTEGER NOT NULL, next_attempt INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, status INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_attempt);
)sql";

// Version 2: the descendant spans joined into OTLP investigations (the
// primary key is the dedup of late joins: exactly once, across restarts),
// and the indexes behind /api/v1/investigations. spans(ts) lets a listing
// walk back from the newest and stop at its limit (ts mostly grows, so
// inserts append to it); the id indexes serve one investigation's span,
// verdicts and resolution without a full scan. And which budget thresholds
// fired in which period, so a restart does not fire them again.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS otlp_joined_spans(
  trace_id TEXT NOT NULL, span_id TEXT NOT NULL, investigation_id TEXT NOT NULL,
  joined_late INTEGER NOT NULL, joined_at_ms INTEGER NOT NULL,
  PRIMARY KEY(trace_id, span_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS otlp_joined_by_investigation
  ON otlp_joined_spans(investigation_id);
CREATE INDEX IF NOT EXISTS spans_ts ON spans(ts);
CREATE INDEX IF NOT EXISTS spans_investigation ON spans(investigation_id);
CREATE INDEX IF NOT EXISTS feedback_investigation ON feedback(investigation_id);
CREATE INDEX IF NOT EXISTS resolutions_investigation ON resolutions(investigation_id);
CREATE INDEX IF NOT EXISTS resolutions_incident ON resolutions(incident_id);
CREATE TABLE IF NOT EXISTS budget_fired(
  budget TEXT NOT NULL, threshold TEXT NOT NULL, period_start INTEGER NOT NULL,
  fired_at INTEGER NOT NULL, PRIMARY KEY(budget, threshold, period_start));
)sql";

// Version 3: silences (matchers as a JSON array); on each alert whether
// its firing was acknowledged in PagerDuty (no repeats) and whether its
// trigger is still unannounced (it fired while silenced); and the
// notification groups of grouped receivers (alerting/grouping.h), so a
// group waiting out its group_wait survives a restart. An outbox item
// folded into a group gets status 4 (grouped).
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE IF NOT EXISTS silences(
  id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at INTEGER NOT NULL,
  ends_at INTEGER NOT NULL, created_by TEXT NOT NULL, comment TEXT NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS notify_groups(
  receiver TEXT NOT NULL, group_key TEXT NOT NULL, state TEXT NOT NULL,
  PRIMARY KEY(receiver, group_key)) WITHOUT ROWID;
)sql";
// Added to alerts by version 3 (ALTER TABLE has no IF NOT EXISTS: the
// migration checks first).
constexpr const char* kAlertColumnsV3[] = {"acknowledged", "unannounced"};
// Version 4: when each outbox item was delivered (NULL: not delivered, or
// delivered before version 4), for the alert page's notifications.
constexpr const char* kOutboxColumnV4 = "delivered";

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
  // The identity of the file just opened: CheckFile compares the path to it.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::Unavailable("cannot stat " + path + " after opening it");
  }
  store->dev_ = static_cast<uint64_t>(st.st_dev);
  store->ino_ = static_cast<uint64_t>(st.st_ino);
  return store;
}

Status SqliteStore::Migrate() {
  Status s = Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  int version = 0;
  {
    // No meta table yet (a new file) prepares with "no such table".
    Stmt q(db_, "SELECT value FROM meta WHERE key='schema_version'");
    if (q) {
      const int rc = sqlite3_step(q.get());
      if (rc == SQLITE_ROW) {
        version = static_cast<int>(sqlite3_column_int64(q.get(), 0));
      } else if (rc != SQLITE_DONE) {
        Status err = Error("read schema version");
        (void)Exec("ROLLBACK");
        return err;
      }
    } else if (IsDamage(sqlite3_extended_errcode(db_))) {
      Status err = Error("read schema version");
      (void)Exec("ROLLBACK");
      return err;
    }
  }
  if (version > kSchemaVersion) {
    (void)Exec("ROLLBACK");
    return Status::InvalidArgument("store schema version " + std::to_string(version) +
                                   " is newer than this agentwatch (" +
                                   std::to_string(kSchemaVersion) + "): upgrade agentwatch");
  }
  // Migrations from older versions go here, one step per version (a new
  // file is version 0 and takes every step).
  s = Exec(kSchema);
  if (s.ok() && version < 2) s = Exec(kSchemaV2);
  if (s.ok() && version < 3) s = Exec(kSchemaV3);
  // Columns added after version 1 (kSchema keeps the version 1 layout, so a
  // new file takes these steps too). ALTER TABLE has no IF NOT EXISTS.
  const auto add_column = [&](const char* table, const char* column, const char* decl) {
    Stmt q(db_, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2");
    if (!q) return Error(std::string("read ") + table + " columns");
    sqlite3_bind_text(q.get(), 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(q.get(), 2, column, -1, SQLITE_STATIC);
    if (sqlite3_step(q.get()) == SQLITE_ROW) return Status::Ok();
    return Exec(
        ("ALTER TABLE " + std::string(table) + " ADD COLUMN " + column + " " + decl).c_str());
  };
  for (const char* column : kAlertColumnsV3) {
    if (!s.ok() || version >= 3) break;
    s = add_column("alerts", column, "INTEGER NOT NULL DEFAULT 0");
  }
  if (s.ok() && version < 4) s = add_column("outbox", kOutboxColumnV4, "INTEGER");
  if (s.ok()) {
    s = Exec(("INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', '" +
              std::to_string(kSchemaVersion) + "')")
                 .c_str());
  }
  if (!s.ok()) {
    (void)Exec("ROLLBACK");
    return s;
  }
  s = Exec("COMMIT");
  if (!s.ok()) return s;
  Stmt q(db_,
         "SELECT max(m) FROM (SELECT max(seq) m FROM spans UNION ALL "
         "SELECT max(seq) FROM feedback UNION ALL SELECT max(seq) FROM resolutions)");
  if (!q || sqlite3_step(q.get()) != SQLITE_ROW) return Error("read last seq");
  last_seq_ = sqlite3_column_int64(q.get(), 0);
  return Status::Ok();
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

Status SqliteStore::InsertJoin(const SpanJoin& join, bool late, bool* inserted) {
  sqlite3_stmt* st = insert_join_;
  BindTextOrNull(st, 1, join.trace_id);
  BindTextOrNull(st, 2, join.span_id);
  BindTextOrNull(st, 3, join.investigation_id);
  sqlite3_bind_int(st, 4, late ? 1 : 0);
  sqlite3_bind_int64(st, 5, join.joined_at_ms);
  const int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE) return Error("insert join");
  *inserted = sqlite3_changes(db_) > 0;
  return Status::Ok();
}

Status SqliteStore::ApplyLateJoins(const EventBatch& batch, int64_t first,
                                   std::vector<LateJoinOutcome>* outcomes) {
  struct Touched {
    Span span;
    size_t last_join = 0;
  };
  std::map<int64_t, Touched> touched;  // by the investigation's seq
  outcomes->assign(batch.late_joins.size(), LateJoinOutcome{});
  for (size_t i = 0; i < batch.late_joins.size(); ++i) {
    const LateJoin& late = batch.late_joins[i];
    int64_t seq = late.investigation_seq;
    for (size_t k = 0; seq == 0 && k < batch.spans.size(); ++k) {
      if (batch.spans[k].investigation_id == late.join.investigation_id) {
        seq = first + static_cast<int64_t>(k);
      }
    }
    bool inserted = false;
    Status s = InsertJoin(late.join, true, &inserted);
    if (!s.ok()) return s;
    if (!inserted) continue;  // joined before: a re-sent descendant
    auto it = touched.find(seq);
    if (it == touched.end()) {
      sqlite3_stmt* sel = select_span_;
      sqlite3_bind_int64(sel, 1, seq);
      const int rc = sqlite3_step(sel);
      std::optional<Span> span;
      if (rc == SQLITE_ROW) span = SpanFromRow(sel);
      sqlite3_reset(sel);
      sqlite3_clear_bindings(sel);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error("read investigation");
      if (!span || span->investigation_id != late.join.investigation_id) {
        return Status::Unavailable("investigation " + late.join.investigation_id +
                                   " is not stored (seq " + std::to_string(seq) + ")");
      }
      it = touched.emplace(seq, Touched{std::move(*span), i}).first;
    }
    if (late.apply) late.apply(it->second.span);
    it->second.last_join = i;
    (*outcomes)[i].applied = true;
  }
  for (auto& [seq, t] : touched) {
    BindSpan(replace_span_, seq, t.span);
    const int rc = sqlite3_step(replace_span_);
    sqlite3_reset(replace_span_);
    sqlite3_clear_bindings(replace_span_);
    if (rc != SQLITE_DONE) return Error("update investigation");
    (*outcomes)[t.last_join].record = std::move(t.span);
  }
  return Status::Ok();
}

Result<std::vector<JoinedSpan>> SqliteStore::JoinedSpans(const std::string& investigation_id) {
  std::lock_guard lock(mu_);
  Stmt q(db_,
         "SELECT trace_id, span_id, joined_late, joined_at_ms FROM otlp_joined_spans "
         "WHERE investigation_id=? ORDER BY joined_at_ms, span_id");
  if (!q) return Error("read joined spans");
  BindTextOrNull(q.get(), 1, investigation_id);
  std::vector<JoinedSpan> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    JoinedSpan j;
    j.trace_id = ColText(q.get(), 0);
    j.span_id = ColText(q.get(), 1);
    j.joined_late = sqlite3_column_int(q.get(), 2) != 0;
    j.joined_at_ms = sqlite3_column_int64(q.get(), 3);
    out.push_back(std::move(j));
  }
  if (rc != SQLITE_DONE) return Error("read joined spans");
  return out;
}

Result<int64_t> SqliteStore::Append(const EventBatch& batch,
                                    std::vector<LateJoinOutcome>* late_applied) {
  std::lock_guard lock(mu_);
  const int64_t first = last_seq_ + 1;
  if (late_applied != nullptr) late_applied->clear();
  if (batch.empty()) return first;
  Status s = CheckFile();
  if (!s.ok()) return s;
  s = Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  int64_t seq = last_seq_;
  const auto step = [&](sqlite3_stmt* st) {
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
  };
  bool ok = true;
  for (const Span& sp : batch.spans) {
    BindSpan(insert_span_, ++seq, sp);
    if (!(ok = step(insert_span_))) break;
  }
  for (size_t i = 0; ok && i < batch.feedback.size(); ++i) {
    const Feedback& f = batch.feedback[i];
    sqlite3_stmt* st = insert_feedback_;
    sqlite3_bind_int64(st, 1, ++seq);
    BindTextOrNull(st, 2, f.investigation_id);
    sqlite3_bind_int(st, 3, static_cast<int>(f.verdict));
    sqlite3_bind_int64(st, 4, f.ts_ms);
    BindTextOrNull(st, 5, f.actor);
    BindTextOrNull(st, 6, f.reason);
    BindTextOrNull(st, 7, f.agent);
    ok = step(st);
  }
  for (size_t i = 0; ok && i < batch.resolutions.size(); ++i) {
    const Resolution& r = batch.resolutions[i];
    sqlite3_stmt* st = insert_resolution_;
    sqlite3_bind_int64(st, 1, ++seq);
    BindTextOrNull(st, 2, r.incident_id);
    BindTextOrNull(st, 3, r.investigation_id);
    sqlite3_bind_int64(st, 4, r.resolved_at_ms);
    BindInt(st, 5, r.opened_at_ms);
    BindReal(st, 6, r.time_to_resolve_s);
    ok = step(st);
  }
  if (!ok) {
    Status err = Error("insert");
    (void)Exec("ROLLBACK");
    return err;
  }
  for (const SpanJoin& j : batch.joins) {
    bool inserted = false;
    s = InsertJoin(j, false, &inserted);
    if (!s.ok()) break;
  }
  std::vector<LateJoinOutcome> late_outcomes;
  if (s.ok()) s = ApplyLateJoins(batch, first, &late_outcomes);
  if (!s.ok()) {
    (void)Exec("ROLLBACK");
    if (late_applied != nullptr) late_applied->clear();
    return s;
  }
  s = Exec("COMMIT");
  if (!s.ok()) {
    (void)Exec("ROLLBACK");
    return s;
  }
  last_seq_ = seq;
  if (late_applied != nullptr) *late_applied = std::move(late_outcomes);
  return first;
}

Status SqliteStore::Scan(const EventVisitor& visitor) {
  std::lock_guard lock(mu_);
  Stmt spans(db_, (std::string("SELECT ") + kSpanColumns + " FROM spans ORDER BY seq").c_str());
  Stmt feedback(db_,
                "SELECT seq, investigation_id, verdict, ts, actor, reason, agent FROM feedback "
                "ORDER BY seq");
  Stmt resolutions(db_,
                   "SELECT seq, incident_id, investigation_id, resolved_at, opened_at, "
                   "time_to_resolve_s FROM resolutions ORDER BY seq");
  if (!spans || !feedback || !resolutions) return Error("scan");
  // Merge the three seq-ordered streams into one. A step that is neither a
  // row nor the end is an error: the scan stops rather than rebuild from
  // part of the data.
  bool failed = false;
  const auto next = [&](sqlite3_stmt* st) {
    const int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) failed = true;
    return rc == SQLITE_ROW;
  };
  bool has_s = next(spans.get());
  bool has_f = next(feedback.get());
  bool has_r = next(resolutions.get());
  while (!failed && (has_s || has_f || has_r)) {
    const int64_t ss = has_s ? sqlite3_column_int64(spans.get(), 0) : INT64_MAX;
    const int64_t fs = has_f ? sqlite3_column_int64(feedback.get(), 0) : INT64_MAX;
    const int64_t rs = has_r ? sqlite3_column_int64(resolutions.get(), 0) : INT64_MAX;
    if (ss < fs && ss < rs) {
      sqlite3_stmt* st = spans.get();
      const Span sp = SpanFromRow(st);
      if (visitor.span) visitor.span(sp, ss);
      has_s = next(st);
    } else if (fs < rs) {
      sqlite3_stmt* st = feedback.get();
      Feedback f;
      f.investigation_id = ColText(st, 1);
      f.verdict = static_cast<Verdict>(sqlite3_column_int(st, 2));
      f.ts_ms = sqlite3_column_int64(st, 3);
      f.actor = ColText(st, 4);
      f.reason = ColText(st, 5);
      f.agent = ColText(st, 6);
      if (visitor.feedback) visitor.feedback(f, fs);
      has_f = next(st);
    } else {
      sqlite3_stmt* st = resolutions.get();
      Resolution r;
      r.incident_id = ColText(st, 1);
      r.investigation_id = ColText(st, 2);
      r.resolved_at_ms = sqlite3_column_int64(st, 3);
      r.opened_at_ms = ColInt(st, 4);
      r.time_to_resolve_s = ColReal(st, 5);
      if (visitor.resolution) visitor.resolution(r, rs);
      has_r = next(st);
    }
  }
  if (failed) return Error("scan");
  return Status::Ok();
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

Status SqliteStore::SaveAlertChanges(const std::vector<StoredAlert>& upserts,
                                     const std::vector<std::string>& deleted,
                                     std::vector<OutboxItem> notifications) {
  return SaveAlertChanges(upserts, deleted, std::move(notifications), {});
}

Status SqliteStore::SaveAlertChanges(const std::vector<StoredAlert>& upserts,
                                     const std::vector<std::string>& deleted,
                                     std::vector<OutboxItem> notifications,
                                     const std::vector<BudgetFired>& budget_fired) {
  std::lock_guard lock(mu_);
  return Transaction([&]() -> Status {
    bool ok = true;
    Stmt up(db_,
            "INSERT OR REPLACE INTO alerts(fingerprint, rule, labels, annotations, state, value, "
            "active_since, fired_at, last_notified, keep_firing_since, acknowledged, "
            "unannounced) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    Stmt del(db_, "DELETE FROM alerts WHERE fingerprint = ?");
    Stmt out(db_, store_rows::kInsertOutbox);
    Stmt fired(db_,
               "INSERT OR IGNORE INTO budget_fired(budget, threshold, period_start, fired_at) "
               "VALUES(?,?,?,?)");
    ok = up && del && out && fired;
    for (size_t i = 0; ok && i < budget_fired.size(); ++i) {
      const BudgetFired& f = budget_fired[i];
      sqlite3_stmt* st = fired.get();
      sqlite3_reset(st);
      BindTextOrNull(st, 1, f.budget);
      BindTextOrNull(st, 2, f.threshold);
      sqlite3_bind_int64(st, 3, f.period_start_ms);
      sqlite3_bind_int64(st, 4, f.fired_at_ms);
      ok = sqlite3_step(st) == SQLITE_DONE;
    }
    for (size_t i = 0; ok && i < upserts.size(); ++i) {
      const StoredAlert& a = upserts[i];
      sqlite3_stmt* st = up.get();
      sqlite3_reset(st);
      BindTextOrNull(st, 1, a.fingerprint);
      BindTextOrNull(st, 2, a.rule);
      BindTextOrNull(st, 3, LabelsToText(a.labels));
      BindTextOrNull(st, 4, LabelsToText(a.annotations));
      sqlite3_bind_int(st, 5, static_cast<int>(a.state));
      sqlite3_bind_double(st, 6, a.value);
      sqlite3_bind_int64(st, 7, a.active_since_ms);
      sqlite3_bind_int64(st, 8, a.fired_at_ms);
      sqlite3_bind_int64(st, 9, a.last_notified_ms);
      sqlite3_bind_int64(st, 10, a.keep_firing_since_ms);
      sqlite3_bind_int(st, 11, a.acknowledged ? 1 : 0);
      sqlite3_bind_int(st, 12, a.unannounced ? 1 : 0);
      ok = sqlite3_step(st) == SQLITE_DONE;
    }
    for (size_t i = 0; ok && i < deleted.size(); ++i) {
      sqlite3_stmt* st = del.get();
      sqlite3_reset(st);
      BindTextOrNull(st, 1, deleted[i]);
      ok = sqlite3_step(st) == SQLITE_DONE;
    }
    for (size_t i = 0; ok && i < notifications.size(); ++i) {
      ok = store_rows::InsertOutbox(out.get(), notifications[i]);
    }
    // Worded here: finalising the statements clears SQLite's message.
    return ok ? Status::Ok() : Error("save alerts");
  });
}

Result<std::vector<StoredAlert>> SqliteStore::LoadAlerts() {
  std::lock_guard lock(mu_);
  Stmt q(db_,
         "SELECT fingerprint, rule, labels, annotations, state, value, active_since, fired_at, "
         "last_notified, keep_firing_since, acknowledged, unannounced FROM alerts "
         "ORDER BY fingerprint");
  if (!q) return Error("load alerts");
  std::vector<StoredAlert> alerts;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    sqlite3_stmt* st = q.get();
    StoredAlert a;
    a.fingerprint = ColText(st, 0);
    a.rule = ColText(st, 1);
    a.labels = LabelsFromText(ColText(st, 2));
    a.annotations = LabelsFromText(ColText(st, 3));
    a.state = static_cast<AlertState>(sqlite3_column_int(st, 4));
    a.value = sqlite3_column_double(st, 5);
    a.active_since_ms = sqlite3_column_int64(st, 6);
    a.fired_at_ms = sqlite3_column_int64(st, 7);
    a.last_notified_ms = sqlite3_column_int64(st, 8);
    a.keep_firing_since_ms = sqlite3_column_int64(st, 9);
    a.acknowledged = sqlite3_column_int(st, 10) != 0;
    a.unannounced = sqlite3_column_int(st, 11) != 0;
    alerts.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE) return Error("load alerts");
  return alerts;
}

Result<std::vector<BudgetFired>> SqliteStore::LoadBudgetFired(TimeMs since_ms) {
  std::lock_guard lock(mu_);
  Stmt q(db_,
         "SELECT budget, threshold, period_start, fired_at FROM budget_fired "
         "WHERE period_start >= ? ORDER BY budget, threshold, period_start");
  if (!q) return Error("load budget thresholds");
  sqlite3_bind_int64(q.get(), 1, since_ms);
  std::vector<BudgetFired> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    sqlite3_stmt* st = q.get();
    out.push_back(
        {ColText(st, 0), ColText(st, 1), sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3)});
  }
  if (rc != SQLITE_DONE) return Error("load budget thresholds");
  return out;
}

Result<std::vector<OutboxItem>> SqliteStore::DueOutbox(TimeMs now, int limit) {
  std::lock_guard lock(mu_);
  Stmt q(db_, std::string("SELECT ") + store_rows::kOutboxColumns +
                  " FROM outbox WHERE status = 0 AND next_attempt <= ? ORDER BY id LIMIT ?");
  if (!q) return Error("outbox");
  sqlite3_bind_int64(q.get(), 1, now);
  sqlite3_bind_int(q.get(), 2, limit);
  std::vector<OutboxItem> items;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    items.push_back(store_rows::OutboxItemFromRow(q.get()));
  }
  if (rc != SQLITE_DONE) return Error("outbox");
  return items;
}

Result<int64_t> SqliteStore::NextOutboxAttempt() {
  std::lock_guard lock(mu_);
  Stmt q(db_, "SELECT min(next_attempt) FROM outbox WHERE status = 0");
  if (!q || sqlite3_step(q.get()) != SQLITE_ROW) return Error("outbox");
  if (sqlite3_column_type(q.get(), 0) == SQLITE_NULL) return int64_t{-1};
  return sqlite3_column_int64(q.get(), 0);
}

Status SqliteStore::SetOutboxStatus(int64_t id, int status, const std::string& error) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "UPDATE outbox SET status = ?, last_error = ? WHERE id = ?");
  if (!st) return Error("outbox");
  sqlite3_bind_int(st.get(), 1, status);
  BindTextOrNull(st.get(), 2, error);
  sqlite3_bind_int64(st.get(), 3, id);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("outbox");
  return Status::Ok();
}

Status SqliteStore::MarkDelivered(int64_t id, TimeMs at) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "UPDATE outbox SET status = 1, last_error = NULL, delivered = ? WHERE id = ?");
  if (!st) return Error("outbox");
  sqlite3_bind_int64(st.get(), 1, at);
  sqlite3_bind_int64(st.get(), 2, id);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("outbox");
  return Status::Ok();
}

Status SqliteStore::MarkFailed(int64_t id, const std::string& error) {
  return SetOutboxStatus(id, 2, error);
}

Result<int64_t> SqliteStore::SupersedeOlder(const std::string& receiver,
                                            const std::string& fingerprint, int64_t newer_id) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "UPDATE outbox SET status = 3, last_error = ? WHERE status = 0 AND receiver = ? "
          "AND fingerprint = ? AND id < ?");
  if (!st) return Error("outbox");
  BindTextOrNull(st.get(), 1, "superseded by outbox item " + std::to_string(newer_id));
  BindTextOrNull(st.get(), 2, receiver);
  BindTextOrNull(st.get(), 3, fingerprint);
  sqlite3_bind_int64(st.get(), 4, newer_id);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("outbox");
  return static_cast<int64_t>(sqlite3_changes(db_));
}

Status SqliteStore::Reschedule(int64_t id, TimeMs next_attempt_ms, int attempts,
                               const std::string& last_error) {
  std::lock_guard lock(mu_);
  Stmt st(db_, "UPDATE outbox SET next_attempt = ?, attempts = ?, last_error = ? WHERE id = ?");
  if (!st) return Error("outbox");
  sqlite3_bind_int64(st.get(), 1, next_attempt_ms);
  sqlite3_bind_int(st.get(), 2, attempts);
  BindTextOrNull(st.get(), 3, last_error);
  sqlite3_bind_int64(st.get(), 4, id);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("outbox");
  return Status::Ok();
}

Result<int64_t> SqliteStore::OutboxDepth() {
  std::lock_guard lock(mu_);
  Stmt q(db_, "SELECT count(*) FROM outbox WHERE status = 0");
  if (!q || sqlite3_step(q.get()) != SQLITE_ROW) return Error("outbox");
  return sqlite3_column_int64(q.get(), 0);
}

Result<std::map<std::string, int64_t>> SqliteStore::PendingByReceiver() {
  std::lock_guard lock(mu_);
  Stmt q(db_, "SELECT receiver, count(*) FROM outbox WHERE status = 0 GROUP BY receiver");
  if (!q) return Error("outbox");
  std::map<std::string, int64_t> pending;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    pending[reinterpret_cast<const char*>(sqlite3_column_text(q.get(), 0))] =
        sqlite3_column_int64(q.get(), 1);
  }
  if (rc != SQLITE_DONE) return Error("outbox");
  return pending;
}

}  // namespace aw
