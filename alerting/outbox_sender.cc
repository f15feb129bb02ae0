// OutboxSender's delivery: ordering, retries with backoff, the per-receiver
// workers and the janitor. Grouped receivers' steps are in outbox_groups.cc.

#include "alerting/outbox_sender.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "alerting/alert_json.h"
#include "daemon/common/thread_name.h"
#include "daemon/common/time_util.h"

namespace aw::alerting {

OutboxSender::OutboxSender(OutboxStore& store, const Clock& clock,
                           std::vector<ReceiverOptions> receivers, Notifier& notifier)
    : OutboxSender(store, clock, std::move(receivers), notifier, Options{}) {}

OutboxSender::OutboxSender(OutboxStore& store, const Clock& clock,
                           std::vector<ReceiverOptions> receivers, Notifier& notifier,
                           Options options)
    : store_(store),
      clock_(clock),
      receivers_(std::move(receivers)),
      notifier_(notifier),
      options_(options),
      rng_(options.seed != 0 ? options.seed : std::random_device{}()) {
  for (const auto& r : receivers_) {
    counts_[r.name];
    if (Grouped(r)) {
      groupers_.try_emplace(r.name, r.grouping);
    } else if (options_.groups != nullptr) {
      to_drain_[r.name] = true;
    }
  }
}

OutboxSender::~OutboxSender() { Stop(); }

const ReceiverOptions* OutboxSender::Find(const std::string& name) const {
  for (const auto& r : receivers_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

Millis OutboxSender::Backoff(int attempts) {
  int64_t delay = std::max<int64_t>(options_.initial_backoff.count(), 1);
  const int64_t cap = std::max(options_.max_backoff.count(), delay);
  for (int i = 1; i < attempts && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  // Jitter only shortens the delay, so the first retry stays within
  // initial_backoff and no delay exceeds max_backoff.
  double fraction = std::clamp(options_.jitter, 0.0, 1.0);
  double u;
  {
    MutexLock lock(mu_);
    u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  }
  auto cut = static_cast<int64_t>(static_cast<double>(delay) * fraction * u);
  return Millis(std::max<int64_t>(delay - cut, 1));
}

void OutboxSender::Count(const std::string& receiver, Outcome outcome) {
  MutexLock lock(mu_);
  auto& c = counts_[receiver];
  switch (outcome) {
    case Outcome::kSent:
      ++c.sent;
      break;
    case Outcome::kRetry:
      ++c.retry;
      break;
    case Outcome::kFailed:
      ++c.failed;
      break;
    case Outcome::kDeferred:
      break;
  }
}

void OutboxSender::CountResend(const std::string& receiver, bool ok) {
  MutexLock lock(mu_);
  auto& c = counts_[receiver];
  ++(ok ? c.resent : c.resend_failed);
}

void OutboxSender::RecordFailure(const OutboxItem& item, const std::string& error, TimeMs now,
                                 TimeMs next_attempt_ms) {
  {
    MutexLock lock(mu_);
    auto& c = counts_[item.receiver];
    c.last_error_ms = now;
    c.last_error = error;
  }
  int64_t held = 0;
  if (!failure_log_.Allow(item.receiver, now, &held)) return;
  LogFields fields = {{"receiver", item.receiver},
                      {"error", error},
                      {"attempts", std::to_string(item.attempts + 1)},
                      {"fingerprint", item.fingerprint}};
  fields.emplace_back("next_attempt",
                      next_attempt_ms > 0 ? FormatRfc3339(next_attempt_ms) : "never (given up)");
  if (held > 0) fields.emplace_back("suppressed", std::to_string(held));
  LogWarn("delivery failed", fields);
}

std::map<std::string, OutboxSender::ReceiverCounts> OutboxSender::Counts() const {
  MutexLock lock(mu_);
  return counts_;
}

OutboxSender::Outcome OutboxSender::Process(const OutboxItem& item, const ReceiverOptions* receiver,
                                            TimeMs now) {
  // Store errors below are not fatal: the item stays pending and comes due
  // again (at-least-once), so they are deliberately ignored.
  auto fail = [&](const std::string& error) {
    RecordFailure(item, error, now, 0);
    (void)store_.MarkFailed(item.id, error);
    Count(item.receiver, Outcome::kFailed);
    return Outcome::kFailed;
  };
  if (receiver == nullptr) {
    return fail("unknown receiver \"" + item.receiver + "\"");
  }
  const TimeMs deadline = item.created_ms + options_.max_age.count();
  if (now > deadline) {
    return fail("expired after " + std::to_string(item.attempts) + " attempts" +
                (item.last_error.empty() ? "" : "; last: " + item.last_error));
  }
  DeliveryResult result;
  if (IsGroupPayload(item.payload)) {
    auto group = GroupNotificationFromJson(item.payload);
    if (!group.ok()) return fail(group.status().message());
    result = notifier_.SendGroup(*receiver, *group, now);
  } else {
    auto event = AlertEventFromJson(item.payload);
    if (!event.ok()) return fail(event.status().message());
    result = notifier_.Send(*receiver, *event, now);
  }
  switch (result.status) {
    case DeliveryStatus::kDelivered: {
      (void)store_.MarkDelivered(item.id, now);
      Count(item.receiver, Outcome::kSent);
      bool was_failing;
      {
        MutexLock lock(mu_);
        ReceiverCounts& c = counts_[item.receiver];
        // Its first delivery since start counts too: items may have backed
        // off before a restart.
        was_failing = c.last_success_ms == 0 || c.last_error_ms >= c.last_success_ms;
        c.last_success_ms = now;
      }
      // The receiver is back: what backed off through the outage goes out
      // now, not after each item's own backoff (up to max_backoff). Best
      // effort: if the store refuses, the items keep their times.
      if (was_failing) (void)store_.ExpediteReceiver(item.receiver, now);
      return Outcome::kSent;
    }
    case DeliveryStatus::kPermanent:
      return fail(result.error);
    case DeliveryStatus::kRetryable:
      break;
  }
  const int attempts = item.attempts + 1;
  if (now >= deadline) {
    return fail("gave up after " + std::to_string(attempts) + " attempts: " + result.error);
  }
  TimeMs next = now + std::max(Backoff(attempts), result.retry_after).count();
  next = std::min(next, deadline);  // one last try at the deadline
  RecordFailure(item, result.error, now, next);
  (void)store_.Reschedule(item.id, next, attempts, result.error);
  Count(item.receiver, Outcome::kRetry);
  return Outcome::kRetry;
}

namespace {

// Ids of items that a newer item in the same batch supersedes: sending them
// would only be undone by the newer one.
std::set<int64_t> OlderInBatch(const std::vector<OutboxItem>& due) {
  std::map<std::pair<std::string, std::string>, int64_t> newest;
  for (const auto& item : due) {
    if (item.fingerprint.empty()) continue;
    auto& id = newest[{item.receiver, item.fingerprint}];
    id = std::max(id, item.id);
  }
  std::set<int64_t> older;
  for (const auto& item : due) {
    if (item.fingerprint.empty()) continue;
    if (newest[{item.receiver, item.fingerprint}] != item.id) older.insert(item.id);
  }
  return older;
}

}  // namespace

OutboxSender::Outcome OutboxSender::ProcessInOrder(const OutboxItem& item,
                                                   const ReceiverOptions* receiver, TimeMs now) {
  if (receiver != nullptr && !item.fingerprint.empty()) {
    // Older states of this alert (due or still backing off) must never go
    // out after this one.
    auto superseded = store_.SupersedeOlder(item.receiver, item.fingerprint, item.id);
    if (!superseded.ok()) return Outcome::kDeferred;
    if (*superseded > 0) {
      MutexLock lock(mu_);
      counts_[item.receiver].superseded += *superseded;
    }
  }
  return Process(item, receiver, now);
}

int OutboxSender::DeliverDue(TimeMs now) {
  const int limit = std::max(options_.batch_limit, 1);
  for (const auto& r : receivers_) {
    if (Grouped(r)) {
      GroupStep(r, now);
    } else {
      DrainGroups(r, now);
    }
  }
  std::set<int64_t> done;
  int handled = 0;
  for (;;) {
    auto due = store_.DueOutbox(now, limit);
    if (!due.ok()) return handled;
    int fresh = 0;
    const std::set<int64_t> older = OlderInBatch(*due);
    for (const auto& item : *due) {
      if (!done.insert(item.id).second) continue;
      ++fresh;
      if (older.count(item.id) != 0) continue;  // the newer one supersedes it
      const ReceiverOptions* receiver = Find(item.receiver);
      // A grouped receiver's alert items go out only through their group.
      if (receiver != nullptr && Grouped(*receiver) && !IsGroupPayload(item.payload)) continue;
      ProcessInOrder(item, receiver, now);
      ++handled;
    }
    if (static_cast<int>(due->size()) < limit || fresh == 0) return handled;
  }
}

void OutboxSender::Wake() {
  {
    MutexLock lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

void OutboxSender::SetActiveAlertsSource(std::function<std::vector<AlertEvent>()> source) {
  MutexLock lock(mu_);
  active_source_ = std::move(source);
}

void OutboxSender::Start() {
  MutexLock start_lock(threads_mu_);
  if (!threads_.empty()) return;
  // Taken before the threads run, so a Wake() right after Start() is seen.
  const TimeMs start_ms = clock_.NowMs();
  uint64_t generation;
  {
    MutexLock lock(mu_);
    generation = generation_;
  }
  for (size_t i = 0; i < receivers_.size(); ++i) {
    threads_.emplace_back([this, i, start_ms, generation](std::stop_token stop) {
      NameThisThread("aw-send-" + std::to_string(i));
      Worker(std::move(stop), i, start_ms, generation);
    });
  }
  threads_.emplace_back([this, generation](std::stop_token stop) {
    NameThisThread("aw-outbox");
    Janitor(std::move(stop), generation);
  });
}

void OutboxSender::Stop() {
  std::vector<std::jthread> threads;
  {
    MutexLock start_lock(threads_mu_);
    threads.swap(threads_);
  }
  // request_stop wakes waits on cv_ (condition_variable_any + stop_token).
  for (auto& t : threads) t.request_stop();
  threads.clear();  // joins
}

void OutboxSender::WaitForWork(std::stop_token& stop, uint64_t* seen, Millis max_wait) {
  MutexLock lock(mu_);
  // The wait releases and retakes mu_ itself (a BasicLockable).
  cv_.wait_for(mu_, stop, max_wait, [&]() REQUIRES(mu_) { return generation_ != *seen; });
  *seen = generation_;
}

Millis OutboxSender::WaitBeforeNextAttempt(TimeMs now) {
  auto next_or = store_.NextOutboxAttempt();
  // A store error, nothing pending, or something due that is another
  // worker's: poll.
  if (!next_or.ok()) return options_.idle_poll;
  const int64_t next = *next_or;
  if (next < 0 || next <= now) return options_.idle_poll;
  return std::min(Millis(next - now), options_.idle_poll);
}

void OutboxSender::Worker(std::stop_token stop, size_t index, TimeMs start_ms,
                          uint64_t generation) {
  const ReceiverOptions& receiver = receivers_[index];
  const bool resends = receiver.kind == ReceiverOptions::Kind::kAlertmanager;
  const Millis resend_every = std::max(options_.alertmanager_resend_interval, Millis(1));
  const int limit = std::max(options_.batch_limit, 1);
  uint64_t seen = generation;
  TimeMs next_resend = start_ms + resend_every.count();
  const bool grouped = Grouped(receiver);
  while (!stop.stop_requested()) {
    TimeMs now = clock_.NowMs();
    if (!grouped) DrainGroups(receiver, now);
    const TimeMs next_flush = grouped ? GroupStep(receiver, now) : -1;
    bool more = false;
    if (auto due = store_.DueOutbox(now, limit); due.ok()) {
      int mine = 0;
      const std::set<int64_t> older = OlderInBatch(*due);
      for (const auto& item : *due) {
        if (stop.stop_requested()) return;
        if (item.receiver != receiver.name) continue;
        // Folded by the next GroupStep, never sent alone.
        if (grouped && !IsGroupPayload(item.payload)) continue;
        ++mine;
        if (older.count(item.id) != 0) continue;  // the newer one supersedes it
        // A fresh `now` per item: earlier POSTs may have taken a while.
        ProcessInOrder(item, &receiver, clock_.NowMs());
      }
      // A full batch may hide more of ours behind it. (A batch full of other
      // receivers' items is not looped on; see the header's note on limits.)
      more = mine > 0 && static_cast<int>(due->size()) == limit;
    }
    Millis wait = more ? Millis(0) : WaitBeforeNextAttempt(now);
    if (next_flush >= 0) {
      wait = std::min(wait, Millis(std::max<int64_t>(next_flush - clock_.NowMs(), 0)));
    }
    if (resends) {
      now = clock_.NowMs();
      if (now >= next_resend) {
        Resend(receiver, now);
        next_resend = now + resend_every.count();
      }
      wait = std::min(wait, Millis(std::max<int64_t>(next_resend - now, 0)));
    }
    if (wait > Millis(0)) WaitForWork(stop, &seen, wait);
  }
}

void OutboxSender::Resend(const ReceiverOptions& receiver, TimeMs now) {
  std::function<std::vector<AlertEvent>()> source;
  {
    MutexLock lock(mu_);
    source = active_source_;
  }
  if (!source) return;
  for (const auto& event : source()) {
    if (event.resolved) continue;
    DeliveryResult r = notifier_.Send(receiver, event, now);
    CountResend(receiver.name, r.status == DeliveryStatus::kDelivered);
    // Alertmanager is down: don't wait out one timeout per alert.
    if (r.status == DeliveryStatus::kRetryable) return;
  }
}

void OutboxSender::Janitor(std::stop_token stop, uint64_t generation) {
  const int limit = std::max(options_.batch_limit, 1);
  uint64_t seen = generation;
  while (!stop.stop_requested()) {
    TimeMs now = clock_.NowMs();
    if (auto due = store_.DueOutbox(now, limit); due.ok()) {
      for (const auto& item : *due) {
        if (Find(item.receiver) == nullptr) Process(item, nullptr, now);
      }
    }
    WaitForWork(stop, &seen, options_.idle_poll);
  }
}

}  // namespace aw::alerting
