#pragma once

// The window engine's internal data: one compact record per investigation,
// interned strings and label sets, per-agent placement with hour-bucket
// counts, and the accumulator a window read fills. Only the engine's own
// files include this; nothing here locks: WindowEngine holds the lock.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "daemon/common/types.h"
#include "windows/sample_stats.h"
#include "windows/stats.h"
#include "windows/window_engine.h"

namespace aw::windows::internal {

constexpr uint32_t kNoId = std::numeric_limits<uint32_t>::max();

// Dense ids for strings (agents, models, finish reasons, incident ids).
// Names point into the map's nodes, which never move.
class StringInterner {
 public:
  uint32_t Intern(const std::string& s) {
    // A handful of names (models, finish reasons): comparing them is
    // cheaper than hashing, and these are looked up for every record.
    if (names_.size() <= kCompareAll) {
      for (uint32_t i = 0; i < names_.size(); ++i) {
        if (*names_[i] == s) return i;
      }
    }
    auto [it, inserted] = ids_.try_emplace(s, 0);
    if (inserted) {
      it->second = static_cast<uint32_t>(names_.size());
      names_.push_back(&it->first);
    }
    return it->second;
  }
  uint32_t Find(const std::string& s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? kNoId : it->second;
  }
  const std::string& Name(uint32_t id) const { return *names_[id]; }
  size_t size() const { return names_.size(); }
  void Clear() {
    ids_.clear();
    names_.clear();
  }
  int64_t Bytes() const {
    int64_t b = static_cast<int64_t>(ids_.bucket_count() * sizeof(void*) +
                                     names_.capacity() * sizeof(void*));
    for (const auto& [name, id] : ids_) {
      b += 64;  // node: string + id + next + cached hash, malloc-rounded
      if (name.size() > 15) b += static_cast<int64_t>(name.capacity() + 1);
    }
    return b;
  }

 private:
  static constexpr size_t kCompareAll = 8;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<const std::string*> names_;
};

// Dense ids for label sets; id 0 is the empty set (verdict-only records).
class LabelsInterner {
 public:
  LabelsInterner() { Intern(Labels{}); }
  uint32_t Intern(const Labels& l) {
    auto [it, inserted] = ids_.try_emplace(l, 0);
    if (inserted) {
      it->second = static_cast<uint32_t>(sets_.size());
      sets_.push_back(&it->first);
    }
    return it->second;
  }
  const Labels& Get(uint32_t id) const { return *sets_[id]; }
  size_t size() const { return sets_.size(); }
  int64_t Bytes() const {
    int64_t b = static_cast<int64_t>(sets_.capacity() * sizeof(void*));
    for (const auto& [l, id] : ids_) {
      b += 64 + static_cast<int64_t>(l.size()) * 96;
    }
    return b;
  }

