#pragma once

// WindowEngine::Impl: the engine's state and the operations on it that the
// engine's files share (slots, placement and sorting, pricing, resolution,
// accumulation of a window). Callers hold WindowEngine's lock: shared for
// the const members, exclusive for the rest.

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "windows/engine_records.h"
#include "windows/string_table.h"
#include "windows/window_engine.h"

namespace aw::windows {

using namespace internal;  // NOLINT: the engine's own records

// The agents one write call touched, by id: each is added once (a flag per
// agent), and the call puts their names into the caller's set once, at its
// end, under its lock (FlushTo). A batch touches the same agents over and
// over; inserting each record's agent name into a std::set was a string
// search per record.
class TouchedAgents {
 public:
  explicit TouchedAgents(std::set<std::string>* out) : out_(out) {}
  // Where the engine's writes report to: null when the caller asked for nothing.
  TouchedAgents* get() { return out_ == nullptr ? nullptr : this; }
  void Add(uint32_t agent) {
    if (agent >= seen_.size()) seen_.resize(agent + 1, false);
    if (seen_[agent]) return;
    seen_[agent] = true;
    ids_.push_back(agent);
  }
  void FlushTo(const StringInterner& names) {
    for (uint32_t id : ids_) out_->insert(names.Name(id));
    ids_.clear();
  }

 private:
  std::set<std::string>* out_;
  std::vector<bool> seen_;
  std::vector<uint32_t> ids_;
};

struct WindowEngine::Impl {
  explicit Impl(Pricing p) : pricing(std::move(p)) {}

  Pricing pricing;
  std::vector<Rec> recs;
  std::vector<uint32_t> free_slots;
  StringTable index;                              // investigation_id -> slot
  std::unordered_map<uint32_t, ResInfo> own_res;  // slot -> its own resolution
  StringInterner agent_names, models, finishes;
  DenseInterner incident_ids;
  LabelsInterner labelsets;
  std::vector<AgentState> agents;  // by agent id
  // Every agent's bucket counts summed: a fleet-wide time window (no `by`,
  // no label filter) reads its whole buckets once, not once per agent.
  HourBuckets fleet_buckets;
  std::vector<Incident> incidents;  // by incident id
  // Incidents a span left (a replaced span's new incident) since their
  // span list was last cleaned: only theirs may hold slots that left or
  // duplicates (slots are freed only by a prune, which rebuilds every list).
  std::unordered_set<uint32_t> incidents_with_leavers;
  int64_t placed = 0;              // records in some agent's order
  std::vector<uint32_t> unsorted;  // agents with dirty set
  uint64_t version = 0;            // bumped by every write
  bool bulk_load = false;          // WindowEngine::BulkLoad
  bool buckets_stale = false;      // a bulk load skipped Account: recount before a read

  void MarkDirty(uint32_t agent) {
    AgentState& a = agents[agent];
    if (a.dirty) return;
    a.dirty = true;
    unsorted.push_back(agent);
  }

  static bool Placed(const Rec& r) { return r.kind == Kind::kSpan || r.kind == Kind::kVerdictOnly; }

  // Adds (sign 1) or removes (sign -1) a placed record's share of its
  // agent's bucket counts and of the fleet's. Every writer removes a
  // record's share before it changes the record and adds it back after: the
  // counts always equal those of the records as they stand. A bulk load
  // skips this and counts every record once at its end (RecountBuckets).
  void Account(uint32_t slot, int sign) {
    if (bulk_load) {
      buckets_stale = true;
      return;
    }
    if (Placed(recs[slot])) AddShare(slot, sign);
  }

  // A placed record's share, into its agent's hour and the fleet's.
  void AddShare(uint32_t slot, int sign) {
    const Rec& r = recs[slot];
    const BucketCounts d = Share(r, sign);
    const int64_t hour = BucketOf(r.ts);
    const int64_t* tool = r.kind == Kind::kSpan && (r.flags & kHasTool) ? &r.tool : nullptr;
    std::optional<CalibrationShare> cal = CalibrationOf(r, sign);
    const CalibrationShare* c = cal ? &*cal : nullptr;
    std::optional<PairShare> pair = PairOf(slot, sign);
    const PairShare* p = pair ? &*pair : nullptr;
    const uint32_t* finish = r.kind == Kind::kSpan ? &r.finish : nullptr;
    agents[r.agent].buckets.Add(hour, d, tool, c, p, finish);
    fleet_buckets.Add(hour, d, tool, c, p, finish);
  }

