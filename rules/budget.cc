#include "rules/budget.h"

#include <date/tz.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>
#include <stdexcept>

#include "daemon/common/did_you_mean.h"
#include "daemon/common/time_util.h"

namespace aw::rules {

const char* BudgetPeriodName(BudgetPeriod p) {
  switch (p) {
    case BudgetPeriod::kDay:
      return "day";
    case BudgetPeriod::kWeek:
      return "week";
    case BudgetPeriod::kMonth:
      return "month";
  }
  return "day";
}

bool IsKnownTimeZone(const std::string& name) {
  try {
    return date::locate_zone(name) != nullptr;
  } catch (const std::exception&) {
    return false;
  }
}

PeriodBounds PeriodAt(BudgetPeriod period, const std::string& tz_name, TimeMs now) {
  using std::chrono::milliseconds;
  const date::time_zone* tz = date::locate_zone(tz_name);
  const date::sys_time<milliseconds> t{milliseconds(now)};
  const date::local_days today = date::floor<date::days>(tz->to_local(t));
  date::local_days first = today;
  date::local_days next = today + date::days{1};
  if (period == BudgetPeriod::kWeek) {
    first = today - (date::weekday{today} - date::Monday);
    next = first + date::days{7};
  } else if (period == BudgetPeriod::kMonth) {
    const date::year_month_day ymd{today};
    const date::year_month ym = ymd.year() / ymd.month();
    first = date::local_days{ym / 1};
    next = date::local_days{(ym + date::months{1}) / 1};
  }
  // choose::earliest: an ambiguous midnight takes its first instant; a
  // nonexistent one maps to the transition that skipped it.
  auto to_ms = [tz](date::local_days d) {
    return static_cast<TimeMs>(
        date::floor<milliseconds>(tz->to_sys(date::local_seconds{d}, date::choose::earliest))
            .time_since_epoch()
            .count());
  };
  return {to_ms(first), to_ms(next)};
}

namespace {

const std::regex& ExhaustedRe() {
  static const std::regex re(R"(\{\{-?\s*\$exhausted_at\s*-?\}\})");
  return re;
}

std::string Substitute(const std::string& source, const std::string& exhausted_at) {
  // As a string literal, so any text is safe inside the template.
  std::string lit = "{{ \"";
  for (char c : exhausted_at) {
    if (c == '"' || c == '\\') lit += '\\';
    lit += c;
  }
  lit += "\" }}";
  // "$" is special in a regex_replace format; "$$" is a literal one.
  std::string format;
  for (char c : lit) format += c == '$' ? std::string("$$") : std::string(1, c);
  return std::regex_replace(source, ExhaustedRe(), format);
}

struct ParseError {
  std::string message;
};

class BudgetParser {
 public:
  BudgetParser(const std::string& file, const std::vector<std::string>* receivers)
      : file_(file), receivers_(receivers) {}

  std::vector<Budget> Parse(const YAML::Node& node) {
    std::vector<Budget> out;
    if (node.IsNull()) return out;
    if (!node.IsSequence()) Fail(node, "", "budgets: must be a list");
    std::set<std::string> names;
    for (size_t i = 0; i < node.size(); ++i) {
      Budget b = One(node[i], i);
      if (!names.insert(b.name).second)
        Fail(node[i]["name"], "budget \"" + b.name + "\": ", "name: duplicate budget name");
      out.push_back(std::move(b));
    }
    return out;
  }

 private:
  int Line(const YAML::Node& n) const {
    return n && n.Mark().line >= 0 ? n.Mark().line + 1 : last_line_;
  }

  [[noreturn]] void Fail(const YAML::Node& at, const std::string& ctx, const std::string& msg) {
    throw ParseError{file_ + ":" + std::to_string(Line(at)) + ": " + ctx + msg};
  }

  std::string Scalar(const YAML::Node& n, const std::string& ctx, const std::string& field) {
    if (!n.IsScalar()) Fail(n, ctx, field + ": must be a string");
    return n.Scalar();
  }

  double Number(const YAML::Node& n, const std::string& ctx, const std::string& field) {
    if (!n.IsScalar()) Fail(n, ctx, field + ": must be a number");
    const std::string s = n.Scalar();
    char* end = nullptr;
    errno = 0;
    const double d = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(d))
      Fail(n, ctx, field + ": must be a number, got \"" + s + "\"");
    return d;
  }

  Labels StringMap(const YAML::Node& n, const std::string& ctx, const std::string& field) {
    if (!n.IsMap()) Fail(n, ctx, field + ": must be a mapping");
    Labels out;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (out.count(key)) Fail(it->first, ctx, field + ": duplicate key \"" + key + "\"");
      out[key] = Scalar(it->second, ctx, field + "." + key);
    }
    return out;
  }

