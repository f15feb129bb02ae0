#include "tools/rule_test_runner.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "daemon/common/time_util.h"
#include "daemon/ingest/parser.h"
#include "rules/evaluation.h"
#include "rules/rule_engine.h"
#include "rules/rule_loader.h"
#include "rules/template.h"
#include "tools/event_yaml.h"
#include "windows/window_engine.h"

namespace aw::tools {

using namespace aw::rules;  // NOLINT: the tools drive the rules part

namespace {

constexpr TimeMs kDefaultStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

struct TestError {
  std::string message;
};

struct Event {
  TimeMs at = 0;  // relative
  int line = 0;
  enum class Kind { kSpan, kFeedback, kResolution } kind = Kind::kSpan;
  std::string record;  // JSON text
};

struct Expectation {
  TimeMs at = 0;
  int line = 0;
  std::string alert;
  Labels labels;
  std::string state;  // firing | pending | inactive
};

struct TestCase {
  std::string name;
  TimeMs start = kDefaultStart;
  Millis interval{60'000};
  std::vector<Event> events;
  std::vector<Expectation> expect;
};

class TestFile {
 public:
  explicit TestFile(std::string file) : file_(std::move(file)) {}

  int Run(std::ostream& out) {
    try {
      return RunOrThrow(out);
    } catch (const TestError& e) {
      out << e.message << "\n" << file_ << ": FAIL\n";
      return 1;
    } catch (const YAML::Exception& e) {
      out << file_ << ":" << e.mark.line + 1 << ": " << e.msg << "\n" << file_ << ": FAIL\n";
      return 1;
    }
  }

 private:
  [[noreturn]] void Fail(const YAML::Node& at, const std::string& msg) {
    const int line = at && at.Mark().line >= 0 ? at.Mark().line + 1 : 1;
    throw TestError{file_ + ":" + std::to_string(line) + ": " + msg};
  }

  void CheckKeys(const YAML::Node& n, std::initializer_list<const char*> allowed,
                 const std::string& ctx) {
    if (!n.IsMap()) Fail(n, ctx + ": must be a mapping");
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        Fail(it->first, ctx + ": unknown field \"" + key + "\"");
      }
    }
  }

  Millis Duration(const YAML::Node& n, const std::string& field) {
    if (!n.IsScalar()) Fail(n, field + ": must be a duration");
    auto d = ParseDuration(n.Scalar());
    if (!d) Fail(n, field + ": bad duration \"" + n.Scalar() + "\"");
    return *d;
  }

  static std::string Dir(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
  }

  int RunOrThrow(std::ostream& out) {
    std::ifstream in(file_, std::ios::binary);
    if (!in) throw TestError{file_ + ": cannot read test file"};
    std::stringstream buf;
    buf << in.rdbuf();
    const YAML::Node root = YAML::Load(buf.str());
    CheckKeys(root, {"rule_files", "evaluation_interval", "tests"}, "test file");
    if (!root["rule_files"] || !root["rule_files"].IsSequence()) {
      Fail(root, "rule_files: required (a list of rule files)");
    }
    std::vector<std::string> globs;
    for (const auto& g : root["rule_files"]) globs.push_back(g.Scalar());
    auto files = ExpandRuleGlobs(globs, Dir(file_));
    if (!files.ok()) Fail(root["rule_files"], "rule_files: " + files.status().message());
    if (files->empty()) Fail(root["rule_files"], "rule_files: no rule file matched");
    LoadOptions opts;
    opts.check_receivers = false;
    auto rules = LoadRuleFiles(*files, opts);
    if (!rules.ok()) throw TestError{rules.status().message()};
    Millis interval(60'000);
    if (root["evaluation_interval"]) {
      interval = Duration(root["evaluation_interval"], "evaluation_interval");
      if (interval.count() <= 0)
        Fail(root["evaluation_interval"], "evaluation_interval: must be > 0");
    }
    std::set<std::string> names;
    for (const Alerting& a : AlertingOf(*rules)) names.insert(a.name());
    for (const Budget& b : rules->budgets) names.insert(b.name);
    const YAML::Node tests = root["tests"];
    if (!tests || !tests.IsSequence()) Fail(root, "tests: required (a list)");
    std::vector<TestCase> cases;
    for (size_t i = 0; i < tests.size(); ++i) {
      cases.push_back(ParseCase(tests[i], i, interval, names));
    }
    int failed = 0, total = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
      failed += RunCase(cases[i], i, *rules, out, &total);
    }
    if (failed) {
      out << file_ << ": FAIL (" << failed << " of " << total << " expectations failed)\n";
      return 1;
    }
    out << file_ << ": PASS (" << cases.size() << " tests, " << total << " expectations)\n";
    return 0;
  }