  // A span's (confidence, time to resolve) pair, when it has both: the
  // records Add counts into Acc's correlation.
  std::optional<PairShare> PairOf(uint32_t slot, int sign) const {
    const Rec& r = recs[slot];
    if (r.kind != Kind::kSpan || !(r.flags & kHasConfidence)) return std::nullopt;
    const std::optional<double> ttr = TimeToResolve(slot, r);
    if (!ttr) return std::nullopt;
    return PairShare{r.confidence, *ttr, sign};
  }

  // Only the pair's share of a placed span, for a write that changes its
  // time to resolve and nothing else (a resolution): taken out before the
  // change, added back after, as Account.
  void AccountPair(uint32_t slot, int sign) {
    if (bulk_load) {
      buckets_stale = true;
      return;
    }
    const std::optional<PairShare> p = PairOf(slot, sign);
    if (!p) return;
    const int64_t hour = BucketOf(recs[slot].ts);
    agents[recs[slot].agent].buckets.AddPair(hour, *p);
    fleet_buckets.AddPair(hour, *p);
  }

  // The spans an incident's resolution applies to, without duplicates:
  // drops the slots that left it, if any did (incidents_with_leavers).
  const std::vector<uint32_t>& IncidentSpans(uint32_t incident) {
    std::vector<uint32_t>& s = incidents[incident].spans;
    if (incidents_with_leavers.erase(incident) == 0) return s;
    s.erase(std::remove_if(s.begin(), s.end(),
                           [&](uint32_t slot) {
                             return recs[slot].kind != Kind::kSpan ||
                                    recs[slot].incident != incident;
                           }),
            s.end());
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
    return s;
  }

  // Changes what a resolution decides (an incident's, or a span's own) with
  // the pairs of the spans it applies to taken out before and added after;
  // their agents are touched.
  int64_t pairs_moved = 0;  // spans ResolveSpans went over: the cost of resolutions
  template <typename Change>
  void ResolveSpans(const std::vector<uint32_t>& slots, TouchedAgents* touched, Change&& change) {
    pairs_moved += static_cast<int64_t>(slots.size());
    for (uint32_t slot : slots) AccountPair(slot, -1);
    change();
    for (uint32_t slot : slots) {
      AccountPair(slot, 1);
      if (recs[slot].kind == Kind::kSpan) Touch(touched, recs[slot].agent);
    }
  }

  // A span's share of the calibration figures: one with a confidence and a
  // verdict (the records Add counts into Acc::calibration and Acc::brier).
  static std::optional<CalibrationShare> CalibrationOf(const Rec& r, int sign) {
    if (r.kind != Kind::kSpan || !(r.flags & kHasConfidence) || r.verdict == Verdict::kNone) {
      return std::nullopt;
    }
    CalibrationShare c;
    c.sign = sign;
    c.bin = stats::CalibrationBinOf(r.confidence);
    c.confirm = r.verdict == Verdict::kConfirm;
    c.confidence = r.confidence;
    const double outcome = c.confirm ? 1.0 : 0.0;
    c.squared_error = (r.confidence - outcome) * (r.confidence - outcome);
    return c;
  }

  static BucketCounts Share(const Rec& r, int sign) {
    BucketCounts d;
    if (r.verdict != Verdict::kNone) {
      d.verdicts = sign;
      if (r.verdict == Verdict::kOverride) d.overrides = sign;
    }
    if (r.kind == Kind::kSpan) {
      d.spans = sign;
      if (r.verdict != Verdict::kNone) d.reviewed = sign;
      d.cost = sign * CostUnits(r.cost);
    }
    return d;
  }

