#include "daemon/store/investigation_reads.h"

#include <sqlite3.h>

#include "daemon/store/sqlite_rows.h"

namespace aw {

namespace {

using store_rows::BindText;
using store_rows::ColInt;
using store_rows::ColReal;
using store_rows::ColText;
using store_rows::kSpanColumns;
using store_rows::SpanFromRow;
using store_rows::Stmt;

// A row selected with kSpanColumns, with its seq.
InvestigationRecord RecordFromRow(sqlite3_stmt* st) {
  InvestigationRecord r;
  r.seq = sqlite3_column_int64(st, 0);
  r.span = SpanFromRow(st);
  return r;
}

bool LabelsMatch(const Labels& want, const Labels& have) {
  for (const auto& [k, v] : want) {
    const auto it = have.find(k);
    if ((it == have.end() ? std::string() : it->second) != v) return false;
  }
  return true;
}

bool VerdictMatches(VerdictFilter f, Verdict v) {
  switch (f) {
    case VerdictFilter::kAny:
      return true;
    case VerdictFilter::kConfirm:
      return v == Verdict::kConfirm;
    case VerdictFilter::kOverride:
      return v == Verdict::kOverride;
    case VerdictFilter::kUnreviewed:
      return v == Verdict::kNone;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<InvestigationReader>> InvestigationReader::Open(const std::string& path) {
  sqlite3* db = nullptr;
  // Read-write flags without CREATE: a WAL reader may need to write the
  // -shm index; query_only below keeps this connection from changing data.
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Unavailable("cannot open " + path + " for reading: " + msg);
  }
  std::unique_ptr<InvestigationReader> reader(new InvestigationReader(db));
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_exec(db, "PRAGMA query_only=1", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return reader->Error("open " + path + " for reading");
  }
  return reader;
}

InvestigationReader::~InvestigationReader() { sqlite3_close(db_); }

Status InvestigationReader::Error(const std::string& what) const {
  return Status::Unavailable(what + ": " + sqlite3_errmsg(db_));
}

Result<Verdict> InvestigationReader::LatestVerdict(sqlite3_stmt* q,
                                                   const std::string& investigation_id) {
  sqlite3_reset(q);
  BindText(q, 1, investigation_id);
  const int rc = sqlite3_step(q);
  if (rc == SQLITE_DONE) return Verdict::kNone;
  if (rc != SQLITE_ROW) return Error("read verdict");
  return static_cast<Verdict>(sqlite3_column_int(q, 0));
}

Result<std::vector<InvestigationRecord>> InvestigationReader::List(
    const InvestigationQuery& query) {
  // Only the filters present go into the SQL, so the planner can walk the
  // (agent, ts) or (ts) index backwards and stop at the limit.
  std::string sql = std::string("SELECT ") + kSpanColumns + " FROM spans";
  std::vector<std::string> where;
  if (!query.agent.empty()) where.push_back("agent = ?1");
  if (query.from_ms) where.push_back("ts >= ?2");
  if (query.to_ms) where.push_back("ts <= ?3");
  for (size_t i = 0; i < where.size(); ++i) sql += (i == 0 ? " WHERE " : " AND ") + where[i];
  sql += " ORDER BY ts DESC, seq DESC";

  std::lock_guard lock(mu_);
  Stmt q(db_, sql);
  Stmt latest(db_,
              "SELECT verdict FROM feedback WHERE investigation_id = ?1 "
              "ORDER BY ts DESC, seq DESC LIMIT 1");
  if (!q || !latest) return Error("list investigations");
  if (!query.agent.empty()) BindText(q.get(), 1, query.agent);
  if (query.from_ms) sqlite3_bind_int64(q.get(), 2, *query.from_ms);
  if (query.to_ms) sqlite3_bind_int64(q.get(), 3, *query.to_ms);

  // Labels and verdicts are filtered here, row by row in ts order, so the
  // scan still stops as soon as `limit` rows (or the window's N) are found.
  std::vector<InvestigationRecord> out;
  int64_t candidates = 0;
  const auto wants_more = [&] {
    return static_cast<int64_t>(out.size()) < query.limit &&
           (!query.latest_n || candidates < *query.latest_n);
  };
  while (wants_more()) {
    const int rc = sqlite3_step(q.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Error("list investigations");
    InvestigationRecord r = RecordFromRow(q.get());
    if (!LabelsMatch(query.labels, r.span.labels)) continue;
    ++candidates;
    auto verdict = LatestVerdict(latest.get(), r.span.investigation_id);
    if (!verdict.ok()) return verdict.status();
    r.verdict = *verdict;
    if (VerdictMatches(query.verdict, r.verdict)) out.push_back(std::move(r));
  }
  return out;
}

Result<InvestigationDetail> InvestigationReader::Get(const std::string& investigation_id) {
  std::lock_guard lock(mu_);
  InvestigationDetail d;
  {
    // The writer keeps the first span for an id; ORDER BY makes that so
    // here too should a file ever hold two.
    Stmt q(db_, std::string("SELECT ") + kSpanColumns +
                    " FROM spans WHERE investigation_id = ?1 ORDER BY seq LIMIT 1");
    if (!q) return Error("read investigation");
    BindText(q.get(), 1, investigation_id);
    const int rc = sqlite3_step(q.get());
    if (rc == SQLITE_ROW) {
      d.record = RecordFromRow(q.get());
    } else if (rc != SQLITE_DONE) {
      return Error("read investigation");
    }
  }
  {
    Stmt q(db_,
           "SELECT seq, verdict, ts, actor, reason, agent FROM feedback "
           "WHERE investigation_id = ?1 ORDER BY ts DESC, seq DESC");
    if (!q) return Error("read verdicts");
    BindText(q.get(), 1, investigation_id);
    int rc;
    while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
      StoredVerdict v;
      v.seq = sqlite3_column_int64(q.get(), 0);
      v.feedback.investigation_id = investigation_id;
      v.feedback.verdict = static_cast<Verdict>(sqlite3_column_int(q.get(), 1));
      v.feedback.ts_ms = sqlite3_column_int64(q.get(), 2);
      v.feedback.actor = ColText(q.get(), 3);
      v.feedback.reason = ColText(q.get(), 4);
      v.feedback.agent = ColText(q.get(), 5);
      d.verdicts.push_back(std::move(v));
    }
    if (rc != SQLITE_DONE) return Error("read verdicts");
  }
  if (d.record)
    d.record->verdict = d.verdicts.empty() ? Verdict::kNone : d.verdicts[0].feedback.verdict;

  // By the investigation's own id first; else by its incident.
  const std::string incident = d.record ? d.record->span.incident_id : std::string();
  for (const char* column : {"investigation_id", "incident_id"}) {
    const std::string key = column == std::string("investigation_id") ? investigation_id : incident;
    if (key.empty() || d.resolution) continue;
    Stmt q(db_, std::string("SELECT seq, incident_id, investigation_id, resolved_at, opened_at, "
                            "time_to_resolve_s FROM resolutions WHERE ") +
                    column + " = ?1 ORDER BY resolved_at DESC, seq DESC LIMIT 1");
    if (!q) return Error("read resolution");
    BindText(q.get(), 1, key);
    const int rc = sqlite3_step(q.get());
    if (rc == SQLITE_ROW) {
      StoredResolution r;
      r.seq = sqlite3_column_int64(q.get(), 0);
      r.resolution.incident_id = ColText(q.get(), 1);
      r.resolution.investigation_id = ColText(q.get(), 2);
      r.resolution.resolved_at_ms = sqlite3_column_int64(q.get(), 3);
      r.resolution.opened_at_ms = ColInt(q.get(), 4);
      r.resolution.time_to_resolve_s = ColReal(q.get(), 5);
      d.resolution = std::move(r);
    } else if (rc != SQLITE_DONE) {
      return Error("read resolution");
    }
  }
  return d;
}

const char* NotificationStateName(NotificationRecord::State s) {
  switch (s) {
    case NotificationRecord::State::kPending:
      return "pending";
    case NotificationRecord::State::kDelivered:
      return "delivered";
    case NotificationRecord::State::kFailed:
      return "failed";
    case NotificationRecord::State::kSuperseded:
      return "superseded";
  }
  return "pending";
}

Result<std::vector<NotificationRecord>> InvestigationReader::Notifications(
    const std::string& fingerprint, int limit) {
  std::lock_guard lock(mu_);
  // The outbox status codes are the store's: 0 pending, 1 delivered,
  // 2 failed, 3 superseded.
  Stmt q(db_,
         "SELECT id, receiver, created, attempts, status, last_error, "
         "coalesce(json_extract(payload, '$.resolved'), 0), coalesce(delivered, 0) FROM outbox "
         "WHERE fingerprint = ?1 ORDER BY id DESC LIMIT ?2");
  if (!q) return Error("read notifications");
  BindText(q.get(), 1, fingerprint);
  sqlite3_bind_int(q.get(), 2, limit);
  std::vector<NotificationRecord> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    NotificationRecord n;
    n.id = sqlite3_column_int64(q.get(), 0);
    n.receiver = ColText(q.get(), 1);
    n.created_ms = sqlite3_column_int64(q.get(), 2);
    n.attempts = sqlite3_column_int(q.get(), 3);
    const int status = sqlite3_column_int(q.get(), 4);
    n.state = status >= 0 && status <= 3 ? static_cast<NotificationRecord::State>(status)
                                         : NotificationRecord::State::kPending;
    n.last_error = ColText(q.get(), 5);
    n.resolved = sqlite3_column_int(q.get(), 6) != 0;
    n.delivered_ms = sqlite3_column_int64(q.get(), 7);
    out.push_back(std::move(n));
  }
  if (rc != SQLITE_DONE) return Error("read notifications");
  return out;
}

}  // namespace aw
