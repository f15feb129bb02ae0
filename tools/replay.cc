#include "tools/replay.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"
#include "daemon/ingest/parser.h"
#include "rules/evaluation.h"
#include "rules/rule_engine.h"
#include "rules/template.h"
#include "tools/event_yaml.h"
#include "windows/window_engine.h"

namespace aw::tools {

using namespace aw::rules;  // NOLINT: the tools drive the rules part

namespace {

struct Record {
  TimeMs time = 0;
  int line = 0;
  std::optional<Span> span;
  std::optional<Feedback> feedback;
  std::optional<Resolution> resolution;
};

// How long after the last event an alert may still change state.
Millis Tail(const RuleSet& rules) {
  Millis tail(0);
  for (const Alerting& a : AlertingOf(rules)) {
    if (a.slo != nullptr) {
      tail = std::max(tail, BurnRateTiers().back().long_window);
      continue;
    }
    const AlertRule& r = *a.rule;
    Millis t = r.for_duration + r.keep_firing_for;
    if (r.query.window.kind == WindowSpec::Kind::kTime) t += r.query.window.duration;
    tail = std::max(tail, t);
  }
  return tail;
}

void Print(const StepResult::Change& c, bool json, std::ostream& out) {
  const char* state = c.kind == Transition::kFiring ? "firing" : "resolved";
  Labels labels = c.event.labels;
  labels.erase("alertname");
  if (json) {
    nlohmann::json j = {{"time", FormatRfc3339(c.at)},
                        {"state", state},
                        {"alert", c.event.name},
                        {"labels", labels}};
    if (std::isfinite(c.event.value))
      j["value"] = c.event.value;
    else
      j["value"] = FormatValue(c.event.value);
    out << j.dump() << "\n";
    return;
  }
  std::string padded = state;
  padded.resize(8, ' ');
  out << FormatRfc3339(c.at) << " " << padded << " " << c.event.name << " " << FormatLabels(labels);
  if (c.kind == Transition::kFiring) out << " value=" << FormatValue(c.event.value);
  out << "\n";
}

}  // namespace

int Replay(const RuleSet& rules, const Pricing& pricing, const std::string& events_path, bool json,
           Millis evaluation_interval, std::ostream& out, std::ostream& err) {
  std::ifstream in(events_path, std::ios::binary);
  if (!in) {
    err << events_path << ": cannot read events file\n";
    return 1;
  }
  if (evaluation_interval.count() <= 0) evaluation_interval = Millis(15'000);
  std::vector<Record> records;
  std::string text;
  int line_no = 0;
  while (std::getline(in, text)) {
    ++line_no;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto fail = [&](const std::string& m) {
      err << events_path << ":" << line_no << ": " << m << "\n";
      return 1;
    };
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return fail("malformed JSON");
    if (!j.is_object() || j.size() != 1) {
      return fail(
          "expected one of {\"span\": {...}}, {\"feedback\": {...}}, "
          "{\"resolution\": {...}}");
    }
    const std::string kind = j.begin().key();
    const nlohmann::json& body = j.begin().value();
    if (kind != "span" && kind != "feedback" && kind != "resolution") {
      return fail("unknown record \"" + kind + "\" (span, feedback, resolution)");
    }
    if (!body.is_object()) return fail(kind + ": must be an object");
    const char* time_key = kind == "resolution" ? "resolved_at" : "ts";
    auto t = body.contains(time_key) ? internal::JsonTime(body[time_key].dump()) : std::nullopt;
    if (!t) {
      return fail(kind + "." + time_key + ": required in replay (RFC 3339 or Unix seconds)");
    }
    Record r;
    r.time = *t;
    r.line = line_no;
    const auto opts = internal::ReplayParseOptions(*t);
    if (kind == "span") {
      auto s = ingest::SpanFromJson(body.dump(), opts);
      if (!s.ok()) return fail("span: " + s.status().message());
      r.span = *s;
    } else if (kind == "feedback") {
      auto f = ingest::FeedbackFromJson(body.dump(), opts);
      if (!f.ok()) return fail("feedback: " + f.status().message());
      r.feedback = *f;
    } else {
      auto s = ingest::ResolutionFromJson(body.dump(), opts);
      if (!s.ok()) return fail("resolution: " + s.status().message());
      r.resolution = *s;
    }
    records.push_back(std::move(r));
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const Record& a, const Record& b) { return a.time < b.time; });
  if (records.empty()) return 0;

  windows::WindowEngine windows(pricing);
  Settings settings;
  settings.repeat_interval = Millis(0);
  RuleEngine engine(rules, settings);
  auto evaluate = [&](TimeMs now) {
    for (const auto& c : engine.Evaluate(windows, now).transitions) {
      if (c.kind == Transition::kFiring || c.kind == Transition::kResolved) Print(c, json, out);
    }
  };
  const int64_t step = evaluation_interval.count();
  TimeMs tick = records.front().time;
  int64_t seq = 0;
  for (size_t i = 0; i < records.size();) {
    const TimeMs t = records[i].time;
    for (; tick < t; tick += step) evaluate(tick);
    for (; i < records.size() && records[i].time == t; ++i) {
      const Record& r = records[i];
      if (r.span) windows.ApplySpan(*r.span, ++seq);
      if (r.feedback) windows.ApplyFeedback(*r.feedback, ++seq);
      if (r.resolution) windows.ApplyResolution(*r.resolution, ++seq);
    }
    evaluate(t);
    if (tick == t) tick += step;
  }
  const TimeMs end = records.back().time + Tail(rules).count() + step;
  for (; tick <= end; tick += step) evaluate(tick);
  return 0;
}

}  // namespace aw::tools