  // Every bucket counted afresh from the records as they stand: one pass
  // over the record array in slot order (arrival order, so nearly every
  // record lands in its agent's newest bucket).
  void RecountBuckets() {
    for (AgentState& a : agents) a.buckets.clear();
    fleet_buckets.clear();
    for (uint32_t slot = 0; slot < recs.size(); ++slot) {
      if (Placed(recs[slot])) AddShare(slot, 1);
    }
    for (AgentState& a : agents) a.buckets.ShrinkToFit();
    fleet_buckets.ShrinkToFit();
    buckets_stale = false;
  }

  // Sorts every dirty agent. Writers' side of "readers never mutate".
  void SortDirty() {
    for (uint32_t agent : unsorted) {
      if (agent < agents.size()) SortIfDirty(agents[agent]);
    }
    unsorted.clear();
    if (buckets_stale) RecountBuckets();
  }

  // Whether a read must wait for SortDirty first.
  bool NeedsSort() const { return !unsorted.empty() || buckets_stale; }

  // ---- slots and placement ----

  // A lower bound of every time PruneBefore compares with its cutoff (span
  // ts, verdict ts, resolution time): a prune below it has nothing to drop.
  TimeMs prune_floor = std::numeric_limits<TimeMs>::max();
  void Held(TimeMs t) { prune_floor = std::min(prune_floor, t); }

  // The slot of the span `id` names, or kNoId when no span of it is held
  // (a verdict waiting for its span holds a slot of another kind).
  uint32_t SpanSlot(std::string_view id, uint64_t id_hash) const {
    const uint32_t slot = index.Find(id, id_hash);
    return slot != kNoId && recs[slot].kind == Kind::kSpan ? slot : kNoId;
  }
  uint32_t SpanSlot(std::string_view id) const { return SpanSlot(id, StringTable::Hash(id)); }

  // The slot of `id` (whose StringTable::Hash is `id_hash`), creating a
  // pending one if needed. *created tells which.
  uint32_t Slot(const std::string& id, uint64_t id_hash, bool* created = nullptr) {
    const uint32_t next =
        free_slots.empty() ? static_cast<uint32_t>(recs.size()) : free_slots.back();
    const uint32_t slot = index.FindOrInsert(id, id_hash, next);
    if (created != nullptr) *created = slot == next;
    if (slot != next) return slot;
    if (!free_slots.empty()) {
      free_slots.pop_back();
      recs[slot] = Rec{};
    } else {
      recs.emplace_back();
    }
    recs[slot].kind = Kind::kPending;
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
    InsertSorted(r.agent, slot);
    ++a.labelsets[r.labels];
    ++placed;
    NoteSpan(a, r);
  }

  // Records arrive nearly in ts order (minutes late, an agent's few per
  // minute): putting one in its place moves only the few after it. One that
  // would move more than this many marks the agent unsorted instead, so a
  // replay in arbitrary order still costs one sort per agent.
  static constexpr ptrdiff_t kMoveReach = 4096;

  std::pair<TimeMs, int64_t> KeyOf(uint32_t slot) const { return {recs[slot].ts, recs[slot].seq}; }

  // The first position in [from, to) whose record sorts after `key`.
  std::vector<uint32_t>::iterator After(std::vector<uint32_t>::iterator from,
                                        std::vector<uint32_t>::iterator to,
                                        std::pair<TimeMs, int64_t> key) const {
    return std::upper_bound(from, to, key, [this](const std::pair<TimeMs, int64_t>& k, uint32_t s) {
      return k < KeyOf(s);
    });
  }

  void InsertSorted(uint32_t agent, uint32_t slot) {
    AgentState& a = agents[agent];
    auto& order = a.order;
    if (!a.dirty && !order.empty() && KeyOf(slot) < KeyOf(order.back())) {
      // Late records are mostly a few places late: look there first (each
      // look is a cache miss into `recs`), then search the rest.
      const auto key = KeyOf(slot);
      auto at = order.end() - 1;
      constexpr ptrdiff_t kNear = 8;
      while (at != order.begin() && order.end() - at < kNear && key < KeyOf(*(at - 1))) --at;
      const bool near = at == order.begin() || !(key < KeyOf(*(at - 1)));
      // A bulk load sorts once at its end instead of searching and moving.
      if (!near && !bulk_load) at = After(order.begin(), at, key);
      if ((near || !bulk_load) && order.end() - at <= kMoveReach) {
        order.insert(at, slot);
        return;
      }
      MarkDirty(agent);
    }
    order.push_back(slot);
  }

