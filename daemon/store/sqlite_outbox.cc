// SqliteStore's OutboxStore: the notification outbox (due items, retries,
// delivery, superseding and depth). Each call is one statement.

#include <sqlite3.h>

#include "daemon/store/sqlite_rows.h"
#include "daemon/store/sqlite_store.h"

namespace aw {

using store_rows::BindTextOrNull;
using store_rows::Stmt;

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

Result<int64_t> SqliteStore::ExpediteReceiver(const std::string& receiver, TimeMs now) {
  std::lock_guard lock(mu_);
  Stmt st(db_,
          "UPDATE outbox SET next_attempt = ? WHERE status = 0 AND receiver = ? AND "
          "next_attempt > ?");
  if (!st) return Error("outbox");
  sqlite3_bind_int64(st.get(), 1, now);
  sqlite3_bind_text(st.get(), 2, receiver.data(), static_cast<int>(receiver.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_int64(st.get(), 3, now);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return Error("outbox");
  return static_cast<int64_t>(sqlite3_changes(db_));
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
