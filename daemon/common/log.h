#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace aw {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kLogfmt, kJson };

// Key/value pairs carried by a log line after `msg`, in order: an alert's
// labels, a receiver's name, a file. Keys should be plain identifiers.
using LogFields = std::vector<std::pair<std::string, std::string>>;

// Process-wide threshold and format; one line per call to stderr, written
// with a single fprintf so lines stay whole across threads. Thread-safe.
void SetLogLevel(const std::string& level);    // debug|info|warn|error
bool SetLogFormat(const std::string& format);  // logfmt|json; false if unknown
void Log(LogLevel level, const std::string& message, const LogFields& fields = {});
inline void LogInfo(const std::string& m, const LogFields& f = {}) { Log(LogLevel::kInfo, m, f); }
inline void LogWarn(const std::string& m, const LogFields& f = {}) { Log(LogLevel::kWarn, m, f); }
inline void LogError(const std::string& m, const LogFields& f = {}) { Log(LogLevel::kError, m, f); }
inline void LogDebug(const std::string& m, const LogFields& f = {}) { Log(LogLevel::kDebug, m, f); }

// One line without the trailing newline, e.g.
//   logfmt: ts=2026-11-29T19:00:00.250Z level=warn msg="rule \"X\" failed" agent=ir
//   json:   {"ts":"2026-11-29T19:00:00.250Z","level":"warn","msg":"...","agent":"ir"}
// logfmt values are quoted when they hold a space, '=', '"', a control
// character or are empty; '"', '\' and control characters are escaped as in
// Go's strconv.Quote (\", \\, \n, \t, \r, \u00XX). `msg` is always quoted.
// A field named ts, level or msg is written as _ts, _level, _msg so it cannot
// shadow the line's own. Pure; exposed for tests.
std::string FormatLogLine(LogFormat format, int64_t unix_ms, LogLevel level,
                          const std::string& message, const LogFields& fields);

// Lets through at most one line per key (a receiver's name, say) every
// `interval_ms` and counts the ones it held back, so a receiver that is down
// for hours logs once a minute rather than once per retry. The time is
// passed in, so tests need no clock. Thread-safe.
class LogRateLimiter {
 public:
  explicit LogRateLimiter(int64_t interval_ms) : interval_ms_(interval_ms) {}
  // True when a line for `key` may be written at `now_ms`; then
  // `*suppressed` (when given) is how many were held back since the last.
  bool Allow(const std::string& key, int64_t now_ms, int64_t* suppressed = nullptr);

 private:
  struct Entry {
    int64_t last_ms = 0;
    int64_t held = 0;
    bool seen = false;
  };
  const int64_t interval_ms_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace aw
