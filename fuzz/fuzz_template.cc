// rules::Template: parse arbitrary template text and render it. Input:
// 8 bytes of a double ($value), then the template text.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "rules/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < sizeof(double)) return 0;
  double value;
  std::memcpy(&value, data, sizeof value);
  const std::string text(reinterpret_cast<const char*>(data + sizeof value), size - sizeof value);
  (void)aw::rules::FormatValue(value);
  (void)aw::rules::Humanize(value);
  (void)aw::rules::Humanize1024(value);
  (void)aw::rules::HumanizePercentage(value);
  (void)aw::rules::HumanizeDuration(value);
  auto t = aw::rules::Template::Parse(text);
  if (!t.ok()) return 0;
  const aw::Labels labels = {{"agent", "incident-response"}, {"severity", "page"}, {"env", ""}};
  (void)(*t)->Render(labels, value);
  return 0;
}