  std::vector<BudgetTemplate> Templates(const YAML::Node& n, const std::string& ctx,
                                        const std::string& field, bool labels) {
    if (!n.IsMap()) Fail(n, ctx, field + ": must be a mapping");
    std::vector<BudgetTemplate> out;
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (!seen.insert(key).second) Fail(it->first, ctx, field + ": duplicate key \"" + key + "\"");
      if (labels && (key == "alertname" || key == "threshold"))
        Fail(it->first, ctx, field + ": \"" + key + "\" is reserved");
      const std::string source = Scalar(it->second, ctx, field + "." + key);
      auto t = Template::Parse(Substitute(source, ""));
      if (!t.ok()) Fail(it->second, ctx, field + "." + key + ": " + t.status().message());
      out.push_back({key, source});
    }
    return out;
  }

  Budget One(const YAML::Node& n, size_t index) {
    std::string ctx = "budgets[" + std::to_string(index) + "]: ";
    if (!n.IsMap()) Fail(n, ctx, "a budget is a mapping with \"name\" and \"amount_usd\"");
    last_line_ = Line(n);
    Budget b;
    b.file = file_;
    b.line = Line(n);
    if (!n["name"]) Fail(n, ctx, "name: required");
    b.name = Scalar(n["name"], ctx, "name");
    if (b.name.empty()) Fail(n["name"], ctx, "name: must not be empty");
    ctx = "budget \"" + b.name + "\": ";
    static const std::vector<std::string> kKeys = {
        "name",      "where",     "amount_usd", "period",      "timezone",         "alert_at",
        "projected", "receivers", "labels",     "annotations", "projection_window"};
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end())
        Fail(it->first, ctx, "unknown field \"" + key + "\"" + DidYouMean(key, kKeys));
    }
    if (n["where"]) b.where = StringMap(n["where"], ctx, "where");
    if (!n["amount_usd"]) Fail(n, ctx, "amount_usd: required");
    b.amount_usd = Number(n["amount_usd"], ctx, "amount_usd");
    if (b.amount_usd <= 0) Fail(n["amount_usd"], ctx, "amount_usd: must be > 0");
    if (!n["period"]) Fail(n, ctx, "period: required (day, week, month)");
    const std::string period = Scalar(n["period"], ctx, "period");
    if (period == "day") {
      b.period = BudgetPeriod::kDay;
    } else if (period == "week") {
      b.period = BudgetPeriod::kWeek;
    } else if (period == "month") {
      b.period = BudgetPeriod::kMonth;
    } else {
      Fail(n["period"], ctx,
           "period: unknown period \"" + period + "\" (day, week, month)" +
               DidYouMean(period, {"day", "week", "month"}));
    }
    if (n["timezone"]) {
      b.timezone = Scalar(n["timezone"], ctx, "timezone");
      if (!IsKnownTimeZone(b.timezone))
        Fail(n["timezone"], ctx,
             "timezone: unknown time zone \"" + b.timezone +
                 "\" (an IANA name such as UTC, Europe/Berlin, America/New_York)");
    }
    if (n["alert_at"]) {
      const YAML::Node& list = n["alert_at"];
      if (!list.IsSequence()) Fail(list, ctx, "alert_at: must be a list of fractions");
      std::set<double> seen;
      for (size_t i = 0; i < list.size(); ++i) {
        const std::string field = "alert_at[" + std::to_string(i) + "]";
        const double f = Number(list[i], ctx, field);
        if (f <= 0) Fail(list[i], ctx, field + ": must be > 0 (a fraction of amount_usd)");
        if (!seen.insert(f).second) Fail(list[i], ctx, field + ": duplicate fraction");
        b.alert_at.emplace_back(list[i].Scalar(), f);
      }
    }
    if (n["projected"]) {
      const std::string p = Scalar(n["projected"], ctx, "projected");
      if (p == "true") {
        b.projected = true;
      } else if (p != "false") {
        Fail(n["projected"], ctx, "projected: must be true or false");
      }
    }
    if (n["projection_window"]) {
      const YAML::Node& w = n["projection_window"];
      auto d = w.IsScalar() ? ParseDuration(w.Scalar()) : std::nullopt;
      if (!d || d->count() <= 0)
        Fail(w, ctx, "projection_window: bad duration (expected e.g. 30m, 1h, 6h)");
      b.projection_window = *d;
    }
    if (n["receivers"]) {
      const YAML::Node& r = n["receivers"];
      if (!r.IsSequence()) Fail(r, ctx, "receivers: must be a list");
      for (size_t i = 0; i < r.size(); ++i) {
        const std::string name = Scalar(r[i], ctx, "receivers[" + std::to_string(i) + "]");
        if (receivers_ &&
            std::find(receivers_->begin(), receivers_->end(), name) == receivers_->end()) {
          Fail(r[i], ctx,
               "receivers: unknown receiver \"" + name + "\"" +
                   (receivers_->empty() ? " (the config defines no receivers)"
                                        : DidYouMean(name, *receivers_)));
        }
        b.receivers.push_back(name);
      }
    }
    if (n["labels"]) b.labels = Templates(n["labels"], ctx, "labels", true);
    if (n["annotations"]) b.annotations = Templates(n["annotations"], ctx, "annotations", false);
    if (b.alert_at.empty() && !b.projected)
      Fail(n, ctx, "alert_at: required unless projected: true (nothing would alert)");
    return b;
  }

  const std::string& file_;
  const std::vector<std::string>* receivers_;
  int last_line_ = 1;
};

}  // namespace

std::string RenderBudgetTemplate(const std::string& source, const Labels& labels, double value,
                                 const std::string& exhausted_at) {
  auto t = Template::Parse(Substitute(source, exhausted_at));
  return t.ok() ? (*t)->Render(labels, value) : source;
}

Result<std::vector<Budget>> ParseBudgets(const YAML::Node& node, const std::string& file,
                                         const std::vector<std::string>* receivers) {
  try {
    return BudgetParser(file, receivers).Parse(node);
  } catch (const ParseError& e) {
    return Status::InvalidArgument(e.message);
  }
}

}  // namespace aw::rules
