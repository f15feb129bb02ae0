// Rule files -> RuleSet (CONTRACT.md "Rule files"). One Loader walks the
// whole schema (groups, alert rules, compare, SLOs, budgets' references)
// with one error style, FILE:LINE: field: message, and the "did you mean"
// hints; it is one file (about 700 lines) because every block's checks
// share the Loader's position and error context.

#include "rules/rule_loader.h"

#include <glob.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "daemon/common/did_you_mean.h"
#include "daemon/common/time_util.h"

namespace aw::rules {

namespace {

// Thrown inside this file only; LoadRuleText turns it into a Status.
struct LoadError {
  std::string message;
};

bool IsLabelName(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const bool ok = std::isalpha(c) || c == '_' || (i > 0 && std::isdigit(c));
    if (!ok) return false;
  }
  return true;
}

class FileLoader {
 public:
  FileLoader(std::string file, const LoadOptions& options)
      : file_(std::move(file)), options_(options) {}

  RuleSet Load(const YAML::Node& root) {
    RuleSet set;
    set.files.push_back(file_);
    if (!root || root.IsNull()) return set;  // an empty file has no rules
    if (!root.IsMap())
      Fail(root, "", "a rule file is a mapping with \"groups\", \"slos\" and/or \"budgets\"");
    CheckKeys(root, {"groups", "slos", "budgets"}, "");
    if (const YAML::Node budgets = root["budgets"]) {
      const std::vector<std::string> known(options_.receivers.begin(), options_.receivers.end());
      auto parsed = ParseBudgets(budgets, file_, options_.check_receivers ? &known : nullptr);
      if (!parsed.ok()) throw LoadError{parsed.status().message()};
      set.budgets = std::move(parsed).value();
    }
    if (const YAML::Node groups = root["groups"]) {
      if (!groups.IsSequence() && !groups.IsNull()) Fail(groups, "", "groups: must be a list");
      std::set<std::string> names;
      for (size_t i = 0; groups.IsSequence() && i < groups.size(); ++i) {
        RuleGroup g = LoadGroup(groups[i], i);
        if (!names.insert(g.name).second) {
          Fail(groups[i]["name"], "",
               "groups[" + std::to_string(i) + "].name: duplicate group name \"" + g.name + "\"");
        }
        set.groups.push_back(std::move(g));
      }
    }
    if (const YAML::Node slos = root["slos"]) {
      if (!slos.IsSequence() && !slos.IsNull()) Fail(slos, "", "slos: must be a list");
      RuleGroup g;
      g.name = "slos";
      g.file = file_;
      g.line = Line(slos);
      std::set<std::string> names;
      for (size_t i = 0; slos.IsSequence() && i < slos.size(); ++i) {
        Slo slo = LoadSlo(slos[i], i);
        if (!names.insert(slo.name).second) {
          Fail(slos[i]["name"], "slo \"" + slo.name + "\": ", "name: duplicate SLO name");
        }
        g.slos.push_back(std::move(slo));
      }
      if (!g.slos.empty()) set.groups.push_back(std::move(g));
    }
    return set;
  }

 private:
  int Line(const YAML::Node& n) const {
    if (n && n.Mark().line >= 0) return n.Mark().line + 1;
    return last_line_;
  }

  [[noreturn]] void Fail(const YAML::Node& at, const std::string& ctx, const std::string& msg) {
    throw LoadError{file_ + ":" + std::to_string(Line(at)) + ": " + ctx + msg};
  }

