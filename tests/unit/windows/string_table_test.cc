// The flat string table behind the engine's id index and incident ids:
// after random inserts, finds, erases and key reuse (through growth, erased
// cells and arena compaction) it answers every question as a std::map of
// the same operations does; and the engine built on it keeps finding
// investigations after a prune has erased most of them.

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "windows/string_table.h"
#include "windows/window_engine.h"

namespace aw::windows {
namespace {

using internal::DenseInterner;
using internal::StringTable;

// Texts that share prefixes and lengths, so that tags and probes collide,
// plus the empty text and one longer than any small-string buffer.
std::string TextOf(uint64_t n) {
  if (n == 0) return "";
  if (n == 1) return std::string(300, 'x');
  return "inv-" + std::to_string(n % 7) + "-" + std::to_string(n);
}

TEST(StringTable, AnswersAsAMapThroughGrowthErasesAndCompaction) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    StringTable table;
    std::map<std::string, uint32_t> by_text;  // the model
    std::map<uint32_t, std::string> by_key;
    std::vector<uint32_t> free_keys;
    uint32_t next_key = 0;
    for (int step = 0; step < 60'000; ++step) {
      // Phases of mostly inserts, then mostly erases: the table grows, then
      // fills with erased cells and garbage text, then grows again.
      const bool erasing = (step / 10'000) % 2 == 1;
      const uint64_t text_n = rng() % 20'000;
      const std::string text = TextOf(text_n);
      const int op = static_cast<int>(rng() % 10);
      if (op < (erasing ? 2 : 6)) {
        uint32_t key;
        if (!free_keys.empty() && rng() % 2 == 0) {
          key = free_keys.back();  // a freed slot reused, as the engine does
          free_keys.pop_back();
        } else {
          key = next_key++;
        }
        const uint32_t got = table.FindOrInsert(text, key);
        auto [it, inserted] = by_text.try_emplace(text, key);
        if (inserted) {
          by_key[key] = text;
        } else {
          free_keys.push_back(key);  // not used after all
        }
        ASSERT_EQ(got, it->second) << "seed " << seed << " step " << step;
      } else if (op < 9) {
        if (by_key.empty()) continue;
        auto it = by_key.lower_bound(static_cast<uint32_t>(rng() % (next_key + 1)));
        if (it == by_key.end()) it = by_key.begin();
        const uint32_t key = it->first;
        ASSERT_TRUE(table.Erase(key));
        ASSERT_FALSE(table.Erase(key));
        by_text.erase(it->second);
        by_key.erase(it);
        free_keys.push_back(key);
      } else {
        const auto it = by_text.find(text);
        ASSERT_EQ(table.Find(text), it == by_text.end() ? StringTable::kNone : it->second)
            << "seed " << seed << " step " << step;
      }
      ASSERT_EQ(table.size(), by_text.size());
    }
    // Every text still held is found under its key and read back whole.
    for (const auto& [key, text] : by_key) {
      ASSERT_TRUE(table.Holds(key));
      ASSERT_EQ(table.Text(key), text);
      ASSERT_EQ(table.Find(text), key);
    }
    for (uint32_t key = 0; key < next_key; ++key) {
      ASSERT_EQ(table.Holds(key), by_key.count(key) == 1) << key;
    }
  }
}

TEST(StringTable, ReserveClearAndOutOfRangeKeys) {
  StringTable table;
  table.Reserve(1000);
  const int64_t reserved = table.Bytes();
  for (uint32_t i = 0; i < 1000; ++i) table.Insert(TextOf(i + 2), i);
  EXPECT_EQ(table.size(), 1000u);
  EXPECT_EQ(table.Find(TextOf(500)), 498u);
  EXPECT_GT(table.Bytes(), reserved);  // the arena
  EXPECT_THROW(table.Insert("k", StringTable::kNone), std::out_of_range);
  table.Clear();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.Find(TextOf(500)), StringTable::kNone);
  EXPECT_FALSE(table.Holds(498));
  table.Insert("again", 7);
  EXPECT_EQ(table.Find("again"), 7u);
}

TEST(DenseInterner, HandsOutDenseIdsOnce) {
  DenseInterner ids;
  EXPECT_EQ(ids.Intern("INC-1"), 0u);
  EXPECT_EQ(ids.Intern("INC-2"), 1u);
  EXPECT_EQ(ids.Intern("INC-1"), 0u);
  EXPECT_EQ(ids.Intern(""), 2u);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids.Name(1), "INC-2");
}

// The engine's id index through a prune that erases most ids (compacting
// the arena) and slots reused by later spans.
TEST(StringTable, EngineFindsInvestigationsAcrossPruneAndSlotReuse) {
  WindowEngine engine{Pricing{}};
  const TimeMs hour = 3'600'000;
  int64_t seq = 0;
  const auto span = [&](const std::string& id, TimeMs ts) {
    Span s;
    s.investigation_id = id;
    s.agent = "a" + std::to_string(seq % 3);
    s.ts_ms = ts;
    s.incident_id = "INC-" + id;
    engine.ApplySpan(s, ++seq);
  };
  for (int i = 0; i < 3000; ++i) span("old-" + std::to_string(i), hour + i);
  for (int i = 0; i < 100; ++i) span("kept-" + std::to_string(i), 10 * hour + i);
  engine.PruneBefore(5 * hour);
  for (int i = 0; i < 3000; ++i) span("new-" + std::to_string(i), 11 * hour + i);
  for (int i = 0; i < 3000; i += 7) {
    EXPECT_FALSE(engine.HasSpan("old-" + std::to_string(i))) << i;
    EXPECT_TRUE(engine.HasSpan("new-" + std::to_string(i))) << i;
    EXPECT_EQ(engine.SpanSeq("new-" + std::to_string(i)), 3100 + i + 1) << i;
  }
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(engine.SpanSeq("kept-" + std::to_string(i)), 3000 + i + 1) << i;
  }
  EXPECT_EQ(engine.Memory().investigations, 3100);
}

}  // namespace
}  // namespace aw::windows
