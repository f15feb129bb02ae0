// SqliteStore's AlertStore: alert states, the notifications they queue
// and the budget thresholds that fired, saved in one transaction.

#include <sqlite3.h>

#include "daemon/store/sqlite_internal.h"
#include "daemon/store/sqlite_rows.h"
#include "daemon/store/sqlite_store.h"

namespace aw {

using store_internal::LabelsToText;
using store_rows::BindTextOrNull;
using store_rows::ColText;
using store_rows::LabelsFromText;
using store_rows::Stmt;

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

}  // namespace aw
