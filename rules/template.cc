// Alert templating (the subset in template.h). Lexer, parser, the
// Prometheus number formatting and the functions stay in one file (about
// 600 lines): they share the token and node types and nothing outside
// uses them.

#include "rules/template.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace aw::rules {

namespace {

// One operand or function name inside an action.
struct Arg {
  enum class Kind { kValue, kLabel, kString, kFunc, kVar };
  Kind kind = Kind::kValue;
  std::string text;  // label name, literal, or function name
};
using Command = std::vector<Arg>;  // either one operand, or func + args

// A runtime value: a number ($value) or a string (labels, literals).
struct Val {
  bool is_num = false;
  double num = 0;
  std::string str;
};

double ToNum(const Val& v) {
  if (v.is_num) return v.num;
  const char* begin = v.str.c_str();
  char* end = nullptr;
  const double d = std::strtod(begin, &end);
  if (end == begin) return 0;
  return d;
}
std::string ToStr(const Val& v) { return v.is_num ? FormatValue(v.num) : v.str; }

struct FuncInfo {
  const char* name;
  int arity;  // -1: printf (variadic)
};
constexpr FuncInfo kFuncs[] = {
    {"humanize", 1},
    {"humanize1024", 1},
    {"humanizePercentage", 1},
    {"humanizeDuration", 1},
    {"toUpper", 1},
    {"toLower", 1},
    {"title", 1},
    {"printf", -1},
};

const FuncInfo* FindFunc(const std::string& name) {
  for (const FuncInfo& f : kFuncs) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

// Counts the conversions in a printf format, validating each. Only the
// float verbs (f e E g G), %v, %s and %% are supported.
std::optional<int> CountPrintfVerbs(const std::string& format, std::string* error) {
  int n = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') continue;
    ++i;
    if (i < format.size() && format[i] == '%') continue;
    // strchr also matches the terminator, so a NUL must be refused here.
    while (i < format.size() && format[i] != '\0' && std::strchr("+- #0", format[i])) ++i;
    // Width and precision of at most two digits: "%.349144356f" would make
    // snprintf allocate hundreds of megabytes.
    const auto digits = [&] {
      size_t count = 0;
      while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) {
        ++i;
        ++count;
      }
      return count;
    };
    bool too_wide = digits() > 2;
    if (i < format.size() && format[i] == '.') {
      ++i;
      too_wide |= digits() > 2;
    }
    if (too_wide) {
      *error = "printf: width and precision must be below 100 in \"" + format + "\"";
      return std::nullopt;
    }
    if (i >= format.size() || format[i] == '\0' || !std::strchr("feEgGvs", format[i])) {
      *error = "printf: unsupported format \"" + format + "\" (use %f %e %g %v %s or %%)";
      return std::nullopt;
    }
    ++n;
  }
  return n;
}

std::string RunPrintf(const std::string& format, const std::vector<Val>& args) {
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    if (i + 1 < format.size() && format[i + 1] == '%') {
      out += '%';
      ++i;
      continue;
    }
    const size_t start = i++;
    while (i < format.size() && !std::strchr("feEgGvs", format[i])) ++i;
    const char verb = format[i];
    const Val arg = next < args.size() ? args[next++] : Val{};
    if (verb == 'v' || verb == 's') {
      out += ToStr(arg);
      continue;
    }
    const double d = ToNum(arg);
    if (std::isnan(d)) {
      out += "NaN";
    } else if (std::isinf(d)) {
      out += d > 0 ? "+Inf" : "-Inf";
    } else {
      const std::string spec = format.substr(start, i - start + 1);
      char buf[512];
      std::snprintf(buf, sizeof buf, spec.c_str(), d);
      out += buf;
    }
  }
  return out;
}

std::string Title(std::string s) {
  bool start = true;
  for (char& c : s) {
    const bool alpha = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (alpha && start) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    start = !alpha;
  }
  return s;
}

