#pragma once

// Reads of stored investigations for GET /api/v1/investigations and
// /api/v1/investigations/{id}: spans with their verdicts and resolution.
//
// The reader has its own read-only SQLite connection on the store's file.
// In WAL mode a reader sees the last committed snapshot and neither waits
// for nor holds up the writer's group commits, so these reads never block
// ingest (they only wait for each other: one connection, one mutex).
//
// Verdict and resolution semantics are the windows engine's: the latest
// verdict by ts counts, on a tie the one stored last (larger seq); a
// resolution naming the investigation wins over one naming its incident,
// and among those the latest by resolved_at (tie: larger seq).
//
// Thread-safe.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/common/status.h"
#include "daemon/common/types.h"

struct sqlite3;
struct sqlite3_stmt;

namespace aw {

enum class VerdictFilter : uint8_t { kAny, kConfirm, kOverride, kUnreviewed };

struct InvestigationQuery {
  std::string agent;              // "" = every agent
  std::optional<TimeMs> from_ms;  // ts >= from
  std::optional<TimeMs> to_ms;    // ts <= to
  // Exact label matches; a label the span lacks matches "" (as `where`
  // and `by` groups do in the windows engine).
  Labels labels;
  // A count window: only the latest N spans that pass the filters above
  // are candidates; `verdict` and `limit` apply to those.
  std::optional<int64_t> latest_n;
  VerdictFilter verdict = VerdictFilter::kAny;
  int64_t limit = 100;
};

struct StoredVerdict {
  Feedback feedback;
  int64_t seq = 0;
};

struct StoredResolution {
  Resolution resolution;
  int64_t seq = 0;
};

struct InvestigationRecord {
  Span span;
  int64_t seq = 0;
  Verdict verdict = Verdict::kNone;  // the latest verdict, kNone when unreviewed
};

struct InvestigationDetail {
  std::optional<InvestigationRecord> record;   // nullopt: no span stored
  std::vector<StoredVerdict> verdicts;         // the one that counts first
  std::optional<StoredResolution> resolution;  // the one that applies
};

// One notification of an alert to one receiver, as the outbox holds it
// (finished items stay until retention prunes them).
struct NotificationRecord {
  enum class State : uint8_t { kPending, kDelivered, kFailed, kSuperseded };
  int64_t id = 0;
  std::string receiver;
  TimeMs created_ms = 0;
  TimeMs delivered_ms = 0;  // 0: not delivered (or before the store kept it)
  int attempts = 0;
  State state = State::kPending;
  std::string last_error;
  bool resolved = false;  // a resolve, else a trigger (or re-send)
};
const char* NotificationStateName(
    NotificationRecord::State s);  // pending|delivered|failed|superseded

class InvestigationReader {
 public:
  // Opens `path` (which must exist: the store creates it) for reading.
  static Result<std::unique_ptr<InvestigationReader>> Open(const std::string& path);
  ~InvestigationReader();
  InvestigationReader(const InvestigationReader&) = delete;
  InvestigationReader& operator=(const InvestigationReader&) = delete;

  // Spans matching `query`, newest first (ts, then seq, descending), at
  // most query.limit. Errors are SQLite's, never read as "no rows".
  Result<std::vector<InvestigationRecord>> List(const InvestigationQuery& query);

  // Everything stored for one id. Both parts empty: unknown id.
  Result<InvestigationDetail> Get(const std::string& investigation_id);

  // The latest `limit` notifications of the alert `fingerprint`, newest
  // first.
  Result<std::vector<NotificationRecord>> Notifications(const std::string& fingerprint, int limit);

 private:
  explicit InvestigationReader(sqlite3* db) : db_(db) {}
  Status Error(const std::string& what) const;
  // The latest verdict through `q` (prepared in List). REQUIRES: mu_ held.
  Result<Verdict> LatestVerdict(sqlite3_stmt* q, const std::string& investigation_id);

  sqlite3* const db_;
  std::mutex mu_;  // the connection is used by one request at a time
};

}  // namespace aw
