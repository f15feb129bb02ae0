// The store's WAL checkpoint (daemon/store/wal_checkpointer.h): copied back
// by the store's own thread, not in the writer's commits, and bounded by the
// writer's own checkpoint at the limit. Every check reads the files or a side
// connection, never a wait that would itself checkpoint.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>

#include "daemon/store/investigation_reads.h"
#include "daemon/store/sqlite_store.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using namespace std::chrono_literals;

// SQLite's default page size, plus each WAL frame's 24-byte header.
constexpr int64_t kFrameBytes = 4096 + 24;
constexpr int64_t kWalHeaderBytes = 32;
// One batch of 1,000 spans here writes ~37 pages; a bound is the limit plus
// one transaction.
constexpr int64_t kOneTransactionPages = 100;

int64_t WalBytes(int64_t pages) { return kWalHeaderBytes + pages * kFrameBytes; }

int64_t FileSize(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

class WalCheckpointTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> Open(SqliteStore::Options options) {
    auto s = SqliteStore::Open(db_, options);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // Appends one batch of 1,000 spans with fresh ids; returns the last id.
  std::string AppendBatch(SqliteStore& store) {
    EventBatch b;
    for (int i = 0; i < 1000; ++i, ++next_id_) {
      Span s;
      s.investigation_id = "inv-" + std::to_string(next_id_);
      s.agent = "ir";
      s.ts_ms = 1'000'000 + next_id_;
      s.model = "m";
      s.tool_calls = 3;
      s.confidence = 0.5;
      s.labels = {{"env", "prod"}};
      b.spans.push_back(std::move(s));
    }
    auto r = store.Append(b);
    EXPECT_TRUE(r.ok()) << r.status().message();
    largest_wal_ = std::max(largest_wal_, FileSize(wal_));
    return b.spans.back().investigation_id;
  }

  int64_t StoredSpans(SqliteStore& store) { return store.CountEvents().spans; }

  testing::TempDir dir_;
  const std::string db_ = dir_.File("events.db");
  const std::string wal_ = db_ + "-wal";
  int64_t next_id_ = 0;
  int64_t largest_wal_ = 0;  // the WAL file's size after each Append, at most
};

// Past 1,000 WAL pages the store's own thread copies the WAL back into the
// database file; the writer's commits do not (it only would at the limit,
// 10,000 pages, far above what is written here). API reads on their own
// connection see every commit meanwhile.
TEST_F(WalCheckpointTest, TheStoresThreadCopiesTheWalBackNotTheWritersCommits) {
  auto store = Open({});
  ASSERT_TRUE(store);
  auto reader = InvestigationReader::Open(db_);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  // ~1,850 pages: well past the thread's wake-up.
  for (int batch = 0; batch < 50; ++batch) {
    const std::string last = AppendBatch(*store);
    auto got = (*reader)->Get(last);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_TRUE(got->record.has_value()) << last;
  }
  ASSERT_GT(largest_wal_, WalBytes(WalCheckpointer::kWakeAfterPages));
  // Rows reach the database file itself only through a checkpoint. The
  // file grows during the pass and the pass is counted after it returns:
  // wait for both.
  EXPECT_TRUE(testing::WaitFor(
      [&] { return FileSize(db_) > 1'000'000 && store->CheckpointStats().thread_checkpoints > 0; },
      20s))
      << "database file " << FileSize(db_) << " bytes, WAL " << FileSize(wal_);
  const auto stats = store->CheckpointStats();
  EXPECT_GT(stats.thread_checkpoints, 0);
  EXPECT_EQ(stats.writer_checkpoints, 0);
  EXPECT_EQ(stats.failed_checkpoints, 0);
  EXPECT_EQ(StoredSpans(*store), 50'000);
}

// Small commits (one span each, a few pages) past the wake-up: the thread
// runs one pass per 1,000 new WAL pages, not one per commit. 2,000 such
// commits write at most ~10,000 frames, so ten passes or so; a pass per
// commit ran hundreds, each copying the same few last pages again.
TEST_F(WalCheckpointTest, TheThreadRunsAPassPerThousandNewPagesNotPerCommit) {
  auto store = Open({});
  ASSERT_TRUE(store);
  // Up to the wake-up in big batches, then small commits.
  for (int batch = 0; batch < 30; ++batch) AppendBatch(*store);
  ASSERT_GT(largest_wal_, WalBytes(WalCheckpointer::kWakeAfterPages));
  for (int i = 0; i < 2000; ++i, ++next_id_) {
    EventBatch b;
    Span s;
    s.investigation_id = "small-" + std::to_string(next_id_);
    s.agent = "ir";
    s.ts_ms = 2'000'000 + next_id_;
    b.spans.push_back(std::move(s));
    ASSERT_TRUE(store->Append(b).ok());
  }
  EXPECT_TRUE(
      testing::WaitFor([&] { return store->CheckpointStats().thread_checkpoints > 0; }, 20s));
  const auto stats = store->CheckpointStats();
  EXPECT_LE(stats.thread_checkpoints, 14);
  EXPECT_EQ(stats.writer_checkpoints, 0);
  EXPECT_EQ(StoredSpans(*store), 32'000);
}

// With nothing else copying the WAL back (no thread here, as when a passive
// pass never catches up with the writer), the writer's own checkpoint at the
// limit starts the WAL over: the file never holds much more than the limit.
TEST_F(WalCheckpointTest, TheWriterBoundsTheWalWhenNothingElseCopiesItBack) {
  SqliteStore::Options options;
  options.checkpoint_thread = false;
  options.wal_limit_pages = 500;
  auto store = Open(options);
  ASSERT_TRUE(store);
  // ~2,200 pages: more than four times the limit.
  for (int batch = 0; batch < 60; ++batch) AppendBatch(*store);
  EXPECT_LE(largest_wal_, WalBytes(options.wal_limit_pages + kOneTransactionPages));
  EXPECT_GT(largest_wal_, WalBytes(options.wal_limit_pages));
  const auto stats = store->CheckpointStats();
  EXPECT_GT(stats.writer_checkpoints, 0);
  EXPECT_EQ(stats.thread_checkpoints, 0);
  EXPECT_EQ(StoredSpans(*store), 60'000);
}

// The same bound with the thread running and a writer that never pauses
// (the race that kept a passive pass from ever finishing first).
TEST_F(WalCheckpointTest, TheWalStaysBoundedUnderAppendsThatNeverPause) {
  SqliteStore::Options options;
  options.wal_limit_pages = 2'000;
  auto store = Open(options);
  ASSERT_TRUE(store);
  // ~5,500 pages: nearly three times the limit.
  for (int batch = 0; batch < 150; ++batch) AppendBatch(*store);
  EXPECT_LE(largest_wal_, WalBytes(options.wal_limit_pages + kOneTransactionPages));
  EXPECT_EQ(StoredSpans(*store), 150'000);
}

// A read that stays open pins the WAL: nothing it may still read is copied
// and the WAL cannot start over. The writer's checkpoint at the limit must
// not wait for it (a busy wait would stall ingest for the 5 s busy timeout),
// and once the read ends the WAL starts over instead of growing on.
TEST_F(WalCheckpointTest, ALongReadPinsTheWalWithoutStallingTheWriter) {
  SqliteStore::Options options;
  options.checkpoint_thread = false;
  options.wal_limit_pages = 500;
  auto store = Open(options);
  ASSERT_TRUE(store);
  AppendBatch(*store);
  sqlite3* side = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_.c_str(), &side, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(side, "BEGIN; SELECT count(*) FROM spans", nullptr, nullptr, nullptr),
            SQLITE_OK);
  for (int batch = 0; batch < 20; ++batch) {
    const auto start = std::chrono::steady_clock::now();
    AppendBatch(*store);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "batch " << batch;
  }
  const int64_t pinned = FileSize(wal_);
  EXPECT_GT(pinned, WalBytes(options.wal_limit_pages + kOneTransactionPages));
  ASSERT_EQ(sqlite3_exec(side, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(side);
  // The first commit after the read appends to the pinned WAL; its
  // checkpoint copies everything, and the WAL starts over from then on.
  for (int batch = 0; batch < 20; ++batch) AppendBatch(*store);
  EXPECT_LE(FileSize(wal_), pinned + kOneTransactionPages * kFrameBytes);
  EXPECT_EQ(StoredSpans(*store), 41'000);
}

// Closing the store still leaves every row in the database file and no WAL,
// as before the thread: its connection closes first, then the writer's.
TEST_F(WalCheckpointTest, ClosingTheStoreCheckpointsEverythingAndRemovesTheWal) {
  {
    auto store = Open({});
    ASSERT_TRUE(store);
    for (int batch = 0; batch < 25; ++batch) AppendBatch(*store);
  }
  EXPECT_FALSE(std::filesystem::exists(wal_));
  sqlite3* side = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_.c_str(), &side, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(side, "SELECT count(*) FROM spans", -1, &count, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(count, 0), 25'000);
  sqlite3_finalize(count);
  sqlite3_close(side);
}

}  // namespace
}  // namespace aw
