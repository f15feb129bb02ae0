#include "windows/window_engine.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <boost/accumulators/accumulators.hpp>
#include <boost/accumulators/statistics/max.hpp>
#include <boost/accumulators/statistics/mean.hpp>
#include <boost/accumulators/statistics/min.hpp>
#include <boost/accumulators/statistics/stats.hpp>

namespace aw::windows {
namespace {

constexpr uint32_t kNoId = std::numeric_limits<uint32_t>::max();

// Dense ids for strings (agents, models, finish reasons, incident ids).
// Names point into the map's nodes, which never move.
class StringInterner {
 public:
  uint32_t Intern(const std::string& s) {
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
  kCostSent = 1 << 5,     // cost came with the span; pricing never changes it
  kHasOwnResolution = 1 << 6,
};

// One investigation. 128 bytes (static_assert below): placement key, the
// standing verdict's key, numeric fields (presence in `flags`), and interned
// ids for everything textual. The investigation_id itself lives only as the
// key of the id index.
struct Rec {
  TimeMs ts = 0;     // placement: span.ts, or the verdict's ts if no span
  int64_t seq = 0;   // placement tie-break: the span's (or verdict's) seq
  TimeMs vts = 0;    // standing verdict: ts and seq decide which wins
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
  std::vector<uint32_t> agents;  // agents holding one of its spans
};

// Integer counts of one agent's placed records in one time bucket: the
// figures of investigations, override_rate and review_coverage. Kept exact
// as verdicts arrive late, records move and are pruned, so that a time
// window reads whole buckets and scans records only in its partial edge
// buckets.
struct BucketCounts {
  int64_t spans = 0, verdicts = 0, overrides = 0, reviewed = 0;
  bool Empty() const { return spans == 0 && verdicts == 0 && overrides == 0 && reviewed == 0; }
};
constexpr TimeMs kBucketMs = 3'600'000;  // one hour

int64_t BucketOf(TimeMs ts) {
  return ts >= 0 ? ts / kBucketMs : -((-ts + kBucketMs - 1) / kBucketMs);
}

struct AgentState {
  // Slots placed under this agent; sorted by (ts, seq) unless `dirty`.
  // Writers only mark it dirty; it is sorted under the exclusive lock before
  // the next read (readers never mutate), so a replay of a million spans in
  // arbitrary ts order costs one sort, not n middle inserts.
  std::vector<uint32_t> order;
  bool dirty = false;
  // Records per label-set id, so that time windows can list every group
  // seen even when its window is empty.
  std::unordered_map<uint32_t, uint32_t> labelsets;
  // Counts per hour bucket (BucketOf(ts)) of the records in `order`.
  std::map<int64_t, BucketCounts> buckets;
  // The earliest span (ts, seq) per label-set id: the first-seen order of
  // label values (compare: {baseline: previous}) without a scan. Exact
  // whenever `dirty` is false: appends in order keep it, and anything that
  // could move an earliest span marks the agent dirty, so the sort rebuilds it.
  std::unordered_map<uint32_t, std::pair<TimeMs, int64_t>> first_span;
};

enum Dist { kDistCost, kDistTool, kDistInput, kDistOutput, kDistDuration, kNumDist };

std::optional<Dist> DistOf(Sli s) {
  switch (s) {
    case Sli::kCostPerInvestigation: return kDistCost;
    case Sli::kToolCalls: return kDistTool;
    case Sli::kInputTokens: return kDistInput;
    case Sli::kOutputTokens: return kDistOutput;
    case Sli::kDurationMs: return kDistDuration;
    default: return std::nullopt;
  }
}

// What an accumulation must gather beyond the plain counters.
struct Needs {
  bool dist[kNumDist] = {false, false, false, false, false};
  bool corr = false;
  uint32_t finish_match = kNoId;
};

struct Acc {
  int64_t spans = 0, verdicts = 0, overrides = 0, reviewed = 0, matches = 0;
  int64_t brier_n = 0;
  double cost = 0, brier = 0;
  std::vector<double> dist[kNumDist];
  std::vector<std::pair<double, double>> corr;  // (confidence, ttr)
  stats::CalibrationBins calibration{};
  void Clear() {
    spans = verdicts = overrides = reviewed = matches = brier_n = 0;
    cost = brier = 0;
    calibration = {};
    for (auto& d : dist) d.clear();
    corr.clear();
  }
};

int QuantilePct(Stat s) {
  switch (s) {
    case Stat::kP50: return 50;
    case Stat::kP90: return 90;
    case Stat::kP95: return 95;
    case Stat::kP99: return 99;
    default: return 0;
  }
}

// Nearest rank: the smallest v with at least q% of the n samples <= v.
size_t RankIndex(int q, size_t n) {
  const size_t rank = (static_cast<size_t>(q) * n + 99) / 100;
  return rank == 0 ? 0 : rank - 1;
}

double Sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

// One stat of an unsorted sample; reorders `v`. REQUIRES: !v.empty().
double StatOf(std::vector<double>& v, Stat stat) {
  switch (stat) {
    case Stat::kMean: return Sum(v) / static_cast<double>(v.size());
    case Stat::kMax: return *std::max_element(v.begin(), v.end());
    default: {
      auto nth = v.begin() + static_cast<ptrdiff_t>(RankIndex(QuantilePct(stat), v.size()));
      std::nth_element(v.begin(), nth, v.end());
      return *nth;
    }
  }
}

// All six stats of a sample at once, exactly; reorders `v`. Instead of a
// full sort, nth_element for p50, then p90 within the part right of it, and
// so on (ranks ascend): about 2-3 linear passes. REQUIRES: !v.empty().
struct AllStats {
  double mean, p50, p90, p95, p99, max;
  double Get(Stat s) const {
    switch (s) {
      case Stat::kMean: return mean;
      case Stat::kP50: return p50;
      case Stat::kP90: return p90;
      case Stat::kP95: return p95;
      case Stat::kP99: return p99;
      default: return max;
    }
  }
};
AllStats StatsOf(std::vector<double>& v) {
  AllStats s{};
  s.mean = Sum(v) / static_cast<double>(v.size());
  double* out[] = {&s.p50, &s.p90, &s.p95, &s.p99};
  const int pct[] = {50, 90, 95, 99};
  auto from = v.begin();
  for (int k = 0; k < 4; ++k) {
    auto nth = v.begin() + static_cast<ptrdiff_t>(RankIndex(pct[k], v.size()));
    std::nth_element(from, nth, v.end());
    *out[k] = *nth;
    from = nth;  // later ranks are >= this one: everything they need is right of it
  }
  s.max = *std::max_element(from, v.end());
  return s;
}

// Pearson r, two-pass for accuracy. Null with fewer than 2 pairs or when
// either side is constant (checked exactly with min == max, since a
// floating-point variance of equal values need not come out as 0).
std::optional<double> Pearson(const std::vector<std::pair<double, double>>& p) {
  namespace ba = boost::accumulators;
  if (p.size() < 2) return std::nullopt;
  ba::accumulator_set<double, ba::stats<ba::tag::mean, ba::tag::min, ba::tag::max>> ax, ay;
  for (const auto& [x, y] : p) {
    ax(x);
    ay(y);
  }
  if (ba::min(ax) == ba::max(ax) || ba::min(ay) == ba::max(ay)) return std::nullopt;
  const double mx = ba::mean(ax), my = ba::mean(ay);
  double sxy = 0, sxx = 0, syy = 0;
  for (const auto& [x, y] : p) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) * (x - mx);
    syy += (y - my) * (y - my);
  }
  if (sxx <= 0 || syy <= 0) return std::nullopt;
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

// A scalar (non-distribution) SLI from the counters.
SliValue ScalarValue(const Acc& a, Sli sli) {
  SliValue v;
  const auto ratio = [](int64_t num, int64_t den) -> std::optional<double> {
    if (den == 0) return std::nullopt;
    return static_cast<double>(num) / static_cast<double>(den);
  };
  switch (sli) {
    case Sli::kInvestigations:
      v.value = static_cast<double>(a.spans);
      v.samples = a.spans;
      break;
    case Sli::kOverrideRate:
      v.value = ratio(a.overrides, a.verdicts);
      v.samples = a.verdicts;
      break;
    case Sli::kReviewCoverage:
      v.value = ratio(a.reviewed, a.spans);
      v.samples = a.spans;
      break;
    case Sli::kCostUsd:
      v.value = a.cost;
      v.samples = a.spans;
      break;
    case Sli::kFinishReasonRate:
      v.value = ratio(a.matches, a.spans);
      v.samples = a.spans;
      break;
    case Sli::kConfidenceResolutionCorrelation:
      v.value = Pearson(a.corr);
      v.samples = static_cast<int64_t>(a.corr.size());
      break;
    case Sli::kConfidenceBrier:
      if (a.brier_n > 0) v.value = a.brier / static_cast<double>(a.brier_n);
      v.samples = a.brier_n;
      break;
    case Sli::kConfidenceEce:
      v.value = stats::ExpectedCalibrationError(a.calibration);
      v.samples = a.brier_n;
      break;
    default:
      break;
  }
  return v;
}

const std::string& LabelOr(const Labels& l, const std::string& key) {
  static const std::string kEmpty;
  auto it = l.find(key);
  return it == l.end() ? kEmpty : it->second;
}

}  // namespace

struct WindowEngine::Impl {
  explicit Impl(Pricing p) : pricing(std::move(p)) {}

