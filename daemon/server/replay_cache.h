#pragma once

// Remembers the signed requests already accepted, so a captured request is
// not accepted a second time while its signature is still valid.
//
// What it owns: a bounded set of keys (one per signed request: the verified
// signature, or a digest of what it signs), each with the time after which
// the signature would be refused anyway (its timestamp window). Claim()
// admits a key once; a second Claim() of the same key before it expires is a
// replay, whatever the request's body holds.
//
// Invariants: at most `capacity` keys are held; expired keys are dropped on
// the way. When full of unexpired keys, the one expiring first is dropped,
// so under a flood of distinct validly signed requests (which needs the
// secret) the oldest window may be replayable again: counted in evicted().
//
// Time is passed in (`now_ms`), never read. Thread-safe: one mutex.

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "daemon/common/clock.h"

namespace aw::server {

class ReplayCache {
 public:
  explicit ReplayCache(size_t capacity = 100'000);

  // True (and remembered until `expires_ms`) when `key` has not been claimed
  // or its claim has expired by `now_ms`; false for a replay.
  bool Claim(const std::string& key, TimeMs now_ms, TimeMs expires_ms);
  // Forgets a claim whose request was not stored (503), so the sender's
  // retry of the same signed request is accepted.
  void Release(const std::string& key);

  size_t size() const;
  int64_t evicted() const;  // unexpired keys dropped because the cache was full

 private:
  void DropExpired(TimeMs now_ms);  // needs mu_

  const size_t capacity_;
  mutable std::mutex mu_;
  std::map<std::string, TimeMs> expiry_;                // guarded by mu_
  std::set<std::pair<TimeMs, std::string>> by_expiry_;  // guarded by mu_
  int64_t evicted_ = 0;                                 // guarded by mu_
};

}  // namespace aw::server
