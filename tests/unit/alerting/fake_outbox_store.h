#pragma once

// An in-memory OutboxStore with the semantics SqliteStore promises
// (daemon/common/alert_store.h). Thread-safe.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/common/alert_store.h"

namespace aw::alerting::test {

class FakeOutboxStore final : public OutboxStore {
 public:
  enum class State { kPending, kDelivered, kFailed, kSuperseded };
  struct Entry {
    OutboxItem item;
    State state = State::kPending;
  };

  // Adds a pending item due at `created_ms`; returns its id.
  int64_t Add(const std::string& receiver, const std::string& payload, TimeMs created_ms,
              const std::string& fingerprint = "fp") {
    std::lock_guard lock(mu_);
    OutboxItem item;
    item.id = next_id_++;
    item.receiver = receiver;
    item.fingerprint = fingerprint;
    item.payload = payload;
    item.created_ms = created_ms;
    item.next_attempt_ms = created_ms;
    entries_[item.id] = Entry{item, State::kPending};
    return item.id;
  }

  std::optional<Entry> Get(int64_t id) const {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }

  // True once item `id` is in `state`; false after `timeout`. Woken by
  // every change, no polling.
  bool WaitForState(int64_t id, State state, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      auto it = entries_.find(id);
      return it != entries_.end() && it->second.state == state;
    });
  }

  // True once `pred(entry)` holds for item `id`; false after `timeout`.
  template <typename Pred>
  bool WaitForItem(int64_t id, Pred pred, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      auto it = entries_.find(id);
      return it != entries_.end() && pred(it->second);
    });
  }

  int Count(State state) const {
    std::lock_guard lock(mu_);
    return static_cast<int>(std::count_if(entries_.begin(), entries_.end(),
                                          [&](const auto& e) { return e.second.state == state; }));
  }

  Result<std::vector<OutboxItem>> DueOutbox(TimeMs now, int limit) override {
    std::lock_guard lock(mu_);
    std::vector<OutboxItem> due;
    for (const auto& [id, e] : entries_) {  // ids ascend: oldest first
      if (e.state == State::kPending && e.item.next_attempt_ms <= now) {
        due.push_back(e.item);
        if (static_cast<int>(due.size()) >= limit) break;
      }
    }
    return due;
  }

  Result<int64_t> NextOutboxAttempt() override {
    std::lock_guard lock(mu_);
    int64_t next = -1;
    for (const auto& [id, e] : entries_) {
      if (e.state != State::kPending) continue;
      if (next < 0 || e.item.next_attempt_ms < next) {
        next = e.item.next_attempt_ms;
      }
    }
    return next;
  }

  Status MarkDelivered(int64_t id, TimeMs /*at*/) override {
    std::lock_guard lock(mu_);
    auto* e = Find(id);
    if (e == nullptr) return Status::NotFound("no item");
    e->state = State::kDelivered;
    return Status::Ok();
  }

  Status Reschedule(int64_t id, TimeMs next_attempt_ms, int attempts,
                    const std::string& last_error) override {
    std::lock_guard lock(mu_);
    auto* e = Find(id);
    if (e == nullptr) return Status::NotFound("no item");
    e->item.next_attempt_ms = next_attempt_ms;
    e->item.attempts = attempts;
    e->item.last_error = last_error;
    return Status::Ok();
  }

  Result<int64_t> ExpediteReceiver(const std::string& receiver, TimeMs now) override {
    std::lock_guard lock(mu_);
    int64_t moved = 0;
    for (auto& [id, e] : entries_) {
      if (e.state == State::kPending && e.item.receiver == receiver &&
          e.item.next_attempt_ms > now) {
        e.item.next_attempt_ms = now;
        ++moved;
      }
    }
    return moved;
  }

  Status MarkFailed(int64_t id, const std::string& error) override {
    std::lock_guard lock(mu_);
    auto* e = Find(id);
    if (e == nullptr) return Status::NotFound("no item");
    e->state = State::kFailed;
    e->item.last_error = error;
    return Status::Ok();
  }

  Result<int64_t> SupersedeOlder(const std::string& receiver, const std::string& fingerprint,
                                 int64_t newer_id) override {
    std::lock_guard lock(mu_);
    cv_.notify_all();
    int64_t n = 0;
    for (auto& [id, e] : entries_) {
      if (id < newer_id && e.state == State::kPending && e.item.receiver == receiver &&
          e.item.fingerprint == fingerprint) {
        e.state = State::kSuperseded;
        ++n;
      }
    }
    return n;
  }

  Result<int64_t> OutboxDepth() override {
    std::lock_guard lock(mu_);
    int64_t n = 0;
    for (const auto& [id, e] : entries_) n += e.state == State::kPending;
    return n;
  }

  Result<std::map<std::string, int64_t>> PendingByReceiver() override {
    std::lock_guard lock(mu_);
    std::map<std::string, int64_t> pending;
    for (const auto& [id, e] : entries_) {
      if (e.state == State::kPending) ++pending[e.item.receiver];
    }
    return pending;
  }

 private:
  // Every mutation goes through here, so waiters see it.
  Entry* Find(int64_t id) {
    cv_.notify_all();
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second;
  }

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  int64_t next_id_ = 1;
  std::map<int64_t, Entry> entries_;
};

}  // namespace aw::alerting::test
