// The window engine's writes (spans, verdicts, resolutions, prune,
// pricing) and its public API, which takes the lock. Reads are in
// window_compute.cc; the shared state in engine_impl.h.

#include "windows/window_engine.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "windows/engine_impl.h"
#include "windows/sample_stats.h"

namespace aw::windows {

// ---- PruneBefore ----

void WindowEngine::Impl::PruneBefore(TimeMs cutoff) {
  // Nothing held is older: the scans below would take ~100 ms at 1M
  // investigations under the exclusive lock, every hour, to drop nothing.
  // (Nor does it change the version: caches keyed by it stay valid.)
  if (cutoff <= prune_floor) return;
  ++version;
  std::vector<bool> dropped(recs.size(), false);
  const auto free_slot = [&](uint32_t slot) {
    Account(slot, -1);
    recs[slot] = Rec{};
    own_res.erase(slot);
    free_slots.push_back(slot);
    dropped[slot] = true;
  };
  SortDirty();
  for (uint32_t id = 0; id < agents.size(); ++id) {
    AgentState& a = agents[id];
    size_t k = 0;
    while (k < a.order.size() && recs[a.order[k]].ts < cutoff) {
      DropLabelset(a, recs[a.order[k]].labels);
      free_slot(a.order[k]);
      ++k;
    }
    a.order.erase(a.order.begin(), a.order.begin() + static_cast<ptrdiff_t>(k));
    placed -= static_cast<int64_t>(k);
    if (k > 0) {
      RebuildFirstSpans(a);
      Touch(nullptr, id);
    }
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
  for (uint32_t slot = 0; slot < dropped.size(); ++slot) {
    if (dropped[slot]) index.Erase(slot);
  }

  // Incidents: drop old resolutions, then re-intern the ids still in use so
  // the table does not grow forever.
  std::vector<uint32_t> remap(incidents.size(), kNoId);
  std::vector<bool> used(incidents.size(), false);
  for (const Rec& r : recs) {
    if (r.kind == Kind::kSpan && r.incident != kNoId) used[r.incident] = true;
  }
  DenseInterner kept_ids;
  std::vector<Incident> kept;
  for (uint32_t i = 0; i < incidents.size(); ++i) {
    if (incidents[i].res && incidents[i].res->resolved_at < cutoff) {
      // Its spans lose their time to resolve.
      ResolveSpans(IncidentSpans(i), nullptr, [&] { incidents[i].res.reset(); });
    }
    Incident& inc = incidents[i];
    if (!used[i] && !inc.res) continue;
    remap[i] = kept_ids.Intern(incident_ids.Name(i));
    inc.spans.clear();  // refilled below, with the slots still held
    kept.push_back(std::move(inc));
  }
  for (uint32_t slot = 0; slot < recs.size(); ++slot) {
    Rec& r = recs[slot];
    if (r.kind != Kind::kSpan || r.incident == kNoId) continue;
    r.incident = remap[r.incident];
    kept[r.incident].spans.push_back(slot);
  }
  incidents = std::move(kept);
  incidents_with_leavers.clear();  // every list rebuilt from the slots held
  incident_ids = std::move(kept_ids);
  prune_floor = cutoff;  // everything older is gone
}

// ---- public API ----

WindowEngine::WindowEngine(Pricing pricing) : impl_(std::make_unique<Impl>(std::move(pricing))) {}
WindowEngine::~WindowEngine() = default;

template <typename F>
auto WindowEngine::Read(F&& read) const {
  for (;;) {
    {
      ReaderLock lock(mu_);
      if (!impl_->NeedsSort()) return read(static_cast<const Impl&>(*impl_));
    }
    WriterLock lock(mu_);
    impl_->SortDirty();
  }
}

template <typename F>
void WindowEngine::WriteOne(std::set<std::string>* touched, F&& apply) {
  WriterLock lock(mu_);
  TouchedAgents t(touched);
  apply(*impl_, t.get());
  t.FlushTo(impl_->agent_names);
}

bool WindowEngine::ApplySpan(const Span& span, int64_t seq, std::set<std::string>* touched) {
  bool applied = false;
  WriteOne(touched, [&](Impl& impl, auto* t) {
    applied = impl.ApplySpan(span, seq, StringTable::Hash(span.investigation_id), t);
  });
  return applied;
}

void WindowEngine::ApplyFeedback(const Feedback& fb, int64_t seq, std::set<std::string>* touched) {
  WriteOne(touched, [&](Impl& impl, auto* t) {
    impl.ApplyFeedback(fb, seq, StringTable::Hash(fb.investigation_id), t);
  });
}

void WindowEngine::ApplyResolution(const Resolution& res, int64_t seq,
                                   std::set<std::string>* touched) {
  WriteOne(touched, [&](Impl& impl, auto* t) {
    impl.ApplyResolution(res, seq, StringTable::Hash(res.investigation_id), t);
  });
}

void WindowEngine::ApplyCommitted(const std::vector<Span>& spans,
                                  const std::vector<Feedback>& feedback,
                                  const std::vector<Resolution>& resolutions, int64_t first_seq,
                                  std::set<std::string>* touched) {
  // The lock is taken once per chunk of records, not per record: under
  // load the evaluator takes it (shared) for every query, and a hand-off
  // per record was most of the writer's time at 1M investigations. Between
  // chunks readers get in, so none waits for a whole batch.
  constexpr size_t kChunk = 128;
  const size_t total = spans.size() + feedback.size() + resolutions.size();
  const auto id_of = [&](size_t i) -> const std::string& {
    if (i < spans.size()) return spans[i].investigation_id;
    if (i < spans.size() + feedback.size()) return feedback[i - spans.size()].investigation_id;
    return resolutions[i - spans.size() - feedback.size()].investigation_id;
  };
  // Hashed outside the lock; looked up with prefetching (ForEachPrefetched).
  std::vector<uint64_t> hashes(total);
  for (size_t i = 0; i < total; ++i) hashes[i] = StringTable::Hash(id_of(i));
  // A resolution moves the pairs of every span of its incident: after that
  // many, the lock is let go as after a chunk, so a batch resolving huge
  // incidents over and over does not hold readers out for all of them.
  constexpr int64_t kChunkPairs = 4096;
  TouchedAgents t(touched);  // across the chunks: each agent's name goes in once
  for (size_t begin = 0; begin < total;) {
    WriterLock lock(mu_);
    const size_t end = std::min(total, begin + kChunk);
    Impl& m = *impl_;  // the lambda below runs under this lock
    const int64_t pairs_before = m.pairs_moved;
    begin = m.index.ForEachPrefetched(hashes, begin, end, [&](size_t i) {
      const int64_t seq = first_seq + static_cast<int64_t>(i);
      if (i < spans.size()) {
        m.ApplySpan(spans[i], seq, hashes[i], t.get());
      } else if (i < spans.size() + feedback.size()) {
        m.ApplyFeedback(feedback[i - spans.size()], seq, hashes[i], t.get());
      } else {
        m.ApplyResolution(resolutions[i - spans.size() - feedback.size()], seq, hashes[i], t.get());
      }
      return m.pairs_moved - pairs_before < kChunkPairs;
    });
    if (begin == total) t.FlushTo(m.agent_names);
  }
}

bool WindowEngine::Impl::ApplySpan(const Span& span, int64_t seq, uint64_t id_hash,
                                   TouchedAgents* touched) {
  if (span.investigation_id.empty() || span.agent.empty()) return false;
  Impl& m = *this;
  m.Held(span.ts_ms);
  bool created = false;
  const uint32_t slot = m.Slot(span.investigation_id, id_hash, &created);
  if (!created && m.recs[slot].kind == Kind::kSpan) return false;  // the first span stands
  ++m.version;
  m.Account(slot, -1);
  const uint32_t agent = m.AgentId(span.agent);
  const uint32_t labels = m.labelsets.Intern(span.labels);
  Rec& r = m.recs[slot];
  m.SetSpanValues(r, span);

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
  const uint32_t slot = m.SpanSlot(span.investigation_id);
  if (slot == kNoId) return false;
  m.Held(span.ts_ms);
  ++m.version;
  TouchedAgents t(touched);
  // Out of the hour buckets with its old values, back in with its new ones.
  m.Account(slot, -1);
  m.Touch(t.get(), m.recs[slot].agent);
  const uint32_t agent = m.AgentId(span.agent);
  const uint32_t labels = m.labelsets.Intern(span.labels);
  Rec& r = m.recs[slot];
  m.SetSpanValues(r, span);
  m.Move(slot, agent, labels, span.ts_ms, r.seq);
  m.Account(slot, 1);
  m.Touch(t.get(), agent);
  t.FlushTo(m.agent_names);
  return true;
}

std::optional<int64_t> WindowEngine::SpanSeq(const std::string& investigation_id) const {
  ReaderLock lock(mu_);
  const uint32_t slot = impl_->SpanSlot(investigation_id);
  if (slot == kNoId) return std::nullopt;
  return impl_->recs[slot].seq;
}

void WindowEngine::Impl::ApplyFeedback(const Feedback& fb, int64_t seq, uint64_t id_hash,
                                       TouchedAgents* touched) {
  if (fb.investigation_id.empty() || fb.verdict == Verdict::kNone) return;
  Impl& m = *this;
  m.Held(fb.ts_ms);
  ++m.version;
  const uint32_t slot = m.Slot(fb.investigation_id, id_hash);
  m.Account(slot, -1);
  Impl::ApplyFeedbackLocked(m, slot, fb, seq, touched);
  m.Account(slot, 1);
}

void WindowEngine::Impl::ApplyFeedbackLocked(Impl& m, uint32_t slot, const Feedback& fb,
                                             int64_t seq, TouchedAgents* touched) {
  Rec& r = m.recs[slot];
  const bool wins =
      r.verdict == Verdict::kNone || std::tie(fb.ts_ms, seq) > std::tie(r.vts, r.vseq);
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

void WindowEngine::Impl::ApplyResolution(const Resolution& res, int64_t seq, uint64_t id_hash,
                                         TouchedAgents* touched) {
  Impl& m = *this;
  m.Held(res.resolved_at_ms);
  ++m.version;
  ResInfo info{res.resolved_at_ms, seq, res.opened_at_ms, res.time_to_resolve_s};
  if (!res.investigation_id.empty()) {
    const uint32_t slot = m.Slot(res.investigation_id, id_hash);
    auto it = m.own_res.find(slot);
    if (it != m.own_res.end() && !info.NewerThan(it->second)) return;
    m.ResolveSpans({slot}, touched, [&] {
      m.own_res[slot] = info;
      m.recs[slot].flags |= kHasOwnResolution;
    });
  } else if (!res.incident_id.empty()) {
    const uint32_t id = m.incident_ids.Intern(res.incident_id);
    if (id >= m.incidents.size()) m.incidents.resize(id + 1);
    if (m.incidents[id].res && !info.NewerThan(*m.incidents[id].res)) return;
    m.ResolveSpans(m.IncidentSpans(id), touched, [&] { m.incidents[id].res = info; });
  }
}

std::vector<SliValue> WindowEngine::Compute(const SliQuery& query, TimeMs now) const {
  return Read([&](const Impl& m) { return m.Compute(query, now); });
}

WindowEngine::ComputedQueries WindowEngine::ComputeAll(const std::vector<SliQuery>& queries,
                                                       TimeMs now) const {
  return Read([&](const Impl& m) {
    ComputedQueries out;
    out.version = m.version;
    out.valid_until = kForever;
    out.values.reserve(queries.size());
    for (const SliQuery& q : queries) {
      out.values.push_back(m.Compute(q, now));
      out.valid_until = std::min(out.valid_until, m.QueryValidUntil(q, now));
    }
    return out;
  });
}

stats::CalibrationBins WindowEngine::Calibration(const std::string& agent, const WindowSpec& w,
                                                 TimeMs now) const {
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
    // One agent asked for (rules on ingest ask per agent): no walk over all.
    uint32_t from = 0;
    uint32_t to = static_cast<uint32_t>(m.agents.size());
    if (!only_agent.empty()) {
      from = m.agent_names.Find(only_agent);
      if (from == kNoId || from >= to) return out;
      to = from + 1;
    }
    for (uint32_t id = from; id < to; ++id) {
      const AgentState& ag = m.agents[id];
      if (ag.first_span.empty()) continue;
      const std::string& name = m.agent_names.Name(id);
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

std::vector<AgentSnapshot> WindowEngine::SnapshotAgents(const std::vector<WindowSpec>& windows,
                                                        TimeMs now, const StaleFn& stale) const {
  return Read([&](const Impl& m) { return m.SnapshotAgents(windows, now, stale); });
}

void WindowEngine::PruneBefore(TimeMs cutoff) {
  WriterLock lock(mu_);
  impl_->PruneBefore(cutoff);
}

uint64_t WindowEngine::Version() const {
  ReaderLock lock(mu_);
  return impl_->version;
}

std::vector<bool> WindowEngine::HasSpans(const std::vector<std::string_view>& investigation_ids,
                                         std::vector<std::string>* agents) const {
  const size_t n = investigation_ids.size();
  std::vector<uint64_t> hashes(n);  // outside the lock
  for (size_t i = 0; i < n; ++i) hashes[i] = StringTable::Hash(investigation_ids[i]);
  std::vector<bool> held(n, false);
  if (agents != nullptr) agents->assign(n, std::string());
  ReaderLock lock(mu_);
  const Impl& m = *impl_;
  m.index.ForEachPrefetched(hashes, 0, n, [&](size_t i) {
    const uint32_t slot = m.SpanSlot(investigation_ids[i], hashes[i]);
    if (slot == kNoId) return;
    held[i] = true;
    if (agents != nullptr && m.recs[slot].agent != kNoId) {
      (*agents)[i] = m.agent_names.Name(m.recs[slot].agent);
    }
  });
  return held;
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
  // Heap estimate: the record array, the id index, the per-agent order (4
  // bytes a record) and the interners.
  int64_t b = static_cast<int64_t>(m.recs.capacity() * sizeof(Rec) +
                                   m.free_slots.capacity() * sizeof(uint32_t));
  b += m.index.Bytes();
  b += static_cast<int64_t>(m.own_res.size() * 64 + m.own_res.bucket_count() * sizeof(void*));
  for (const AgentState& a : m.agents) {
    b += static_cast<int64_t>(sizeof(AgentState) + a.order.capacity() * sizeof(uint32_t) +
                              a.labelsets.size() * 32 + a.first_span.size() * 40 +
                              a.labelsets.bucket_count() * sizeof(void*));
    b += a.buckets.Bytes();
  }
  b += m.fleet_buckets.Bytes();
  b += static_cast<int64_t>(m.incidents.capacity() * sizeof(Incident));
  for (const Incident& inc : m.incidents) {
    b += static_cast<int64_t>(inc.spans.capacity() * sizeof(uint32_t));
  }
  b += m.agent_names.Bytes() + m.models.Bytes() + m.finishes.Bytes() + m.incident_ids.Bytes() +
       m.labelsets.Bytes();
  s.bytes = b;
  return s;
}

size_t WindowEngine::UnsortedAgents() const {
  ReaderLock lock(mu_);
  return impl_->unsorted.size();
}

void WindowEngine::BulkLoad(bool on) {
  WriterLock lock(mu_);
  impl_->bulk_load = on;
  if (!on) impl_->SortDirty();  // and counts the buckets the load skipped
}

void WindowEngine::Reserve(size_t investigations) {
  WriterLock lock(mu_);
  impl_->index.Reserve(investigations);
  impl_->recs.reserve(investigations);
}

std::vector<std::string> WindowEngine::MisorderedAgents() const {
  ReaderLock lock(mu_);
  const Impl& m = *impl_;
  std::vector<std::string> out;
  for (uint32_t id = 0; id < m.agents.size(); ++id) {
    const AgentState& a = m.agents[id];
    if (a.dirty) continue;
    const bool sorted = std::is_sorted(a.order.begin(), a.order.end(), [&](uint32_t x, uint32_t y) {
      return m.KeyOf(x) < m.KeyOf(y);
    });
    if (!sorted) out.push_back(m.agent_names.Name(id));
  }
  return out;
}

void WindowEngine::SetPricing(Pricing pricing) {
  WriterLock lock(mu_);
  ++impl_->version;
  impl_->pricing = std::move(pricing);
  for (uint32_t id = 0; id < impl_->agents.size(); ++id) impl_->Touch(nullptr, id);
  for (uint32_t slot = 0; slot < impl_->recs.size(); ++slot) {
    if (impl_->recs[slot].kind != Kind::kSpan) continue;
    impl_->Account(slot, -1);  // its cost in the buckets changes with its price
    impl_->Price(impl_->recs[slot]);
    impl_->Account(slot, 1);
  }
}

}  // namespace aw::windows
