#pragma once

// The durable delivery loop over the outbox (alert_store.h OutboxStore).
//
// Each pending item is one AlertEvent (alert_json.h) for one receiver. An
// attempt that the Notifier calls retryable is rescheduled with exponential
// backoff (initial_backoff doubling to max_backoff, minus up to `jitter` of
// it, so the first retry comes within initial_backoff), or after the
// receiver's Retry-After if that is later, clamped to the item's deadline
// created_ms + max_age. A permanent failure, a payload that does not parse,
// an unknown receiver, or a retryable failure at or past the deadline marks
// the item failed. An item already older than max_age when it comes due is
// failed without being sent. Delivery is at least once: a crash between the
// POST and MarkDelivered sends the item again after a restart.
//
// Order per alert: items of one receiver and one fingerprint (one alert) go
// out in the order they were committed, and a newer item supersedes an older
// one not yet delivered (OutboxStore::SupersedeOlder) before it is sent. So
// after an outage the receiver gets the alert's latest state last (a resolve
// replaces the undelivered trigger of its episode; PagerDuty never sees
// resolve-then-trigger), however the retries were jittered. A receiver's
// items are sent by one thread at a time, so nothing overtakes in flight.
// Items without a fingerprint are independent of each other.
//
// Two ways to drive it:
//  - DeliverDue(now): a pure step for tests and tools. Sends every due item
//    once, in order, from the calling thread.
//  - Start()/Stop(): one std::jthread per receiver, each sending only its
//    own receiver's items, so a slow or hanging receiver holds up nobody
//    else; plus one janitor thread that fails items of unknown receivers.
//    Workers sleep until the earliest NextOutboxAttempt (at most
//    Options::idle_poll) or until Wake(). What is due is decided with the
//    Clock; the waiting itself is in real time.
//
// Grouped receivers (ReceiverOptions::grouping, given Options::groups): the
// receiver's worker first folds its pending alert items into its Grouper
// and writes the group notifications that are due as group items, in one
// GroupStore transaction (grouping.h states the design and invariants);
// then it sends group items like any other, never an alert item. It wakes
// for the earliest group flush as it does for the earliest retry.
//
// Alertmanager re-posts: with SetActiveAlertsSource, each alertmanager
// receiver's worker re-posts the currently firing alerts every
// Options::alertmanager_resend_interval (Prometheus' resend-delay), so
// Alertmanager keeps them active (their endsAt is now + 4 x that interval).
// Best effort: not through the outbox, not retried, counted in Counts() as
// `resent` / `resend_failed` (not in sent/retry/failed). The first firing
// notification and the resolve still go through the outbox.
//
// Limits: OutboxStore has no per-receiver query, so each worker reads the
// oldest `batch_limit` due items and keeps its own. If more than batch_limit
// items of a hanging receiver are due at once, other receivers' items behind
// them wait until it recovers or they expire; the default 1000 makes this
// unlikely. A per-receiver DueOutbox would remove the limit.
//
// Thread-safe: Wake(), Counts() and SetActiveAlertsSource() may be called
// from any thread. DeliverDue must not run while started.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "alerting/grouping.h"
#include "alerting/notifier.h"
#include "alerting/receiver.h"
#include "daemon/common/alert_store.h"
#include "daemon/common/clock.h"
#include "daemon/common/log.h"
#include "daemon/common/thread_annotations.h"

namespace aw::alerting {

class OutboxSender {
 public:
  struct Options {
    Millis max_age{24LL * 3600 * 1000};
    Millis initial_backoff{1000};
    Millis max_backoff{5LL * 60 * 1000};
    double jitter = 0.2;     // fraction of the backoff removed at random, [0,1]
    uint64_t seed = 0;       // 0: seeded from std::random_device
    int batch_limit = 1000;  // items fetched per DueOutbox call
    Millis idle_poll{1000};  // threaded mode: longest sleep without a Wake
    Millis alertmanager_resend_interval{60'000};
    // Where groups of grouped receivers live; null: every receiver is
    // sent to ungrouped. Must outlive the sender.
    GroupStore* groups = nullptr;
  };

  struct ReceiverCounts {
    int64_t sent = 0;            // delivered
    int64_t retry = 0;           // retryable failure, rescheduled
    int64_t failed = 0;          // given up (permanent, expired, unknown, bad item)
    int64_t resent = 0;          // alertmanager re-posts delivered
    int64_t resend_failed = 0;   // alertmanager re-posts not delivered
    int64_t superseded = 0;      // replaced by a newer state before delivery
    TimeMs last_success_ms = 0;  // 0: never delivered since start
    TimeMs last_error_ms = 0;    // 0: no failed attempt since start
    std::string last_error;      // of the latest failed attempt
  };

  // All references must outlive the sender.
  OutboxSender(OutboxStore& store, const Clock& clock, std::vector<ReceiverOptions> receivers,
               Notifier& notifier, Options options);
  OutboxSender(OutboxStore& store, const Clock& clock, std::vector<ReceiverOptions> receivers,
               Notifier& notifier);
  ~OutboxSender();  // Stop()s
  OutboxSender(const OutboxSender&) = delete;
  OutboxSender& operator=(const OutboxSender&) = delete;