Val CallFunc(const std::string& name, const std::vector<Val>& args) {
  Val out;
  if (name == "printf") {
    std::vector<Val> rest(args.begin() + 1, args.end());
    out.str = RunPrintf(args[0].str, rest);
    return out;
  }
  const Val& a = args[0];
  if (name == "humanize")
    out.str = Humanize(ToNum(a));
  else if (name == "humanize1024")
    out.str = Humanize1024(ToNum(a));
  else if (name == "humanizePercentage")
    out.str = HumanizePercentage(ToNum(a));
  else if (name == "humanizeDuration")
    out.str = HumanizeDuration(ToNum(a));
  else {
    out.str = ToStr(a);
    for (char& c : out.str) {
      if (name == "toUpper") c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (name == "toLower") c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (name == "title") out.str = Title(out.str);
  }
  return out;
}

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdent(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Splits the inside of {{ }} into commands separated by '|'.
Result<std::vector<Command>> ParseAction(const std::string& src) {
  std::vector<Command> pipeline(1);
  size_t i = 0;
  auto fail = [&](const std::string& m) -> Result<std::vector<Command>> {
    return Status::InvalidArgument("template {{" + src + "}}: " + m);
  };
  while (i < src.size()) {
    const char c = src[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '|') {
      if (pipeline.back().empty()) return fail("missing command before '|'");
      pipeline.emplace_back();
      ++i;
      continue;
    }
    Arg arg;
    if (c == '"' || c == '`') {
      arg.kind = Arg::Kind::kString;
      const char quote = c;
      ++i;
      bool closed = false;
      while (i < src.size()) {
        char d = src[i++];
        if (d == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && d == '\\' && i < src.size()) {
          const char e = src[i++];
          d = e == 'n' ? '\n' : e == 't' ? '\t' : e;
        }
        arg.text += d;
      }
      if (!closed) return fail("unterminated string");
    } else if (c == '$' || c == '.') {
      size_t j = i + 1;
      while (j < src.size() && (IsIdent(src[j]) || src[j] == '.')) ++j;
      const std::string word = src.substr(i, j - i);
      i = j;
      if (word == "$value" || word == ".Value") {
        arg.kind = Arg::Kind::kValue;
      } else if (word == "$bound" || word == "$baseline") {
        arg.kind = Arg::Kind::kVar;
        arg.text = word.substr(1);
      } else if (word.rfind("$labels.", 0) == 0 || word.rfind(".Labels.", 0) == 0) {
        arg.kind = Arg::Kind::kLabel;
        arg.text = word.substr(8);
        if (arg.text.empty() || !IsIdentStart(arg.text[0]) ||
            arg.text.find('.') != std::string::npos) {
          return fail("bad label reference \"" + word + "\"");
        }
      } else {
        return fail("unsupported variable \"" + word +
                    "\" (use $value, $bound, $baseline or $labels.NAME)");
      }
    } else if (IsIdentStart(c)) {
      size_t j = i;
      while (j < src.size() && IsIdent(src[j])) ++j;
      arg.text = src.substr(i, j - i);
      i = j;
      if (!FindFunc(arg.text)) {
        return fail("function \"" + arg.text + "\" not defined");
      }
      arg.kind = Arg::Kind::kFunc;
    } else {
      return fail(std::string("unexpected '") + c + "'");
    }
    pipeline.back().push_back(std::move(arg));
  }
  if (pipeline.back().empty()) {
    return fail(pipeline.size() == 1 ? "empty action" : "missing command after '|'");
  }
  // Check shapes and arities.
  for (size_t k = 0; k < pipeline.size(); ++k) {
    const Command& cmd = pipeline[k];
    const bool piped = k > 0;
    if (cmd[0].kind != Arg::Kind::kFunc) {
      if (cmd.size() != 1) return fail("unexpected operand after \"" + cmd[0].text + "\"");
      if (piped) return fail("can only pipe into a function");
      continue;
    }
    for (size_t a = 1; a < cmd.size(); ++a) {
      if (cmd[a].kind == Arg::Kind::kFunc) {
        return fail("function \"" + cmd[a].text + "\" used as an argument");
      }
    }
    const FuncInfo* f = FindFunc(cmd[0].text);
    const int nargs = static_cast<int>(cmd.size()) - 1 + (piped ? 1 : 0);
    if (f->arity >= 0 && nargs != f->arity) {
      return fail("wrong number of args for " + std::string(f->name) + ": want " +
                  std::to_string(f->arity) + " got " + std::to_string(nargs));
    }
    if (f->arity < 0) {
      if (cmd.size() < 2 || cmd[1].kind != Arg::Kind::kString) {
        return fail("printf needs a format string first");
      }
      std::string error;
      auto verbs = CountPrintfVerbs(cmd[1].text, &error);
      if (!verbs) return fail(error);
      if (*verbs != nargs - 1) {
        return fail("printf format \"" + cmd[1].text + "\" has " + std::to_string(*verbs) +
                    " verbs for " + std::to_string(nargs - 1) + " args");
      }
    }
  }
  return pipeline;
}

Val EvalArg(const Arg& a, const Labels& labels, double value, const TemplateVars& vars) {
  Val v;
  switch (a.kind) {
    case Arg::Kind::kVar: {
      auto it = vars.find(a.text);
      if (it != vars.end()) {
        v.is_num = true;
        v.num = it->second;
      }
      break;
    }
    case Arg::Kind::kValue:
      v.is_num = true;
      v.num = value;
      break;
    case Arg::Kind::kLabel: {
      auto it = labels.find(a.text);
      if (it != labels.end()) v.str = it->second;
      break;
    }
    case Arg::Kind::kString:
    case Arg::Kind::kFunc:
      v.str = a.text;
      break;
  }
  return v;
}

// Go %e/%g exponent digits: at least two.
struct Decimal {
  std::string digits;  // significant digits, no leading zeros
  int exp = 0;         // scientific exponent: d.ddd x 10^exp
};
Decimal Shortest(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific);
  std::string s(buf, r.ptr);
  Decimal d;
  const size_t e = s.find('e');
  for (size_t i = 0; i < e; ++i) {
    if (s[i] != '.') d.digits += s[i];
  }
  d.exp = std::atoi(s.c_str() + e + 1);
  return d;
}

}  // namespace

