#include "daemon/config/shard.h"

#include <algorithm>
#include <utility>

namespace aw {

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

ShardMap::ShardMap(ShardSpec spec) : spec_(std::move(spec)) {
  std::sort(spec_.agents.begin(), spec_.agents.end());
}

bool ShardMap::Owns(std::string_view agent) const {
  if (!spec_.agents.empty()) {
    return std::binary_search(spec_.agents.begin(), spec_.agents.end(), agent);
  }
  if (spec_.count <= 0) return true;
  return OwnerIndex(agent) == spec_.index;
}

int64_t ShardMap::OwnerIndex(std::string_view agent) const {
  if (spec_.count <= 0) return -1;
  return static_cast<int64_t>(Fnv1a64(agent) % static_cast<uint64_t>(spec_.count));
}

std::string ShardMap::Misdirected(std::string_view agent) const {
  if (Owns(agent)) return "";
  const std::string quoted = "agent: \"" + std::string(agent) + "\"";
  if (!spec_.agents.empty()) return quoted + " is not one of this shard's agents (shard.agents)";
  const int64_t owner = OwnerIndex(agent);
  std::string out = quoted + " is served by shard " + std::to_string(owner);
  if (owner < static_cast<int64_t>(spec_.peers.size())) {
    out += " (" + spec_.peers[static_cast<size_t>(owner)] + ")";
  }
  return out + ", this is shard " + std::to_string(spec_.index) + " of " +
         std::to_string(spec_.count);
}

}  // namespace aw
