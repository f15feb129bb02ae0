#pragma once

// Copies the store's WAL back into the database file on a thread and a
// connection of its own, so that the ingest writer's COMMIT does not.
//
// SQLite's auto-checkpoint runs inside the COMMIT that leaves 1,000 pages in
// the WAL: ~10 % of the writer thread, the daemon's serial part under
// ingest. Here the writer connection's WAL hook (called after each commit)
// only wakes this thread, which runs PASSIVE checkpoints: they wait for no
// writer and no reader, and copy every frame no reader still needs.
//
// The bound. SQLite starts the WAL over from its first frame only when a
// write transaction begins with every frame already copied. A passive pass
// racing a writer that never pauses may never get there, and the file would
// grow without end. So once a commit leaves `wal_limit_pages` in the WAL, the
// writer checkpoints in its own commit path, as SQLite's auto-checkpoint did
// at 1,000 pages, with this thread held off: no commit can come in between,
// so everything no reader needs is copied and the next transaction restarts
// the WAL. That checkpoint is PASSIVE too: a long read pins the WAL (as it
// did before) but never stalls ingest.
//
// Durability and crash safety are SQLite's and unchanged: a checkpoint copies
// committed frames only, syncs as the writer's `synchronous` says, and a
// crash during one leaves the WAL to be replayed at the next open.
//
// Thread-safe. Owned by SqliteStore: started at the end of its Open, stopped
// (thread joined, connection closed, hook removed) first thing in its
// destructor, before the writer's connection closes and checkpoints what is
// left, as it always did.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>

#include "daemon/common/log.h"
#include "daemon/common/status.h"
#include "daemon/common/thread_annotations.h"

struct sqlite3;

namespace aw {

class WalCheckpointer {
 public:
  // The thread is woken by the commit that leaves at least this many pages
  // in the WAL (SQLite's own auto-checkpoint threshold), then by each commit
  // that adds as many again: not by every commit. The pages commits rewrite
  // (the last page of the table and of each index) are copied once a pass,
  // so one pass per 1,000 frames copies each of them once, where a pass per
  // commit copied them once per commit.
  static constexpr int kWakeAfterPages = 1000;
  // From this many pages on, the writer checkpoints in its commit path, so
  // the WAL file stays under ~40 MiB (4 KiB pages) plus one transaction.
  static constexpr int kWalLimitPages = 10'000;
  // PRAGMA journal_size_limit: a WAL file that a long read let grow past this
  // is cut back to it when the WAL starts over, instead of keeping its peak.
  static constexpr int64_t kWalFileLimitBytes = int64_t{64} << 20;

  struct Options {
    bool sync_full = false;  // the writer's synchronous=FULL, mirrored
    int wal_limit_pages = kWalLimitPages;
    // false: no thread; only the writer's checkpoint at wal_limit_pages
    // (what the tests of the bound run).
    bool checkpoint_thread = true;
  };

  struct Stats {
    int64_t thread_checkpoints = 0;  // passes run by the thread
    int64_t writer_checkpoints = 0;  // run by the writer at wal_limit_pages
    int64_t failed_checkpoints = 0;  // either, ended by an error (not SQLITE_BUSY)
  };

  // Opens a connection of its own on `path` and hooks the commits of
  // `writer`, the store's connection on the same file, which must outlive
  // this object. Called with no transaction open on `writer`.
  static Result<std::unique_ptr<WalCheckpointer>> Start(sqlite3* writer, const std::string& path,
                                                        Options options);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  Stats stats() const EXCLUDES(mu_);

 private:
  WalCheckpointer(sqlite3* writer, sqlite3* own, const std::string& path, Options options);
  // sqlite3_wal_hook's callback on the writer's thread, after each commit.
  static int OnCommit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void AfterCommit(int wal_pages) EXCLUDES(checkpoint_mu_, mu_);
  void Run(const std::stop_token& stop) EXCLUDES(checkpoint_mu_, mu_);
  // One PASSIVE checkpoint on `db` (the writer's or the thread's), never at
  // the same time as another.
  void Checkpoint(sqlite3* db, bool by_writer) EXCLUDES(checkpoint_mu_, mu_);

  sqlite3* const writer_;
  sqlite3* const own_;  // the thread's connection: used by the thread only
  const std::string path_;
  const Options options_;
  // Held through each checkpoint, so that the writer's at the limit waits
  // for a pass in progress instead of getting SQLITE_BUSY from it.
  Mutex checkpoint_mu_ ACQUIRED_BEFORE(mu_);
  mutable Mutex mu_;
  std::condition_variable_any wake_;        // waited on with mu_ held
  uint64_t requested_ GUARDED_BY(mu_) = 0;  // bumped by the commits that wake the thread
  int last_commit_pages_ = 0;               // the writer's thread only (AfterCommit)
  Stats stats_ GUARDED_BY(mu_);
  LogRateLimiter failure_log_{60'000};  // a failing checkpoint: one line a minute
  std::jthread thread_;                 // last: started once the members above exist
};

}  // namespace aw
