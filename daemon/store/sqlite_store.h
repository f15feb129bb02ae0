#pragma once

// The durable store: one SQLite file in WAL mode holding the raw events
// (spans, verdicts, resolutions), the alert states and the notification
// outbox. Schema versioned from the first release (table `meta`).
//
// Dedup is decided by the caller (the writer keeps the ids in memory, which
// avoids a random-key unique index that would cut insert speed ~20x);
// the store assigns each event a global, increasing `seq` that fixes the
// arrival order used to rebuild state after a restart.
//
// Errors: every SQLite error is returned, never read as "no more rows" or a
// default value. A damaged file (SQLITE_CORRUPT / SQLITE_NOTADB) is reported
// with its path and the way to recover it. Before each commit the store
// checks that `path` still names the file it has open (same st_dev/st_ino):
// once the file is deleted or replaced, every write fails with an error
// naming the problem, so nothing is acknowledged that would be gone after a
// restart.
//
// Thread-safe: one connection behind a mutex. Ingest batches go through
// one writer thread (group commit), so the mutex is rarely contended.
// Every write of more than one statement goes through Transaction().
// The WAL is copied back into the file by a thread and connection the store
// owns (wal_checkpointer.h), not inside the writer's COMMIT; past a limit
// the writer checkpoints itself, so the WAL cannot grow without bound.
//
// One class, one file per job: sqlite_store.cc (open, file check, errors,
// transactions, prune, backup), sqlite_schema.cc (schema, migrations),
// sqlite_events.cc (append, joins, replay), sqlite_alerts.cc,
// sqlite_outbox.cc, group_store.cc, sqlite_silences.cc.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/common/alert_store.h"
#include "daemon/common/silence.h"
#include "daemon/common/status.h"
#include "daemon/common/types.h"
#include "daemon/store/wal_checkpointer.h"

struct sqlite3;
struct sqlite3_stmt;

namespace aw {

// A descendant span joined into an OTLP investigation: stored once per
// (trace_id, span_id), which is what makes a re-sent descendant a no-op.
struct SpanJoin {
  std::string trace_id, span_id;
  std::string investigation_id;
  TimeMs joined_at_ms = 0;
};

// A descendant that arrived after its investigation was stored. Applied in
// the batch's transaction: the join row is inserted unless it exists, and
// only if it was inserted, `apply` changes the stored investigation record.
struct LateJoin {
  SpanJoin join;
  std::function<void(Span&)> apply;
  // The stored record's seq; 0 means the span of `join.investigation_id`
  // in this same batch.
  int64_t investigation_seq = 0;
};

struct LateJoinOutcome {
  bool applied = false;        // false: that descendant was joined before
  std::optional<Span> record;  // the investigation as stored, on its last join
};

// Events to commit in one transaction. Seqs are assigned in this order:
// spans, then feedback, then resolutions. `joins` (descendants joined on
// time) and `late_joins` take no seq; late joins apply after the spans.
struct EventBatch {
  std::vector<Span> spans;
  std::vector<Feedback> feedback;
  std::vector<Resolution> resolutions;
  std::vector<SpanJoin> joins;
  std::vector<LateJoin> late_joins;
  bool empty() const {
    return spans.empty() && feedback.empty() && resolutions.empty() && joins.empty() &&
           late_joins.empty();
  }
};

// A stored join, as /api/v1/investigations/{id} shows it.
struct JoinedSpan {
  std::string trace_id, span_id;
  bool joined_late = false;
  TimeMs joined_at_ms = 0;
};

// Visits stored events in seq order (for the rebuild after a restart). Each
// event is the scan's own: a visitor may move it away.
struct EventVisitor {
  std::function<void(Span&, int64_t seq)> span;
  std::function<void(Feedback&, int64_t seq)> feedback;
  std::function<void(Resolution&, int64_t seq)> resolution;
};

class SqliteStore final : public AlertStore, public OutboxStore, public GroupStore {
 public:
  static constexpr int kSchemaVersion = 4;

  struct Options {
    bool sync_full = false;    // synchronous=FULL: fsync on every commit
    bool quick_check = false;  // PRAGMA quick_check at open (reads every page)
    // The WAL checkpoint (wal_checkpointer.h): false leaves only the
    // writer's, at wal_limit_pages (tests of the bound).
    bool checkpoint_thread = true;
    int wal_limit_pages = WalCheckpointer::kWalLimitPages;
  };

  // Opens (creating if needed) the database at `path` and migrates it.
  // Fails for a file written by a newer agentwatch, and for a damaged file
  // (header, schema or `PRAGMA quick_check` when Options::quick_check).
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, Options options);
  ~SqliteStore() override;

  // Commits the batch in one transaction. On success returns the first seq
  // assigned; the i-th event (in the batch order above) has first + i.
  // *late_applied (if given) gets one entry per late join. Each stored
  // investigation that late joins change is read and rewritten once per
  // batch, however many of its descendants arrived: the entry of its last
  // applied join carries the record as stored.
  Result<int64_t> Append(const EventBatch& batch,
                         std::vector<LateJoinOutcome>* late_applied = nullptr);

  // The descendants joined into an investigation, by joined_at then span.
  Result<std::vector<JoinedSpan>> JoinedSpans(const std::string& investigation_id);