  Pricing pricing;
  std::vector<Rec> recs;
  std::vector<uint32_t> free_slots;
  std::unordered_map<std::string, uint32_t> index;  // investigation_id -> slot
  int64_t index_heap_bytes = 0;  // ids too long for the string's SSO buffer
  std::unordered_map<uint32_t, ResInfo> own_res;   // slot -> its own resolution
  StringInterner agent_names, models, finishes, incident_ids;
  LabelsInterner labelsets;
  std::vector<AgentState> agents;  // by agent id
  std::vector<Incident> incidents;  // by incident id
  int64_t placed = 0;               // records in some agent's order
  std::vector<uint32_t> unsorted;   // agents with dirty set
  uint64_t version = 0;             // bumped by every write

  void MarkDirty(uint32_t agent) {
    AgentState& a = agents[agent];
    if (a.dirty) return;
    a.dirty = true;
    unsorted.push_back(agent);
  }

  static bool Placed(const Rec& r) { return r.kind == Kind::kSpan || r.kind == Kind::kVerdictOnly; }

  // Adds (sign 1) or removes (sign -1) a placed record's share of its
  // agent's bucket counts. Every writer removes a record's share before it
  // changes the record and adds it back after: the counts always equal
  // those of the records as they stand.
  void Account(uint32_t slot, int sign) {
    const Rec& r = recs[slot];
    if (!Placed(r)) return;
    auto& buckets = agents[r.agent].buckets;
    BucketCounts& c = buckets[BucketOf(r.ts)];
    if (r.verdict != Verdict::kNone) {
      c.verdicts += sign;
      if (r.verdict == Verdict::kOverride) c.overrides += sign;
    }
    if (r.kind == Kind::kSpan) {
      c.spans += sign;
      if (r.verdict != Verdict::kNone) c.reviewed += sign;
    }
    if (c.Empty()) buckets.erase(BucketOf(r.ts));
  }

  // Sorts every dirty agent. Writers' side of "readers never mutate".
  void SortDirty() {
    for (uint32_t agent : unsorted) {
      if (agent < agents.size()) SortIfDirty(agents[agent]);
    }
    unsorted.clear();
  }

  // ---- slots and placement ----

  // The slot of `id`, creating a pending one if needed. *created tells which.
  uint32_t Slot(const std::string& id, bool* created = nullptr) {
    auto [it, inserted] = index.try_emplace(id, kNoId);
    if (created != nullptr) *created = inserted;
    if (!inserted) return it->second;
    if (id.size() > 15) index_heap_bytes += static_cast<int64_t>(it->first.capacity() + 1);
    uint32_t slot;
    if (!free_slots.empty()) {
      slot = free_slots.back();
      free_slots.pop_back();
      recs[slot] = Rec{};
    } else {
      slot = static_cast<uint32_t>(recs.size());
      recs.emplace_back();
    }
    recs[slot].kind = Kind::kPending;
    it->second = slot;
    return slot;
  }