  // A placed record's (ts, seq) changed from `old_key` to its current one:
  // moves it to its new place in a sorted order (or marks it unsorted).
  void Reposition(uint32_t agent, uint32_t slot, std::pair<TimeMs, int64_t> old_key) {
    AgentState& a = agents[agent];
    if (a.dirty) return;
    auto& order = a.order;
    // The record already holds its new key: the search must see its old one.
    auto it = std::lower_bound(order.begin(), order.end(), old_key,
                               [&](uint32_t s, const std::pair<TimeMs, int64_t>& k) {
                                 return (s == slot ? old_key : KeyOf(s)) < k;
                               });
    while (it != order.end() && *it != slot && KeyOf(*it) == old_key) ++it;
    if (it == order.end() || *it != slot) {  // not where its key says: sort it all
      MarkDirty(agent);
      return;
    }
    const auto key = KeyOf(slot);
    if (old_key < key) {
      const auto to = After(it + 1, order.end(), key);
      if (to - it > kMoveReach) return MarkDirty(agent);
      std::rotate(it, it + 1, to);
    } else {
      const auto to = After(order.begin(), it, key);
      if (it - to > kMoveReach) return MarkDirty(agent);
      std::rotate(to, it, it + 1);
    }
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
      const std::pair<TimeMs, int64_t> old_key{r.ts, r.seq};
      r.ts = ts;
      r.seq = seq;
      Reposition(agent, slot, old_key);
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
    std::sort(keys.begin(), keys.end(), [](const Key& x, const Key& y) {
      return std::tie(x.ts, x.seq) < std::tie(y.ts, y.seq);
    });
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

  // Every write that can change an agent's figures goes through here: it
  // moves the agent's generation (the per-agent caches' key) and reports it.
  void Touch(TouchedAgents* touched, uint32_t agent) {
    if (agent == kNoId || agent >= agents.size()) return;
    agents[agent].generation = version;
    if (touched != nullptr) touched->Add(agent);
  }

  // The earliest instant after `now` at which a record enters or leaves one
  // of `windows` for agent `ag` (kForever if none): its rows at `now` are
  // its rows at any now2 in [now, that instant) while no write touches it.
  // A record at t is in time window W at now iff now-W < t <= now, so it
  // enters at t and leaves at t+W; a count window changes only when a
  // record with t > now enters at t.
  TimeMs ValidUntil(const AgentState& ag, const std::vector<WindowSpec>& windows, TimeMs now) const;
  // ValidUntil for one query: over the agents it reads, with its window
  // ending at now - offset.
  TimeMs QueryValidUntil(const SliQuery& q, TimeMs now) const;
  void AgentRows(const std::string& name, const AgentState& ag,
                 const std::vector<WindowSpec>& windows, TimeMs now, Acc& a,
                 std::vector<SliRow>& rows) const;

  // The values of a span record (everything but kind and placement):
  // shared by ApplySpan and ReplaceSpan so a replaced record equals one
  // that arrived so.
  void SetSpanValues(Rec& r, const Span& span) {
    uint32_t incident = kNoId;
    if (!span.incident_id.empty()) {
      incident = incident_ids.Intern(span.incident_id);
      if (incident >= incidents.size()) incidents.resize(incident + 1);
    }
    const bool was_span = r.kind == Kind::kSpan;
    if (was_span && r.incident != kNoId && r.incident != incident) {
      incidents_with_leavers.insert(r.incident);  // its list keeps this slot for now
    }
    if (incident != kNoId && (!was_span || r.incident != incident)) {
      // Slots that left pile up where spans change incident over and over:
      // dropped whenever the list doubles (before this one joins).
      const size_t n = incidents[incident].spans.size();
      if (n >= 64 && (n & (n - 1)) == 0) IncidentSpans(incident);
      incidents[incident].spans.push_back(static_cast<uint32_t>(&r - recs.data()));
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
    a.cost += CostUnits(r.cost);
    if (r.verdict != Verdict::kNone) ++a.reviewed;
    if (n.finish_match != kNoId && r.finish == n.finish_match) ++a.matches;
    if (n.dist[kDistCost]) a.dist[kDistCost].push_back(r.cost);
    if (n.dist[kDistTool] && (r.flags & kHasTool))
      a.dist[kDistTool].push_back(static_cast<double>(r.tool));
    if (n.dist[kDistInput] && (r.flags & kHasInput))
      a.dist[kDistInput].push_back(static_cast<double>(r.input));
    if (n.dist[kDistOutput] && (r.flags & kHasOutput))
      a.dist[kDistOutput].push_back(static_cast<double>(r.output));
    if (n.dist[kDistDuration] && (r.flags & kHasDuration))
      a.dist[kDistDuration].push_back(static_cast<double>(r.duration));
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
        if (auto ttr = TimeToResolve(slot, r)) a.corr_records.Add(r.confidence, *ttr);
      }
    }
  }

