#include "windows/string_table.h"

#include <bit>
#include <cstring>
#include <stdexcept>

// xxHash header-only: XXH3_64bits inlined, nothing to link.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace aw::windows::internal {

namespace {
constexpr size_t kMinCells = 16;

// Cells for `n` entries at most 7/8 full (linear probing stays short at
// that load with a good hash), a power of two.
size_t CellsFor(size_t n) {
  size_t cells = kMinCells;
  while (cells - cells / 8 < n + 1) cells *= 2;
  return cells;
}
}  // namespace

uint64_t StringTable::Hash(std::string_view text) { return XXH3_64bits(text.data(), text.size()); }

size_t StringTable::Locate(std::string_view text, uint64_t hash) const {
  if (cells_.empty()) return 0;
  const size_t mask = cells_.size() - 1;
  const uint32_t tag = TagOf(hash);
  for (size_t i = HomeOfTag(tag);; i = (i + 1) & mask) {
    const Cell& c = cells_[i];
    if (c.key == kEmpty) return cells_.size();
    if (c.key != kErased && c.tag == tag && Text(c.key) == text) return i;
  }
}

uint32_t StringTable::Find(std::string_view text, uint64_t hash) const {
  const size_t at = Locate(text, hash);
  return at < cells_.size() ? cells_[at].key : kNone;
}

void StringTable::Place(uint32_t key, uint32_t tag) {
  const size_t mask = cells_.size() - 1;
  for (size_t i = HomeOfTag(tag);; i = (i + 1) & mask) {
    Cell& c = cells_[i];
    if (c.key == kEmpty || c.key == kErased) {
      if (c.key == kErased) --erased_cells_;
      c = {key, tag};
      return;
    }
  }
}

void StringTable::Insert(std::string_view text, uint32_t key) { Insert(text, key, Hash(text)); }

void StringTable::Insert(std::string_view text, uint32_t key, uint64_t hash) {
  if (key >= kErased) throw std::out_of_range("StringTable: key out of range");
  if (text.size() >= kFree) throw std::length_error("StringTable: text too long");
  // Erased cells count as full: probes pass over them, so they lengthen
  // chains like live ones until a rehash drops them.
  if (cells_.empty() || live_ + erased_cells_ + 1 > cells_.size() - cells_.size() / 8) {
    Rehash(CellsFor(live_ + 1 > cells_.size() / 2 ? 2 * (live_ + 1) : live_ + 1));
  }
  if (key >= where_.size()) where_.resize(static_cast<size_t>(key) + 1, Where{0, kFree});
  Where& w = where_[key];
  w.offset = arena_.size();
  w.length = text.size();
  arena_.insert(arena_.end(), text.begin(), text.end());
  Place(key, TagOf(hash));
  ++live_;
}

uint32_t StringTable::FindOrInsert(std::string_view text, uint64_t hash, uint32_t key_if_new) {
  const size_t at = Locate(text, hash);
  if (at < cells_.size()) return cells_[at].key;
  Insert(text, key_if_new, hash);
  return key_if_new;
}

bool StringTable::Erase(uint32_t key) {
  if (!Holds(key)) return false;
  const std::string_view text = Text(key);
  const size_t mask = cells_.size() - 1;
  for (size_t i = Home(Hash(text));; i = (i + 1) & mask) {
    Cell& c = cells_[i];
    if (c.key == key) {
      c.key = kErased;
      ++erased_cells_;
      break;
    }
  }
  garbage_bytes_ += text.size();
  where_[key].length = kFree;
  --live_;
  // Erased texts are kept until they are half the arena (a prune drops
  // many at once; rewriting the arena per erase would be quadratic).
  if (garbage_bytes_ > 4096 && garbage_bytes_ * 2 > arena_.size()) CompactArena();
  return true;
}

void StringTable::Rehash(size_t cells) {
  std::vector<Cell> old(cells, Cell{});
  old.swap(cells_);
  tag_shift_ = 32 - std::countr_zero(cells);
  erased_cells_ = 0;
  // In the old cells' order: their homes in the new table rise with it, so
  // the writes stream through it instead of landing at random.
  for (const Cell& c : old) {
    if (c.key != kEmpty && c.key != kErased) Place(c.key, c.tag);
  }
}

void StringTable::CompactArena() {
  std::vector<char> arena;
  arena.reserve(arena_.size() - garbage_bytes_);
  for (Where& w : where_) {
    if (w.length == kFree) continue;
    const size_t from = w.offset;
    w.offset = arena.size();
    arena.insert(arena.end(), arena_.begin() + static_cast<ptrdiff_t>(from),
                 arena_.begin() + static_cast<ptrdiff_t>(from + w.length));
  }
  arena_ = std::move(arena);
  garbage_bytes_ = 0;
}

void StringTable::Reserve(size_t n) {
  if (CellsFor(n) > cells_.size()) Rehash(CellsFor(n));
  where_.reserve(n);
}

void StringTable::Clear() {
  cells_.clear();
  tag_shift_ = 32;
  cells_.shrink_to_fit();
  where_.clear();
  where_.shrink_to_fit();
  arena_.clear();
  arena_.shrink_to_fit();
  live_ = erased_cells_ = garbage_bytes_ = 0;
}

int64_t StringTable::Bytes() const {
  return static_cast<int64_t>(cells_.capacity() * sizeof(Cell) + where_.capacity() * sizeof(Where) +
                              arena_.capacity());
}

}  // namespace aw::windows::internal