  uint32_t AgentId(const std::string& name) {
    const uint32_t id = agent_names.Intern(name);
    if (id >= agents.size()) agents.resize(id + 1);
    return id;
  }

  // Adds `slot` (with its agent, labels, ts, seq set) to its agent.
  void Place(uint32_t slot) {
    const Rec& r = recs[slot];
    AgentState& a = agents[r.agent];
    if (!a.order.empty()) {
      const Rec& last = recs[a.order.back()];
      if (std::tie(r.ts, r.seq) < std::tie(last.ts, last.seq)) MarkDirty(r.agent);
    }
    a.order.push_back(slot);
    ++a.labelsets[r.labels];
    ++placed;
    NoteSpan(a, r);
  }

  // A span placed (or turned into a span) where it is: the earliest of its
  // label set if it comes first. Skipped while dirty: the sort rebuilds all.
  static void NoteSpan(AgentState& a, const Rec& r) {
    if (a.dirty || r.kind != Kind::kSpan) return;
    auto [it, added] = a.first_span.try_emplace(r.labels, r.ts, r.seq);
    if (!added && std::make_pair(r.ts, r.seq) < it->second) it->second = {r.ts, r.seq};
  }

  // Whether `r` is the earliest span of its label set (so moving or removing
  // it needs a rebuild).
  static bool IsFirstSpan(const AgentState& a, const Rec& r) {
    if (r.kind != Kind::kSpan) return false;
    auto it = a.first_span.find(r.labels);
    return it != a.first_span.end() && it->second == std::make_pair(r.ts, r.seq);
  }

  void RebuildFirstSpans(AgentState& a) const {
    a.first_span.clear();
    for (uint32_t slot : a.order) {  // sorted: the first met is the earliest
      const Rec& r = recs[slot];
      if (r.kind == Kind::kSpan) a.first_span.try_emplace(r.labels, r.ts, r.seq);
    }
  }

  // Removes `slot` from its agent: O(records of that agent); used only when
  // a verdict-only record changes agent.
  void Unplace(uint32_t slot) {
    const Rec& r = recs[slot];
    AgentState& a = agents[r.agent];
    if (IsFirstSpan(a, r)) MarkDirty(r.agent);
    auto it = std::find(a.order.begin(), a.order.end(), slot);
    if (it != a.order.end()) a.order.erase(it);
    DropLabelset(a, r.labels);
    --placed;
  }

  static void DropLabelset(AgentState& a, uint32_t labels) {
    auto it = a.labelsets.find(labels);
    if (it != a.labelsets.end() && --it->second == 0) a.labelsets.erase(it);
  }

  // Moves a placed record to a new agent / labels / (ts, seq).
  void Move(uint32_t slot, uint32_t agent, uint32_t labels, TimeMs ts, int64_t seq) {
    Rec& r = recs[slot];
    if (r.agent != agent) {
      Unplace(slot);
      r.agent = agent;
      r.labels = labels;
      r.ts = ts;
      r.seq = seq;
      Place(slot);
      return;
    }
    AgentState& a = agents[agent];
    if ((r.labels != labels || r.ts != ts || r.seq != seq) && IsFirstSpan(a, r)) MarkDirty(agent);
    if (r.labels != labels) {
      DropLabelset(a, r.labels);
      ++a.labelsets[labels];
      r.labels = labels;
    }
    if (r.ts != ts || r.seq != seq) {
      r.ts = ts;
      r.seq = seq;
      MarkDirty(agent);  // changed in place; re-sorted before the next read
    }
    NoteSpan(a, r);  // e.g. a verdict-only record that became a span
  }

  // Sorts on copied keys: comparing through the slot indirection would
  // miss the cache on every comparison.
  void SortIfDirty(AgentState& a) {
    if (!a.dirty) return;
    struct Key {
      TimeMs ts;
      int64_t seq;
      uint32_t slot;
    };
    std::vector<Key> keys;
    keys.reserve(a.order.size());
    for (uint32_t slot : a.order) keys.push_back(Key{recs[slot].ts, recs[slot].seq, slot});
    std::sort(keys.begin(), keys.end(),
              [](const Key& x, const Key& y) { return std::tie(x.ts, x.seq) < std::tie(y.ts, y.seq); });
    for (size_t i = 0; i < keys.size(); ++i) a.order[i] = keys[i].slot;
    a.dirty = false;
    RebuildFirstSpans(a);
  }

  // Records of an agent are scattered over `recs` (arrival order): fetch
  // ahead while scanning a window.
  void Prefetch(const std::vector<uint32_t>& order, size_t i) const {
    constexpr size_t kAhead = 12;
    if (i + kAhead < order.size()) {
      const char* p = reinterpret_cast<const char*>(&recs[order[i + kAhead]]);
      __builtin_prefetch(p);
      __builtin_prefetch(p + 64);  // a record spans two cache lines
    }
  }

  void Touch(std::set<std::string>* touched, uint32_t agent) const {
    if (touched != nullptr && agent != kNoId) touched->insert(agent_names.Name(agent));
  }

  // The values of a span record (everything but kind and placement):
  // shared by ApplySpan and ReplaceSpan so a replaced record equals one
  // that arrived so.
  void SetSpanValues(Rec& r, const Span& span, uint32_t agent) {
    uint32_t incident = kNoId;
    if (!span.incident_id.empty()) {
      incident = incident_ids.Intern(span.incident_id);
      if (incident >= incidents.size()) incidents.resize(incident + 1);
      auto& ia = incidents[incident].agents;
      if (std::find(ia.begin(), ia.end(), agent) == ia.end()) ia.push_back(agent);
    }

    r.model = span.model.empty() ? kNoId : models.Intern(span.model);
    r.response_model = span.response_model.empty() ? kNoId : models.Intern(span.response_model);
    r.finish = finishes.Intern(span.finish_reason);
    r.incident = incident;
    uint16_t flags = r.flags & kHasOwnResolution;
    const auto take = [&flags](const std::optional<int64_t>& v, int64_t& dst, uint16_t bit) {
      dst = v.value_or(0);
      if (v) flags |= bit;
    };
    take(span.input_tokens, r.input, kHasInput);
    take(span.output_tokens, r.output, kHasOutput);
    take(span.tool_calls, r.tool, kHasTool);
    take(span.duration_ms, r.duration, kHasDuration);
    r.cache_read = span.cache_read_tokens.value_or(0);
    r.cache_write = span.cache_creation_tokens.value_or(0);
    if (span.confidence) {
      r.confidence = *span.confidence;
      flags |= kHasConfidence;
    }
    if (span.cost_usd) flags |= kCostSent;
    r.flags = flags;
    r.cost = PriceSpan(span, pricing).value_or(0);
  }