  // The [begin, end) range of a sorted order with lo < ts <= hi.
  std::pair<size_t, size_t> Range(const std::vector<uint32_t>& order, TimeMs lo, TimeMs hi) const {
    auto by_ts = [this](uint32_t slot, TimeMs t) { return recs[slot].ts <= t; };
    const auto first =
        std::partition_point(order.begin(), order.end(), [&](uint32_t s) { return by_ts(s, lo); });
    const auto last =
        std::partition_point(first, order.end(), [&](uint32_t s) { return by_ts(s, hi); });
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
  // Placed records of an hour: its spans and its verdict-only records
  // (verdicts on no span). The records of an agent's hour sit together in
  // its sorted `order`, after those of every earlier hour: where they start
  // follows from the counts of the hours after it, without a search.
  static int64_t RecordsOf(const BucketCounts& c) { return c.spans + c.verdicts - c.reviewed; }
  // The counts (and tool counts) of a whole hour into `a`.
  static void AddWholeHour(const HourBuckets& buckets, HourBuckets::const_iterator it,
                           const Needs& needs, Acc& a);
  // One agent's time window lo < ts <= end into `a` (not cleared): the
  // hours [first, last] (those wholly inside) from its hour counts, unless
  // `whole_hours` is false (the caller adds the fleet's), and records only
  // in the partial hours at the two edges.
  void AddWindowFromBuckets(const AgentState& ag, TimeMs lo, TimeMs end, int64_t first,
                            int64_t last, bool whole_hours, const Needs& needs, Acc& a) const;
  // The counts of `ag`'s latest `n` records with ts <= end into `a` (not
  // cleared), reading whole hours from its hour counts and records only in
  // the hour that holds `end` and the one where `n` runs out. Returns how
  // many records it took.
  int64_t AddLatestFromBuckets(const AgentState& ag, TimeMs end, int64_t n, const Needs& needs,
                               Acc& a) const;
  std::vector<SliRow> Snapshot(const std::vector<WindowSpec>& windows, TimeMs now,
                               const std::string& only_agent) const;
  std::vector<AgentSnapshot> SnapshotAgents(const std::vector<WindowSpec>& windows, TimeMs now,
                                            const StaleFn& stale) const;
  // Agents with records, by name: (name, id).
  std::vector<std::pair<std::string, uint32_t>> SortedAgents(const std::string& only_agent) const;
  void PruneBefore(TimeMs cutoff);
  static void ApplyFeedbackLocked(Impl& m, uint32_t slot, const Feedback& fb, int64_t seq,
                                  TouchedAgents* touched);
  // The writes behind WindowEngine's Apply calls, under its exclusive lock.
  // `id_hash`: StringTable::Hash of the record's investigation_id (computed
  // ahead by a batch, which prefetches its index cells).
  bool ApplySpan(const Span& span, int64_t seq, uint64_t id_hash, TouchedAgents* touched);
  void ApplyFeedback(const Feedback& fb, int64_t seq, uint64_t id_hash, TouchedAgents* touched);
  void ApplyResolution(const Resolution& res, int64_t seq, uint64_t id_hash,
                       TouchedAgents* touched);
};

}  // namespace aw::windows