  void CheckKeys(const YAML::Node& map, std::initializer_list<const char*> allowed,
                 const std::string& ctx) {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.Scalar();
      bool ok = false;
      std::vector<std::string> valid;
      for (const char* a : allowed) {
        ok = ok || key == a;
        valid.push_back(a);
      }
      if (!ok) Fail(it->first, ctx, "unknown field \"" + key + "\"" + DidYouMean(key, valid));
      if (!seen.insert(key).second) Fail(it->first, ctx, "duplicate field \"" + key + "\"");
    }
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
    if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(d)) {
      Fail(n, ctx, field + ": must be a number, got \"" + s + "\"");
    }
    return d;
  }

  int64_t Integer(const YAML::Node& n, const std::string& ctx, const std::string& field,
                  int64_t min) {
    if (!n.IsScalar()) Fail(n, ctx, field + ": must be an integer");
    const std::string s = n.Scalar();
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE) {
      Fail(n, ctx, field + ": must be an integer, got \"" + s + "\"");
    }
    if (v < min) Fail(n, ctx, field + ": must be >= " + std::to_string(min));
    return v;
  }

  Millis Duration(const YAML::Node& n, const std::string& ctx, const std::string& field) {
    if (!n.IsScalar()) Fail(n, ctx, field + ": must be a duration");
    auto d = ParseDuration(n.Scalar());
    if (!d) {
      const std::string hint = SuggestDuration(n.Scalar());
      Fail(n, ctx,
           field + ": bad duration \"" + n.Scalar() + "\" (" +
               (hint.empty() ? "" : "did you mean " + hint + "? ") +
               "expected e.g. 30s, 10m, 1h, 7d)");
    }
    return *d;
  }

  std::vector<std::string> StringList(const YAML::Node& n, const std::string& ctx,
                                      const std::string& field) {
    if (!n.IsSequence()) Fail(n, ctx, field + ": must be a list");
    std::vector<std::string> out;
    for (size_t i = 0; i < n.size(); ++i) {
      out.push_back(Scalar(n[i], ctx, field + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

  Labels StringMap(const YAML::Node& n, const std::string& ctx, const std::string& field,
                   bool label_names) {
    if (!n.IsMap()) Fail(n, ctx, field + ": must be a mapping");
    Labels out;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (label_names && !IsLabelName(key)) {
        Fail(it->first, ctx, field + ": invalid label name \"" + key + "\"");
      }
      if (out.count(key)) Fail(it->first, ctx, field + ": duplicate key \"" + key + "\"");
      out[key] = Scalar(it->second, ctx, field + "." + key);
    }
    return out;
  }

  TemplatedLabels Templates(const YAML::Node& n, const std::string& ctx, const std::string& field,
                            bool label_names) {
    Labels raw = StringMap(n, ctx, field, label_names);
    TemplatedLabels out;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (label_names && key == "alertname") {
        Fail(it->first, ctx, field + ": \"alertname\" is reserved");
      }
      auto t = Template::Parse(raw[key]);
      if (!t.ok()) Fail(it->second, ctx, field + "." + key + ": " + t.status().message());
      out.emplace_back(key, TemplatedString{raw[key], *t});
    }
    return out;
  }

  std::vector<std::string> Receivers(const YAML::Node& n, const std::string& ctx) {
    std::vector<std::string> out = StringList(n, ctx, "receivers");
    for (size_t i = 0; i < out.size(); ++i) {
      if (options_.check_receivers && !options_.receivers.count(out[i])) {
        const std::vector<std::string> known(options_.receivers.begin(), options_.receivers.end());
        Fail(
            n[i], ctx,
            "receivers: unknown receiver \"" + out[i] + "\"" +
                (known.empty() ? " (the config defines no receivers)" : DidYouMean(out[i], known)));
      }
    }
    return out;
  }

  std::vector<std::string> By(const YAML::Node& n, const std::string& ctx) {
    std::vector<std::string> by = StringList(n, ctx, "by");
    std::set<std::string> seen;
    for (size_t i = 0; i < by.size(); ++i) {
      if (!IsLabelName(by[i])) Fail(n[i], ctx, "by: invalid label name \"" + by[i] + "\"");
      if (!seen.insert(by[i]).second) Fail(n[i], ctx, "by: duplicate label \"" + by[i] + "\"");
    }
    return by;
  }

  RuleGroup LoadGroup(const YAML::Node& n, size_t index) {
    const std::string where = "groups[" + std::to_string(index) + "]: ";
    if (!n.IsMap()) Fail(n, where, "a group is a mapping with \"name\" and \"rules\"");
    last_line_ = Line(n);
    RuleGroup g;
    g.file = file_;
    g.line = Line(n);
    if (!n["name"]) Fail(n, where, "name: required");
    g.name = Scalar(n["name"], where, "name");
    if (g.name.empty()) Fail(n["name"], where, "name: must not be empty");
    const std::string ctx = "group \"" + g.name + "\": ";
    CheckKeys(n, {"name", "rules"}, ctx);
    const YAML::Node rules = n["rules"];
    if (!rules) Fail(n, ctx, "rules: required");
    if (!rules.IsSequence() && !rules.IsNull()) Fail(rules, ctx, "rules: must be a list");
    std::set<std::string> names;
    for (size_t i = 0; rules.IsSequence() && i < rules.size(); ++i) {
      AlertRule r = LoadRule(rules[i], ctx + "rules[" + std::to_string(i) + "]: ");
      if (!names.insert(r.name).second) {
        Fail(rules[i]["alert"], ctx,
             "rule \"" + r.name + "\": alert: duplicate alert name in the group");
      }
      g.rules.push_back(std::move(r));
    }
    return g;
  }

  AlertRule LoadRule(const YAML::Node& n, const std::string& where) {
    if (!n.IsMap()) Fail(n, where, "a rule is a mapping");
    last_line_ = Line(n);
    AlertRule r;
    r.file = file_;
    r.line = Line(n);
    if (n["record"]) Fail(n["record"], where, "record: recording rules are not supported");
    if (!n["alert"]) Fail(n, where, "alert: required");
    r.name = Scalar(n["alert"], where, "alert");
    if (r.name.empty()) Fail(n["alert"], where, "alert: must not be empty");
    const std::string ctx = "rule \"" + r.name + "\": ";
    CheckKeys(
        n,
        {"alert", "sli", "stat", "window", "by", "where", "match", "op", "threshold", "min_samples",
         "for", "keep_firing_for", "labels", "annotations", "receivers", "compare", "confidence"},
        ctx);

    if (!n["sli"]) Fail(n, ctx, "sli: required");
    const std::string sli = Scalar(n["sli"], ctx, "sli");
    auto parsed_sli = ParseSli(sli);
    if (!parsed_sli) {
      std::vector<std::string> valid;
      for (Sli s : AllSlis()) valid.push_back(SliName(s));
      Fail(n["sli"], ctx, "sli: unknown SLI \"" + sli + "\"" + DidYouMean(sli, valid));
    }
    r.query.sli = *parsed_sli;

    if (IsDistribution(r.query.sli)) {
      if (!n["stat"]) {
        Fail(n, ctx,
             "stat: required for the distribution SLI \"" + sli +
                 "\" (mean, p50, p90, p95, p99, max)");
      }
      const std::string stat = Scalar(n["stat"], ctx, "stat");
      auto s = ParseStat(stat);
      if (!s || *s == Stat::kNone) {
        std::vector<std::string> valid;
        for (Stat st : DistributionStats()) valid.push_back(StatName(st));
        Fail(n["stat"], ctx, "stat: unknown stat \"" + stat + "\"" + DidYouMean(stat, valid));
      }
      r.query.stat = *s;
    } else if (n["stat"]) {
      Fail(n["stat"], ctx, "stat: not allowed for \"" + sli + "\" (not a distribution)");
    }

    if (!n["window"]) Fail(n, ctx, "window: required");
    const std::string window = Scalar(n["window"], ctx, "window");
    std::string error;
    auto w = ParseWindow(window, &error);
    if (!w) {
      const std::string hint = SuggestDuration(window);
      // A word unit ("10 minutes") trips the count-window branch of the
      // parser; its message would mislead, so say what was meant instead.
      Fail(n["window"], ctx,
           hint.empty() ? "window: " + error
                        : "window: \"" + window + "\" is not a window (did you mean " + hint +
                              "? a window is a duration such as 5m, 1h, 7d, or \"N "
                              "investigations\")");
    }
    r.query.window = *w;

    if (n["by"]) r.query.by = By(n["by"], ctx);
    if (n["where"]) r.query.where = StringMap(n["where"], ctx, "where", true);

    if (r.query.sli == Sli::kFinishReasonRate) {
      if (!n["match"])
        Fail(n, ctx,
             "match: required for finish_reason_rate (the finish_reason to "
             "count)");
      r.query.match = Scalar(n["match"], ctx, "match");
      if (r.query.match.empty()) Fail(n["match"], ctx, "match: must not be empty");
    } else if (n["match"]) {
      Fail(n["match"], ctx, "match: only for finish_reason_rate");
    }

    if (const YAML::Node c = n["compare"]) {
      if (!c.IsMap())
        Fail(c, ctx,
             "compare: must be a mapping {offset, ratio_above | ratio_below} "
             "or {baseline: previous, label, ...}");
      if (n["threshold"])
        Fail(n["threshold"], ctx,
             "threshold: not used with compare (use "
             "compare.ratio_above/ratio_below)");
      if (n["op"])
        Fail(n["op"], ctx, "op: not used with compare (use compare.ratio_above/ratio_below)");
      if (n["confidence"])
        Fail(n["confidence"], ctx, "confidence: not used with compare (use compare.confidence)");
      r.compare = c["baseline"] ? BaselineCompare(c, ctx, r) : OffsetCompare(c, ctx);
      r.op = r.compare->ratio_below ? Op::kLt : Op::kGt;
      r.threshold =
          r.compare->ratio_below ? *r.compare->ratio_below : r.compare->ratio_above.value_or(0);
    } else {
      if (n["op"]) {
        const std::string op = Scalar(n["op"], ctx, "op");
        auto o = ParseOp(op);
        if (!o) Fail(n["op"], ctx, "op: unknown operator \"" + op + "\" (> >= < <=)");
        r.op = *o;
      }
      if (!n["threshold"]) Fail(n, ctx, "threshold: required (or use compare)");
      r.threshold = Number(n["threshold"], ctx, "threshold");
      if (n["confidence"]) {
        if (!IsRatioSli(r.query.sli))
          Fail(n["confidence"], ctx,
               "confidence: only for ratio SLIs (override_rate, "
               "review_coverage, finish_reason_rate), not \"" +
                   sli + "\"");
        r.confidence = Confidence(n["confidence"], ctx, "confidence");
      }
    }

    if (n["min_samples"]) r.min_samples = Integer(n["min_samples"], ctx, "min_samples", 1);
    if (n["for"]) r.for_duration = Duration(n["for"], ctx, "for");
    if (n["keep_firing_for"])
      r.keep_firing_for = Duration(n["keep_firing_for"], ctx, "keep_firing_for");
    if (n["labels"]) r.labels = Templates(n["labels"], ctx, "labels", true);
    if (n["annotations"]) r.annotations = Templates(n["annotations"], ctx, "annotations", false);
    if (n["receivers"]) r.receivers = Receivers(n["receivers"], ctx);
    if (r.compare && r.compare->baseline_previous) {
      const YAML::Node c = n["compare"];
      r.compare->min_samples = c["min_samples"]
                                   ? Integer(c["min_samples"], ctx, "compare.min_samples", 1)
                                   : r.min_samples;
    }
    return r;
  }

  // A one-sided confidence level, strictly between 0 and 1.
  double Confidence(const YAML::Node& n, const std::string& ctx, const std::string& field) {
    const double v = Number(n, ctx, field);
    if (!(v > 0 && v < 1)) Fail(n, ctx, field + ": must be between 0 and 1 (exclusive), e.g. 0.95");
    return v;
  }

  Compare OffsetCompare(const YAML::Node& c, const std::string& ctx) {
    CheckKeys(c, {"offset", "ratio_above", "ratio_below"}, ctx + "compare: ");
    Compare cmp;
    if (!c["offset"]) Fail(c, ctx, "compare.offset: required");
    cmp.offset = Duration(c["offset"], ctx, "compare.offset");
    if (cmp.offset.count() <= 0) Fail(c["offset"], ctx, "compare.offset: must be > 0");
    if (c["ratio_above"]) cmp.ratio_above = Number(c["ratio_above"], ctx, "compare.ratio_above");
    if (c["ratio_below"]) cmp.ratio_below = Number(c["ratio_below"], ctx, "compare.ratio_below");
    if (cmp.ratio_above.has_value() == cmp.ratio_below.has_value()) {
      Fail(c, ctx, "compare: needs exactly one of ratio_above or ratio_below");
    }
    if (cmp.ratio_above.value_or(1) <= 0 || cmp.ratio_below.value_or(1) <= 0) {
      Fail(c, ctx, "compare: the ratio must be > 0");
    }
    return cmp;
  }

  // compare: {baseline: previous, label, confidence | ratio_above, min_samples}
  Compare BaselineCompare(const YAML::Node& c, const std::string& ctx, const AlertRule& r) {
    CheckKeys(c, {"baseline", "label", "confidence", "ratio_above", "min_samples"},
              ctx + "compare: ");
    Compare cmp;
    cmp.baseline_previous = true;
    const std::string baseline = Scalar(c["baseline"], ctx, "compare.baseline");
    if (baseline != "previous")
      Fail(c["baseline"], ctx,
           "compare.baseline: unknown baseline \"" + baseline + "\" (previous)");
    if (!c["label"]) Fail(c, ctx, "compare.label: required with baseline: previous");
    cmp.label = Scalar(c["label"], ctx, "compare.label");
    if (cmp.label.empty() || cmp.label == "agent")
      Fail(c["label"], ctx, "compare.label: must name a span label other than agent");
    if (std::find(r.query.by.begin(), r.query.by.end(), "agent") == r.query.by.end())
      Fail(c, ctx, "compare: baseline: previous compares per agent (by must include agent)");
    if (std::find(r.query.by.begin(), r.query.by.end(), cmp.label) != r.query.by.end())
      Fail(c["label"], ctx, "compare.label: must not also be in by");
    const std::string sli = SliName(r.query.sli);
    if (IsRatioSli(r.query.sli)) {
      if (c["ratio_above"])
        Fail(c["ratio_above"], ctx,
             "compare.ratio_above: not for the ratio SLI \"" + sli +
                 "\" (it is tested with compare.confidence)");
      if (c["confidence"]) cmp.confidence = Confidence(c["confidence"], ctx, "compare.confidence");
    } else {
      if (c["confidence"])
        Fail(c["confidence"], ctx,
             "compare.confidence: only for ratio SLIs (override_rate, "
             "review_coverage, finish_reason_rate), not \"" +
                 sli + "\"");
      if (!c["ratio_above"])
        Fail(c, ctx, "compare.ratio_above: required for \"" + sli + "\" with baseline: previous");
      cmp.ratio_above = Number(c["ratio_above"], ctx, "compare.ratio_above");
      if (*cmp.ratio_above <= 0) Fail(c["ratio_above"], ctx, "compare.ratio_above: must be > 0");
    }
    return cmp;
  }

  Slo LoadSlo(const YAML::Node& n, size_t index) {
    const std::string where = "slos[" + std::to_string(index) + "]: ";
    if (!n.IsMap()) Fail(n, where, "an SLO is a mapping");
    last_line_ = Line(n);
    Slo s;
    s.file = file_;
    s.line = Line(n);
    if (!n["name"]) Fail(n, where, "name: required");
    s.name = Scalar(n["name"], where, "name");
    if (s.name.empty()) Fail(n["name"], where, "name: must not be empty");
    const std::string ctx = "slo \"" + s.name + "\": ";
    CheckKeys(n,
              {"name", "description", "sli", "objective", "period", "alerting", "where", "by",
               "min_samples", "labels", "annotations", "receivers"},
              ctx);
    if (n["description"]) Scalar(n["description"], ctx, "description");
    if (!n["sli"]) Fail(n, ctx, "sli: required");
    const std::string sli = Scalar(n["sli"], ctx, "sli");
    if (sli == "override_rate") {
      s.sli = Sli::kOverrideRate;
    } else if (sli == "review_coverage") {
      s.sli = Sli::kReviewCoverage;
    } else {
      Fail(n["sli"], ctx,
           "sli: \"" + sli + "\" is not supported for SLOs" +
               DidYouMean(sli, {"override_rate", "review_coverage"}));
    }
    if (!n["objective"]) Fail(n, ctx, "objective: required");
    s.objective = Number(n["objective"], ctx, "objective");
    if (!(s.objective > 0 && s.objective < 1)) {
      Fail(n["objective"], ctx, "objective: must be between 0 and 1 (exclusive), e.g. 0.95");
    }
    if (n["period"]) {
      s.period = Duration(n["period"], ctx, "period");
      s.period_name = n["period"].Scalar();
      if (s.period < BurnRateTiers().back().long_window) {
        Fail(n["period"], ctx, "period: must be at least 3d (the longest burn-rate window)");
      }
    }
    if (n["alerting"]) {
      const std::string a = Scalar(n["alerting"], ctx, "alerting");
      if (a == "multiwindow")
        s.multiwindow = true;
      else if (a == "none")
        s.multiwindow = false;
      else
        Fail(n["alerting"], ctx, "alerting: unknown mode \"" + a + "\" (multiwindow, none)");
    }
    if (n["where"]) s.where = StringMap(n["where"], ctx, "where", true);
    if (n["by"]) s.by = By(n["by"], ctx);
    if (n["min_samples"]) s.min_samples = Integer(n["min_samples"], ctx, "min_samples", 1);
    if (n["labels"]) {
      s.labels = Templates(n["labels"], ctx, "labels", true);
      for (const auto& [k, v] : s.labels) {
        if (k == "slo" || k == "severity" || k == "long_window") {
          Fail(n["labels"], ctx, "labels: \"" + k + "\" is set by the SLO alerts");
        }
      }
    }
    if (n["annotations"]) s.annotations = Templates(n["annotations"], ctx, "annotations", false);
    if (n["receivers"]) s.receivers = Receivers(n["receivers"], ctx);
    return s;
  }

  std::string file_;
  const LoadOptions& options_;
  int last_line_ = 1;
};

// Names used by more than one thing that produce alerts of the same name.
Status CheckCrossFile(const RuleSet& set) {
  // Budget names are alert names too: unique across files, rules and SLOs.
  std::map<std::string, std::string> budget_where;
  for (const Budget& b : set.budgets) {
    const std::string here = b.file + ":" + std::to_string(b.line);
    auto [it, inserted] = budget_where.emplace(b.name, here);
    if (!inserted)
      return Status::InvalidArgument(here + ": budget \"" + b.name +
                                     "\": name: already defined at " + it->second);
  }
  for (const RuleGroup& g : set.groups) {
    for (const AlertRule& r : g.rules) {
      if (auto it = budget_where.find(r.name); it != budget_where.end())
        return Status::InvalidArgument(r.file + ":" + std::to_string(r.line) + ": rule \"" +
                                       r.name + "\": alert: name already used by the budget at " +
                                       it->second);
    }
    for (const Slo& s : g.slos) {
      if (auto it = budget_where.find(s.name); it != budget_where.end())
        return Status::InvalidArgument(s.file + ":" + std::to_string(s.line) + ": slo \"" + s.name +
                                       "\": name: already used by the budget at " + it->second);
    }
  }
  std::map<std::string, std::string> slo_where;
  std::map<std::string, std::string> group_where;
  for (const RuleGroup& g : set.groups) {
    for (const Slo& s : g.slos) {
      const std::string here = s.file + ":" + std::to_string(s.line);
      auto [it, inserted] = slo_where.emplace(s.name, here);
      if (!inserted) {
        return Status::InvalidArgument(here + ": slo \"" + s.name +
                                       "\": name: already defined at " + it->second);
      }
    }
  }
  for (const RuleGroup& g : set.groups) {
    for (const AlertRule& r : g.rules) {
      auto it = slo_where.find(r.name);
      if (it != slo_where.end()) {
        return Status::InvalidArgument(r.file + ":" + std::to_string(r.line) + ": rule \"" +
                                       r.name + "\": alert: name already used by the SLO at " +
                                       it->second);
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<RuleSet> LoadRuleText(const std::string& text, const std::string& file,
                             const LoadOptions& options) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) +
                                   ": invalid YAML: " + e.msg);
  }
  try {
    FileLoader loader(file, options);
    RuleSet set = loader.Load(root);
    Status st = CheckCrossFile(set);
    if (!st.ok()) return st;
    return set;
  } catch (const LoadError& e) {
    return Status::InvalidArgument(e.message);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Result<RuleSet> LoadRuleFiles(const std::vector<std::string>& paths, const LoadOptions& options) {
  RuleSet all;
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return Status::InvalidArgument(path + ": cannot read rule file: " + std::strerror(errno));
    }
    std::stringstream buf;
    buf << in.rdbuf();
    auto one = LoadRuleText(buf.str(), path, options);
    if (!one.ok()) return one.status();
    for (RuleGroup& g : one->groups) all.groups.push_back(std::move(g));
    for (Budget& b : one->budgets) all.budgets.push_back(std::move(b));
    all.files.push_back(path);
  }
  Status st = CheckCrossFile(all);
  if (!st.ok()) return st;
  return all;
}

Result<std::vector<std::string>> ExpandRuleGlobs(const std::vector<std::string>& globs,
                                                 const std::string& base_dir) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& pattern : globs) {
    std::string full = pattern;
    if (!full.empty() && full[0] != '/' && !base_dir.empty()) {
      full = base_dir + "/" + full;
    }
    glob_t g{};
    const int rc = ::glob(full.c_str(), 0, nullptr, &g);
    if (rc == GLOB_NOMATCH) {
      globfree(&g);
      if (full.find_first_of("*?[") == std::string::npos) {
        return Status::InvalidArgument(pattern + ": no such rule file");
      }
      continue;
    }
    if (rc != 0) {
      globfree(&g);
      return Status::InvalidArgument(pattern + ": cannot expand rule file pattern");
    }
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      std::string p = g.gl_pathv[i];
      if (seen.insert(p).second) out.push_back(p);
    }
    globfree(&g);
  }
  return out;
}

std::vector<std::string> UnmatchedRuleGlobs(const std::vector<std::string>& globs,
                                            const std::string& base_dir) {
  std::vector<std::string> out;
  for (const std::string& pattern : globs) {
    std::string full = pattern;
    if (!full.empty() && full[0] != '/' && !base_dir.empty()) full = base_dir + "/" + full;
    glob_t g{};
    if (::glob(full.c_str(), 0, nullptr, &g) == GLOB_NOMATCH) out.push_back(pattern);
    globfree(&g);
  }
  return out;
}

}  // namespace aw::rules