  // ---- pricing and resolution ----

  void Price(Rec& r) const {
    if (r.flags & kCostSent) return;
    Span s;
    if (r.model != kNoId) s.model = models.Name(r.model);
    if (r.response_model != kNoId) s.response_model = models.Name(r.response_model);
    s.input_tokens = r.input;
    s.output_tokens = r.output;
    s.cache_read_tokens = r.cache_read;
    s.cache_creation_tokens = r.cache_write;
    r.cost = PriceSpan(s, pricing).value_or(0);
  }

  std::optional<double> TimeToResolve(uint32_t slot, const Rec& r) const {
    const ResInfo* res = nullptr;
    if (r.flags & kHasOwnResolution) {
      auto it = own_res.find(slot);
      if (it != own_res.end()) res = &it->second;
    }
    if (res == nullptr && r.incident != kNoId && incidents[r.incident].res) {
      res = &*incidents[r.incident].res;
    }
    if (res == nullptr) return std::nullopt;
    if (res->ttr_s) return *res->ttr_s;
    if (res->opened_at) return static_cast<double>(res->resolved_at - *res->opened_at) / 1000.0;
    const TimeMs started = r.ts - ((r.flags & kHasDuration) ? r.duration : 0);
    return static_cast<double>(res->resolved_at - started) / 1000.0;
  }

  // ---- accumulation ----

  void Add(Acc& a, uint32_t slot, const Needs& n) const {
    const Rec& r = recs[slot];
    if (r.verdict != Verdict::kNone) {
      ++a.verdicts;
      if (r.verdict == Verdict::kOverride) ++a.overrides;
    }
    if (r.kind != Kind::kSpan) return;
    ++a.spans;
    a.cost += r.cost;
    if (r.verdict != Verdict::kNone) ++a.reviewed;
    if (n.finish_match != kNoId && r.finish == n.finish_match) ++a.matches;
    if (n.dist[kDistCost]) a.dist[kDistCost].push_back(r.cost);
    if (n.dist[kDistTool] && (r.flags & kHasTool)) a.dist[kDistTool].push_back(static_cast<double>(r.tool));
    if (n.dist[kDistInput] && (r.flags & kHasInput)) a.dist[kDistInput].push_back(static_cast<double>(r.input));
    if (n.dist[kDistOutput] && (r.flags & kHasOutput)) a.dist[kDistOutput].push_back(static_cast<double>(r.output));
    if (n.dist[kDistDuration] && (r.flags & kHasDuration)) a.dist[kDistDuration].push_back(static_cast<double>(r.duration));
    if (r.flags & kHasConfidence) {
      if (r.verdict != Verdict::kNone) {
        const double outcome = r.verdict == Verdict::kConfirm ? 1.0 : 0.0;
        a.brier += (r.confidence - outcome) * (r.confidence - outcome);
        ++a.brier_n;
        stats::CalibrationBin& bin = a.calibration[stats::CalibrationBinOf(r.confidence)];
        ++bin.count;
        if (r.verdict == Verdict::kConfirm) ++bin.confirms;
        bin.confidence_sum += r.confidence;
      }
      if (n.corr) {
        if (auto ttr = TimeToResolve(slot, r)) a.corr.emplace_back(r.confidence, *ttr);
      }
    }
  }

  // The [begin, end) range of a sorted order with lo < ts <= hi.
  std::pair<size_t, size_t> Range(const std::vector<uint32_t>& order, TimeMs lo, TimeMs hi) const {
    auto by_ts = [this](uint32_t slot, TimeMs t) { return recs[slot].ts <= t; };
    const auto first = std::partition_point(order.begin(), order.end(),
                                            [&](uint32_t s) { return by_ts(s, lo); });
    const auto last = std::partition_point(first, order.end(),
                                           [&](uint32_t s) { return by_ts(s, hi); });
    return {static_cast<size_t>(first - order.begin()), static_cast<size_t>(last - order.begin())};
  }

  // Everything of one agent in one window, into `a` (cleared first).
  void CollectAgent(const AgentState& ag, const WindowSpec& w, TimeMs end, const Needs& n,
                    Acc& a) const {
    a.Clear();
    const auto& order = ag.order;
    if (w.kind == WindowSpec::Kind::kTime) {
      if (w.duration.count() <= 0) return;
      auto [b, e] = Range(order, end - w.duration.count(), end);
      for (size_t i = b; i < e; ++i) {
        Prefetch(order, i);
        Add(a, order[i], n);
      }
    } else {
      auto [b, e] = Range(order, std::numeric_limits<TimeMs>::min(), end);
      const size_t take = static_cast<size_t>(std::max<int64_t>(0, w.count));
      const size_t from = e - b > take ? e - take : b;
      for (size_t i = from; i < e; ++i) {
        Prefetch(order, i);
        Add(a, order[i], n);
      }
    }
  }