 private:
  std::map<Labels, uint32_t> ids_;
  std::vector<const Labels*> sets_;
};

enum class Kind : uint8_t {
  kFree,         // slot on the free list
  kPending,      // verdict and/or resolution waiting for a span; not placed
  kVerdictOnly,  // a verdict that named its agent; placed at the verdict
  kSpan,         // the investigation's span arrived; placed at span.ts
};

enum Flag : uint16_t {
  kHasInput = 1 << 0,
  kHasOutput = 1 << 1,
  kHasTool = 1 << 2,
  kHasDuration = 1 << 3,
  kHasConfidence = 1 << 4,
  kCostSent = 1 << 5,  // cost came with the span; pricing never changes it
  kHasOwnResolution = 1 << 6,
};

// One investigation. 128 bytes (static_assert below): placement key, the
// standing verdict's key, numeric fields (presence in `flags`), and interned
// ids for everything textual. The investigation_id itself lives only as the
// key of the id index.
struct Rec {
  TimeMs ts = 0;    // placement: span.ts, or the verdict's ts if no span
  int64_t seq = 0;  // placement tie-break: the span's (or verdict's) seq
  TimeMs vts = 0;   // standing verdict: ts and seq decide which wins
  int64_t vseq = 0;
  int64_t input = 0, output = 0, cache_read = 0, cache_write = 0;
  int64_t tool = 0, duration = 0;
  double cost = 0;  // sent, or priced; 0 when unpriced
  double confidence = 0;
  uint32_t agent = kNoId;
  uint32_t labels = 0;
  uint32_t model = kNoId, response_model = kNoId;
  uint32_t finish = kNoId, incident = kNoId;
  uint16_t flags = 0;
  Verdict verdict = Verdict::kNone;
  Kind kind = Kind::kFree;
};
static_assert(sizeof(Rec) <= 128, "keep the per-investigation record compact");

struct ResInfo {
  TimeMs resolved_at = 0;
  int64_t seq = 0;
  std::optional<TimeMs> opened_at;
  std::optional<double> ttr_s;
  bool NewerThan(const ResInfo& o) const {
    return std::tie(resolved_at, seq) > std::tie(o.resolved_at, o.seq);
  }
};

struct Incident {
  std::optional<ResInfo> res;
  // Slots of its spans, so that its resolution adjusts their hours' pairs
  // and touches their agents; may also hold slots that left it
  // (WindowEngine::Impl::IncidentSpans).
  std::vector<uint32_t> spans;
};

// A sum of costs in fixed point (CostUnits): 128 bits, a GNU extension g++
// and clang both have.
__extension__ typedef __int128 CostSum;

// Integer counts of one agent's placed records in one time bucket: the
// figures of investigations, override_rate and review_coverage. Kept exact
// as verdicts arrive late, records move and are pruned, so that a time
// window reads whole buckets and scans records only in its partial edge
// buckets.
struct BucketCounts {
  int64_t spans = 0, verdicts = 0, overrides = 0, reviewed = 0;
  // The spans' cost in fixed point (CostUnits): integers, so that adding and
  // taking out records in any order leaves the exact sum of those present.
  CostSum cost = 0;
  bool Empty() const {
    return spans == 0 && verdicts == 0 && overrides == 0 && reviewed == 0 && cost == 0;
  }
};

// Cost in units of 1e-18 USD. Decimal, so that a cost sent as 0.001 comes
// back as 0.001 and 0.1 + 0.2 as 0.3; each record's cost within 1e-16 of
// its double, relative. A record's cost is capped at 1e12 USD (ingest takes at most 1e9),
// so 1e8 of them still fit in 128 bits.
constexpr double kCostUnitsPerUsd = 1e18;
inline CostSum CostUnits(double usd) {
  constexpr double kCap = 1e12;
  if (!(usd == usd)) return 0;  // NaN: never stored, but never UB either
  const double capped = std::clamp(usd, -kCap, kCap);
  return static_cast<CostSum>(std::nearbyint(capped * kCostUnitsPerUsd));
}
// Whole dollars and the fraction apart: one double of the whole sum would
// round it before the division (448.625 would not come back as such).
inline double CostUsd(CostSum units) {
  constexpr int64_t kPerUsd = 1'000'000'000'000'000'000;
  const CostSum whole = units / kPerUsd;
  const CostSum fraction = units % kPerUsd;
  return static_cast<double>(whole) + static_cast<double>(fraction) / kCostUnitsPerUsd;
}

// The tool calls of one hour's spans, value -> count, sorted by value: the
// exact distribution (CONTRACT.md: tool_calls quantiles are exact) of whole
// hours without their records. An hour's spans take a handful of values.
using ToolCounts = std::vector<std::pair<int32_t, int32_t>>;

// One calibration bin (stats::CalibrationBinOf) of one hour: its spans with
// a confidence and a verdict. An hour's few reviewed spans fill a few bins:
// only those are kept (HourDetail::bins says which).
struct CalibrationCell {
  double confidence_sum = 0;
  int32_t count = 0;
  int32_t confirms = 0;
};

// A span's share of its hour's calibration figures (sign 1 or -1).
struct CalibrationShare {
  int bin = 0;
  int sign = 1;
  bool confirm = false;
  double confidence = 0;
  double squared_error = 0;  // (confidence - outcome)^2: the Brier score's term
};

// A span's (confidence, time to resolve) pair: its share of its hour's
// correlation figures (sign 1 or -1).
struct PairShare {
  double x = 0, y = 0;
  int sign = 1;
};

// The co-moments of one hour's (confidence, time to resolve) pairs, kept as
// pairs come and go (a late resolution, a re-resolved incident, a replaced
// span). Sums of deviations from the hour's first pair (the shift), not of
// raw values: they stay small where values are large and close (a time to
// resolve of hours that differ by seconds), and a side whose values all
// equal the shift sums exact zeros, so a constant side reads as constant.
struct HourPairs {
  int32_t n = 0;
  int32_t x_at_shift = 0, y_at_shift = 0;  // pairs whose x (y) equals the shift
  double shift_x = 0, shift_y = 0;
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;

