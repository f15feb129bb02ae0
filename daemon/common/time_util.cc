#include "daemon/common/time_util.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace aw {

std::optional<Millis> ParseDuration(const std::string& text) {
  if (text == "0") return Millis(0);
  if (text.empty()) return std::nullopt;
  size_t i = 0;
  int64_t total = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000'000LL) return std::nullopt;
      ++i;
    }
    std::string unit;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) {
      unit += text[i++];
    }
    int64_t ms_per;
    if (unit == "ms")
      ms_per = 1;
    else if (unit == "s")
      ms_per = 1000;
    else if (unit == "m")
      ms_per = 60'000;
    else if (unit == "h")
      ms_per = 3'600'000;
    else if (unit == "d")
      ms_per = 86'400'000;
    else if (unit == "w")
      ms_per = 7 * 86'400'000LL;
    else if (unit == "y")
      ms_per = 365 * 86'400'000LL;
    else
      return std::nullopt;
    total += n * ms_per;
  }
  return Millis(total);
}

std::string FormatDuration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  struct Unit {
    int64_t ms;
    const char* name;
  };
  static const Unit kUnits[] = {{7 * 86'400'000LL, "w"}, {86'400'000, "d"}, {3'600'000, "h"},
                                {60'000, "m"},           {1000, "s"},       {1, "ms"}};
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + u.name;
      ms %= u.ms;
    }
  }
  return out;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ReadInt(const std::string& s, size_t& i, int digits, int& out) {
  out = 0;
  for (int k = 0; k < digits; ++k, ++i) {
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool Expect(const std::string& s, size_t& i, char c) {
  if (i < s.size() &&
      (s[i] == c || std::tolower(static_cast<unsigned char>(s[i])) == std::tolower(c))) {
    ++i;
    return true;
  }
  return false;
}

}  // namespace

std::optional<TimeMs> ParseRfc3339(const std::string& s) {
  size_t i = 0;
  int year, mon, day, hh, mm, ss;
  if (!ReadInt(s, i, 4, year) || !Expect(s, i, '-') || !ReadInt(s, i, 2, mon) ||
      !Expect(s, i, '-') || !ReadInt(s, i, 2, day))
    return std::nullopt;
  if (!(Expect(s, i, 'T') || Expect(s, i, ' '))) return std::nullopt;
  if (!ReadInt(s, i, 2, hh) || !Expect(s, i, ':') || !ReadInt(s, i, 2, mm) || !Expect(s, i, ':') ||
      !ReadInt(s, i, 2, ss))
    return std::nullopt;
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
    return std::nullopt;
  static const int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap_year = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int days_in_month = kDaysIn[mon - 1] + (mon == 2 && leap_year ? 1 : 0);
  // A day past the month's end is an error, never a roll into the next month.
  if (day > days_in_month) return std::nullopt;
  // A leap second (:60) is read as the last millisecond of second :59, so
  // it orders after everything in that second and never moves to the next
  // minute (or day).
  const bool leap_second = ss == 60;
  if (leap_second) ss = 59;
  int64_t ms = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    int64_t frac = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (digits < 3) frac = frac * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (int k = digits; k < 3; ++k) frac *= 10;
    ms = frac;
  }
  if (leap_second) ms = 999;
  int64_t offset_s = 0;
  if (Expect(s, i, 'Z')) {
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const int sign = s[i] == '-' ? -1 : 1;
    ++i;
    int oh, om;
    if (!ReadInt(s, i, 2, oh) || !Expect(s, i, ':') || !ReadInt(s, i, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss - offset_s;
  return secs * 1000 + ms;
}

std::string FormatRfc3339(TimeMs t) {
  int64_t secs = t >= 0 ? t / 1000 : (t - 999) / 1000;
  const int64_t ms = t - secs * 1000;
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  if (ms != 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  return buf;
}

}  // namespace aw
