// SqliteStore: the schema, one step per version, and the migration that
// brings an older file (or a new, empty one) up to kSchemaVersion.

#include <sqlite3.h>

#include <string>

#include "daemon/store/sqlite_internal.h"
#include "daemon/store/sqlite_rows.h"
#include "daemon/store/sqlite_store.h"

namespace aw {

namespace {

using store_rows::Stmt;

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

// Indexes any version may carry: made at every open (IF NOT EXISTS), so an
// older file gains them without a version step and an older agentwatch
// still opens the file. Superseding a notification looks up the pending
// items of one alert; without this it walked every pending item (thousands
// during a receiver outage), holding the store's lock each time.
constexpr const char* kIndexesAnyVersion = R"sql(
CREATE INDEX IF NOT EXISTS outbox_pending_by_alert
  ON outbox(receiver, fingerprint, id) WHERE status = 0;
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

Status SqliteStore::Migrate() {
  Status s = Transaction([&]() -> Status {
    int version = 0;
    {
      // No meta table yet (a new file) prepares with "no such table".
      Stmt q(db_, "SELECT value FROM meta WHERE key='schema_version'");
      if (q) {
        const int rc = sqlite3_step(q.get());
        if (rc == SQLITE_ROW) {
          version = static_cast<int>(sqlite3_column_int64(q.get(), 0));
        } else if (rc != SQLITE_DONE) {
          return Error("read schema version");
        }
      } else if (store_internal::IsDamage(sqlite3_extended_errcode(db_))) {
        return Error("read schema version");
      }
    }
    if (version > kSchemaVersion) {
      return Status::InvalidArgument("store schema version " + std::to_string(version) +
                                     " is newer than this agentwatch (" +
                                     std::to_string(kSchemaVersion) + "): upgrade agentwatch");
    }
    // Migrations from older versions go here, one step per version (a new
    // file is version 0 and takes every step).
    Status st = Exec(kSchema);
    if (st.ok() && version < 2) st = Exec(kSchemaV2);
    if (st.ok() && version < 3) st = Exec(kSchemaV3);
    // Columns added after version 1 (kSchema keeps the version 1 layout, so
    // a new file takes these steps too). ALTER TABLE has no IF NOT EXISTS.
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
      if (!st.ok() || version >= 3) break;
      st = add_column("alerts", column, "INTEGER NOT NULL DEFAULT 0");
    }
    if (st.ok() && version < 4) st = add_column("outbox", kOutboxColumnV4, "INTEGER");
    if (st.ok()) st = Exec(kIndexesAnyVersion);
    if (!st.ok()) return st;
    return Exec(("INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', '" +
                 std::to_string(kSchemaVersion) + "')")
                    .c_str());
  });
  if (!s.ok()) return s;
  Stmt q(db_,
         "SELECT max(m) FROM (SELECT max(seq) m FROM spans UNION ALL "
         "SELECT max(seq) FROM feedback UNION ALL SELECT max(seq) FROM resolutions)");
  if (!q || sqlite3_step(q.get()) != SQLITE_ROW) return Error("read last seq");
  last_seq_ = sqlite3_column_int64(q.get(), 0);
  return Status::Ok();
}

}  // namespace aw
