#include "daemon/common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>

#include "daemon/common/time_util.h"

namespace aw {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kLogfmt)};
constexpr const char* kNames[] = {"debug", "info", "warn", "error"};

// Escapes for a double-quoted string; valid in both logfmt and JSON.
void AppendQuoted(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x",
                        static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;  // UTF-8 bytes pass through
        }
    }
  }
  out += '"';
}

bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  for (const char c : s) {
    if (c == ' ' || c == '=' || c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ||
        c == 0x7f) {
      return true;
    }
  }
  return false;
}

// A key usable bare in logfmt: anything outside [A-Za-z0-9_.:-] becomes '_'.
std::string CleanKey(const std::string& key) {
  std::string out = key.empty() ? "_" : key;
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) c = '_';
  }
  if (out == "ts" || out == "level" || out == "msg") out = "_" + out;
  return out;
}

}  // namespace

void SetLogLevel(const std::string& level) {
  for (int i = 0; i < 4; ++i) {
    if (level == kNames[i]) g_level = i;
  }
}

bool SetLogFormat(const std::string& format) {
  if (format == "logfmt") {
    g_format = static_cast<int>(LogFormat::kLogfmt);
  } else if (format == "json") {
    g_format = static_cast<int>(LogFormat::kJson);
  } else {
    return false;
  }
  return true;
}

std::string FormatLogLine(LogFormat format, int64_t unix_ms, LogLevel level,
                          const std::string& message, const LogFields& fields) {
  const std::string ts = FormatRfc3339(unix_ms);
  const char* level_name = kNames[static_cast<int>(level)];
  std::string out;
  out.reserve(64 + message.size());
  if (format == LogFormat::kJson) {
    out += "{\"ts\":";
    AppendQuoted(out, ts);
    out += ",\"level\":";
    AppendQuoted(out, level_name);
    out += ",\"msg\":";
    AppendQuoted(out, message);
    for (const auto& [key, value] : fields) {
      out += ',';
      AppendQuoted(out, CleanKey(key));
      out += ':';
      AppendQuoted(out, value);
    }
    out += '}';
    return out;
  }
  out += "ts=" + ts + " level=" + level_name + " msg=";
  AppendQuoted(out, message);
  for (const auto& [key, value] : fields) {
    out += ' ' + CleanKey(key) + '=';
    if (NeedsQuotes(value)) {
      AppendQuoted(out, value);
    } else {
      out += value;
    }
  }
  return out;
}

void Log(LogLevel level, const std::string& message, const LogFields& fields) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto format = static_cast<LogFormat>(g_format.load(std::memory_order_relaxed));
  const std::string line = FormatLogLine(format, now, level, message, fields) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

bool LogRateLimiter::Allow(const std::string& key, int64_t now_ms, int64_t* suppressed) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[key];
  if (e.seen && now_ms - e.last_ms < interval_ms_) {
    ++e.held;
    return false;
  }
  if (suppressed) *suppressed = e.held;
  e.seen = true;
  e.last_ms = now_ms;
  e.held = 0;
  return true;
}

}  // namespace aw
