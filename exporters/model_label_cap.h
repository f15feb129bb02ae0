#pragma once

// Caps the distinct values of the `model` metric label, as limits.max_agents
// caps `agent`: the first `max_models` distinct models keep their name, any
// later one is folded into "other". `model` and `response_model` come from
// clients, so without a cap every new string is a new series in every
// family that carries the label.
//
// Invariants: at most max_models names are admitted; an admitted name stays
// admitted (its series never change label). Lowering the cap admits nothing
// new until the count is below it again.
//
// Thread-safe: one mutex.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_set>

namespace aw::exporters {

class ModelLabelCap {
 public:
  static constexpr const char* kOther = "other";

  explicit ModelLabelCap(int64_t max_models = 200);

  void SetMax(int64_t max_models);
  // The label value for `model`: itself, or kOther (and *folded is
  // incremented) once max_models other names were admitted. "" stays "".
  std::string Label(const std::string& model, int64_t* folded);
  size_t admitted() const;

 private:
  mutable std::mutex mu_;
  int64_t max_ = 0;                        // guarded by mu_
  std::unordered_set<std::string> names_;  // guarded by mu_
};

}  // namespace aw::exporters
