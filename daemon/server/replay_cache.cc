#include "daemon/server/replay_cache.h"

#include <algorithm>

namespace aw::server {

ReplayCache::ReplayCache(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

void ReplayCache::DropExpired(TimeMs now_ms) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now_ms) {
    expiry_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

bool ReplayCache::Claim(const std::string& key, TimeMs now_ms, TimeMs expires_ms) {
  std::lock_guard lock(mu_);
  DropExpired(now_ms);
  if (expiry_.count(key) != 0) return false;
  if (expires_ms <= now_ms) return true;  // its signature is no longer valid anyway
  if (expiry_.size() >= capacity_) {
    expiry_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
    ++evicted_;
  }
  expiry_.emplace(key, expires_ms);
  by_expiry_.emplace(expires_ms, key);
  return true;
}

void ReplayCache::Release(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = expiry_.find(key);
  if (it == expiry_.end()) return;
  by_expiry_.erase({it->second, key});
  expiry_.erase(it);
}

size_t ReplayCache::size() const {
  std::lock_guard lock(mu_);
  return expiry_.size();
}

int64_t ReplayCache::evicted() const {
  std::lock_guard lock(mu_);
  return evicted_;
}

}  // namespace aw::server
