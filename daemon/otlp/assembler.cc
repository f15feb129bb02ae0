#include "daemon/otlp/assembler.h"

#include <algorithm>
#include <map>
#include <set>

namespace aw::otlp {

Assembler::Assembler(AssemblerOptions options) : options_(std::move(options)) {}

std::string Assembler::ResolveLocked(const Trace& trace, const Node& node) const {
  std::string p = node.parent_id;
  // A parent chain longer than the trace is a cycle (ids are client-chosen).
  for (size_t steps = 0; !p.empty() && steps <= trace.nodes.size(); ++steps) {
    auto it = trace.nodes.find(p);
    if (it == trace.nodes.end()) return "";
    const Node& n = it->second;
    if (n.is_investigation) return p;
    if (!n.joined_to.empty()) {
      // A joined ancestor already knows its investigation, if still held.
      auto inv = trace.nodes.find(n.joined_to);
      return inv != trace.nodes.end() && inv->second.is_investigation ? n.joined_to : "";
    }
    p = n.parent_id;
  }
  return "";
}

void Assembler::RemoveLocked(const std::string& trace_id, const std::string& span_id, uint64_t seq,
                             bool count_unjoined, bool over_limit) {
  auto t = traces_.find(trace_id);
  if (t == traces_.end()) return;
  auto it = t->second.nodes.find(span_id);
  // A stale FIFO entry: the node was rolled back (and maybe re-sent since).
  if (it == t->second.nodes.end() || it->second.seq != seq) return;
  const Node& n = it->second;
  if (n.is_investigation) {
    --counters_.investigations_held;
  } else {
    --counters_.held;
    if (n.joined_to.empty()) {
      --counters_.waiting;
      --t->second.waiting;
      if (count_unjoined) ++(over_limit ? counters_.dropped_total : counters_.expired_total);
    }
  }
  t->second.nodes.erase(it);
  --size_;
  if (t->second.nodes.empty()) traces_.erase(t);
}

void Assembler::EvictFrontLocked(bool over_limit) {
  Entry e = std::move(fifo_.front());
  fifo_.pop_front();
  RemoveLocked(e.trace_id, e.span_id, e.seq, /*count_unjoined=*/true, over_limit);
}

void Assembler::ExpireLocked(TimeMs now_ms) {
  while (!fifo_.empty() && fifo_.front().expires_ms <= now_ms) EvictFrontLocked(false);
}

void Assembler::Expire(TimeMs now_ms) {
  std::lock_guard lock(mu_);
  ExpireLocked(now_ms);
}

AssemblerCounters Assembler::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

AssemblyResult Assembler::Ingest(
    const TraceBatch& batch, TimeMs now_ms,
    const std::function<std::string(const std::string&)>& misdirected) {
  AssemblyResult result;
  MappingOptions mapping = options_.mapping;
  mapping.validation.now_ms = now_ms;
  const TimeMs expires = now_ms + options_.assembly_window.count();

  std::lock_guard lock(mu_);
  ExpireLocked(now_ms);

  // 1. Hold every new span; note the investigations that arrived now.
  std::vector<size_t> new_investigations;  // batch indexes
  std::set<std::string> touched;           // traces with new spans
  for (size_t i = 0; i < batch.spans.size(); ++i) {
    const OtlpSpan& span = batch.spans[i];
    const bool investigation = IsInvestigation(span);
    if (!HasValidIds(span)) {
      if (investigation) {
        result.rejected.push_back(
            {i, span.span_id, "traceId/spanId: must be 16 and 8 bytes (32 and 16 hex digits)"});
      } else {
        ++result.invalid_ids;
      }
      continue;
    }
    Trace& trace = traces_[span.trace_id];
    if (trace.nodes.count(span.span_id)) {
      ++result.duplicates;
      ++counters_.duplicates_total;
      continue;
    }
    Node node;
    node.seq = next_seq_++;
    node.parent_id = span.parent_span_id;
    node.is_investigation = investigation;
    if (investigation) {
      new_investigations.push_back(i);
      ++counters_.investigations_held;
    } else {
      node.facts = FactsOf(span);
      ++counters_.held;
      ++counters_.waiting;
      ++trace.waiting;
    }
    result.undo.inserted.push_back({span.trace_id, span.span_id, node.seq});
    // An investigation enters the expiry queue once it is valid (step 3), so
    // a flood of rejected ones leaves no stale entries behind.
    if (!investigation) fifo_.push_back({expires, span.trace_id, span.span_id, node.seq});
    trace.nodes.emplace(span.span_id, std::move(node));
    ++size_;
    touched.insert(span.trace_id);
  }

  // 2. Group the waiting spans of the touched traces by the investigation
  //    they now reach. Resolution uses only investigations already known or
  //    new in this batch, so one pass suffices: joining does not create new
  //    paths, it only records the answer.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> groups;
  for (const std::string& trace_id : touched) {
    const Trace& trace = traces_[trace_id];
    if (trace.waiting == 0) continue;
    for (const auto& [id, node] : trace.nodes) {
      if (node.is_investigation || !node.joined_to.empty()) continue;
      std::string inv = ResolveLocked(trace, node);
      if (!inv.empty()) groups[{trace_id, inv}].push_back(id);
    }
  }

  auto join = [&](Trace& trace, const std::string& trace_id, const std::string& child_id,
                  const std::string& inv_id) {
    Node& child = trace.nodes.at(child_id);
    child.joined_to = inv_id;
    --trace.waiting;
    --counters_.waiting;
    result.undo.joined.push_back({trace_id, child_id, child.seq});
  };

  // 3. New investigations: map with the descendants held so far.
  for (size_t i : new_investigations) {
    const OtlpSpan& span = batch.spans[i];
    Trace& trace = traces_[span.trace_id];
    std::vector<std::string> ids;
    if (auto g = groups.find({span.trace_id, span.span_id}); g != groups.end()) {
      ids = std::move(g->second);
      groups.erase(g);
    }
    std::sort(ids.begin(), ids.end());  // a stable order for joined_span_ids
    std::vector<const ChildFacts*> facts;
    facts.reserve(ids.size());
    for (const std::string& id : ids) facts.push_back(&trace.nodes.at(id).facts);
    auto mapped = MapInvestigation(span, facts, mapping);
    if (!mapped.ok()) {
      result.rejected.push_back({i, span.span_id, mapped.status().message()});
      // Forget it: its descendants keep waiting (and expire), a retry of the
      // same invalid span is rejected again rather than called a duplicate.
      const uint64_t seq = trace.nodes.at(span.span_id).seq;
      RemoveLocked(span.trace_id, span.span_id, seq, false, false);
      continue;
    }
    if (misdirected) {
      if (std::string why = misdirected(mapped->span.agent); !why.empty()) {
        // As a rejected one: forgotten, so no late update names it here.
        result.misdirected.push_back({i, span.span_id, std::move(why)});
        const uint64_t seq = trace.nodes.at(span.span_id).seq;
        RemoveLocked(span.trace_id, span.span_id, seq, false, false);
        continue;
      }
    }
    Node& node = trace.nodes.at(span.span_id);
    fifo_.push_back({expires, span.trace_id, span.span_id, node.seq});
    node.investigation_id = mapped->span.investigation_id;
    node.agent = mapped->span.agent;
    node.derivation = mapped->derivation;
    node.cost_was_sent = mapped->cost_was_sent;
    for (const std::string& id : ids) join(trace, span.trace_id, id, span.span_id);
    counters_.joined_total += static_cast<int64_t>(ids.size());
    result.undo.joined_on_time += static_cast<int64_t>(ids.size());
    AssembledInvestigation out;
    out.span = std::move(mapped->span);
    out.index = i;
    out.trace_id = span.trace_id;
    out.span_id = span.span_id;
    out.joined_span_ids = std::move(ids);
    out.cost_was_sent = mapped->cost_was_sent;
    result.investigations.push_back(std::move(out));
  }

  // 4. Investigations that arrived earlier: one late update per descendant,
  //    in arrival order (seq) so the output is deterministic.
  for (auto& [key, ids] : groups) {
    const auto& [trace_id, inv_id] = key;
    auto t = traces_.find(trace_id);
    if (t == traces_.end()) continue;
    auto inv = t->second.nodes.find(inv_id);
    // A new investigation that was rejected just now: its children wait on.
    if (inv == t->second.nodes.end() || inv->second.investigation_id.empty()) continue;
    Node& investigation = inv->second;
    result.undo.derivations.push_back(
        {{trace_id, inv_id, investigation.seq}, investigation.derivation});
    std::sort(ids.begin(), ids.end(), [&](const std::string& a, const std::string& b) {
      return t->second.nodes.at(a).seq < t->second.nodes.at(b).seq;
    });
    for (const std::string& id : ids) {
      LateUpdate u = ApplyChild(investigation.derivation, t->second.nodes.at(id).facts);
      u.investigation_id = investigation.investigation_id;
      u.agent = investigation.agent;
      u.trace_id = trace_id;
      u.child_span_id = id;
      u.cost_was_sent = investigation.cost_was_sent;
      join(t->second, trace_id, id, inv_id);
      ++counters_.joined_late_total;
      ++result.undo.joined_late;
      if (!u.empty()) result.late_updates.push_back(std::move(u));
    }
  }

  // 5. The bound, oldest first.
  while (size_ > options_.max_pending_spans && !fifo_.empty()) EvictFrontLocked(true);
  return result;
}

void Assembler::Rollback(const AssemblyResult& result) {
  std::lock_guard lock(mu_);
  auto find = [&](const AssemblyResult::Undo::Key& k) -> Node* {
    auto t = traces_.find(k.trace_id);
    if (t == traces_.end()) return nullptr;
    auto n = t->second.nodes.find(k.span_id);
    return n != t->second.nodes.end() && n->second.seq == k.seq ? &n->second : nullptr;
  };
  // Restore in reverse so the oldest saved derivation wins.
  for (auto it = result.undo.derivations.rbegin(); it != result.undo.derivations.rend(); ++it) {
    if (Node* n = find(it->first)) n->derivation = it->second;
  }
  for (const auto& k : result.undo.joined) {
    Node* n = find(k);
    if (!n || n->joined_to.empty()) continue;
    n->joined_to.clear();
    ++traces_[k.trace_id].waiting;
    ++counters_.waiting;
  }
  counters_.joined_total -= result.undo.joined_on_time;
  counters_.joined_late_total -= result.undo.joined_late;
  for (const auto& k : result.undo.inserted) {
    RemoveLocked(k.trace_id, k.span_id, k.seq, false, false);
  }
}

}  // namespace aw::otlp
