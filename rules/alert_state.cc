#include "rules/alert_state.h"

namespace aw::rules {

void AlertStates::Put(Instance inst) {
  std::string fp = inst.stored.fingerprint;
  alerts_[std::move(fp)] = std::move(inst);
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
  alerts_.erase(fp);
}

void AlertStates::Activate(const Active& a, TimeMs now, StepResult* out) {
  auto it = alerts_.find(a.fingerprint);
  if (it == alerts_.end()) {
    Instance inst;
    inst.stored.fingerprint = a.fingerprint;
    inst.stored.rule = a.name;
    inst.stored.labels = a.labels;
    inst.stored.annotations = a.annotations;
    inst.stored.state = AlertState::kPending;
    inst.stored.value = a.value;
    inst.stored.active_since_ms = now;
    inst.meta = a.meta;
    it = alerts_.emplace(a.fingerprint, std::move(inst)).first;
    out->transitions.push_back({now, Transition::kPending, EventOf(it->second)});
    if (now - it->second.stored.active_since_ms >= a.meta.for_duration.count()) {
      Fire(it->second, now, out);
    }
    out->upserts.push_back(it->second.stored);
    return;
  }
  Instance& inst = it->second;
  bool changed = inst.stored.annotations != a.annotations ||
                 inst.stored.keep_firing_since_ms != 0 || inst.stored.labels != a.labels;
  inst.stored.rule = a.name;
  inst.stored.labels = a.labels;
  inst.stored.annotations = a.annotations;
  inst.stored.value = a.value;
  inst.stored.keep_firing_since_ms = 0;
  inst.meta = a.meta;
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
  it->second.stored.acknowledged = true;
  return true;
}

}  // namespace aw::rules
