#include "daemon/store/wal_checkpointer.h"

#include <sqlite3.h>

#include <chrono>
#include <utility>

#include "daemon/common/thread_name.h"

namespace aw {

namespace {

Status OpenError(sqlite3* db, const std::string& path) {
  return Status::Unavailable("cannot open " + path + " to checkpoint its WAL: " +
                             (db ? sqlite3_errmsg(db) : "out of memory"));
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(sqlite3* writer,
                                                                const std::string& path,
                                                                Options options) {
  // The limit applies to the connection that writes the WAL.
  const std::string size_limit = "PRAGMA journal_size_limit=" + std::to_string(kWalFileLimitBytes);
  if (sqlite3_exec(writer, size_limit.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Status::Unavailable("journal_size_limit on " + path + ": " + sqlite3_errmsg(writer));
  }
  sqlite3* own = nullptr;
  if (options.checkpoint_thread) {
    // No CREATE: the store has just opened the file.
    if (sqlite3_open_v2(path.c_str(), &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
      Status error = OpenError(own, path);
      sqlite3_close(own);
      return error;
    }
    sqlite3_busy_timeout(own, 5000);
    // A connection that has not read the file has no WAL to copy: checkpoints
    // on it succeed and copy nothing. journal_mode reads it (the mode is the
    // writer's already; the synchronous pragma, which needs the schema, would
    // too). The sync level is what a checkpoint's fsyncs follow.
    const char* sync = options.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    if (sqlite3_exec(own, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(own, sync, nullptr, nullptr, nullptr) != SQLITE_OK) {
      Status error = OpenError(own, path);
      sqlite3_close(own);
      return error;
    }
  }
  std::unique_ptr<WalCheckpointer> checkpointer(
      new WalCheckpointer(writer, own, path, std::move(options)));
  // Replaces SQLite's auto-checkpoint on the writer: a connection has one WAL hook.
  sqlite3_wal_hook(writer, &WalCheckpointer::OnCommit, checkpointer.get());
  return checkpointer;
}

WalCheckpointer::WalCheckpointer(sqlite3* writer, sqlite3* own, const std::string& path,
                                 Options options)
    : writer_(writer),
      own_(own),
      path_(path),
      options_(std::move(options)),
      thread_(options_.checkpoint_thread ? std::jthread([this](std::stop_token stop) { Run(stop); })
                                         : std::jthread()) {}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  if (thread_.joinable()) {
    thread_.request_stop();  // wakes the wait (condition_variable_any + stop_token)
    thread_.join();
  }
  sqlite3_close(own_);  // a no-op without a thread
}

WalCheckpointer::Stats WalCheckpointer::stats() const {
  MutexLock lock(mu_);
  return stats_;
}

int WalCheckpointer::OnCommit(void* self, sqlite3* /*db*/, const char* /*schema*/, int wal_pages) {
  static_cast<WalCheckpointer*>(self)->AfterCommit(wal_pages);
  // The commit stands whatever the checkpoint did: an error returned here
  // would be reported as the COMMIT's.
  return SQLITE_OK;
}

void WalCheckpointer::AfterCommit(int wal_pages) {
  const int before = last_commit_pages_;
  last_commit_pages_ = wal_pages;
  if (wal_pages >= options_.wal_limit_pages) {
    Checkpoint(writer_, /*by_writer=*/true);
    return;
  }
  // Fewer pages than the last commit left: the WAL started over.
  const bool another_thousand = wal_pages < before
                                    ? wal_pages >= kWakeAfterPages
                                    : wal_pages / kWakeAfterPages > before / kWakeAfterPages;
  if (another_thousand && options_.checkpoint_thread) {
    {
      MutexLock lock(mu_);
      ++requested_;
    }
    wake_.notify_one();
  }
}

void WalCheckpointer::Run(const std::stop_token& stop) {
  NameThisThread("aw-checkpoint");
  uint64_t handled = 0;
  for (;;) {
    {
      MutexLock lock(mu_);
      // The wait releases and retakes mu_ itself (a BasicLockable). Requests
      // made during a pass are served by one more pass.
      wake_.wait(mu_, stop, [&]() REQUIRES(mu_) { return requested_ != handled; });
      if (stop.stop_requested()) return;
      handled = requested_;
    }
    Checkpoint(own_, /*by_writer=*/false);
  }
}

void WalCheckpointer::Checkpoint(sqlite3* db, bool by_writer) {
  MutexLock checkpoint(checkpoint_mu_);
  const int rc =
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  // SQLITE_BUSY: another process (an operator's sqlite3) is checkpointing;
  // a later commit asks again.
  const bool failed = rc != SQLITE_OK && rc != SQLITE_BUSY;
  const std::string error = failed ? sqlite3_errmsg(db) : "";
  {
    MutexLock lock(mu_);
    ++(by_writer ? stats_.writer_checkpoints : stats_.thread_checkpoints);
    if (failed) ++stats_.failed_checkpoints;
  }
  int64_t held_back = 0;
  if (failed && failure_log_.Allow("checkpoint", SteadyMs(), &held_back)) {
    LogWarn("WAL checkpoint failed; the WAL grows until one succeeds",
            {{"file", path_},
             {"error", error},
             {"by", by_writer ? "writer" : "thread"},
             {"suppressed", std::to_string(held_back)}});
  }
}

}  // namespace aw