struct Template::Node {
  bool is_text = true;
  std::string text;
  std::vector<Command> pipeline;
};

Template::Template() = default;
Template::~Template() = default;

Result<std::shared_ptr<const Template>> Template::Parse(const std::string& text) {
  std::shared_ptr<Template> t(new Template());
  size_t pos = 0;
  bool trim_next = false;
  while (pos <= text.size()) {
    size_t open = text.find("{{", pos);
    std::string lit = text.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    if (trim_next) {
      size_t k = 0;
      while (k < lit.size() && std::isspace(static_cast<unsigned char>(lit[k]))) ++k;
      lit.erase(0, k);
    }
    if (open == std::string::npos) {
      if (!lit.empty()) t->nodes_.push_back(Node{true, lit, {}});
      break;
    }
    size_t body = open + 2;
    if (body + 1 < text.size() && text[body] == '-' &&
        std::isspace(static_cast<unsigned char>(text[body + 1]))) {
      while (!lit.empty() && std::isspace(static_cast<unsigned char>(lit.back()))) lit.pop_back();
      ++body;
    }
    if (!lit.empty()) t->nodes_.push_back(Node{true, lit, {}});
    // Find the closing braces outside string literals.
    size_t close = std::string::npos;
    char quote = 0;
    for (size_t k = body; k + 1 < text.size(); ++k) {
      const char c = text[k];
      if (quote) {
        if (c == '\\' && quote == '"')
          ++k;
        else if (c == quote)
          quote = 0;
      } else if (c == '"' || c == '`') {
        quote = c;
      } else if (c == '}' && text[k + 1] == '}') {
        close = k;
        break;
      }
    }
    if (close == std::string::npos) {
      return Status::InvalidArgument("template: unclosed action (missing \"}}\")");
    }
    size_t body_end = close;
    trim_next = false;
    if (body_end > body && text[body_end - 1] == '-' && body_end - 1 > body &&
        std::isspace(static_cast<unsigned char>(text[body_end - 2]))) {
      --body_end;
      trim_next = true;
    }
    std::string action = text.substr(body, body_end - body);
    size_t a = action.find_first_not_of(" \t\r\n");
    size_t b = action.find_last_not_of(" \t\r\n");
    std::string trimmed = a == std::string::npos ? "" : action.substr(a, b - a + 1);
    pos = close + 2;
    if (trimmed.size() >= 4 && trimmed.rfind("/*", 0) == 0 &&
        trimmed.compare(trimmed.size() - 2, 2, "*/") == 0) {
      continue;  // comment
    }
    auto pipeline = ParseAction(action);
    if (!pipeline.ok()) return pipeline.status();
    t->nodes_.push_back(Node{false, "", std::move(pipeline).value()});
  }
  return std::shared_ptr<const Template>(std::move(t));
}

