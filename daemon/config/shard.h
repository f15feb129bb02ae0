#pragma once

// Which agents this instance owns when a fleet is split by agent (config
// `shard:`). Each agent lives on exactly one shard, so per-agent counters
// summed across shards are the fleet's figures.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aw {

// FNV-1a, 64 bit, over the bytes of `s` (offset basis 14695981039346656037,
// prime 1099511628211). The hash that places an agent on a shard; the same
// function in any language gives the same placement.
uint64_t Fnv1a64(std::string_view s);

// The `shard:` config. Unset (count == 0 and agents empty) means this
// instance owns every agent.
struct ShardSpec {
  std::vector<std::string> agents;  // an explicit list; exclusive with count
  int64_t count = 0;                // hash sharding: N shards ...
  int64_t index = 0;                // ... and this is shard i (0-based)
  std::vector<std::string> peers;   // URL of shard j at [j]; optional
  bool enabled() const { return count > 0 || !agents.empty(); }
};

// Immutable after construction; thread-safe.
class ShardMap {
 public:
  ShardMap() = default;  // owns everything
  explicit ShardMap(ShardSpec spec);

  bool enabled() const { return spec_.enabled(); }
  // True when this instance serves `agent`.
  bool Owns(std::string_view agent) const;
  // The shard that serves `agent` under hash sharding: Fnv1a64 % count.
  // -1 with an agent list (the owner is not known here).
  int64_t OwnerIndex(std::string_view agent) const;
  // "" when owned; otherwise why not, naming the owner:
  //   agent: "x" is served by shard 1 (http://b:9464), this is shard 0 of 2
  std::string Misdirected(std::string_view agent) const;

 private:
  ShardSpec spec_;
};

}  // namespace aw
