#include "bench/loadgen/traffic.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace aw::bench {

namespace {

constexpr const char* kNamedAgents[] = {"incident-response", "cost-bot",      "release-validator",
                                        "oncall-triage",     "db-doctor",     "k8s-fixer",
                                        "capacity-planner",  "log-summarizer"};
constexpr const char* kTeams[] = {"sre", "platform", "data", "payments"};
constexpr const char* kActors[] = {"alice", "bob", "carol", "dave", "erin", "frank"};
constexpr const char* kOverrideReasons[] = {
    "root cause was the DNS change", "wrong service blamed", "missed the config push",
    "the rollback was not the fix", "alert was a false positive"};

struct Price {
  double input, output, cache_read, cache_write;
};
constexpr Price kSonnet{3.00, 15.00, 0.30, 3.75};
constexpr Price kOpus{15.00, 75.00, 1.50, 18.75};

void Key(const char* key, std::string* out) {
  out->push_back('"');
  out->append(key);
  out->append("\":");
}
void Str(const char* key, std::string_view v, std::string* out) {
  Key(key, out);
  out->push_back('"');
  out->append(v);  // every value written here is plain ASCII without quotes
  out->append("\",");
}
void Int(const char* key, int64_t v, std::string* out) {
  Key(key, out);
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
  out->push_back(',');
}
void Num(const char* key, double v, int decimals, std::string* out) {
  Key(key, out);
  char buf[48];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  out->append(buf, r.ptr);
  out->push_back(',');
}
void Time(const char* key, TimeMs t, std::string* out) {
  Key(key, out);
  out->push_back('"');
  AppendRfc3339(t, out);
  out->append("\",");
}
void Close(std::string* out) {
  if (!out->empty() && out->back() == ',') out->pop_back();
  out->push_back('}');
}
void FixedDigits(int64_t v, int width, std::string* out) {
  char buf[24];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out->append(buf, static_cast<size_t>(width));
}

}  // namespace

std::optional<Scenario> ParseScenario(std::string_view name) {
  if (name == "steady") return Scenario::kSteady;
  if (name == "loop") return Scenario::kLoop;
  if (name == "drift") return Scenario::kDrift;
  if (name == "override-spike") return Scenario::kOverrideSpike;
  return std::nullopt;
}

const char* ScenarioName(Scenario s) {
  switch (s) {
    case Scenario::kSteady:
      return "steady";
    case Scenario::kLoop:
      return "loop";
    case Scenario::kDrift:
      return "drift";
    case Scenario::kOverrideSpike:
      return "override-spike";
  }
  return "steady";
}

void AppendRfc3339(TimeMs t, std::string* out) {
  // Civil-from-days (Howard Hinnant), so no gmtime_r and no locale.
  int64_t secs = t / 1000;
  int ms = static_cast<int>(t % 1000);
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[32];
  const int n = std::snprintf(
      buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03dZ", static_cast<long long>(y),
      static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(rem / 3600),
      static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60), ms);
  out->append(buf, static_cast<size_t>(n));
}

Traffic::Traffic(TrafficOptions options) : options_(std::move(options)), rng_(options_.seed) {
  const int n = std::max(1, options_.agents);
  agents_.reserve(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) {
    Agent a;
    if (k < static_cast<int>(std::size(kNamedAgents))) {
      a.name = kNamedAgents[k];
    } else {
      char buf[32];
      std::snprintf(buf, sizeof buf, "agent-%04d", k);
      a.name = buf;
    }
    a.model = k % 4 == 3 ? "claude-opus-4-1" : "claude-sonnet-4-6";
    a.team = kTeams[k % std::size(kTeams)];
    a.tool_median = 5.0 + (k % 5) * 1.5;  // 5 .. 11
    a.tool_sigma = 0.45 + (k % 3) * 0.1;
    a.confidence_mean = 1.2 + (k % 4) * 0.2;
    agents_.push_back(std::move(a));
  }
}

double Traffic::Lognormal(double median, double sigma) {
  return std::lognormal_distribution<double>(std::log(median), sigma)(rng_);
}