  void Add(const PairShare& p) {
    if (n == 0) {
      if (p.sign < 0) return;  // never added: nothing to take out
      *this = HourPairs{};
      shift_x = p.x;
      shift_y = p.y;
    }
    const double dx = p.x - shift_x, dy = p.y - shift_y;
    n += p.sign;
    if (p.x == shift_x) x_at_shift += p.sign;
    if (p.y == shift_y) y_at_shift += p.sign;
    sx += p.sign * dx;
    sy += p.sign * dy;
    sxx += p.sign * dx * dx;
    syy += p.sign * dy * dy;
    sxy += p.sign * dx * dy;
    // Sums of doubles added and taken out in any order may keep a residue:
    // none survives the hour's last pair.
    if (n == 0) *this = HourPairs{};
  }

  Comoments Moments() const {
    Comoments m;
    m.n = n;
    if (n == 0) return m;
    const double k = n;
    m.mean_x = shift_x + sx / k;
    m.mean_y = shift_y + sy / k;
    m.cxx = std::max(0.0, sxx - sx * sx / k);
    m.cyy = std::max(0.0, syy - sy * sy / k);
    m.cxy = sxy - sx * sy / k;
    // A side known to be all one value says so exactly; otherwise it may
    // still be (its shift's pairs left, equal others stayed), and its
    // variance is then a rounding residue of the sums.
    m.same_x = x_at_shift == n ? Comoments::SameValue::One(shift_x) : Comoments::SameValue::Mixed();
    m.same_y = y_at_shift == n ? Comoments::SameValue::One(shift_y) : Comoments::SameValue::Mixed();
    return m;
  }
};

// Counts per hour bucket in one flat vector sorted by hour: an agent holds
// a few hundred hours and nearly every write hits the newest, so the back is
// checked first and the rest searched. Denser and cheaper to walk than a tree
// of nodes; an hour far in the past or future (clock skew) is an entry of its
// own, not a gap to fill.
class HourBuckets {
 public:
  struct Entry {
    int64_t hour;
    // Before the counts: they align to 16 bytes, so this fills the gap.
    ToolCounts tools;  // of the spans with tool_calls in [0, INT32_MAX]
    BucketCounts counts;
  };
  // An hour's figures beyond its counts (calibration cells, the resolved
  // spans' co-moments, finish reasons): apart from Entry, in a vector of
  // their own kept in step with the entries, so that the walks over counts
  // (every counted SLI, every SLO window) touch 80 bytes an hour, not 200.
  struct HourDetail {
    std::vector<CalibrationCell> cells;  // the bins present, in bin order
    double brier = 0;                    // sum of the calibrated spans' squared errors
    uint16_t bins = 0;                   // bit b: bin b has a cell
    HourPairs pairs;                     // the resolved spans' (confidence, time to resolve)
    // Spans per finish reason id (StringInterner of the engine), by id: an
    // hour's spans end in a handful of ways.
    std::vector<std::pair<uint32_t, int32_t>> finishes;
  };
  using const_iterator = std::vector<Entry>::const_iterator;