  TestCase ParseCase(const YAML::Node& n, size_t index, Millis interval,
                     const std::set<std::string>& names) {
    const std::string ctx = "tests[" + std::to_string(index) + "]";
    CheckKeys(n, {"name", "start", "interval", "events", "expect"}, ctx);
    TestCase c;
    c.interval = interval;
    if (n["name"]) c.name = n["name"].Scalar();
    if (n["interval"]) {
      c.interval = Duration(n["interval"], ctx + ".interval");
      if (c.interval.count() <= 0) Fail(n["interval"], ctx + ".interval: must be > 0");
    }
    if (n["start"]) {
      auto t = internal::JsonTime(internal::YamlToJson(n["start"]));
      if (!t) Fail(n["start"], ctx + ".start: expected RFC 3339 or Unix seconds");
      c.start = *t;
    }
    if (const YAML::Node events = n["events"]) {
      if (!events.IsSequence()) Fail(events, ctx + ".events: must be a list");
      for (size_t i = 0; i < events.size(); ++i) {
        const YAML::Node e = events[i];
        const std::string ectx = ctx + ".events[" + std::to_string(i) + "]";
        CheckKeys(e, {"at", "span", "feedback", "resolution"}, ectx);
        Event ev;
        ev.line = e.Mark().line + 1;
        if (!e["at"]) Fail(e, ectx + ".at: required");
        ev.at = Duration(e["at"], ectx + ".at").count();
        const int kinds = (e["span"] ? 1 : 0) + (e["feedback"] ? 1 : 0) + (e["resolution"] ? 1 : 0);
        if (kinds != 1) Fail(e, ectx + ": needs exactly one of span, feedback, resolution");
        const char* key = e["span"] ? "span" : e["feedback"] ? "feedback" : "resolution";
        ev.kind = e["span"]       ? Event::Kind::kSpan
                  : e["feedback"] ? Event::Kind::kFeedback
                                  : Event::Kind::kResolution;
        if (!e[key].IsMap()) Fail(e[key], ectx + "." + key + ": must be a mapping");
        ev.record = internal::YamlToJson(e[key]);
        // Validate now, so a bad record is reported with its line.
        const auto opts = internal::ReplayParseOptions(c.start + ev.at);
        Status st;
        if (ev.kind == Event::Kind::kSpan) st = ingest::SpanFromJson(ev.record, opts).status();
        if (ev.kind == Event::Kind::kFeedback)
          st = ingest::FeedbackFromJson(ev.record, opts).status();
        if (ev.kind == Event::Kind::kResolution)
          st = ingest::ResolutionFromJson(ev.record, opts).status();
        if (!st.ok()) Fail(e[key], ectx + "." + key + ": " + st.message());
        c.events.push_back(std::move(ev));
      }
    }
    const YAML::Node expect = n["expect"];
    if (!expect || !expect.IsSequence()) Fail(n, ctx + ".expect: required (a list)");
    for (size_t i = 0; i < expect.size(); ++i) {
      const YAML::Node x = expect[i];
      const std::string xctx = ctx + ".expect[" + std::to_string(i) + "]";
      CheckKeys(x, {"at", "alert", "labels", "state"}, xctx);
      Expectation ex;
      ex.line = x.Mark().line + 1;
      if (!x["at"]) Fail(x, xctx + ".at: required");
      ex.at = Duration(x["at"], xctx + ".at").count();
      if (!x["alert"]) Fail(x, xctx + ".alert: required");
      ex.alert = x["alert"].Scalar();
      if (!names.count(ex.alert)) {
        Fail(x["alert"], xctx + ".alert: \"" + ex.alert + "\" is not defined in the rule files");
      }
      if (const YAML::Node l = x["labels"]) {
        if (!l.IsMap()) Fail(l, xctx + ".labels: must be a mapping");
        for (auto it = l.begin(); it != l.end(); ++it) {
          ex.labels[it->first.Scalar()] = it->second.Scalar();
        }
      }
      if (!x["state"]) Fail(x, xctx + ".state: required (firing, pending or inactive)");
      ex.state = x["state"].Scalar();
      if (ex.state != "firing" && ex.state != "pending" && ex.state != "inactive") {
        Fail(x["state"], xctx + ".state: must be firing, pending or inactive");
      }
      c.expect.push_back(std::move(ex));
    }
    std::stable_sort(c.events.begin(), c.events.end(),
                     [](const Event& a, const Event& b) { return a.at < b.at; });
    std::stable_sort(c.expect.begin(), c.expect.end(),
                     [](const Expectation& a, const Expectation& b) { return a.at < b.at; });
    return c;
  }

