#include "daemon/common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>

#include "daemon/common/time_util.h"

namespace aw {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void SetLogLevel(const std::string& level) {
  for (int i = 0; i < 4; ++i) {
    if (level == kNames[i]) g_level = i;
  }
}

void Log(LogLevel level, const std::string& message) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  // One fprintf per line keeps lines whole across threads.
  std::fprintf(stderr, "ts=%s level=%s msg=\"%s\"\n", FormatRfc3339(now).c_str(),
               kNames[static_cast<int>(level)], message.c_str());
}

}  // namespace aw