  // Sends every item due at `now` once and records the outcome in the store.
  // Returns the number of items handled. REQUIRES: not started.
  int DeliverDue(TimeMs now) EXCLUDES(mu_);

  // Threaded mode. Start is a no-op when started; Stop joins the workers
  // (an in-flight POST finishes first: at most ReceiverOptions::timeout).
  void Start() EXCLUDES(threads_mu_, mu_);
  void Stop() EXCLUDES(threads_mu_);

  // New items were committed: workers look at the outbox now.
  void Wake() EXCLUDES(mu_);

  // The firing alerts to re-post to alertmanager receivers (threaded mode).
  // Called from the workers; must be thread-safe and quick.
  void SetActiveAlertsSource(std::function<std::vector<AlertEvent>()> source) EXCLUDES(mu_);

  // Per receiver name. Every configured receiver is present from the start;
  // items of an unknown receiver appear under that receiver's name.
  std::map<std::string, ReceiverCounts> Counts() const EXCLUDES(mu_);

  // The delay before attempt `attempts + 1` after `attempts` failures
  // (attempts >= 1), jitter included. Exposed for tests.
  Millis Backoff(int attempts) EXCLUDES(mu_);

 private:
  enum class Outcome { kSent, kRetry, kFailed, kDeferred };
  Outcome Process(const OutboxItem& item, const ReceiverOptions* receiver, TimeMs now)
      EXCLUDES(mu_);
  // Sends `item` only once older items of its alert are superseded; a store
  // error defers it (it stays pending and comes due again).
  Outcome ProcessInOrder(const OutboxItem& item, const ReceiverOptions* receiver, TimeMs now)
      EXCLUDES(mu_);
  const ReceiverOptions* Find(const std::string& name) const;
  void Worker(std::stop_token stop, size_t receiver_index, TimeMs start_ms, uint64_t generation);
  void Janitor(std::stop_token stop, uint64_t generation);
  void Resend(const ReceiverOptions& receiver, TimeMs now) EXCLUDES(mu_);
  // Waits until woken, stopped or `max_wait` passed.
  void WaitForWork(std::stop_token& stop, uint64_t* seen_generation, Millis max_wait) EXCLUDES(mu_);
  Millis WaitBeforeNextAttempt(TimeMs now);
  void Count(const std::string& receiver, Outcome outcome) EXCLUDES(mu_);
  // Records a failed attempt and logs it at warn, at most once a minute per
  // receiver (the line says how many were held back).
  void RecordFailure(const OutboxItem& item, const std::string& error, TimeMs now,
                     TimeMs next_attempt_ms) EXCLUDES(mu_);
  void CountResend(const std::string& receiver, bool ok) EXCLUDES(mu_);
  bool Grouped(const ReceiverOptions& receiver) const;
  // Folds `receiver`'s alert items into its groups and queues the group
  // notifications due at `now`. Returns the next group flush time, -1 for
  // none. REQUIRES: `receiver` is grouped; called by its worker only.
  TimeMs GroupStep(const ReceiverOptions& receiver, TimeMs now);
  // For a receiver that is not grouped (any more): sends what its stored
  // groups still hold unnotified and deletes them, once per sender.
  // Called by its worker only (or by DeliverDue).
  void DrainGroups(const ReceiverOptions& receiver, TimeMs now);
  // The outbox items for one group notification.
  Result<std::vector<OutboxItem>> GroupItems(const ReceiverOptions& receiver,
                                             GroupNotification notification, TimeMs now);

  // Constant after construction.
  OutboxStore& store_;
  const Clock& clock_;
  const std::vector<ReceiverOptions> receivers_;
  Notifier& notifier_;
  const Options options_;

  // One per grouped receiver; the map is built at construction and each
  // entry is used only by its receiver's worker (or by DeliverDue).
  struct GroupState {
    explicit GroupState(const GroupingOptions& config) : grouper(config) {}
    Grouper grouper;
    bool loaded = false;  // restored from the store
  };
  std::map<std::string, GroupState> groupers_;
  // Ungrouped receivers whose stored groups may still need draining; each
  // entry is used only by its receiver's worker (or by DeliverDue).
  std::map<std::string, bool> to_drain_;

  mutable Mutex mu_;
  // State below is protected by mu_.
  std::condition_variable_any cv_;           // waited on with mu_ held
  uint64_t generation_ GUARDED_BY(mu_) = 0;  // bumped by Wake()
  std::mt19937_64 rng_ GUARDED_BY(mu_);
  std::map<std::string, ReceiverCounts> counts_ GUARDED_BY(mu_);
  std::function<std::vector<AlertEvent>()> active_source_ GUARDED_BY(mu_);
  LogRateLimiter failure_log_{60'000};  // own lock

  // Serialises Start/Stop; Start takes mu_ inside it, never the other way.
  Mutex threads_mu_ ACQUIRED_BEFORE(mu_);
  std::vector<std::jthread> threads_ GUARDED_BY(threads_mu_);
};

}  // namespace aw::alerting
