#pragma once

// Row helpers shared by the store's files (the writer in sqlite_store.cc
// and its parts group_store.cc and sqlite_silences.cc, the read-only
// connection in investigation_reads.cc): a self-finalising statement,
// typed binds and column reads, and the spans and outbox row layouts.
// Internal to daemon/store.

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "daemon/common/alert_store.h"
#include "daemon/common/types.h"

namespace aw::store_rows {

// A prepared statement that finalises itself. Not thread-safe.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  Stmt(sqlite3* db, const std::string& sql) : Stmt(db, sql.c_str()) {}
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() const { return stmt_; }
  explicit operator bool() const { return stmt_ != nullptr; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Text bound as text, also when empty (ids and keys are compared as given).
inline void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
// Empty text bound as NULL: optional columns.
inline void BindTextOrNull(sqlite3_stmt* s, int i, const std::string& v) {
  if (v.empty()) {
    sqlite3_bind_null(s, i);
  } else {
    BindText(s, i, v);
  }
}

inline std::string ColText(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? std::string(reinterpret_cast<const char*>(t),
                         static_cast<size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}
inline std::optional<int64_t> ColInt(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(s, i);
}
inline std::optional<double> ColReal(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_double(s, i);
}

// A labels column (a JSON object of strings); {} for empty or malformed
// text, non-string values skipped.
Labels LabelsFromText(const std::string& text);

// Labels columns parsed once per distinct text: a store holds a few label
// sets over a million rows, so a scan would otherwise parse the same JSON
// again and again. Bounded, in case a store holds many.
class LabelsCache {
 public:
  const Labels& Get(sqlite3_stmt* s, int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    if (t == nullptr) {
      key_.clear();
    } else {
      key_.assign(reinterpret_cast<const char*>(t),
                  static_cast<size_t>(sqlite3_column_bytes(s, i)));
    }
    auto it = parsed_.find(key_);
    if (it != parsed_.end()) return it->second;
    if (parsed_.size() >= kMaxEntries) parsed_.clear();
    return parsed_.emplace(key_, LabelsFromText(key_)).first->second;
  }

 private:
  static constexpr size_t kMaxEntries = 4096;
  std::unordered_map<std::string, Labels> parsed_;
  std::string key_;
};

// The spans columns in the order SpanFromRow reads them (from column 0).
inline constexpr const char* kSpanColumns =
    "seq, investigation_id, agent, ts, model, response_model, provider, "
    "input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, "
    "llm_calls, tool_calls, cost_usd, duration_ms, finish_reason, confidence, "
    "incident_id, labels";

// A row selected with kSpanColumns (labels through `labels` if given).
inline Span SpanFromRow(sqlite3_stmt* st, LabelsCache* labels = nullptr) {
  Span sp;
  sp.investigation_id = ColText(st, 1);
  sp.agent = ColText(st, 2);
  sp.ts_ms = sqlite3_column_int64(st, 3);
  sp.model = ColText(st, 4);
  sp.response_model = ColText(st, 5);
  sp.provider = ColText(st, 6);
  sp.input_tokens = ColInt(st, 7);
  sp.output_tokens = ColInt(st, 8);
  sp.cache_read_tokens = ColInt(st, 9);
  sp.cache_creation_tokens = ColInt(st, 10);
  sp.llm_calls = ColInt(st, 11);
  sp.tool_calls = ColInt(st, 12);
  sp.cost_usd = ColReal(st, 13);
  sp.duration_ms = ColInt(st, 14);
  sp.finish_reason = ColText(st, 15);
  sp.confidence = ColReal(st, 16);
  sp.incident_id = ColText(st, 17);
  sp.labels = labels != nullptr ? labels->Get(st, 18) : LabelsFromText(ColText(st, 18));
  return sp;
}

// The outbox columns in the order OutboxItemFromRow reads them.
inline constexpr const char* kOutboxColumns =
    "id, receiver, fingerprint, payload, created, next_attempt, attempts, last_error";

// A row selected with kOutboxColumns.
inline OutboxItem OutboxItemFromRow(sqlite3_stmt* st) {
  OutboxItem it;
  it.id = sqlite3_column_int64(st, 0);
  it.receiver = ColText(st, 1);
  it.fingerprint = ColText(st, 2);
  it.payload = ColText(st, 3);
  it.created_ms = sqlite3_column_int64(st, 4);
  it.next_attempt_ms = sqlite3_column_int64(st, 5);
  it.attempts = sqlite3_column_int(st, 6);
  it.last_error = ColText(st, 7);
  return it;
}

// A new pending outbox item: prepare kInsertOutbox once per transaction and
// run InsertOutbox for each item (false when SQLite refused it).
inline constexpr const char* kInsertOutbox =
    "INSERT INTO outbox(receiver, fingerprint, payload, created, next_attempt) "
    "VALUES(?,?,?,?,?)";
inline bool InsertOutbox(sqlite3_stmt* st, const OutboxItem& n) {
  sqlite3_reset(st);
  BindTextOrNull(st, 1, n.receiver);
  BindTextOrNull(st, 2, n.fingerprint);
  BindText(st, 3, n.payload);
  sqlite3_bind_int64(st, 4, n.created_ms);
  sqlite3_bind_int64(st, 5, n.next_attempt_ms);
  return sqlite3_step(st) == SQLITE_DONE;
}

}  // namespace aw::store_rows
