#pragma once

// Joins OTLP spans into investigations across requests (CONTRACT.md, "OTLP/
// HTTP"). A batching exporter sends a trace's spans in several requests, in
// any order, so the assembler holds the non-investigation spans of each trace
// (as small ChildFacts) for `assembly_window` after they arrive, and remembers
// each investigation span for as long:
//   - an investigation span arriving joins every held descendant (a span whose
//     parent chain reaches it without passing through another investigation
//     span) and is returned, mapped, to be inserted;
//   - a descendant arriving after its investigation, within the window (the
//     chain may go through spans that arrived before, with or after it),
//     yields one LateUpdate for that investigation. Each span id joins at most
//     once: a re-sent span is a duplicate and changes nothing.
// Bounds: at most `max_pending_spans` spans are held (investigations
// included); beyond it the oldest are dropped first and counted. Nothing
// outlives `assembly_window` after its arrival. Held spans live in memory
// only and are lost on a restart; committed investigations are the store's.
//
// Time is passed in (`now_ms`); the assembler never reads a clock or sleeps.
// Thread-safe: one mutex inside, held for the whole of each call.

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/common/clock.h"
#include "daemon/common/types.h"
#include "daemon/otlp/mapping.h"
#include "daemon/otlp/otlp_types.h"

namespace aw::otlp {

struct AssemblerOptions {
  Millis assembly_window{2 * 60 * 1000};
  int64_t max_pending_spans = 100'000;
  MappingOptions mapping;  // mapping.validation.now_ms is set from now_ms per call
};

// An investigation to insert, with the spans joined into it.
struct AssembledInvestigation {
  Span span;
  size_t index = 0;  // of its span in the batch
  std::string trace_id;
  std::string span_id;
  std::vector<std::string> joined_span_ids;  // descendants joined now
  bool cost_was_sent = false;                // agent.estimated_cost_usd given: never re-price
};

// An investigation span that failed validation: counted in partialSuccess
// (rejectedSpans) and not retried by the client.
struct RejectedSpan {
  size_t index = 0;
  std::string span_id;
  std::string error;  // names the field
};

struct AssemblyResult {
  std::vector<AssembledInvestigation> investigations;
  std::vector<LateUpdate> late_updates;  // one per descendant, in arrival order
  std::vector<RejectedSpan> rejected;
  // Valid investigations of agents another shard serves: not stored,
  // forgotten (their descendants never update them), error names the owner.
  std::vector<RejectedSpan> misdirected;
  int64_t duplicates = 0;   // spans already held (a client retry)
  int64_t invalid_ids = 0;  // non-investigation spans with malformed ids, ignored

  // What Rollback needs; opaque to callers.
  struct Undo {
    struct Key {
      std::string trace_id, span_id;
      uint64_t seq = 0;
    };
    std::vector<Key> inserted;
    std::vector<Key> joined;                              // held spans this call joined
    std::vector<std::pair<Key, Derivation>> derivations;  // before this call changed them
    int64_t joined_on_time = 0;
    int64_t joined_late = 0;
  } undo;
};

struct AssemblerCounters {
  int64_t held = 0;                 // gauge: non-investigation spans held now
  int64_t waiting = 0;              // gauge: of those, not joined to an investigation yet
  int64_t investigations_held = 0;  // gauge: investigations open for late spans
  int64_t joined_total = 0;         // descendants joined when their investigation arrived
  int64_t joined_late_total = 0;    // descendants joined after it (late updates)
  int64_t dropped_total = 0;        // unjoined spans dropped at max_pending_spans
  int64_t expired_total = 0;        // unjoined spans that outlived the window
  int64_t duplicates_total = 0;
};

class Assembler {
 public:
  explicit Assembler(AssemblerOptions options);
  Assembler(const Assembler&) = delete;
  Assembler& operator=(const Assembler&) = delete;

  // Takes one decoded request. Investigation spans are mapped and validated
  // (`rejected` when invalid); other spans are held or joined. Expires
  // what outlived the window first, and enforces the bound last.
  // `misdirected`, when set, says why an agent is not served here ("" when
  // it is); such investigations go to `misdirected` instead of being kept.
  AssemblyResult Ingest(
      const TraceBatch& batch, TimeMs now_ms,
      const std::function<std::string(const std::string& agent)>& misdirected = {});

  // Undoes an Ingest whose results could not be stored (the request gets a
  // 503 and the client retries): its spans are forgotten, so the retry is
  // not a duplicate, and the spans it joined are held again. Call it before
  // the next Ingest when possible; late updates other requests derived from
  // this one meanwhile are not undone.
  void Rollback(const AssemblyResult& result);

  // Drops what outlived the window (Ingest does this too); for a ticker.
  void Expire(TimeMs now_ms);

  AssemblerCounters counters() const;

 private:
  struct Node {
    uint64_t seq = 0;
    std::string parent_id;
    bool is_investigation = false;
    std::string joined_to;  // a child: the investigation span id it joined
    ChildFacts facts;       // a child
    // An investigation:
    std::string investigation_id;
    std::string agent;
    Derivation derivation;
    bool cost_was_sent = false;
  };
  struct Trace {
    std::unordered_map<std::string, Node> nodes;
    int64_t waiting = 0;
  };
  struct Entry {
    TimeMs expires_ms = 0;
    std::string trace_id, span_id;
    uint64_t seq = 0;
  };

  // The investigation span id `node` descends from, or "" when its chain is
  // broken (a span not held) or ends at a root.
  std::string ResolveLocked(const Trace& trace, const Node& node) const;
  void EvictFrontLocked(bool over_limit);
  void ExpireLocked(TimeMs now_ms);
  void RemoveLocked(const std::string& trace_id, const std::string& span_id, uint64_t seq,
                    bool count_unjoined, bool over_limit);

  // Constant after construction.
  const AssemblerOptions options_;

  // State below is protected by mu_.
  mutable std::mutex mu_;
  std::unordered_map<std::string, Trace> traces_;
  std::deque<Entry> fifo_;  // arrival order == expiry order
  int64_t size_ = 0;        // nodes held
  uint64_t next_seq_ = 1;
  AssemblerCounters counters_;
};

}  // namespace aw::otlp
