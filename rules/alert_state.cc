#include "rules/alert_state.h"

namespace aw::rules {

namespace {

const std::string* AgentOf(const StoredAlert& a) {
  auto it = a.labels.find("agent");
  return it == a.labels.end() ? nullptr : &it->second;
}

bool SameMeta(const Meta& x, const Meta& y) {
  return x.receivers == y.receivers && x.threshold == y.threshold && x.op == y.op &&
         x.sli == y.sli && x.stat == y.stat && x.window == y.window &&
         x.for_duration == y.for_duration && x.keep_firing_for == y.keep_firing_for &&
         x.tier == y.tier;
}

}  // namespace

void AlertStates::Index(const std::string& fp, const StoredAlert& a) {
  if (const std::string* agent = AgentOf(a)) by_agent_[*agent].insert(fp);
  by_rule_[a.rule].insert(fp);
}

void AlertStates::Unindex(const std::string& fp, const StoredAlert& a) {
  if (const std::string* agent = AgentOf(a)) {
    auto it = by_agent_.find(*agent);
    if (it != by_agent_.end() && it->second.erase(fp) && it->second.empty()) by_agent_.erase(it);
  }
  // Names without alerts are dropped so that walking the names stays cheap.
  auto it = by_rule_.find(a.rule);
  if (it != by_rule_.end() && it->second.erase(fp) && it->second.empty()) by_rule_.erase(it);
}

const AlertStates::FingerprintSet* AlertStates::OfAgent(const std::string& agent) const {
  auto it = by_agent_.find(agent);
  return it == by_agent_.end() ? nullptr : &it->second;
}

void AlertStates::Clear() {
  alerts_.clear();
  by_agent_.clear();
  by_rule_.clear();
  DropStep();
}

void AlertStates::Put(Instance inst) {
  DropStep();
  std::string fp = inst.stored.fingerprint;
  if (auto it = alerts_.find(fp); it != alerts_.end()) Unindex(fp, it->second.stored);
  Index(fp, inst.stored);
  alerts_[std::move(fp)] = std::move(inst);
}

void AlertStates::BeginStep() {
  undo_.clear();
  journaling_ = true;
}

AlertStates::Scalars AlertStates::ScalarsOf(const StoredAlert& a) {
  return Scalars{a.state,
                 a.value,
                 a.active_since_ms,
                 a.fired_at_ms,
                 a.last_notified_ms,
                 a.keep_firing_since_ms,
                 a.acknowledged,
                 a.unannounced};
}

void AlertStates::SetScalars(StoredAlert& a, const Scalars& s) {
  a.state = s.state;
  a.value = s.value;
  a.active_since_ms = s.active_since_ms;
  a.fired_at_ms = s.fired_at_ms;
  a.last_notified_ms = s.last_notified_ms;
  a.keep_firing_since_ms = s.keep_firing_since_ms;
  a.acknowledged = s.acknowledged;
  a.unannounced = s.unannounced;
}

void AlertStates::Remember(const std::string& fp) {
  if (!journaling_) return;
  auto it = alerts_.find(fp);
  auto [u, added] = undo_.try_emplace(fp);
  Before& b = u->second;
  if (!added) {
    if (b.kind != Before::Kind::kScalars) return;
    // A fuller change after a scalar one: the whole alert as it was.
    Instance whole = it->second;
    SetScalars(whole.stored, b.scalars);
    if (b.annotations) whole.stored.annotations = std::move(*b.annotations);
    b.annotations.reset();
    b.whole = std::move(whole);
    b.kind = Before::Kind::kWhole;
    return;
  }
  if (it == alerts_.end()) return;  // kAbsent
  b.kind = Before::Kind::kWhole;
  b.whole = it->second;
}

AlertStates::Before* AlertStates::RememberScalars(const std::string& fp, const StoredAlert& a) {
  if (!journaling_) return nullptr;
  auto [u, added] = undo_.try_emplace(fp);
  if (added) {
    u->second.kind = Before::Kind::kScalars;
    u->second.scalars = ScalarsOf(a);
  }
  return u->second.kind == Before::Kind::kScalars ? &u->second : nullptr;
}

void AlertStates::UndoStep() {
  if (!journaling_) return;
  for (auto& [fp, before] : undo_) {
    auto it = alerts_.find(fp);
    if (before.kind == Before::Kind::kScalars) {
      // The step kept its rule, labels and meta: the index still holds.
      if (it == alerts_.end()) continue;
      SetScalars(it->second.stored, before.scalars);
      if (before.annotations) it->second.stored.annotations = std::move(*before.annotations);
      continue;
    }
    if (it != alerts_.end()) {
      Unindex(fp, it->second.stored);
      alerts_.erase(it);
    }
    if (before.kind == Before::Kind::kWhole) {
      Index(fp, before.whole.stored);
      alerts_.emplace(fp, std::move(before.whole));
    }
  }
  undo_.clear();
  journaling_ = false;
}

AlertEvent AlertStates::EventOf(const Instance& inst) const {
  AlertEvent e;
  e.name = inst.stored.rule;
  e.labels = inst.stored.labels;
  e.annotations = inst.stored.annotations;
  e.value = inst.stored.value;
  e.threshold = inst.meta.threshold;
  e.op = inst.meta.op;
  e.sli = inst.meta.sli;
  e.stat = inst.meta.stat;
  e.window = inst.meta.window;
  e.active_since_ms = inst.stored.active_since_ms;
  e.fired_at_ms = inst.stored.fired_at_ms;
  e.fingerprint = inst.stored.fingerprint;
  return e;
}

void AlertStates::Notify(const Instance& inst, const AlertEvent& e, StepResult* out) const {
  const auto& receivers =
      inst.meta.receivers.empty() ? settings_.default_receivers : inst.meta.receivers;
  for (const std::string& r : receivers) out->notifications.push_back({r, e});
}

bool AlertStates::Silenced(const Instance& inst, TimeMs now) const {
  return settings_.silenced && settings_.silenced(inst.stored.labels, now);
}

void AlertStates::Fire(Instance& inst, TimeMs now, StepResult* out) {
  inst.stored.state = AlertState::kFiring;
  inst.stored.fired_at_ms = now;
  inst.stored.last_notified_ms = now;
  inst.stored.acknowledged = false;
  inst.stored.unannounced = Silenced(inst, now);
  AlertEvent e = EventOf(inst);
  if (!inst.stored.unannounced) Notify(inst, e, out);
  out->transitions.push_back({now, Transition::kFiring, e});
}

// Announces a firing alert whose silence has ended, else re-sends it every
// repeat_interval (not while silenced or acknowledged). Returns true if sent.
bool AlertStates::MaybeRepeat(Instance& inst, TimeMs now, StepResult* out) {
  if (inst.stored.unannounced) {
    if (Silenced(inst, now)) return false;
    inst.stored.unannounced = false;
    inst.stored.last_notified_ms = now;
    Notify(inst, EventOf(inst), out);
    return true;
  }
  if (inst.stored.acknowledged) return false;
  if (settings_.repeat_interval.count() <= 0) return false;
  if (now - inst.stored.last_notified_ms < settings_.repeat_interval.count()) return false;
  if (Silenced(inst, now)) return false;
  inst.stored.last_notified_ms = now;
  Notify(inst, EventOf(inst), out);
  return true;
}

void AlertStates::Resolve(const std::string& fp, TimeMs now,
                          const std::map<std::string, Observed>& observed, StepResult* out) {
  Remember(fp);
  Instance& inst = alerts_.at(fp);
  if (inst.stored.state == AlertState::kFiring) {
    AlertEvent e = EventOf(inst);
    if (auto it = observed.find(fp); it != observed.end()) {
      e.value = it->second.value;
      e.annotations = Render(*it->second.annotations, it->second.labels, e.value, it->second.vars);
    }
    e.resolved = true;
    e.resolved_at_ms = now;
    // Nobody heard the trigger (silenced throughout): nothing to resolve.
    if (!inst.stored.unannounced) Notify(inst, e, out);
    out->transitions.push_back({now, Transition::kResolved, e});
  } else {
    out->transitions.push_back({now, Transition::kCleared, EventOf(inst)});
  }
  out->deleted.push_back(fp);
  Unindex(fp, inst.stored);
  alerts_.erase(fp);
}

void AlertStates::Activate(const Active& a, TimeMs now, StepResult* out) {
  auto it = alerts_.find(a.fingerprint);
  if (it == alerts_.end()) {
    Remember(a.fingerprint);
    Instance inst;
    inst.stored.fingerprint = a.fingerprint;
    inst.stored.rule = a.name;
    inst.stored.labels = a.labels;
    inst.stored.annotations = a.annotations;
    inst.stored.state = AlertState::kPending;
    inst.stored.value = a.value;
    inst.stored.active_since_ms = now;
    inst.meta = a.meta;
    Index(a.fingerprint, inst.stored);
    it = alerts_.emplace(a.fingerprint, std::move(inst)).first;
    out->transitions.push_back({now, Transition::kPending, EventOf(it->second)});
    if (now - it->second.stored.active_since_ms >= a.meta.for_duration.count()) {
      Fire(it->second, now, out);
    }
    out->upserts.push_back(it->second.stored);
    return;
  }
  Instance& inst = it->second;
  const bool annotations_changed = inst.stored.annotations != a.annotations;
  bool changed = annotations_changed || inst.stored.keep_firing_since_ms != 0 ||
                 inst.stored.labels != a.labels;
  // The fingerprint covers name and labels, so these differ only for an
  // alert restored with other labels; keep the index on what is stored.
  const bool reindex = inst.stored.rule != a.name || inst.stored.labels != a.labels;
  const bool same_meta = SameMeta(inst.meta, a.meta);
  // Most evaluations change a firing alert's value at most: the undo keeps
  // those fields, not a copy of the alert.
  Before* before = nullptr;
  if (reindex || !same_meta) {
    Remember(a.fingerprint);
  } else {
    before = RememberScalars(a.fingerprint, inst.stored);
  }
  if (reindex) {
    Unindex(a.fingerprint, inst.stored);
    inst.stored.rule = a.name;
    inst.stored.labels = a.labels;
    Index(a.fingerprint, inst.stored);
  }
  if (annotations_changed) {
    // The first replacement in the step keeps the annotations it started with.
    if (before != nullptr && !before->annotations) {
      before->annotations = std::move(inst.stored.annotations);
    }
    inst.stored.annotations = a.annotations;
  }
  inst.stored.value = a.value;
  inst.stored.keep_firing_since_ms = 0;
  if (!same_meta) inst.meta = a.meta;
  if (inst.stored.state == AlertState::kPending) {
    if (now - inst.stored.active_since_ms >= a.meta.for_duration.count()) {
      Fire(inst, now, out);
      changed = true;
    }
  } else if (inst.stored.state == AlertState::kFiring) {
    changed = MaybeRepeat(inst, now, out) || changed;
  }
  if (changed) out->upserts.push_back(inst.stored);
}

void AlertStates::Deactivate(const std::string& fp, TimeMs now,
                             const std::map<std::string, Observed>& observed, StepResult* out) {
  Remember(fp);
  Instance& inst = alerts_.at(fp);
  if (inst.stored.state == AlertState::kFiring && inst.meta.keep_firing_for.count() > 0) {
    bool changed = false;
    if (inst.stored.keep_firing_since_ms == 0) {
      inst.stored.keep_firing_since_ms = now;
      changed = true;
    }
    if (now - inst.stored.keep_firing_since_ms < inst.meta.keep_firing_for.count()) {
      changed = MaybeRepeat(inst, now, out) || changed;
      if (changed) out->upserts.push_back(inst.stored);
      return;
    }
  }
  Resolve(fp, now, observed, out);
}

bool AlertStates::Acknowledge(const std::string& fp) {
  auto it = alerts_.find(fp);
  if (it == alerts_.end() || it->second.stored.state != AlertState::kFiring) return false;
  DropStep();
  it->second.stored.acknowledged = true;
  return true;
}

}  // namespace aw::rules
