// SqliteStore's GroupStore: notification groups beside the outbox (schema 3).

#include <sqlite3.h>

#include "daemon/store/sqlite_rows.h"
#include "daemon/store/sqlite_store.h"

namespace aw {

using store_rows::BindText;
using store_rows::ColText;
using store_rows::Stmt;

Result<std::vector<StoredGroup>> SqliteStore::LoadGroups(const std::string& receiver) {
  std::lock_guard lock(mu_);
  Stmt q(db_, "SELECT group_key, state FROM notify_groups WHERE receiver = ? ORDER BY group_key");
  if (!q) return Error("load groups");
  BindText(q.get(), 1, receiver);
  std::vector<StoredGroup> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    out.push_back({ColText(q.get(), 0), ColText(q.get(), 1)});
  }
  if (rc != SQLITE_DONE) return Error("load groups");
  return out;
}

Status SqliteStore::SaveGroups(const std::string& receiver, const std::vector<int64_t>& grouped_ids,
                               const std::vector<StoredGroup>& upserts,
                               const std::vector<std::string>& deleted,
                               std::vector<OutboxItem> items) {
  std::lock_guard lock(mu_);
  return Transaction([&]() -> Status {
    bool ok = true;
    // Only a pending item is folded: one already superseded or failed
    // must not come back through its group.
    Stmt grouped(db_, "UPDATE outbox SET status = 4 WHERE id = ? AND status = 0");
    Stmt up(db_, "INSERT OR REPLACE INTO notify_groups(receiver, group_key, state) VALUES(?,?,?)");
    Stmt del(db_, "DELETE FROM notify_groups WHERE receiver = ? AND group_key = ?");
    Stmt out(db_, store_rows::kInsertOutbox);
    ok = grouped && up && del && out;
    for (size_t i = 0; ok && i < grouped_ids.size(); ++i) {
      sqlite3_reset(grouped.get());
      sqlite3_bind_int64(grouped.get(), 1, grouped_ids[i]);
      ok = sqlite3_step(grouped.get()) == SQLITE_DONE;
    }
    for (size_t i = 0; ok && i < upserts.size(); ++i) {
      sqlite3_reset(up.get());
      BindText(up.get(), 1, receiver);
      BindText(up.get(), 2, upserts[i].key);
      BindText(up.get(), 3, upserts[i].state);
      ok = sqlite3_step(up.get()) == SQLITE_DONE;
    }
    for (size_t i = 0; ok && i < deleted.size(); ++i) {
      sqlite3_reset(del.get());
      BindText(del.get(), 1, receiver);
      BindText(del.get(), 2, deleted[i]);
      ok = sqlite3_step(del.get()) == SQLITE_DONE;
    }
    for (size_t i = 0; ok && i < items.size(); ++i) {
      ok = store_rows::InsertOutbox(out.get(), items[i]);
    }
    // Worded here: finalising the statements clears SQLite's message.
    return ok ? Status::Ok() : Error("save groups");
  });
}

Result<std::vector<OutboxItem>> SqliteStore::PendingOutbox(const std::string& receiver,
                                                           const std::string& fingerprint) {
  std::lock_guard lock(mu_);
  Stmt q(db_, std::string("SELECT ") + store_rows::kOutboxColumns +
                  " FROM outbox WHERE status = 0 AND receiver = ? AND fingerprint = ? ORDER BY id");
  if (!q) return Error("outbox");
  BindText(q.get(), 1, receiver);
  BindText(q.get(), 2, fingerprint);
  std::vector<OutboxItem> items;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    items.push_back(store_rows::OutboxItemFromRow(q.get()));
  }
  if (rc != SQLITE_DONE) return Error("outbox");
  return items;
}

}  // namespace aw