  // Adds `d` to the counts of `hour` and, for a span with tool calls,
  // `*tool` (its sign that of d.spans) to the hour's tool counts; a bucket
  // whose counts return to zero is dropped, so the entries are exactly the
  // hours with something in them.
  void Add(int64_t hour, const BucketCounts& d, const int64_t* tool = nullptr,
           const CalibrationShare* calibration = nullptr, const PairShare* pair = nullptr,
           const uint32_t* finish = nullptr) {
    std::vector<Entry>::iterator it;
    if (entries_.empty() || hour > entries_.back().hour) {
      if (d.Empty()) return;
      MakeRoom();
      it = entries_.insert(entries_.end(), Entry{hour, {}, {}});
      calibration_.emplace_back();
    } else {
      it = hour == entries_.back().hour ? entries_.end() - 1 : LowerBoundMut(hour);
      if (it->hour != hour) {  // `it` is valid: some entry's hour is >= `hour`
        if (d.Empty()) return;
        const auto at = it - entries_.begin();
        MakeRoom();
        calibration_.emplace(calibration_.begin() + at);
        it = entries_.insert(entries_.begin() + at, Entry{hour, {}, {}});
      }
    }
    BucketCounts& c = it->counts;
    c.spans += d.spans;
    c.verdicts += d.verdicts;
    c.overrides += d.overrides;
    c.reviewed += d.reviewed;
    c.cost += d.cost;
    if (tool != nullptr) AddTool(it->tools, *tool, d.spans);
    const auto at = it - entries_.begin();
    if (calibration != nullptr) AddCalibration(calibration_[at], *calibration);
    if (pair != nullptr) calibration_[at].pairs.Add(*pair);
    if (finish != nullptr) AddFinish(calibration_[at].finishes, *finish, d.spans);
    if (c.Empty()) {
      entries_.erase(it);
      calibration_.erase(calibration_.begin() + at);
    }
  }

  // A pair of a span held in `hour` comes or goes while the span stays (its
  // resolution changed): the hour's entry exists, as the span is counted in it.
  void AddPair(int64_t hour, const PairShare& pair) {
    const auto it = LowerBound(hour);
    if (it == entries_.end() || it->hour != hour) return;
    calibration_[it - entries_.cbegin()].pairs.Add(pair);
  }

  // The first entry with hour >= `hour`. Hours are distinct and sorted, so
  // the entry d places before the back holds an hour <= back - d: the
  // search starts there, and where every hour since has an entry (an agent
  // busy each hour) that entry is the answer, found without a search.
  const_iterator LowerBound(int64_t hour) const {
    auto from = entries_.begin();
    if (!entries_.empty() && hour <= entries_.back().hour) {
      const int64_t back_distance = entries_.back().hour - hour;
      if (back_distance < static_cast<int64_t>(entries_.size())) {
        from = entries_.end() - 1 - back_distance;
        if (from->hour == hour) return from;
      }
    }
    return std::lower_bound(from, entries_.end(), hour,
                            [](const Entry& e, int64_t h) { return e.hour < h; });
  }
  const HourDetail& DetailOf(const_iterator it) const {
    return calibration_[it - entries_.begin()];
  }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Spans held whose tool calls do not fit ToolCounts: while any is, the
  // tool counts miss them and a tool_calls window must read records.
  int64_t wide_tools() const { return wide_tools_; }
  void clear() {
    entries_.clear();
    calibration_.clear();
    wide_tools_ = 0;
  }
  void ShrinkToFit() {
    entries_.shrink_to_fit();
    calibration_.shrink_to_fit();
  }
  int64_t Bytes() const {
    int64_t b = static_cast<int64_t>(entries_.capacity() * sizeof(Entry) +
                                     calibration_.capacity() * sizeof(HourDetail));
    for (const Entry& e : entries_) {
      b += static_cast<int64_t>(e.tools.capacity() * sizeof(ToolCounts::value_type));
    }
    for (const HourDetail& h : calibration_) {
      b += static_cast<int64_t>(h.cells.capacity() * sizeof(CalibrationCell) +
                                h.finishes.capacity() * sizeof(h.finishes[0]));
    }
    return b;
  }

