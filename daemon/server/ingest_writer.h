#pragma once

// Group commit: request handlers submit validated records and wait; one
// writer thread takes everything queued, decides duplicates, commits it in
// one SQLite transaction, applies it to the windows, and only then answers.
// Late OTLP joins take the same path: the stored investigation is changed in
// that transaction and the windows get the changed record after it.
// So a 2xx always means "durably stored", and concurrent requests share a
// commit instead of paying one fsync each.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "daemon/common/status.h"
#include "daemon/server/seen_events.h"
#include "daemon/store/sqlite_store.h"
#include "windows/sli_views.h"
#include "windows/window_engine.h"

namespace aw::server {

// The windows. The engine owns its lock (see window_engine.h): nobody locks
// it by hand. Only the IngestWriter writes records (and App::Reload the
// pricing); the API, /metrics and the rules read. `snapshots` is the shared
// sli_windows snapshot that /metrics and /api/v1/slis read.
struct EngineState {
  explicit EngineState(Pricing pricing) : engine(std::move(pricing)) {}
  windows::WindowEngine engine;
  windows::SnapshotCache snapshots;
};

struct IngestOutcome {
  Status status;  // not OK: nothing of this request was stored
  int accepted = 0;
  int duplicates = 0;
  // Accepted verdicts and resolutions whose investigation has no span yet:
  // stored and joined when it arrives (a hint for the client).
  int held = 0;
  // Late joins that changed their stored investigation (the others were
  // joined before: a re-sent descendant).
  int late_applied = 0;
};

// What was committed, for metrics and rule evaluation.
struct CommittedBatch {
  EventBatch accepted;
  // Per accepted verdict: its agent for metric labels (named, else its
  // investigation's, else "unknown").
  std::vector<std::string> feedback_agents;
  std::set<std::string> touched_agents;
  int64_t over_agent_cap = 0;  // records re-labelled to agent "other"
  double commit_seconds = 0;   // insert + commit + apply to the windows
};

// Thread-safe.
class IngestWriter {
 public:
  struct Options {
    int64_t max_agents = 1000;             // more distinct agents go to "other"
    int64_t max_label_sets = 10'000;       // more distinct label sets: labels dropped
    int64_t max_queued_records = 200'000;  // more waiting: 503
  };
  using OnCommit = std::function<void(const CommittedBatch&)>;

  IngestWriter(SqliteStore& store, EngineState& state, Options options, OnCommit on_commit);
  ~IngestWriter();

  // Rebuilds the windows and the dedup sets from the store, showing each
  // stored span to `on_span` too when given. Call once, before Start().
  Status Rebuild(const std::function<void(const Span&)>& on_span = nullptr);
  void Start();
  // Answers everything queued, then stops the thread.
  void Stop();

  // Queues a batch; the future resolves after the commit. Resolves at once
  // with Unavailable when stopping or over the queue limit.
  std::future<IngestOutcome> Submit(EventBatch batch);
  // The same, calling `done` once with the outcome: from the writer thread
  // after the commit (keep it short: the next group waits for it), or from
  // the caller's thread when refused at once.
  void Submit(EventBatch batch, std::function<void(IngestOutcome)> done);

  void Prune(TimeMs cutoff);  // queued like a batch, run by the writer

 private:
  struct Job {
    EventBatch batch;
    std::function<void(IngestOutcome)> done;  // not for a prune
    bool prune = false;
    TimeMs prune_cutoff = 0;
  };
  void Run();
  void Process(std::vector<std::unique_ptr<Job>>& jobs);
  // The agent to store under: itself, or "other" once max_agents distinct
  // agents are known. A newly admitted agent is appended to *admitted.
  std::string CapAgent(const std::string& agent, int64_t* capped,
                       std::vector<std::string>* admitted);
  // What makes a verdict or resolution a re-send, as a 128-bit hash of its
  // fields (SeenEvents holds 24 bytes a cell where the joined strings took
  // ~140; a collision, ~2^-128 a pair, would drop one).
  using EventKeySet = std::unordered_set<EventKey, EventKeyHash>;
  static EventKey HashKey(const std::string& fields);
  static EventKey FeedbackKey(const Feedback& f);
  static EventKey ResolutionKey(const Resolution& r);

  SqliteStore& store_;
  EngineState& state_;
  const Options options_;
  const OnCommit on_commit_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> queue_;  // guarded by mu_
  int64_t queued_records_ = 0;              // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::thread thread_;

  // Owned by the writer thread (and Rebuild, before it starts).
  SeenEvents feedback_seen_;
  SeenEvents resolutions_seen_;
  std::unordered_set<std::string> agents_;
  std::unordered_set<std::string> label_sets_;
};

}  // namespace aw::server