  // Returns the number of failed expectations.
  int RunCase(const TestCase& c, size_t index, const RuleSet& rules, std::ostream& out,
              int* total) {
    windows::WindowEngine windows(Pricing{});
    Settings settings;
    RuleEngine engine(rules, settings);
    std::set<TimeMs> points;
    TimeMs last = 0;
    for (const Event& e : c.events) last = std::max(last, e.at);
    for (const Expectation& x : c.expect) last = std::max(last, x.at);
    for (TimeMs t = 0; t <= last; t += c.interval.count()) points.insert(t);
    for (const Event& e : c.events) points.insert(e.at);
    for (const Expectation& x : c.expect) points.insert(x.at);

    const std::string label =
        "test " + std::to_string(index + 1) + (c.name.empty() ? "" : " (" + c.name + ")");
    int failed = 0;
    int64_t seq = 0;
    size_t next_event = 0, next_expect = 0;
    for (TimeMs p : points) {
      while (next_event < c.events.size() && c.events[next_event].at == p) {
        const Event& e = c.events[next_event++];
        const auto opts = internal::ReplayParseOptions(c.start + p);
        if (e.kind == Event::Kind::kSpan) {
          auto span = ingest::SpanFromJson(e.record, opts);
          if (span.ok()) windows.ApplySpan(*span, ++seq);
        } else if (e.kind == Event::Kind::kFeedback) {
          auto f = ingest::FeedbackFromJson(e.record, opts);
          if (f.ok()) windows.ApplyFeedback(*f, ++seq);
        } else {
          auto r = ingest::ResolutionFromJson(e.record, opts);
          if (r.ok()) windows.ApplyResolution(*r, ++seq);
        }
      }
      (void)engine.Evaluate(windows, c.start + p);
      while (next_expect < c.expect.size() && c.expect[next_expect].at == p) {
        const Expectation& x = c.expect[next_expect++];
        ++*total;
        std::string got = Check(x, engine.Alerts());
        if (got.empty()) continue;
        ++failed;
        out << file_ << ":" << x.line << ": " << label << ": at " << FormatDuration(Millis(x.at))
            << ": " << x.alert << " " << FormatLabels(x.labels) << ": expected " << x.state
            << ", got " << got << "\n";
      }
    }
    return failed;
  }

  // "" when the expectation holds; else what happened instead.
  static std::string Check(const Expectation& x, const std::vector<StoredAlert>& alerts) {
    std::vector<const StoredAlert*> same_name, matching;
    for (const StoredAlert& a : alerts) {
      if (a.rule != x.alert) continue;
      same_name.push_back(&a);
      bool ok = true;
      for (const auto& [k, v] : x.labels) {
        auto it = a.labels.find(k);
        ok = ok && it != a.labels.end() && it->second == v;
      }
      if (ok) matching.push_back(&a);
    }
    bool holds = false;
    if (x.state == "inactive") {
      holds = matching.empty();
    } else {
      for (const StoredAlert* a : matching) holds = holds || AlertStateName(a->state) == x.state;
    }
    if (holds) return "";
    auto describe = [](const StoredAlert& a) {
      Labels labels = a.labels;
      labels.erase("alertname");
      return std::string(AlertStateName(a.state)) + " " + FormatLabels(labels) +
             " value=" + FormatValue(a.value);
    };
    std::string got;
    if (!matching.empty()) {
      for (const StoredAlert* a : matching) got += (got.empty() ? "" : "; ") + describe(*a);
      return got;
    }
    got = "inactive";
    if (!same_name.empty()) {
      got += " (other alerts of that name: ";
      for (size_t i = 0; i < same_name.size(); ++i) {
        got += (i ? "; " : "") + describe(*same_name[i]);
      }
      got += ")";
    }
    return got;
  }

  std::string file_;
};

}  // namespace

int RunRuleTests(const std::vector<std::string>& files, std::ostream& out) {
  int rc = 0;
  for (const std::string& f : files) {
    if (TestFile(f).Run(out) != 0) rc = 1;
  }
  return rc;
}

}  // namespace aw::tools