std::string Template::Render(const Labels& labels, double value, const TemplateVars& vars) const {
  std::string out;
  for (const Node& n : nodes_) {
    if (n.is_text) {
      out += n.text;
      continue;
    }
    Val piped;
    for (size_t k = 0; k < n.pipeline.size(); ++k) {
      const Command& cmd = n.pipeline[k];
      if (cmd[0].kind != Arg::Kind::kFunc) {
        piped = EvalArg(cmd[0], labels, value, vars);
        continue;
      }
      std::vector<Val> args;
      for (size_t a = 1; a < cmd.size(); ++a) args.push_back(EvalArg(cmd[a], labels, value, vars));
      if (k > 0) args.push_back(piped);
      piped = CallFunc(cmd[0].text, args);
    }
    out += ToStr(piped);
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  const Decimal d = Shortest(v);
  std::string out = v < 0 ? "-" : "";
  if (d.exp < -4 || d.exp >= 6) {
    // Go: d[.ddd]e±XX with at least two exponent digits.
    out += d.digits[0];
    if (d.digits.size() > 1) out += "." + d.digits.substr(1);
    char buf[16];
    std::snprintf(buf, sizeof buf, "e%c%02d", d.exp < 0 ? '-' : '+', std::abs(d.exp));
    return out + buf;
  }
  if (d.exp < 0) {
    return out + "0." + std::string(static_cast<size_t>(-d.exp - 1), '0') + d.digits;
  }
  const size_t int_digits = static_cast<size_t>(d.exp) + 1;
  if (d.digits.size() <= int_digits) {
    return out + d.digits + std::string(int_digits - d.digits.size(), '0');
  }
  return out + d.digits.substr(0, int_digits) + "." + d.digits.substr(int_digits);
}

std::string FormatG4(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string Humanize(double v) {
  if (v == 0 || std::isnan(v) || std::isinf(v)) return FormatG4(v);
  static const char* const kBig[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
  static const char* const kSmall[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
  std::string prefix;
  if (std::fabs(v) >= 1) {
    for (const char* p : kBig) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const char* p : kSmall) {
      if (std::fabs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return FormatG4(v) + prefix;
}

std::string Humanize1024(double v) {
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return FormatG4(v);
  static const char* const kBig[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
  std::string prefix;
  for (const char* p : kBig) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return FormatG4(v) + prefix;
}

std::string HumanizePercentage(double v) { return FormatG4(v * 100) + "%"; }

std::string HumanizeDuration(double v) {
  if (std::isnan(v) || std::isinf(v)) return FormatG4(v);
  if (v == 0) return FormatG4(v) + "s";
  if (std::fabs(v) >= 1) {
    std::string sign;
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    // Beyond int64 seconds (about 292 billion years) the cast is undefined.
    if (v >= 9.2e18) return sign + FormatG4(v) + "s";
    const int64_t duration = static_cast<int64_t>(v);
    const int64_t seconds = duration % 60;
    const int64_t minutes = (duration / 60) % 60;
    const int64_t hours = (duration / 60 / 60) % 24;
    const int64_t days = duration / 60 / 60 / 24;
    char buf[128];
    if (days != 0) {
      std::snprintf(buf, sizeof buf, "%s%lldd %lldh %lldm %llds", sign.c_str(),
                    static_cast<long long>(days), static_cast<long long>(hours),
                    static_cast<long long>(minutes), static_cast<long long>(seconds));
    } else if (hours != 0) {
      std::snprintf(buf, sizeof buf, "%s%lldh %lldm %llds", sign.c_str(),
                    static_cast<long long>(hours), static_cast<long long>(minutes),
                    static_cast<long long>(seconds));
    } else if (minutes != 0) {
      std::snprintf(buf, sizeof buf, "%s%lldm %llds", sign.c_str(), static_cast<long long>(minutes),
                    static_cast<long long>(seconds));
    } else {
      return sign + FormatG4(v) + "s";
    }
    return buf;
  }
  static const char* const kSmall[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
  std::string prefix;
  for (const char* p : kSmall) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return FormatG4(v) + prefix + "s";
}

std::string FormatLabels(const Labels& labels) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ", ";
    first = false;
    out += k + "=\"";
    for (char c : v) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace aw::rules
