// rules::LoadRuleText over arbitrary YAML (no receivers to check).

#include <cstddef>
#include <cstdint>
#include <string>

#include "rules/rule_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  aw::rules::LoadOptions options;
  options.check_receivers = false;
  auto rules = aw::rules::LoadRuleText(text, "fuzz.yaml", options);
  if (!rules.ok() && rules.status().message().empty()) __builtin_trap();
  return 0;
}
