#pragma once

// The verdicts and resolutions already stored, by a 128-bit hash of the
// fields that make one a re-send, with the time each is about (to forget
// them with the retention). One flat open-addressing table: a million of
// them are 24 MiB in one allocation instead of a million hash nodes, and a
// restart fills it without a malloc per event.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "daemon/common/types.h"

namespace aw::server {

struct EventKey {
  uint64_t lo = 0, hi = 0;
  bool operator==(const EventKey&) const = default;
};
struct EventKeyHash {
  size_t operator()(const EventKey& k) const { return static_cast<size_t>(k.lo); }
};

class SeenEvents {
 public:
  bool Contains(const EventKey& key) const {
    if (cells_.empty()) return false;
    for (size_t i = key.lo & Mask();; i = (i + 1) & Mask()) {
      const Cell& c = cells_[i];
      if (c.ts == kEmpty) return false;
      if (c.key == key) return true;
    }
  }
  // Adds `key` about `ts`; a key already held keeps its time.
  void Insert(const EventKey& key, TimeMs ts) {
    if ((size_ + 1) * 8 > cells_.size() * 7) Rehash(CellsFor(2 * (size_ + 1)));
    if (Place(key, ts)) ++size_;
  }
  // Forgets every event about a time before `cutoff`.
  void EraseBefore(TimeMs cutoff) {
    std::vector<Cell> old;
    old.swap(cells_);
    size_ = 0;
    size_t kept = 0;
    for (const Cell& c : old) kept += c.ts != kEmpty && c.ts >= cutoff;
    cells_.assign(CellsFor(kept), Cell{});
    for (const Cell& c : old) {
      if (c.ts != kEmpty && c.ts >= cutoff && Place(c.key, c.ts)) ++size_;
    }
  }
  void Reserve(size_t n) {
    if (CellsFor(n) > cells_.size()) Rehash(CellsFor(n));
  }
  size_t size() const { return size_; }

 private:
  // Event times are checked against the clock on the way in: none is this.
  static constexpr TimeMs kEmpty = std::numeric_limits<TimeMs>::min();
  struct Cell {
    EventKey key;
    TimeMs ts = kEmpty;
  };
  static size_t CellsFor(size_t n) {
    size_t cells = 16;
    while (cells * 7 < (n + 1) * 8) cells *= 2;
    return cells;
  }
  size_t Mask() const { return cells_.size() - 1; }
  bool Place(const EventKey& key, TimeMs ts) {
    for (size_t i = key.lo & Mask();; i = (i + 1) & Mask()) {
      Cell& c = cells_[i];
      if (c.ts == kEmpty) {
        c = {key, ts};
        return true;
      }
      if (c.key == key) return false;
    }
  }
  void Rehash(size_t cells) {
    std::vector<Cell> old;
    old.swap(cells_);
    cells_.assign(cells, Cell{});
    for (const Cell& c : old) {
      if (c.ts != kEmpty) Place(c.key, c.ts);
    }
  }

  std::vector<Cell> cells_;  // a power of two, or empty
  size_t size_ = 0;
};

}  // namespace aw::server