 private:
  // Room for one more entry. A busy agent adds an hour an hour: growing by
  // about a day at a time (not doubling, which leaves up to half of both
  // vectors unused: ~19 MiB over 1,000 agents' week) costs one copy a day.
  void MakeRoom() {
    if (entries_.size() < entries_.capacity()) return;
    const size_t more = std::max<size_t>(24, entries_.size() / 8);
    entries_.reserve(entries_.size() + more);
    calibration_.reserve(entries_.size() + more);
  }

  std::vector<Entry>::iterator LowerBoundMut(int64_t hour) {
    return entries_.begin() + (LowerBound(hour) - entries_.cbegin());
  }

  void AddTool(ToolCounts& tools, int64_t value, int64_t sign) {
    if (value < 0 || value > std::numeric_limits<int32_t>::max()) {
      wide_tools_ += sign;
      return;
    }
    const auto v = static_cast<int32_t>(value);
    auto it =
        std::lower_bound(tools.begin(), tools.end(), v,
                         [](const ToolCounts::value_type& e, int32_t x) { return e.first < x; });
    if (it == tools.end() || it->first != v) {
      tools.insert(it, {v, static_cast<int32_t>(sign)});
      return;
    }
    it->second += static_cast<int32_t>(sign);
    if (it->second == 0) tools.erase(it);
  }

  static void AddFinish(std::vector<std::pair<uint32_t, int32_t>>& finishes, uint32_t finish,
                        int64_t sign) {
    auto it = std::lower_bound(
        finishes.begin(), finishes.end(), finish,
        [](const std::pair<uint32_t, int32_t>& e, uint32_t f) { return e.first < f; });
    if (it == finishes.end() || it->first != finish) {
      if (sign > 0) finishes.insert(it, {finish, static_cast<int32_t>(sign)});
      return;
    }
    it->second += static_cast<int32_t>(sign);
    if (it->second == 0) finishes.erase(it);
  }

  static void AddCalibration(HourDetail& e, const CalibrationShare& c) {
    const auto bit = static_cast<uint16_t>(1u << c.bin);
    auto at = e.cells.begin() + __builtin_popcount(e.bins & (bit - 1u));
    if ((e.bins & bit) == 0) {
      if (c.sign < 0) return;  // never added: nothing to take out
      at = e.cells.insert(at, CalibrationCell{});
      e.bins |= bit;
    }
    CalibrationCell& cell = *at;
    cell.count += c.sign;
    if (c.confirm) cell.confirms += c.sign;
    cell.confidence_sum += c.sign * c.confidence;
    e.brier += c.sign * c.squared_error;
    if (cell.count == 0) {
      e.cells.erase(at);
      e.bins &= static_cast<uint16_t>(~bit);
    }
    // Sums of doubles added and taken out in any order may keep a residue:
    // none survives the last calibrated span of the hour.
    if (e.bins == 0) e.brier = 0;
  }