  // Replays every stored event in seq order.
  Status Scan(const EventVisitor& visitor);

  // Deletes events older than `cutoff_ms` and finished outbox items.
  Result<int64_t> Prune(TimeMs cutoff_ms);

  // Online backup to `dest_path` (sqlite3 backup API).
  Status Backup(const std::string& dest_path);

  int64_t last_seq() const;

  struct EventCounts {
    int64_t spans = 0, feedback = 0, resolutions = 0;
  };
  EventCounts CountEvents();

  // AlertStore
  Status SaveAlertChanges(const std::vector<StoredAlert>& upserts,
                          const std::vector<std::string>& deleted,
                          std::vector<OutboxItem> notifications) override;
  // The same, also recording the budget thresholds that fired, in the one
  // transaction.
  Status SaveAlertChanges(const std::vector<StoredAlert>& upserts,
                          const std::vector<std::string>& deleted,
                          std::vector<OutboxItem> notifications,
                          const std::vector<BudgetFired>& budget_fired);
  Result<std::vector<StoredAlert>> LoadAlerts() override;
  // Budget thresholds that fired in periods starting at or after `since_ms`.
  Result<std::vector<BudgetFired>> LoadBudgetFired(TimeMs since_ms);

  // Silences (sqlite_silences.cc): insert or replace by id; every stored
  // silence, expired ones too.
  Status SaveSilence(const Silence& silence);
  Result<std::vector<Silence>> LoadSilences();
  // Deletes the silences `ids` (unknown ids are skipped), in one transaction.
  Status DeleteSilences(const std::vector<std::string>& ids);

  // OutboxStore
  Result<std::vector<OutboxItem>> DueOutbox(TimeMs now, int limit) override;
  Result<int64_t> NextOutboxAttempt() override;
  Status MarkDelivered(int64_t id, TimeMs at) override;
  Result<int64_t> ExpediteReceiver(const std::string& receiver, TimeMs now) override;
  Status Reschedule(int64_t id, TimeMs next_attempt_ms, int attempts,
                    const std::string& last_error) override;
  Status MarkFailed(int64_t id, const std::string& error) override;
  Result<int64_t> SupersedeOlder(const std::string& receiver, const std::string& fingerprint,
                                 int64_t newer_id) override;
  Result<int64_t> OutboxDepth() override;
  Result<std::map<std::string, int64_t>> PendingByReceiver() override;

  // GroupStore (group_store.cc)
  Result<std::vector<StoredGroup>> LoadGroups(const std::string& receiver) override;
  Status SaveGroups(const std::string& receiver, const std::vector<int64_t>& grouped_ids,
                    const std::vector<StoredGroup>& upserts,
                    const std::vector<std::string>& deleted,
                    std::vector<OutboxItem> items) override;
  Result<std::vector<OutboxItem>> PendingOutbox(const std::string& receiver,
                                                const std::string& fingerprint) override;

  // Unavailable once the path no longer names the file opened (deleted or
  // replaced): what /-/ready reports. One stat(); reads only constants.
  Status Health() const { return CheckFile(); }

  // Who has checkpointed the WAL since Open, and how often it failed.
  WalCheckpointer::Stats CheckpointStats() const { return checkpointer_->stats(); }

 private:
  SqliteStore(sqlite3* db, std::string path);
  Status Exec(const char* sql);
  // Runs `body` in one write transaction after checking the file, commits
  // if it returns OK, else rolls back and returns its error. `body` words
  // its own error while its statements are alive. REQUIRES: mu_ held.
  Status Transaction(const std::function<Status()>& body);
  // The connection's last error as a Status naming `what` and the file; a
  // damaged file also gets the recovery path.
  Status Error(const std::string& what) const;
  // Unavailable once `path_` no longer names the open file.
  Status CheckFile() const;
  Status Migrate();
  Status Prepare();
  Status SetOutboxStatus(int64_t id, int status, const std::string& error);
  // Inserts the join row unless it exists; *inserted tells which.
  Status InsertJoin(const SpanJoin& join, bool late, bool* inserted);
  // Applies one late join to the record at `seq` (inside a transaction).
  // Every late join of the batch: join rows, then one read and one rewrite
  // per investigation they change. `first` is the batch's first seq.
  Status ApplyLateJoins(const EventBatch& batch, int64_t first,
                        std::vector<LateJoinOutcome>* outcomes);

  sqlite3* const db_;
  const std::string path_;
  // The identity of the file opened at `path_` (constant after Open).
  uint64_t dev_ = 0, ino_ = 0;
  mutable std::mutex mu_;
  int64_t last_seq_ = 0;  // guarded by mu_
  // Set at the end of Open; stopped first in the destructor, while db_ is open.
  std::unique_ptr<WalCheckpointer> checkpointer_;
  sqlite3_stmt* insert_span_ = nullptr;
  sqlite3_stmt* insert_feedback_ = nullptr;
  sqlite3_stmt* insert_resolution_ = nullptr;
  sqlite3_stmt* replace_span_ = nullptr;
  sqlite3_stmt* select_span_ = nullptr;
  sqlite3_stmt* insert_join_ = nullptr;
};

}  // namespace aw