void Traffic::NextInvestigation(double progress, TimeMs ts_ms, TimeMs latest_ms, std::string* out) {
  const int64_t id = next_id_++;
  const size_t agent_index = std::uniform_int_distribution<size_t>(0, agents_.size() - 1)(rng_);
  const Agent& agent = agents_[agent_index];
  const bool target = agent_index == 0;  // the agent a scenario bends
  const Scenario sc = options_.scenario;

  double tool_median = agent.tool_median;
  double token_scale = 1.0;
  bool looping = false;
  if (sc == Scenario::kLoop && target && progress >= 0.25) {
    looping = true;
    tool_median *= 8;  // ~40-90 tool calls: the agent retries the same tool
  }
  if (sc == Scenario::kDrift) {
    tool_median *= 1.0 + progress;  // up to 2x by the end of the run
    token_scale = 1.0 + progress;
  }

  const int64_t tool_calls =
      std::max<int64_t>(0, std::llround(Lognormal(tool_median, agent.tool_sigma)));
  const int64_t llm_calls =
      1 + std::llround(static_cast<double>(tool_calls) * (0.6 + 0.3 * Uniform()));
  const int64_t input_tokens =
      std::llround(Lognormal(2500.0 * static_cast<double>(llm_calls) * token_scale, 0.35));
  const int64_t output_tokens =
      std::llround(Lognormal(250.0 * static_cast<double>(llm_calls) * token_scale, 0.4));
  const int64_t cache_read =
      std::llround(static_cast<double>(input_tokens) * (0.3 + 0.4 * Uniform()));
  const int64_t cache_write = Uniform() < 0.5 ? 0 : std::llround(Lognormal(2000, 0.5));
  const int64_t duration_ms = std::llround(Lognormal(4000.0 * static_cast<double>(llm_calls), 0.3));
  const Price& price = agent.model == "claude-opus-4-1" ? kOpus : kSonnet;
  // The daemon's pricing formula (aw::PriceSpan), so reported and derived
  // costs agree.
  const double cost = (static_cast<double>(input_tokens) * price.input +
                       static_cast<double>(output_tokens) * price.output +
                       static_cast<double>(cache_read) * price.cache_read +
                       static_cast<double>(cache_write) * price.cache_write) /
                      1e6;

  const char* finish = "end_turn";
  const double f = Uniform();
  if (looping && f < 0.4) {
    finish = "max_turns";
  } else if (f < 0.03) {
    finish = "max_tokens";
  } else if (f < 0.05) {
    finish = "tool_use";
  } else if (f < 0.07) {
    finish = "error";
  }
  const double logit =
      std::normal_distribution<double>(agent.confidence_mean, 0.9)(rng_) - (looping ? 1.0 : 0.0);
  // Three decimals, as sent, so verdict odds use the value the daemon sees.
  const double confidence = std::round(1000.0 / (1.0 + std::exp(-logit))) / 1000.0;

  std::string inv_id = options_.id_prefix;
  inv_id.push_back('-');
  FixedDigits(id, kIdDigits, &inv_id);

  out->push_back('{');
  Key("investigation_id", out);
  out->push_back('"');
  last_id_offset_ = out->size() + options_.id_prefix.size() + 1;
  out->append(inv_id);
  out->append("\",");
  Str("agent", agent.name, out);
  Time("ts", ts_ms, out);
  Str("model", agent.model, out);
  Str("response_model", agent.model + "-20261001", out);
  Str("provider", "anthropic", out);
  Int("input_tokens", input_tokens, out);
  Int("output_tokens", output_tokens, out);
  Int("cache_read_tokens", cache_read, out);
  Int("cache_creation_tokens", cache_write, out);
  Int("llm_calls", llm_calls, out);
  Int("tool_calls", tool_calls, out);
  // Most agents report their own cost; the rest are priced by the daemon.
  if (Uniform() < 0.7) Num("estimated_cost_usd", cost, 5, out);
  Int("duration_ms", duration_ms, out);
  Str("finish_reason", finish, out);
  Num("confidence", confidence, 3, out);
  std::string incident;
  if (Uniform() < options_.incident_share) {
    incident = "INC-" + inv_id;
    Str("incident_id", incident, out);
  }
  Key("labels", out);
  out->append("{\"team\":\"");
  out->append(agent.team);
  out->append("\",\"env\":\"");
  out->append(agent_index % 10 == 9 ? "staging" : "prod");
  out->append("\"}");
  out->push_back('}');

  if (!options_.follow_ups) return;

  // A verdict some minutes later (event time), more often an override when
  // the agent was unsure.
  if (Uniform() < options_.review_share) {
    double p_override = 0.01 + 0.12 * (1.0 - confidence) * (1.0 - confidence);
    if (sc == Scenario::kOverrideSpike && target && progress >= 0.3) p_override = 0.35;
    if (looping) p_override = std::max(p_override, 0.15);
    const bool override_verdict = Uniform() < p_override;
    const TimeMs delay = std::llround(Lognormal(180'000, 0.8));
    FollowUp fb;
    fb.ts_ms = std::min(ts_ms + delay, latest_ms);
    fb.ts_ms = std::max(fb.ts_ms, ts_ms);
    std::string& j = fb.json;
    j.push_back('{');
    Str("investigation_id", inv_id, &j);
    Str("verdict", override_verdict ? "override" : "confirm", &j);
    Time("ts", fb.ts_ms, &j);
    Str("actor", kActors[static_cast<size_t>(id) % std::size(kActors)], &j);
    if (override_verdict) {
      Str("reason", kOverrideReasons[static_cast<size_t>(id) % std::size(kOverrideReasons)], &j);
    }
    Str("agent", agent.name, &j);
    Close(&j);
    feedback_.push_back(std::move(fb));
  }
  // The incident resolves later; less confident diagnoses take longer.
  if (!incident.empty()) {
    const TimeMs ttr = std::llround(Lognormal(1'200'000 * (1.6 - confidence), 0.6));
    FollowUp r;
    r.ts_ms = std::max(std::min(ts_ms + ttr, latest_ms), ts_ms);
    std::string& j = r.json;
    j.push_back('{');
    Str("incident_id", incident, &j);
    Time("resolved_at", r.ts_ms, &j);
    Close(&j);
    resolutions_.push_back(std::move(r));
  }
}

}  // namespace aw::bench
