// Over 500 lines on purpose: one command-line tool, its options, emit mode
// and send mode in one file (the traffic model is in traffic.cc).
//
// agentwatch-loadgen: replays synthetic LLM-agent traffic against a running
// agentwatch (POST /v1/spans, /v1/feedback, /v1/resolutions), or writes it
// as NDJSON for `agentwatch replay`. Reports achieved req/s and records/s,
// exact client-side latency quantiles and non-2xx counts.
//
//   agentwatch-loadgen --url http://127.0.0.1:9464 --scenario loop
//       --rate 2000 --duration 10s --agents 8 --batch 1 --connections 8
//   agentwatch-loadgen --emit-ndjson events.ndjson --count 10000 --scenario drift

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench/loadgen/traffic.h"

namespace {

using aw::bench::FollowUp;
using aw::bench::Scenario;
using aw::bench::TimeMs;
using aw::bench::Traffic;
using aw::bench::TrafficOptions;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage: agentwatch-loadgen [options]
  --url URL            daemon base URL (default http://127.0.0.1:9464)
  --rate N             offered records/s; 0 = as fast as possible (default 0)
  --duration D         run this long (e.g. 10s, 2m, 500ms)      } one of these;
  --count N            send N investigations (plus their        } default
                       verdicts and resolutions)                } --duration 10s
  --agents N           distinct agents (default 8)
  --batch N            records per POST; 1 = one JSON object per POST,
                       more = NDJSON (default 1)
  --connections N      concurrent keep-alive connections (default 8)
  --scenario S         steady | loop | drift | override-spike (default steady)
  --seed N             RNG seed (default 1)
  --token T            Bearer token for /v1/*
  --history D          event-time span the run's investigations cover, ending
                       --lag before now (default 30m; up to max_event_age)
  --lag D              newest investigation this long before now (default 10m),
                       so verdicts and resolutions "some minutes later" are
                       not in the future
  --id-prefix P        investigation id prefix (default: lg<seed>-<start time>;
                       set it to make runs reproducible byte for byte)
  --review-share X     share of investigations that get a verdict (default 0.6)
  --spans-only         send no verdicts or resolutions
  --templates N        pre-render N span bodies and only patch the ids while
                       sending (spans only; keeps the client cheap for
                       throughput runs)
  --emit-ndjson FILE   write the events to FILE instead of sending:
                       {"span":{...}} / {"feedback":{...}} / {"resolution":{...}}
                       lines for `agentwatch replay`
  --emit-bare          with --emit-ndjson: bare span objects, one a line
                       (the bytes an NDJSON POST to /v1/spans carries)
  --report-json FILE   also write the summary as JSON
  --allow-errors       exit 0 even when some requests failed
  --quiet              only the summary line
)";

struct Options {
  std::string url = "http://127.0.0.1:9464";
  double rate = 0;
  std::optional<double> duration_s;
  std::optional<int64_t> count;
  int agents = 8;
  int batch = 1;
  int connections = 8;
  Scenario scenario = Scenario::kSteady;
  uint64_t seed = 1;
  std::string token;
  double history_s = 1800;
  double lag_s = 600;
  std::string id_prefix;
  double review_share = 0.6;
  bool spans_only = false;
  int templates = 0;
  std::string emit_path;
  bool emit_bare = false;
  std::string report_json;
  bool allow_errors = false;
  bool quiet = false;
};

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<double> ParseSeconds(const std::string& text) {
  // 10, 10s, 500ms, 2m, 1h, 6d
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || v < 0) return std::nullopt;
  const std::string unit(end);
  if (unit.empty() || unit == "s") return v;
  if (unit == "ms") return v / 1000;
  if (unit == "m") return v * 60;
  if (unit == "h") return v * 3600;
  if (unit == "d") return v * 86400;
  return std::nullopt;
}

[[noreturn]] void UsageError(const std::string& message) {
  std::cerr << "agentwatch-loadgen: " << message << "\n" << kUsage;
  std::exit(2);
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    std::string value;
    bool has_inline = false;
    if (const size_t eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline = true;
    }
    const auto next = [&]() -> std::string {
      if (has_inline) return value;
      if (i + 1 >= argc) UsageError(name + " needs a value");
      return argv[++i];
    };
    const auto number = [&](const std::string& v) {
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !std::isfinite(d) || d < 0) {
        UsageError(name + ": \"" + v + "\" is not a non-negative number");
      }
      return d;
    };
    const auto seconds = [&](const std::string& v) {
      auto s = ParseSeconds(v);
      if (!s) UsageError(name + ": \"" + v + "\" is not a duration such as 10s");
      return *s;
    };
    if (name == "-h" || name == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else if (name == "--url") {
      o.url = next();
      while (!o.url.empty() && o.url.back() == '/') o.url.pop_back();
    } else if (name == "--rate") {
      o.rate = number(next());
    } else if (name == "--duration") {
      o.duration_s = seconds(next());
    } else if (name == "--count") {
      o.count = static_cast<int64_t>(number(next()));
    } else if (name == "--agents") {
      o.agents = std::max(1, static_cast<int>(number(next())));
    } else if (name == "--batch") {
      o.batch = std::max(1, static_cast<int>(number(next())));
    } else if (name == "--connections") {
      o.connections = std::max(1, static_cast<int>(number(next())));
    } else if (name == "--scenario") {
      const std::string v = next();
      auto s = aw::bench::ParseScenario(v);
      if (!s) UsageError("--scenario: \"" + v + "\" is not steady|loop|drift|override-spike");
      o.scenario = *s;
    } else if (name == "--seed") {
      o.seed = static_cast<uint64_t>(number(next()));
    } else if (name == "--token") {
      o.token = next();
    } else if (name == "--history") {
      o.history_s = seconds(next());
    } else if (name == "--lag") {
      o.lag_s = seconds(next());
    } else if (name == "--id-prefix") {
      o.id_prefix = next();
    } else if (name == "--review-share") {
      o.review_share = std::min(1.0, number(next()));
    } else if (name == "--spans-only") {
      o.spans_only = true;
    } else if (name == "--templates") {
      o.templates = static_cast<int>(number(next()));
    } else if (name == "--emit-ndjson") {
      o.emit_path = next();
    } else if (name == "--emit-bare") {
      o.emit_bare = true;
    } else if (name == "--report-json") {
      o.report_json = next();
    } else if (name == "--allow-errors") {
      o.allow_errors = true;
    } else if (name == "--quiet") {
      o.quiet = true;
    } else {
      UsageError("unknown option " + name);
    }
  }
  if (o.duration_s && o.count) UsageError("give --duration or --count, not both");
  if (!o.duration_s && !o.count) {
    if (!o.emit_path.empty()) UsageError("--emit-ndjson needs --count");
    o.duration_s = 10;
  }
  if (!o.emit_path.empty() && !o.count) UsageError("--emit-ndjson needs --count");
  if (o.templates > 0) o.spans_only = true;
  if (o.id_prefix.empty()) {
    // Unique per run so a second run against the same daemon is not all
    // duplicates; --emit-ndjson stays reproducible.
    o.id_prefix = "lg" + std::to_string(o.seed);
    if (o.emit_path.empty()) o.id_prefix += "-" + std::to_string(WallMs());
  }
  return o;
}

TrafficOptions MakeTrafficOptions(const Options& o) {
  TrafficOptions t;
  t.scenario = o.scenario;
  t.agents = o.agents;
  t.seed = o.seed;
  t.id_prefix = o.id_prefix;
  t.review_share = o.review_share;
  t.follow_ups = !o.spans_only;
  return t;
}

// Nearest-rank quantile of sorted samples: the smallest v with at least q
// of the samples <= v.
double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// ---- --emit-ndjson ----

int Emit(const Options& o) {
  std::ofstream out(o.emit_path, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::cerr << "agentwatch-loadgen: cannot write " << o.emit_path << "\n";
    return 1;
  }
  Traffic traffic(MakeTrafficOptions(o));
  const TimeMs end_ms = WallMs() - static_cast<TimeMs>(o.lag_s * 1000);
  const TimeMs latest_ms = WallMs() - 1000;
  const int64_t n = *o.count;
  std::string line;
  int64_t spans = 0, feedback = 0, resolutions = 0;
  const auto flush_follow_ups = [&](std::deque<FollowUp>& q, const char* kind, int64_t* counter) {
    for (FollowUp& f : q) {
      if (!o.emit_bare) out << "{\"" << kind << "\":" << f.json << "}\n";
      ++*counter;
    }
    q.clear();
  };
  for (int64_t i = 0; i < n; ++i) {
    const double p = n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 1.0;
    const TimeMs ts = end_ms - static_cast<TimeMs>(o.history_s * 1000 * (1.0 - p));
    line.clear();
    traffic.NextInvestigation(p, ts, latest_ms, &line);
    if (o.emit_bare) {
      out << line << "\n";
    } else {
      out << "{\"span\":" << line << "}\n";
    }
    ++spans;
    flush_follow_ups(traffic.pending_feedback(), "feedback", &feedback);
    flush_follow_ups(traffic.pending_resolutions(), "resolution", &resolutions);
  }
  out.close();
  if (!out) {
    std::cerr << "agentwatch-loadgen: write to " << o.emit_path << " failed\n";
    return 1;
  }
  std::cerr << "wrote " << o.emit_path << ": " << spans << " spans, "
            << (o.emit_bare ? 0 : feedback) << " verdicts, " << (o.emit_bare ? 0 : resolutions)
            << " resolutions (scenario " << aw::bench::ScenarioName(o.scenario) << ")\n";
  return 0;
}

// ---- sending ----

enum class Endpoint { kSpans = 0, kFeedback = 1, kResolutions = 2 };
constexpr const char* kPaths[] = {"/v1/spans", "/v1/feedback", "/v1/resolutions"};

struct Request {
  Endpoint endpoint = Endpoint::kSpans;
  std::string body;
  int records = 0;
  SteadyClock::time_point scheduled;  // when the offered rate wants it sent
  bool paced = false;
};

// Hands out requests to the connection threads. Thread-safe.
class Source {
 public:
  Source(const Options& o, SteadyClock::time_point start)
      : o_(o), start_(start), traffic_(MakeTrafficOptions(o)) {
    end_ms_ = WallMs() - static_cast<TimeMs>(o.lag_s * 1000);
    if (o.templates > 0) BuildTemplates();
  }

  // False when the run is over.
  bool Next(Request* r) {
    std::unique_lock lock(mu_);
    const auto now = SteadyClock::now();
    if (o_.duration_s && now - start_ >= Seconds(*o_.duration_s)) return false;
    r->body.clear();
    r->records = 0;
    if (o_.templates > 0) {
      if (o_.count && spans_ >= *o_.count) return false;
      const Template& t = templates_[next_template_++ % templates_.size()];
      int64_t first = next_id_;
      int n = static_cast<int>(t.id_offsets.size());
      if (o_.count) n = static_cast<int>(std::min<int64_t>(n, *o_.count - spans_));
      next_id_ += n;
      spans_ += n;
      Pace(r, n);
      lock.unlock();
      // Patch outside the lock: a copy and a few digit writes per span.
      if (n == static_cast<int>(t.id_offsets.size())) {
        r->body = t.body;
      } else {
        r->body.assign(t.body, 0, t.line_ends[static_cast<size_t>(n) - 1]);
      }
      for (int i = 0; i < n; ++i) {
        int64_t v = first + i;
        char* p = r->body.data() + t.id_offsets[static_cast<size_t>(i)];
        for (int d = Traffic::kIdDigits - 1; d >= 0; --d) {
          p[d] = static_cast<char>('0' + v % 10);
          v /= 10;
        }
      }
      r->endpoint = Endpoint::kSpans;
      r->records = n;
      return true;
    }
    auto& fb = traffic_.pending_feedback();
    auto& res = traffic_.pending_resolutions();
    const bool spans_left = !o_.count || spans_ < *o_.count;
    const size_t batch = static_cast<size_t>(o_.batch);
    if (fb.size() >= batch || (!spans_left && !fb.empty())) {
      TakeFollowUps(fb, Endpoint::kFeedback, r);
    } else if (res.size() >= batch || (!spans_left && !res.empty())) {
      TakeFollowUps(res, Endpoint::kResolutions, r);
    } else if (spans_left) {
      r->endpoint = Endpoint::kSpans;
      const double elapsed = std::chrono::duration<double>(now - start_).count();
      const TimeMs latest = WallMs() - 1000;
      for (int i = 0; i < o_.batch && (!o_.count || spans_ < *o_.count); ++i) {
        const double p = o_.count ? static_cast<double>(spans_) /
                                        static_cast<double>(std::max<int64_t>(1, *o_.count - 1))
                                  : elapsed / *o_.duration_s;
        const TimeMs ts =
            end_ms_ - static_cast<TimeMs>(o_.history_s * 1000 * (1.0 - std::min(p, 1.0)));
        if (i > 0) r->body.push_back('\n');
        traffic_.NextInvestigation(p, ts, latest, &r->body);
        ++spans_;
        ++r->records;
      }
    } else {
      return false;
    }
    Pace(r, r->records);
    return true;
  }

  bool ndjson() const { return o_.batch > 1; }

 private:
  struct Template {
    std::string body;
    std::vector<size_t> id_offsets;
    std::vector<size_t> line_ends;  // end of each line (exclusive)
  };
  static SteadyClock::duration Seconds(double s) {
    return std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(s));
  }

  void BuildTemplates() {
    const TimeMs latest = WallMs() - 1000;
    const int64_t total = static_cast<int64_t>(o_.templates) * o_.batch;
    int64_t k = 0;
    for (int t = 0; t < o_.templates; ++t) {
      Template tpl;
      for (int i = 0; i < o_.batch; ++i, ++k) {
        const double p =
            static_cast<double>(k) / static_cast<double>(std::max<int64_t>(1, total - 1));
        const TimeMs ts = end_ms_ - static_cast<TimeMs>(o_.history_s * 1000 * (1.0 - p));
        if (i > 0) tpl.body.push_back('\n');
        traffic_.NextInvestigation(p, ts, latest, &tpl.body);
        tpl.id_offsets.push_back(traffic_.last_id_digits_offset());
        tpl.line_ends.push_back(tpl.body.size());
      }
      templates_.push_back(std::move(tpl));
    }
  }

  void TakeFollowUps(std::deque<FollowUp>& q, Endpoint e, Request* r) {
    r->endpoint = e;
    const size_t n = std::min(q.size(), static_cast<size_t>(o_.batch));
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) r->body.push_back('\n');
      r->body.append(q.front().json);
      q.pop_front();
    }
    r->records = static_cast<int>(n);
    if (e == Endpoint::kFeedback) {
      feedback_ += static_cast<int64_t>(n);
    } else {
      resolutions_ += static_cast<int64_t>(n);
    }
  }

  // Open-loop pacing: each request gets its slot on the offered-rate
  // schedule, independent of how fast earlier replies came.
  void Pace(Request* r, int records) {
    r->paced = o_.rate > 0;
    if (!r->paced) return;
    r->scheduled = start_ + Seconds(offered_s_);
    offered_s_ += records / o_.rate;
  }

 public:
  int64_t spans() const { return spans_; }
  int64_t feedback() const { return feedback_; }
  int64_t resolutions() const { return resolutions_; }

 private:
  const Options& o_;
  const SteadyClock::time_point start_;
  std::mutex mu_;
  Traffic traffic_;
  TimeMs end_ms_ = 0;
  std::vector<Template> templates_;
  size_t next_template_ = 0;
  int64_t next_id_ = 0;
  int64_t spans_ = 0, feedback_ = 0, resolutions_ = 0;
  double offered_s_ = 0;
};

struct Tally {
  std::vector<double> latency_ms;        // send -> reply
  std::vector<double> sched_latency_ms;  // scheduled start -> reply (paced runs)
  std::map<int, int64_t> statuses;       // 0 = transport error
  std::map<std::string, int64_t> transport_errors;
  int64_t requests = 0, records = 0, ok_records = 0;
  int64_t accepted = 0, duplicates = 0, rejected = 0;
  int64_t late = 0;  // started > 10 ms behind schedule
};

void Worker(const Options& o, Source& source, Tally& tally) {
  httplib::Client client(o.url);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(60, 0);
  client.set_write_timeout(60, 0);
  if (!o.token.empty()) client.set_bearer_token_auth(o.token);
  const std::string content_type = source.ndjson() ? "application/x-ndjson" : "application/json";
  Request r;
  while (source.Next(&r)) {
    if (r.paced) {
      const auto now = SteadyClock::now();
      if (r.scheduled > now) {
        std::this_thread::sleep_until(r.scheduled);
      } else if (now - r.scheduled > std::chrono::milliseconds(10)) {
        ++tally.late;
      }
    }
    const auto t0 = SteadyClock::now();
    auto res = client.Post(kPaths[static_cast<int>(r.endpoint)], r.body, content_type.c_str());
    const auto t1 = SteadyClock::now();
    ++tally.requests;
    tally.records += r.records;
    tally.latency_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (r.paced) {
      tally.sched_latency_ms.push_back(
          std::chrono::duration<double, std::milli>(t1 - std::min(t0, r.scheduled)).count());
    }
    if (!res) {
      ++tally.statuses[0];
      ++tally.transport_errors[httplib::to_string(res.error())];
      continue;
    }
    ++tally.statuses[res->status];
    if (res->status / 100 == 2) {
      tally.ok_records += r.records;
      json reply = json::parse(res->body, nullptr, false);
      if (reply.is_object()) {
        tally.accepted += reply.value("accepted", 0);
        tally.duplicates += reply.value("duplicates", 0);
        tally.rejected += reply.value("rejected", 0);
      }
    }
  }
}

int Send(const Options& o) {
  const auto start = SteadyClock::now();
  Source source(o, start);
  // Templates are rendered before the clock starts.
  const auto run_start = SteadyClock::now();
  std::vector<Tally> tallies(static_cast<size_t>(o.connections));
  {
    std::vector<std::thread> threads;
    for (int c = 0; c < o.connections; ++c) {
      threads.emplace_back(Worker, std::cref(o), std::ref(source),
                           std::ref(tallies[static_cast<size_t>(c)]));
    }
    for (auto& t : threads) t.join();
  }
  const double elapsed = std::chrono::duration<double>(SteadyClock::now() - run_start).count();
  Tally all;
  for (Tally& t : tallies) {
    all.latency_ms.insert(all.latency_ms.end(), t.latency_ms.begin(), t.latency_ms.end());
    all.sched_latency_ms.insert(all.sched_latency_ms.end(), t.sched_latency_ms.begin(),
                                t.sched_latency_ms.end());
    for (auto [k, v] : t.statuses) all.statuses[k] += v;
    for (auto& [k, v] : t.transport_errors) all.transport_errors[k] += v;
    all.requests += t.requests;
    all.records += t.records;
    all.ok_records += t.ok_records;
    all.accepted += t.accepted;
    all.duplicates += t.duplicates;
    all.rejected += t.rejected;
    all.late += t.late;
  }
  std::sort(all.latency_ms.begin(), all.latency_ms.end());
  std::sort(all.sched_latency_ms.begin(), all.sched_latency_ms.end());
  int64_t ok = 0, non2xx = 0, transport = 0;
  json statuses = json::object();
  for (auto [k, v] : all.statuses) {
    if (k == 0) {
      transport += v;
    } else if (k / 100 == 2) {
      ok += v;
    } else {
      non2xx += v;
    }
    statuses[k == 0 ? "transport_error" : std::to_string(k)] = v;
  }
  const double rps = elapsed > 0 ? all.requests / elapsed : 0;
  const double recps = elapsed > 0 ? all.records / elapsed : 0;
  const double ok_recps = elapsed > 0 ? all.ok_records / elapsed : 0;
  json report = {
      {"url", o.url},
      {"scenario", aw::bench::ScenarioName(o.scenario)},
      {"agents", o.agents},
      {"batch", o.batch},
      {"connections", o.connections},
      {"offered_rate", o.rate},
      {"elapsed_s", elapsed},
      {"requests", all.requests},
      {"records", all.records},
      {"spans", source.spans()},
      {"feedback", source.feedback()},
      {"resolutions", source.resolutions()},
      {"req_per_s", rps},
      {"records_per_s", recps},
      {"ok_records_per_s", ok_recps},
      {"ok", ok},
      {"non_2xx", non2xx},
      {"transport_errors", transport},
      {"statuses", statuses},
      {"transport_error_kinds", all.transport_errors},
      {"accepted", all.accepted},
      {"duplicates", all.duplicates},
      {"rejected", all.rejected},
      {"late_starts", all.late},
      {"latency_ms",
       {{"p50", Quantile(all.latency_ms, 0.50)},
        {"p90", Quantile(all.latency_ms, 0.90)},
        {"p99", Quantile(all.latency_ms, 0.99)},
        {"max", all.latency_ms.empty() ? 0.0 : all.latency_ms.back()},
        {"samples", all.latency_ms.size()}}},
  };
  if (!all.sched_latency_ms.empty()) {
    report["latency_from_schedule_ms"] = {{"p50", Quantile(all.sched_latency_ms, 0.50)},
                                          {"p99", Quantile(all.sched_latency_ms, 0.99)},
                                          {"max", all.sched_latency_ms.back()}};
  }
  char line[512];
  std::snprintf(line, sizeof line,
                "%s: %lld req in %.2f s = %.0f req/s, %.0f records/s (%lld spans, %lld verdicts, "
                "%lld resolutions); 2xx %lld, non-2xx %lld, transport errors %lld; "
                "latency p50 %.2f ms p99 %.2f ms max %.2f ms",
                aw::bench::ScenarioName(o.scenario), static_cast<long long>(all.requests), elapsed,
                rps, recps, static_cast<long long>(source.spans()),
                static_cast<long long>(source.feedback()),
                static_cast<long long>(source.resolutions()), static_cast<long long>(ok),
                static_cast<long long>(non2xx), static_cast<long long>(transport),
                Quantile(all.latency_ms, 0.5), Quantile(all.latency_ms, 0.99),
                all.latency_ms.empty() ? 0.0 : all.latency_ms.back());
  std::cout << line << "\n";
  if (!o.quiet) {
    std::cout << "  replies: " << statuses.dump() << "  accepted " << all.accepted
              << ", duplicates " << all.duplicates << ", rejected " << all.rejected << "\n";
    if (!all.transport_errors.empty()) {
      std::cout << "  transport errors: " << json(all.transport_errors).dump() << "\n";
    }
    if (report.contains("latency_from_schedule_ms")) {
      std::cout << "  offered " << o.rate << " records/s; latency from the scheduled start: p50 "
                << report["latency_from_schedule_ms"]["p50"].get<double>() << " ms, p99 "
                << report["latency_from_schedule_ms"]["p99"].get<double>() << " ms; " << all.late
                << " requests started > 10 ms late\n";
    }
  }
  if (!o.report_json.empty()) {
    std::ofstream(o.report_json) << report.dump(2) << "\n";
  }
  if (all.requests == 0 || ok == 0) return 1;
  if ((non2xx > 0 || transport > 0) && !o.allow_errors) return 1;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  if (!options.emit_path.empty()) return Emit(options);
  return Send(options);
}
