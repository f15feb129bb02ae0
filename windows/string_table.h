#pragma once

// Strings found by their text, each held under a small unsigned key of the
// caller's (a record's slot, a dense interned id). One open-addressing table
// of keys and one byte arena replace a hash node and a heap string per entry:
// at 1M investigation ids of 30 characters that is ~50 bytes an id instead of
// ~104, and no allocation per insert, which is most of a restart's rebuild.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>
#include <vector>

namespace aw::windows::internal {

class StringTable {
 public:
  static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

  // The hash every lookup starts from: computed once, a caller can prefetch
  // a text's cell (Prefetch) a few lookups before it looks it up.
  static uint64_t Hash(std::string_view text);
  // Starts loading the cell where the lookup of a text with `hash` begins:
  // a batch of lookups into a table larger than the cache overlaps its misses.
  void Prefetch(uint64_t hash) const {
    if (!cells_.empty()) __builtin_prefetch(&cells_[Home(hash)]);
  }

  // Calls f(i) for each i in [begin, end) in order, the cell of hashes[i]
  // prefetched a few calls ahead: with a million texts the table is far
  // larger than the cache, and the misses of a batch's lookups then overlap
  // instead of coming one after another. An f that returns bool stops the
  // walk by returning false. Returns the index after the last call.
  template <typename F>
  size_t ForEachPrefetched(const std::vector<uint64_t>& hashes, size_t begin, size_t end,
                           F&& f) const {
    constexpr size_t kAhead = 8;
    for (size_t i = begin; i < std::min(end, begin + kAhead); ++i) Prefetch(hashes[i]);
    for (size_t i = begin; i < end; ++i) {
      if (i + kAhead < end) Prefetch(hashes[i + kAhead]);
      if constexpr (std::is_same_v<decltype(f(i)), bool>) {
        if (!f(i)) return i + 1;
      } else {
        f(i);
      }
    }
    return end;
  }

  // The key of `text`, or kNone.
  uint32_t Find(std::string_view text) const { return Find(text, Hash(text)); }
  uint32_t Find(std::string_view text, uint64_t hash) const;
  // Adds `text` under `key`, which must be below kNone - 1. `text` must not
  // be in the table and `key` must not be in use.
  void Insert(std::string_view text, uint32_t key);
  // The key of `text`, adding it under `key_if_new` when it is not there.
  uint32_t FindOrInsert(std::string_view text, uint32_t key_if_new) {
    return FindOrInsert(text, Hash(text), key_if_new);
  }
  uint32_t FindOrInsert(std::string_view text, uint64_t hash, uint32_t key_if_new);
  // Removes the text held under `key`; false if the key holds none.
  bool Erase(uint32_t key);
  bool Holds(uint32_t key) const { return key < where_.size() && where_[key].length != kFree; }
  // The text under a key that holds one.
  std::string_view Text(uint32_t key) const {
    const Where& w = where_[key];
    return {arena_.data() + w.offset, static_cast<size_t>(w.length)};
  }

  size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  // Room for `n` strings without growing the table.
  void Reserve(size_t n);
  void Clear();
  // Bytes held: table, arena and the per-key positions.
  int64_t Bytes() const;

 private:
  // A table cell: the key, and the high 32 bits of the text's hash (its
  // tag) so that most probes that meet another text never read the arena.
  // A text's home cell is its tag's top bits: growing the table re-places
  // every cell from its tag alone, in one pass that reads no text.
  struct Cell {
    uint32_t key = kEmpty;
    uint32_t tag = 0;
  };
  // Where a key's text lies in the arena; length kFree for an unused key.
  struct Where {
    uint64_t offset : 40;
    uint64_t length : 24;
  };
  static constexpr uint32_t kEmpty = kNone;
  static constexpr uint32_t kErased = kNone - 1;
  static constexpr uint64_t kFree = (uint64_t{1} << 24) - 1;

  static uint32_t TagOf(uint64_t hash) { return static_cast<uint32_t>(hash >> 32); }
  size_t HomeOfTag(uint32_t tag) const { return tag >> tag_shift_; }
  size_t Home(uint64_t hash) const { return HomeOfTag(TagOf(hash)); }
  void Insert(std::string_view text, uint32_t key, uint64_t hash);
  // The cell holding `text`, or the table's size if none.
  size_t Locate(std::string_view text, uint64_t hash) const;
  void Place(uint32_t key, uint32_t tag);
  void Rehash(size_t cells);
  void CompactArena();

  std::vector<Cell> cells_;   // a power of two, or empty
  int tag_shift_ = 32;        // 32 - log2(cells_.size())
  std::vector<Where> where_;  // by key
  std::vector<char> arena_;
  size_t live_ = 0;
  size_t erased_cells_ = 0;   // kErased cells, reused by inserts, dropped by a rehash
  size_t garbage_bytes_ = 0;  // arena bytes of erased texts
};

// Dense ids 0, 1, 2, ... for strings that are many and long (incident ids:
// one for every few investigations), held in a StringTable.
class DenseInterner {
 public:
  uint32_t Intern(std::string_view text) {
    return table_.FindOrInsert(text, static_cast<uint32_t>(table_.size()));
  }
  std::string_view Name(uint32_t id) const { return table_.Text(id); }
  size_t size() const { return table_.size(); }
  int64_t Bytes() const { return table_.Bytes(); }

 private:
  StringTable table_;  // never erased from: keys stay dense
};

}  // namespace aw::windows::internal