  std::vector<Entry> entries_;
  std::vector<HourDetail> calibration_;  // calibration_[i]: of entries_[i]
  int64_t wide_tools_ = 0;
};

constexpr TimeMs kBucketMs = 3'600'000;  // one hour

inline int64_t BucketOf(TimeMs ts) {
  return ts >= 0 ? ts / kBucketMs : -((-ts + kBucketMs - 1) / kBucketMs);
}

struct AgentState {
  // Slots placed under this agent; sorted by (ts, seq) unless `dirty`.
  // Writers put a record in its place when that moves few others (records
  // arrive nearly in order); otherwise they mark the agent dirty and it is
  // sorted under the exclusive lock before the next read (readers never
  // mutate), so a replay of a million spans in arbitrary ts order costs one
  // sort, not n middle inserts.
  std::vector<uint32_t> order;
  bool dirty = false;
  // Records per label-set id, so that time windows can list every group
  // seen even when its window is empty.
  std::unordered_map<uint32_t, uint32_t> labelsets;
  // Counts per hour bucket (BucketOf(ts)) of the records in `order`.
  HourBuckets buckets;
  // The earliest span (ts, seq) per label-set id: the first-seen order of
  // label values (compare: {baseline: previous}) without a scan. Exact
  // whenever `dirty` is false: appends in order keep it, and anything that
  // could move an earliest span marks the agent dirty, so the sort rebuilds it.
  std::unordered_map<uint32_t, std::pair<TimeMs, int64_t>> first_span;
  // The engine's version at the last write that could change this agent's
  // figures (its records, their verdicts or resolutions, pricing, prune):
  // rows computed at one generation stay exact while it stands, as far as
  // writes go (see WindowEngine::SnapshotAgents for time).
  uint64_t generation = 0;
};

enum Dist { kDistCost, kDistTool, kDistInput, kDistOutput, kDistDuration, kNumDist };

inline std::optional<Dist> DistOf(Sli s) {
  switch (s) {
    case Sli::kCostPerInvestigation:
      return kDistCost;
    case Sli::kToolCalls:
      return kDistTool;
    case Sli::kInputTokens:
      return kDistInput;
    case Sli::kOutputTokens:
      return kDistOutput;
    case Sli::kDurationMs:
      return kDistDuration;
    default:
      return std::nullopt;
  }
}

// What an accumulation must gather beyond the plain counters.
struct Needs {
  bool dist[kNumDist] = {false, false, false, false, false};
  bool corr = false;
  bool calibration = false;  // whole hours' calibration cells (Brier, ECE)
  uint32_t finish_match = kNoId;
};

struct Acc {
  int64_t spans = 0, verdicts = 0, overrides = 0, reviewed = 0, matches = 0;
  int64_t brier_n = 0;
  CostSum cost = 0;  // CostUnits: the same sum whatever the order or bucketing
  double brier = 0;
  std::vector<double> dist[kNumDist];
  // Whole hours' tool calls, value -> count for values below
  // kToolCountsDense (the rest go to dist[kDistTool] one by one): merging
  // hours costs their distinct values, not their spans.
  static constexpr int32_t kToolCountsDense = 1024;
  std::vector<int64_t> tool_counts;
  int64_t tool_counted = 0;  // sum of tool_counts
  // (confidence, time to resolve): pairs of records one by one, and the
  // moments of whole hours.
  PairSample corr_records;
  Comoments corr_hours;
  stats::CalibrationBins calibration{};
  void AddToolCount(int32_t value, int64_t count) {
    if (value < 0 || value >= kToolCountsDense) {
      dist[kDistTool].insert(dist[kDistTool].end(), static_cast<size_t>(count),
                             static_cast<double>(value));
      return;
    }
    if (static_cast<size_t>(value) >= tool_counts.size()) tool_counts.resize(value + 1);
    tool_counts[value] += count;
    tool_counted += count;
  }
  void Clear() {
    spans = verdicts = overrides = reviewed = matches = brier_n = 0;
    cost = 0;
    brier = 0;
    calibration = {};
    for (auto& d : dist) d.clear();
    tool_counts.clear();
    tool_counted = 0;
    corr_records.Clear();
    corr_hours = Comoments{};
  }
  Comoments Correlation() const {
    Comoments m = corr_hours;
    m.Merge(corr_records.Moments());
    return m;
  }
};

// The value of `key` in `l`, or "".
inline const std::string& LabelOr(const Labels& l, const std::string& key) {
  static const std::string kEmpty;
  auto it = l.find(key);
  return it == l.end() ? kEmpty : it->second;
}

}  // namespace aw::windows::internal