  std::vector<SliValue> Compute(const SliQuery& q, TimeMs now) const;
  std::vector<SliRow> Snapshot(const std::vector<WindowSpec>& windows, TimeMs now,
                               const std::string& only_agent) const;
  void PruneBefore(TimeMs cutoff);
  static void ApplyFeedbackLocked(Impl& m, uint32_t slot, const Feedback& fb, int64_t seq,
                                  std::set<std::string>* touched);
};

// ---- Compute ----

std::vector<SliValue> WindowEngine::Impl::Compute(const SliQuery& q, TimeMs now) const {
  const TimeMs end = now - q.offset.count();
  const WindowSpec& w = q.window;
  const bool time_window = w.kind == WindowSpec::Kind::kTime;

  Needs needs;
  const std::optional<Dist> dist = DistOf(q.sli);
  if (dist) needs.dist[*dist] = true;
  needs.corr = q.sli == Sli::kConfidenceResolutionCorrelation;
  if (q.sli == Sli::kFinishReasonRate) needs.finish_match = finishes.Find(q.match);

  // Agents to scan.
  std::string agent_filter = q.only_agent;
  auto where_agent = q.where.find("agent");
  if (where_agent != q.where.end()) {
    if (!agent_filter.empty() && agent_filter != where_agent->second) return {};
    agent_filter = where_agent->second;
  }
  std::vector<uint32_t> scan;
  if (!agent_filter.empty()) {
    const uint32_t id = agent_names.Find(agent_filter);
    if (id != kNoId) scan.push_back(id);
  } else {
    for (uint32_t i = 0; i < agents.size(); ++i) scan.push_back(i);
  }

  // Figures the bucket counts carry, for groups no finer than the agent.
  bool label_filter = false;
  for (const auto& [k, v] : q.where) label_filter |= k != "agent";
  const bool countable =
      (q.sli == Sli::kInvestigations || q.sli == Sli::kOverrideRate ||
       q.sli == Sli::kReviewCoverage) &&
      !label_filter && (q.by.empty() || q.by == std::vector<std::string>{"agent"});

  // Groups, keyed by their by-values (in `by` order).
  std::map<std::vector<std::string>, size_t> group_ids;
  std::vector<Acc> accs;
  std::vector<std::vector<uint32_t>> candidates;  // count windows
  std::vector<int64_t> group_of(labelsets.size(), -1);  // per agent; -2 = filtered
  std::vector<uint32_t> group_stamp(labelsets.size(), kNoId);

  const auto group_for = [&](uint32_t agent, uint32_t ls) -> int64_t {
    if (group_stamp[ls] == agent) return group_of[ls];
    group_stamp[ls] = agent;
    const Labels& l = labelsets.Get(ls);
    for (const auto& [k, v] : q.where) {
      if (k == "agent") continue;  // handled by the agent scan
      if (LabelOr(l, k) != v) return group_of[ls] = -2;
    }
    std::vector<std::string> key;
    key.reserve(q.by.size());
    for (const std::string& b : q.by) {
      key.push_back(b == "agent" ? agent_names.Name(agent) : LabelOr(l, b));
    }
    auto [it, inserted] = group_ids.try_emplace(std::move(key), accs.size());
    if (inserted) {
      accs.emplace_back();
      candidates.emplace_back();
    }
    return group_of[ls] = static_cast<int64_t>(it->second);
  };

  for (uint32_t agent : scan) {
    const AgentState& ag = agents[agent];
    if (ag.order.empty()) continue;
    const auto& order = ag.order;
    if (time_window) {
      // Every group seen at all shows up, even with an empty window.
      for (const auto& [ls, count] : ag.labelsets) group_for(agent, ls);
      if (w.duration.count() <= 0) continue;
      const TimeMs lo = end - w.duration.count();
      if (countable && !ag.labelsets.empty()) {
        // One group per agent: whole buckets from the counts, records only
        // in the partial buckets at the two edges.
        const int64_t g = group_for(agent, ag.labelsets.begin()->first);
        if (g < 0) continue;
        Acc& a = accs[static_cast<size_t>(g)];
        const int64_t first = BucketOf(lo) + 1;       // first bucket wholly after lo
        const int64_t last = BucketOf(end + 1) - 1;   // last bucket wholly at or before end
        const auto scan_range = [&](TimeMs from, TimeMs to) {  // from < ts <= to
          auto [b, e] = Range(order, from, to);
          for (size_t i = b; i < e; ++i) Add(a, order[i], needs);
        };
        if (first > last) {
          scan_range(lo, end);
          continue;
        }
        scan_range(lo, first * kBucketMs - 1);
        for (auto it = ag.buckets.lower_bound(first); it != ag.buckets.end() && it->first <= last;
             ++it) {
          a.spans += it->second.spans;
          a.verdicts += it->second.verdicts;
          a.overrides += it->second.overrides;
          a.reviewed += it->second.reviewed;
        }
        scan_range((last + 1) * kBucketMs - 1, end);
        continue;
      }
      auto [b, e] = Range(order, lo, end);
      for (size_t i = b; i < e; ++i) {
        Prefetch(order, i);
        const int64_t g = group_for(agent, recs[order[i]].labels);
        if (g >= 0) Add(accs[static_cast<size_t>(g)], order[i], needs);
      }
    } else {
      if (w.count <= 0) continue;
      const size_t n = static_cast<size_t>(w.count);
      // Groups this agent can feed; stop scanning once all of them are full.
      std::vector<size_t> mine;
      for (const auto& [ls, count] : ag.labelsets) {
        const int64_t g = group_for(agent, ls);
        if (g >= 0) mine.push_back(static_cast<size_t>(g));
      }
      std::sort(mine.begin(), mine.end());
      mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
      std::map<size_t, size_t> taken;
      size_t full = 0;
      auto [b, e] = Range(order, std::numeric_limits<TimeMs>::min(), end);
      for (size_t i = e; i > b && full < mine.size(); --i) {
        const uint32_t slot = order[i - 1];
        const int64_t g = group_for(agent, recs[slot].labels);
        if (g < 0) continue;
        size_t& t = taken[static_cast<size_t>(g)];
        if (t == n) continue;
        candidates[static_cast<size_t>(g)].push_back(slot);
        if (++t == n) ++full;
      }
    }
  }

  std::vector<SliValue> out;
  out.reserve(group_ids.size());
  for (const auto& [key, g] : group_ids) {
    Acc& a = accs[g];
    if (!time_window) {
      auto& c = candidates[g];
      if (c.empty()) continue;  // count windows list only groups with records
      const size_t n = static_cast<size_t>(w.count);
      if (c.size() > n) {  // several agents fed one group: keep the latest n
        std::nth_element(c.begin(), c.begin() + static_cast<ptrdiff_t>(n), c.end(),
                         [this](uint32_t x, uint32_t y) {
                           return std::tie(recs[x].ts, recs[x].seq) >
                                  std::tie(recs[y].ts, recs[y].seq);
                         });
        c.resize(n);
      }
      for (uint32_t slot : c) Add(a, slot, needs);
    }
    SliValue v;
    if (dist) {
      std::vector<double>& d = a.dist[*dist];
      v.samples = static_cast<int64_t>(d.size());
      if (!d.empty()) v.value = StatOf(d, q.stat == Stat::kNone ? Stat::kMean : q.stat);
    } else {
      v = ScalarValue(a, q.sli);
    }
    for (size_t i = 0; i < q.by.size(); ++i) v.group[q.by[i]] = key[i];
    out.push_back(std::move(v));
  }
  return out;
}

// ---- Snapshot ----

std::vector<SliRow> WindowEngine::Impl::Snapshot(const std::vector<WindowSpec>& windows,
                                                 TimeMs now,
                                                 const std::string& only_agent) const {
  std::vector<std::pair<std::string, uint32_t>> names;
  for (uint32_t i = 0; i < agents.size(); ++i) {
    if (agents[i].order.empty()) continue;
    const std::string& name = agent_names.Name(i);
    if (!only_agent.empty() && name != only_agent) continue;
    names.emplace_back(name, i);
  }
  std::sort(names.begin(), names.end());

  Needs needs;
  for (bool& d : needs.dist) d = true;
  needs.corr = true;
  static const Sli kDistSlis[kNumDist] = {Sli::kCostPerInvestigation, Sli::kToolCalls,
                                          Sli::kInputTokens, Sli::kOutputTokens,
                                          Sli::kDurationMs};

  std::vector<SliRow> rows;
  rows.reserve(names.size() * windows.size() * 37);
  Acc a;  // reused: its vectors keep their capacity across agents
  for (const auto& [name, id] : names) {
    for (const WindowSpec& w : windows) {
      CollectAgent(agents[id], w, now, needs, a);
      for (Sli sli : AllSlis()) {
        if (sli == Sli::kFinishReasonRate) continue;
        const std::optional<Dist> dist = DistOf(sli);
        if (!dist) {
          const SliValue v = ScalarValue(a, sli);
          rows.push_back(SliRow{name, {}, sli, w.name, Stat::kNone, v.value, v.samples});
          continue;
        }
        std::vector<double>& d = a.dist[*dist];
        std::optional<AllStats> st;
        if (!d.empty()) st = StatsOf(d);
        for (Stat stat : DistributionStats()) {
          SliRow row{name, {}, kDistSlis[*dist], w.name, stat, std::nullopt,
                     static_cast<int64_t>(d.size())};
          if (st) row.value = st->Get(stat);
          rows.push_back(std::move(row));
        }
      }
    }
  }
  return rows;
}

// ---- PruneBefore ----

void WindowEngine::Impl::PruneBefore(TimeMs cutoff) {
  std::vector<bool> dropped(recs.size(), false);
  const auto free_slot = [&](uint32_t slot) {
    Account(slot, -1);
    recs[slot] = Rec{};
    own_res.erase(slot);
    free_slots.push_back(slot);
    dropped[slot] = true;
  };
  SortDirty();
  for (AgentState& a : agents) {
    size_t k = 0;
    while (k < a.order.size() && recs[a.order[k]].ts < cutoff) {
      DropLabelset(a, recs[a.order[k]].labels);
      free_slot(a.order[k]);
      ++k;
    }
    a.order.erase(a.order.begin(), a.order.begin() + static_cast<ptrdiff_t>(k));
    placed -= static_cast<int64_t>(k);
    if (k > 0) RebuildFirstSpans(a);
  }
  // Held verdicts and resolutions still waiting for their span.
  for (uint32_t slot = 0; slot < recs.size(); ++slot) {
    Rec& r = recs[slot];
    if (r.kind != Kind::kPending) continue;
    if (r.verdict != Verdict::kNone && r.vts < cutoff) {
      r.verdict = Verdict::kNone;
      r.vts = r.vseq = 0;
    }
    if (r.flags & kHasOwnResolution) {
      auto it = own_res.find(slot);
      if (it != own_res.end() && it->second.resolved_at < cutoff) {
        own_res.erase(it);
        r.flags &= static_cast<uint16_t>(~kHasOwnResolution);
      }
    }
    if (r.verdict == Verdict::kNone && !(r.flags & kHasOwnResolution)) free_slot(slot);
  }
  for (auto it = index.begin(); it != index.end();) {
    if (dropped[it->second]) {
      if (it->first.size() > 15) index_heap_bytes -= static_cast<int64_t>(it->first.capacity() + 1);
      it = index.erase(it);
    } else {
      ++it;
    }
  }

  // Incidents: drop old resolutions, then re-intern the ids still in use so
  // the table does not grow forever.
  std::vector<uint32_t> remap(incidents.size(), kNoId);
  std::vector<bool> used(incidents.size(), false);
  for (const Rec& r : recs) {
    if (r.kind == Kind::kSpan && r.incident != kNoId) used[r.incident] = true;
  }
  StringInterner kept_ids;
  std::vector<Incident> kept;
  for (uint32_t i = 0; i < incidents.size(); ++i) {
    Incident& inc = incidents[i];
    if (inc.res && inc.res->resolved_at < cutoff) inc.res.reset();
    if (!used[i] && !inc.res) continue;
    remap[i] = kept_ids.Intern(incident_ids.Name(i));
    kept.push_back(std::move(inc));
  }
  for (Rec& r : recs) {
    if (r.kind == Kind::kSpan && r.incident != kNoId) r.incident = remap[r.incident];
  }
  incidents = std::move(kept);
  incident_ids = std::move(kept_ids);
}

// ---- public API ----

WindowEngine::WindowEngine(Pricing pricing) : impl_(std::make_unique<Impl>(std::move(pricing))) {}
WindowEngine::~WindowEngine() = default;

template <typename F>
auto WindowEngine::Read(F&& read) const {
  for (;;) {
    {
      ReaderLock lock(mu_);
      if (impl_->unsorted.empty()) return read(static_cast<const Impl&>(*impl_));
    }
    WriterLock lock(mu_);
    impl_->SortDirty();
  }
}

bool WindowEngine::ApplySpan(const Span& span, int64_t seq, std::set<std::string>* touched) {
  if (span.investigation_id.empty() || span.agent.empty()) return false;
  WriterLock lock(mu_);
  Impl& m = *impl_;
  bool created = false;
  const uint32_t slot = m.Slot(span.investigation_id, &created);
  if (!created && m.recs[slot].kind == Kind::kSpan) return false;  // the first span stands
  ++m.version;
  m.Account(slot, -1);
  const uint32_t agent = m.AgentId(span.agent);
  const uint32_t labels = m.labelsets.Intern(span.labels);
  Rec& r = m.recs[slot];
  m.SetSpanValues(r, span, agent);

  if (r.kind == Kind::kVerdictOnly) {
    m.Touch(touched, r.agent);
    r.kind = Kind::kSpan;
    m.Move(slot, agent, labels, span.ts_ms, seq);
  } else {
    r.kind = Kind::kSpan;
    r.agent = agent;
    r.labels = labels;
    r.ts = span.ts_ms;
    r.seq = seq;
    m.Place(slot);
  }
  m.Account(slot, 1);
  m.Touch(touched, agent);
  return true;
}

bool WindowEngine::ReplaceSpan(const Span& span, std::set<std::string>* touched) {
  if (span.investigation_id.empty() || span.agent.empty()) return false;
  WriterLock lock(mu_);
  Impl& m = *impl_;
  auto it = m.index.find(span.investigation_id);
  if (it == m.index.end() || m.recs[it->second].kind != Kind::kSpan) return false;
  const uint32_t slot = it->second;
  ++m.version;
  // Out of the hour buckets with its old values, back in with its new ones.
  m.Account(slot, -1);
  m.Touch(touched, m.recs[slot].agent);
  const uint32_t agent = m.AgentId(span.agent);
  const uint32_t labels = m.labelsets.Intern(span.labels);
  Rec& r = m.recs[slot];
  m.SetSpanValues(r, span, agent);
  m.Move(slot, agent, labels, span.ts_ms, r.seq);
  m.Account(slot, 1);
  m.Touch(touched, agent);
  return true;
}

std::optional<int64_t> WindowEngine::SpanSeq(const std::string& investigation_id) const {
  ReaderLock lock(mu_);
  auto it = impl_->index.find(investigation_id);
  if (it == impl_->index.end() || impl_->recs[it->second].kind != Kind::kSpan) return std::nullopt;
  return impl_->recs[it->second].seq;
}

void WindowEngine::ApplyFeedback(const Feedback& fb, int64_t seq, std::set<std::string>* touched) {
  if (fb.investigation_id.empty() || fb.verdict == Verdict::kNone) return;
  WriterLock lock(mu_);
  Impl& m = *impl_;
  ++m.version;
  const uint32_t slot = m.Slot(fb.investigation_id);
  m.Account(slot, -1);
  Impl::ApplyFeedbackLocked(m, slot, fb, seq, touched);
  m.Account(slot, 1);
}

void WindowEngine::Impl::ApplyFeedbackLocked(Impl& m, uint32_t slot, const Feedback& fb,
                                             int64_t seq, std::set<std::string>* touched) {
  Rec& r = m.recs[slot];
  const bool wins = r.verdict == Verdict::kNone ||
                    std::tie(fb.ts_ms, seq) > std::tie(r.vts, r.vseq);
  if (wins) {
    r.verdict = fb.verdict;
    r.vts = fb.ts_ms;
    r.vseq = seq;
  }
  switch (r.kind) {
    case Kind::kSpan:
      if (wins) m.Touch(touched, r.agent);
      break;
    case Kind::kVerdictOnly: {
      // Placed at the standing verdict, under the agent the latest-arriving
      // agent-naming verdict gave.
      const uint32_t agent = fb.agent.empty() ? r.agent : m.AgentId(fb.agent);
      if (!wins && agent == r.agent) break;
      m.Touch(touched, r.agent);
      m.Move(slot, agent, 0, r.vts, r.vseq);
      m.Touch(touched, agent);
      break;
    }
    case Kind::kPending:
      if (fb.agent.empty()) break;
      r.kind = Kind::kVerdictOnly;
      r.agent = m.AgentId(fb.agent);
      r.labels = 0;
      r.ts = r.vts;
      r.seq = r.vseq;
      m.Place(slot);
      m.Touch(touched, r.agent);
      break;
    case Kind::kFree:
      break;
  }
}

void WindowEngine::ApplyResolution(const Resolution& res, int64_t seq,
                                   std::set<std::string>* touched) {
  WriterLock lock(mu_);
  Impl& m = *impl_;
  ++m.version;
  ResInfo info{res.resolved_at_ms, seq, res.opened_at_ms, res.time_to_resolve_s};
  if (!res.investigation_id.empty()) {
    const uint32_t slot = m.Slot(res.investigation_id);
    Rec& r = m.recs[slot];
    auto [it, inserted] = m.own_res.try_emplace(slot, info);
    if (!inserted) {
      if (!info.NewerThan(it->second)) return;
      it->second = info;
    }
    r.flags |= kHasOwnResolution;
    if (r.kind == Kind::kSpan) m.Touch(touched, r.agent);
  } else if (!res.incident_id.empty()) {
    const uint32_t id = m.incident_ids.Intern(res.incident_id);
    if (id >= m.incidents.size()) m.incidents.resize(id + 1);
    Incident& inc = m.incidents[id];
    if (inc.res && !info.NewerThan(*inc.res)) return;
    inc.res = info;
    for (uint32_t agent : inc.agents) m.Touch(touched, agent);
  }
}

std::vector<SliValue> WindowEngine::Compute(const SliQuery& query, TimeMs now) const {
  return Read([&](const Impl& m) { return m.Compute(query, now); });
}

stats::CalibrationBins WindowEngine::Calibration(const std::string& agent,
                                                const WindowSpec& w, TimeMs now) const {
  return Read([&](const Impl& m) {
    const uint32_t id = m.agent_names.Find(agent);
    if (id == kNoId || id >= m.agents.size()) return stats::CalibrationBins{};
    Acc a;
    m.CollectAgent(m.agents[id], w, now, Needs{}, a);
    return a.calibration;
  });
}

std::map<std::string, std::vector<std::string>> WindowEngine::LabelValuesByFirstSeen(
    const std::string& label, const Labels& where, const std::string& only_agent) const {
  return Read([&](const Impl& m) {
    std::map<std::string, std::vector<std::string>> out;
    for (uint32_t id = 0; id < m.agents.size(); ++id) {
      const AgentState& ag = m.agents[id];
      if (ag.first_span.empty()) continue;
      const std::string& name = m.agent_names.Name(id);
      if (!only_agent.empty() && name != only_agent) continue;
      auto wa = where.find("agent");
      if (wa != where.end() && wa->second != name) continue;
      // Each value's earliest span over the label sets that carry it and
      // pass `where`: O(label sets), not O(records).
      std::map<std::string, std::pair<TimeMs, int64_t>> earliest;
      for (const auto& [ls, first] : ag.first_span) {
        const Labels& l = m.labelsets.Get(ls);
        const std::string& v = LabelOr(l, label);
        if (v.empty()) continue;
        bool passes = true;
        for (const auto& [k, want] : where) {
          if (k != "agent" && LabelOr(l, k) != want) passes = false;
        }
        if (!passes) continue;
        auto [it, added] = earliest.try_emplace(v, first);
        if (!added && first < it->second) it->second = first;
      }
      if (earliest.empty()) continue;
      std::vector<std::pair<std::pair<TimeMs, int64_t>, std::string>> order;
      for (const auto& [v, first] : earliest) order.emplace_back(first, v);
      std::sort(order.begin(), order.end());
      std::vector<std::string>& values = out[name];
      for (auto& [first, v] : order) values.push_back(std::move(v));
    }
    return out;
  });
}

std::vector<SliRow> WindowEngine::Snapshot(const std::vector<WindowSpec>& windows, TimeMs now,
                                           const std::string& only_agent) const {
  return Read([&](const Impl& m) { return m.Snapshot(windows, now, only_agent); });
}

void WindowEngine::PruneBefore(TimeMs cutoff) {
  WriterLock lock(mu_);
  ++impl_->version;
  impl_->PruneBefore(cutoff);
}

uint64_t WindowEngine::Version() const {
  ReaderLock lock(mu_);
  return impl_->version;
}

bool WindowEngine::HasSpan(const std::string& investigation_id) const {
  ReaderLock lock(mu_);
  auto it = impl_->index.find(investigation_id);
  return it != impl_->index.end() && impl_->recs[it->second].kind == Kind::kSpan;
}

std::string WindowEngine::AgentOf(const std::string& investigation_id) const {
  ReaderLock lock(mu_);
  auto it = impl_->index.find(investigation_id);
  if (it == impl_->index.end()) return "";
  const Rec& rec = impl_->recs[it->second];
  if (rec.kind != Kind::kSpan || rec.agent == kNoId) return "";
  return impl_->agent_names.Name(rec.agent);
}

std::vector<std::string> WindowEngine::Agents() const {
  ReaderLock lock(mu_);
  std::vector<std::string> out;
  for (uint32_t i = 0; i < impl_->agents.size(); ++i) {
    if (!impl_->agents[i].order.empty()) out.push_back(impl_->agent_names.Name(i));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, TimeMs> WindowEngine::LatestSpanTs() const {
  return Read([](const Impl& m) {
    std::map<std::string, TimeMs> out;
    for (uint32_t i = 0; i < m.agents.size(); ++i) {
      // `order` is sorted by (ts, seq): the first span from the back is the
      // newest (verdict-only records are placed there too).
      const std::vector<uint32_t>& order = m.agents[i].order;
      for (auto it = order.rbegin(); it != order.rend(); ++it) {
        if (m.recs[*it].kind == Kind::kSpan) {
          out[m.agent_names.Name(i)] = m.recs[*it].ts;
          break;
        }
      }
    }
    return out;
  });
}

MemoryStats WindowEngine::Memory() const {
  ReaderLock lock(mu_);
  const Impl& m = *impl_;
  MemoryStats s;
  s.investigations = m.placed;
  for (const AgentState& a : m.agents) {
    if (!a.order.empty()) ++s.agents;
  }
  // Heap estimate: the record array, the id index (a libstdc++ node is the
  // key string, the slot, the next pointer and the cached hash: 56 bytes,
  // 64 after malloc; plus a bucket pointer; plus ids longer than the 15-char
  // SSO buffer), the per-agent order (4 bytes a record) and the interners.
  int64_t b = static_cast<int64_t>(m.recs.capacity() * sizeof(Rec) +
                                   m.free_slots.capacity() * sizeof(uint32_t));
  b += static_cast<int64_t>(m.index.size() * 64 + m.index.bucket_count() * sizeof(void*));
  b += m.index_heap_bytes;
  b += static_cast<int64_t>(m.own_res.size() * 64 + m.own_res.bucket_count() * sizeof(void*));
  for (const AgentState& a : m.agents) {
    b += static_cast<int64_t>(sizeof(AgentState) + a.order.capacity() * sizeof(uint32_t) +
                              a.labelsets.size() * 32 + a.first_span.size() * 40 + a.buckets.size() * 80 +
                              a.labelsets.bucket_count() * sizeof(void*));
  }
  b += static_cast<int64_t>(m.incidents.capacity() * sizeof(Incident));
  for (const Incident& inc : m.incidents) {
    b += static_cast<int64_t>(inc.agents.capacity() * sizeof(uint32_t));
  }
  b += m.agent_names.Bytes() + m.models.Bytes() + m.finishes.Bytes() + m.incident_ids.Bytes() +
       m.labelsets.Bytes();
  s.bytes = b;
  return s;
}

void WindowEngine::Reserve(size_t investigations) {
  WriterLock lock(mu_);
  impl_->index.reserve(investigations);
  impl_->recs.reserve(investigations);
}

void WindowEngine::SetPricing(Pricing pricing) {
  WriterLock lock(mu_);
  ++impl_->version;
  impl_->pricing = std::move(pricing);
  for (Rec& r : impl_->recs) {
    if (r.kind == Kind::kSpan) impl_->Price(r);
  }
}

}  // namespace aw::windows
