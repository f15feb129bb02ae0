#pragma once

#include <string>

namespace aw {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Process-wide log threshold; logfmt lines to stderr. Thread-safe.
void SetLogLevel(const std::string& level);  // debug|info|warn|error
void Log(LogLevel level, const std::string& message);
inline void LogInfo(const std::string& m) { Log(LogLevel::kInfo, m); }
inline void LogWarn(const std::string& m) { Log(LogLevel::kWarn, m); }
inline void LogError(const std::string& m) { Log(LogLevel::kError, m); }
inline void LogDebug(const std::string& m) { Log(LogLevel::kDebug, m); }

}  // namespace aw
