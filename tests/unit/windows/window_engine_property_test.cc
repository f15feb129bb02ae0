// Over 500 lines on purpose: the brute-force reference model and the
// properties checked against it are one unit; apart, neither reads alone.
//
// Random event streams checked against a brute-force reference that is
// written here from the raw event list and the contract, sharing no code
// with the engine (only the plain types and PriceSpan from daemon/common).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "windows/window_engine.h"

namespace aw::windows {
namespace {

// "prefix" + number (g++ 12 gives a false -Wrestrict on operator+ here).
std::string Cat(std::string prefix, int64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

constexpr TimeMs kT0 = 1'764'000'000'000;
constexpr TimeMs kMin = 60'000;
constexpr TimeMs kHour = 60 * kMin;
constexpr TimeMs kSpread = 72 * kHour;  // events fall in [kT0, kT0 + 3d]

struct Prune {
  TimeMs cutoff;
};
// New values for an investigation's span (a descendant joined late).
struct Replace {
  Span span;
};
using Event = std::variant<Span, Feedback, Resolution, Prune, Replace>;

// ---- the reference ----

struct RefVerdict {
  Verdict v;
  TimeMs ts;
  int64_t seq;
};
struct RefRes {
  Resolution r;
  int64_t seq;
};
struct RefInv {
  std::optional<Span> span;
  int64_t span_seq = 0;
  std::optional<RefVerdict> verdict;
  std::string verdict_agent;  // the latest-arriving verdict naming an agent
  std::optional<RefRes> own;
};
struct RefRecord {
  TimeMs ts;
  int64_t seq;
  std::string agent;
  Labels labels;
  const Span* span = nullptr;  // null: a verdict-only record
  Verdict verdict = Verdict::kNone;
  std::optional<double> ttr;
};

bool Later(TimeMs a_ts, int64_t a_seq, TimeMs b_ts, int64_t b_seq) {
  return a_ts > b_ts || (a_ts == b_ts && a_seq > b_seq);
}

class Reference {
 public:
  explicit Reference(Pricing p) : pricing_(std::move(p)) {}

  // Whether a Replace finds a span to replace (before it is applied).
  bool HoldsSpan(const std::string& id) const {
    auto it = invs_.find(id);
    return it != invs_.end() && it->second.span.has_value();
  }
  std::optional<int64_t> SpanSeq(const std::string& id) const {
    if (!HoldsSpan(id)) return std::nullopt;
    return invs_.at(id).span_seq;
  }

  void Apply(const Event& ev, int64_t seq) {
    if (const Replace* rp = std::get_if<Replace>(&ev)) {
      // The record as if it had arrived with these values: same seq.
      auto it = invs_.find(rp->span.investigation_id);
      if (it != invs_.end() && it->second.span) it->second.span = rp->span;
    } else if (const Span* s = std::get_if<Span>(&ev)) {
      RefInv& inv = invs_[s->investigation_id];
      if (!inv.span) {
        inv.span = *s;
        inv.span_seq = seq;
      }
    } else if (const Feedback* f = std::get_if<Feedback>(&ev)) {
      RefInv& inv = invs_[f->investigation_id];
      if (!inv.verdict || Later(f->ts_ms, seq, inv.verdict->ts, inv.verdict->seq)) {
        inv.verdict = RefVerdict{f->verdict, f->ts_ms, seq};
      }
      if (!f->agent.empty()) inv.verdict_agent = f->agent;
    } else if (const Resolution* r = std::get_if<Resolution>(&ev)) {
      std::optional<RefRes>& slot =
          r->investigation_id.empty() ? incidents_[r->incident_id] : invs_[r->investigation_id].own;
      if (!slot || Later(r->resolved_at_ms, seq, slot->r.resolved_at_ms, slot->seq)) {
        slot = RefRes{*r, seq};
      }
    } else {
      const TimeMs cutoff = std::get<Prune>(ev).cutoff;
      for (auto it = invs_.begin(); it != invs_.end();) {
        RefInv& inv = it->second;
        bool drop = false;
        if (inv.span) {
          drop = inv.span->ts_ms < cutoff;
        } else if (inv.verdict && !inv.verdict_agent.empty()) {
          drop = inv.verdict->ts < cutoff;
        } else {
          if (inv.verdict && inv.verdict->ts < cutoff) inv.verdict.reset();
          if (inv.own && inv.own->r.resolved_at_ms < cutoff) inv.own.reset();
          drop = !inv.verdict && !inv.own;
        }
        it = drop ? invs_.erase(it) : std::next(it);
      }
      for (auto it = incidents_.begin(); it != incidents_.end();) {
        it = it->second && it->second->r.resolved_at_ms < cutoff ? incidents_.erase(it)
                                                                 : std::next(it);
      }
    }
  }

  std::vector<RefRecord> Records() const {
    std::vector<RefRecord> out;
    for (const auto& [id, inv] : invs_) {
      RefRecord rec;
      if (inv.span) {
        const Span& s = *inv.span;
        rec = RefRecord{s.ts_ms, inv.span_seq, s.agent, s.labels, &s, Verdict::kNone, {}};
        const RefRes* res = inv.own ? &*inv.own : nullptr;
        if (res == nullptr && !s.incident_id.empty()) {
          auto it = incidents_.find(s.incident_id);
          if (it != incidents_.end() && it->second) res = &*it->second;
        }
        if (res != nullptr) {
          const Resolution& r = res->r;
          if (r.time_to_resolve_s) {
            rec.ttr = *r.time_to_resolve_s;
          } else if (r.opened_at_ms) {
            rec.ttr = static_cast<double>(r.resolved_at_ms - *r.opened_at_ms) / 1000.0;
          } else {
            rec.ttr =
                static_cast<double>(r.resolved_at_ms - (s.ts_ms - s.duration_ms.value_or(0))) /
                1000.0;
          }
        }
      } else if (inv.verdict && !inv.verdict_agent.empty()) {
        rec = RefRecord{
            inv.verdict->ts, inv.verdict->seq, inv.verdict_agent, {}, nullptr, Verdict::kNone, {}};
      } else {
        continue;
      }
      if (inv.verdict) rec.verdict = inv.verdict->v;
      out.push_back(rec);
    }
    return out;
  }

  double Cost(const Span& s) const { return PriceSpan(s, pricing_).value_or(0.0); }

 private:
  Pricing pricing_;
  std::map<std::string, RefInv> invs_;
  std::map<std::string, std::optional<RefRes>> incidents_;
};

std::string LabelValue(const RefRecord& r, const std::string& key) {
  if (key == "agent") return r.agent;
  auto it = r.labels.find(key);
  return it == r.labels.end() ? "" : it->second;
}

// The groups of a query and the records each one's window holds.
std::map<Labels, std::vector<const RefRecord*>> RefGroups(const std::vector<RefRecord>& recs,
                                                          const SliQuery& q, TimeMs now) {
  const TimeMs end = now - q.offset.count();
  std::map<Labels, std::vector<const RefRecord*>> all;  // every record, per group
  for (const RefRecord& r : recs) {
    if (!q.only_agent.empty() && r.agent != q.only_agent) continue;
    bool pass = true;
    for (const auto& [k, v] : q.where) pass = pass && LabelValue(r, k) == v;
    if (!pass) continue;
    Labels key;
    for (const std::string& b : q.by) key[b] = LabelValue(r, b);
    all[key].push_back(&r);
  }
  std::map<Labels, std::vector<const RefRecord*>> out;
  for (auto& [key, members] : all) {
    std::vector<const RefRecord*> in;
    if (q.window.kind == WindowSpec::Kind::kTime) {
      for (const RefRecord* r : members) {
        if (r->ts > end - q.window.duration.count() && r->ts <= end) in.push_back(r);
      }
      out[key] = in;  // listed even when empty
    } else {
      for (const RefRecord* r : members) {
        if (r->ts <= end) in.push_back(r);
      }
      std::sort(in.begin(), in.end(), [](const RefRecord* a, const RefRecord* b) {
        return Later(a->ts, a->seq, b->ts, b->seq);
      });
      if (static_cast<int64_t>(in.size()) > q.window.count) in.resize(q.window.count);
      if (!in.empty()) out[key] = in;
    }
  }
  return out;
}

// "The smallest sample v with at least q% of samples <= v", literally.
double RefQuantile(std::vector<double> v, int q) {
  std::sort(v.begin(), v.end());
  for (size_t i = 0; i < v.size(); ++i) {
    const size_t at_or_below = i + 1;
    if (at_or_below * 100 >= static_cast<size_t>(q) * v.size()) return v[i];
  }
  return v.back();
}

SliValue RefValue(const Reference& ref, const std::vector<const RefRecord*>& recs,
                  const SliQuery& q) {
  SliValue out;
  std::vector<double> dist;
  int64_t spans = 0, verdicts = 0, overrides = 0, reviewed = 0, matches = 0;
  double cost = 0;
  std::vector<double> xs, ys, brier;
  std::vector<std::pair<double, double>> calib;  // (confidence, outcome)
  for (const RefRecord* r : recs) {
    if (r->verdict != Verdict::kNone) {
      ++verdicts;
      overrides += r->verdict == Verdict::kOverride;
    }
    if (r->span == nullptr) continue;
    const Span& s = *r->span;
    ++spans;
    cost += ref.Cost(s);
    reviewed += r->verdict != Verdict::kNone;
    matches += s.finish_reason == q.match;
    if (s.confidence && r->ttr) {
      xs.push_back(*s.confidence);
      ys.push_back(*r->ttr);
    }
    if (s.confidence && r->verdict != Verdict::kNone) {
      const double o = r->verdict == Verdict::kConfirm ? 1 : 0;
      brier.push_back((*s.confidence - o) * (*s.confidence - o));
      calib.emplace_back(*s.confidence, o);
    }
    std::optional<double> x;
    switch (q.sli) {
      case Sli::kCostPerInvestigation:
        x = ref.Cost(s);
        break;
      case Sli::kToolCalls:
        if (s.tool_calls) x = static_cast<double>(*s.tool_calls);
        break;
      case Sli::kInputTokens:
        if (s.input_tokens) x = static_cast<double>(*s.input_tokens);
        break;
      case Sli::kOutputTokens:
        if (s.output_tokens) x = static_cast<double>(*s.output_tokens);
        break;
      case Sli::kDurationMs:
        if (s.duration_ms) x = static_cast<double>(*s.duration_ms);
        break;
      default:
        break;
    }
    if (x) dist.push_back(*x);
  }
  switch (q.sli) {
    case Sli::kInvestigations:
      out.value = static_cast<double>(spans);
      out.samples = spans;
      break;
    case Sli::kOverrideRate:
      if (verdicts) out.value = static_cast<double>(overrides) / static_cast<double>(verdicts);
      out.samples = verdicts;
      break;
    case Sli::kReviewCoverage:
      if (spans) out.value = static_cast<double>(reviewed) / static_cast<double>(spans);
      out.samples = spans;
      break;
    case Sli::kCostUsd:
      out.value = cost;
      out.samples = spans;
      break;
    case Sli::kFinishReasonRate:
      if (spans) out.value = static_cast<double>(matches) / static_cast<double>(spans);
      out.samples = spans;
      break;
    case Sli::kConfidenceBrier: {
      double sum = 0;
      for (double b : brier) sum += b;
      if (!brier.empty()) out.value = sum / static_cast<double>(brier.size());
      out.samples = static_cast<int64_t>(brier.size());
      break;
    }
    case Sli::kConfidenceEce: {
      // Brute force: each bin [k/10, (k+1)/10) (the last closed) picks its
      // members from all pairs.
      out.samples = static_cast<int64_t>(calib.size());
      if (calib.empty()) break;
      double ece = 0;
      for (int k = 0; k < 10; ++k) {
        double count = 0, conf = 0, confirms = 0;
        for (const auto& [c, o] : calib) {
          if (c >= k / 10.0 && (c < (k + 1) / 10.0 || k == 9)) {
            ++count;
            conf += c;
            confirms += o;
          }
        }
        if (count > 0) {
          ece +=
              count / static_cast<double>(calib.size()) * std::abs(conf / count - confirms / count);
        }
      }
      out.value = ece;
      break;
    }
    case Sli::kConfidenceResolutionCorrelation: {
      out.samples = static_cast<int64_t>(xs.size());
      const bool constant =
          xs.size() < 2 ||
          std::all_of(xs.begin(), xs.end(), [&](double v) { return v == xs[0]; }) ||
          std::all_of(ys.begin(), ys.end(), [&](double v) { return v == ys[0]; });
      if (constant) break;
      long double mx = 0, my = 0;
      for (size_t i = 0; i < xs.size(); ++i) {
        mx += xs[i];
        my += ys[i];
      }
      mx /= xs.size();
      my /= ys.size();
      long double sxy = 0, sxx = 0, syy = 0;
      for (size_t i = 0; i < xs.size(); ++i) {
        sxy += (xs[i] - mx) * (ys[i] - my);
        sxx += (xs[i] - mx) * (xs[i] - mx);
        syy += (ys[i] - my) * (ys[i] - my);
      }
      out.value = static_cast<double>(sxy / std::sqrt(sxx * syy));
      break;
    }
    default: {  // distributions
      out.samples = static_cast<int64_t>(dist.size());
      if (dist.empty()) break;
      switch (q.stat) {
        case Stat::kMean: {
          long double sum = 0;
          for (double d : dist) sum += d;
          out.value = static_cast<double>(sum / dist.size());
          break;
        }
        case Stat::kMax:
          out.value = *std::max_element(dist.begin(), dist.end());
          break;
        case Stat::kP50:
          out.value = RefQuantile(dist, 50);
          break;
        case Stat::kP90:
          out.value = RefQuantile(dist, 90);
          break;
        case Stat::kP95:
          out.value = RefQuantile(dist, 95);
          break;
        case Stat::kP99:
          out.value = RefQuantile(dist, 99);
          break;
        case Stat::kNone:
          break;
      }
    }
  }
  return out;
}

bool Near(double a, double b) {
  const double diff = std::abs(a - b);
  return diff <= 1e-9 * std::max(std::abs(a), std::abs(b)) || diff <= 1e-12;
}

// ---- the random stream ----

class StreamGen {
 public:
  explicit StreamGen(uint32_t seed) : rng_(seed) {}

  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(0, static_cast<int>(v.size()) - 1))];
  }
  // Minute grid, so that windows with whole-minute edges hit records exactly.
  TimeMs GridTs() { return kT0 + static_cast<TimeMs>(Int(0, kSpread / kMin)) * kMin; }
  std::string Id() { return Cat("inv-", Int(0, 1200)); }
  std::string Incident() { return Cat("INC-", Int(0, 150)); }

  std::vector<Event> Stream(int n) {
    std::vector<Event> out;
    for (int i = 0; i < n; ++i) {
      const int kind = Int(0, 99);
      if (kind < 12) {
        out.emplace_back(MakeReplace());
      } else if (kind < 45) {
        Span s = MakeSpan();
        sent_.try_emplace(s.investigation_id, s);
        out.emplace_back(std::move(s));
      } else if (kind < 80) {
        Feedback f;
        f.investigation_id = Id();
        f.verdict = Chance(0.3) ? Verdict::kOverride : Verdict::kConfirm;
        // A small set of instants makes ts ties (decided by seq) common.
        f.ts_ms = Chance(0.5) ? kT0 + static_cast<TimeMs>(Int(0, 5)) * 12 * kHour : GridTs();
        // Never "triage": a verdict-only record of its own would give it
        // a second (empty) label set.
        if (Chance(0.35)) f.agent = Pick(std::vector<std::string>{"ir", "cost", "release"});
        out.emplace_back(f);
      } else if (kind < 99) {
        Resolution r;
        if (Chance(0.6)) {
          r.incident_id = Incident();
        } else {
          r.investigation_id = Id();
        }
        r.resolved_at_ms = Chance(0.3) ? kT0 + 36 * kHour : GridTs() + Int(0, 999);
        const int how = Int(0, 2);
        if (how == 0) r.time_to_resolve_s = Int(1, 20000) / 7.0;
        if (how == 1) r.opened_at_ms = r.resolved_at_ms - Int(0, 100000) * 1000;
        out.emplace_back(r);
      } else {
        out.emplace_back(Prune{kT0 + static_cast<TimeMs>(Int(0, 8)) * kHour});
      }
    }
    return out;
  }

 private:
  Span MakeSpan() {
    Span s;
    s.investigation_id = Id();
    s.agent = Pick(agents_);
    s.ts_ms = GridTs();
    if (s.agent == "triage") {
      // As most agents do: the same labels on every span. Grouped by a
      // label, all of its records fall in one group (the hour counts'
      // path) until a verdict-only record of it brings the empty set.
      s.labels = {{"env", "prod"}, {"team", "net"}};
    } else {
      if (Chance(0.5)) s.labels["env"] = Chance(0.6) ? "prod" : "dev";
      if (Chance(0.5)) s.labels["team"] = Pick(std::vector<std::string>{"sre", "db", "net"});
    }
    if (Chance(0.8)) s.tool_calls = Int(0, 40);
    if (Chance(0.8)) s.input_tokens = Int(0, 200000);
    if (Chance(0.8)) s.output_tokens = Int(0, 5000) * 3;
    if (Chance(0.7)) s.duration_ms = Int(0, 600) * 1000;
    s.model = Pick(std::vector<std::string>{"priced", "other", "unpriced", ""});
    if (Chance(0.2)) s.response_model = "other";
    s.cache_read_tokens = Chance(0.5) ? std::optional<int64_t>(Int(0, 9000)) : std::nullopt;
    if (Chance(0.2)) s.cost_usd = Int(0, 1000) / 997.0;
    s.finish_reason = Pick(std::vector<std::string>{"end_turn", "max_tokens", ""});
    if (Chance(0.7)) s.confidence = Chance(0.2) ? 0.5 : Int(0, 1000) / 1000.0;
    if (Chance(0.6)) s.incident_id = Incident();
    return s;
  }

  // Mostly what a late descendant does to a record sent before (more tools
  // and tokens, a model or finish reason set); sometimes a whole new record
  // under the same id (new agent, labels, ts: the record moves); sometimes
  // an id that has no span.
  Replace MakeReplace() {
    if (sent_.empty() || Chance(0.15)) return Replace{MakeSpan()};
    auto it = sent_.begin();
    std::advance(it, Int(0, static_cast<int>(sent_.size()) - 1));
    if (Chance(0.2)) {
      Span s = MakeSpan();
      s.investigation_id = it->first;
      it->second = s;
      return Replace{s};
    }
    Span& s = it->second;
    s.tool_calls = s.tool_calls.value_or(0) + Int(0, 3);
    if (Chance(0.6)) s.input_tokens = s.input_tokens.value_or(0) + Int(0, 5000);
    if (Chance(0.6)) s.output_tokens = s.output_tokens.value_or(0) + Int(0, 900);
    if (Chance(0.3)) s.model = Pick(std::vector<std::string>{"priced", "other", "unpriced"});
    if (Chance(0.3)) s.finish_reason = Pick(std::vector<std::string>{"end_turn", "max_tokens"});
    return Replace{s};
  }

  std::map<std::string, Span> sent_;  // the latest values generated per id
  std::mt19937 rng_;
  std::vector<std::string> agents_ = {"ir", "cost", "release", "triage"};
};

Pricing TestPricing() {
  return Pricing{{"priced", ModelPrice{3.0, 15.0, 0.3, 3.75}},
                 {"other", ModelPrice{0.8, 4.0, 0.08, 1.0}}};
}

std::vector<SliQuery> RandomQueries(StreamGen& g, int n) {
  const std::vector<WindowSpec> windows = [] {
    std::vector<WindowSpec> w;
    for (TimeMs d : {kMin, kHour, 6 * kHour, 24 * kHour, 4 * 24 * kHour}) {
      WindowSpec s;
      s.duration = Millis(d);
      w.push_back(s);
    }
    for (int64_t c : {1, 7, 40, 100000}) {
      WindowSpec s;
      s.kind = WindowSpec::Kind::kCount;
      s.count = c;
      w.push_back(s);
    }
    return w;
  }();
  const std::vector<std::vector<std::string>> bys = {
      {"agent"}, {"team"}, {"agent", "env"}, {}, {"env", "team"}};
  const std::vector<Labels> wheres = {{},
                                      {{"env", "prod"}},
                                      {{"agent", "ir"}},
                                      {{"team", ""}},
                                      {{"agent", "cost"}, {"env", "dev"}}};
  std::vector<SliQuery> out;
  for (int i = 0; i < n; ++i) {
    SliQuery q;
    q.window = g.Pick(windows);
    q.by = g.Pick(bys);
    q.where = g.Chance(0.5) ? Labels{} : g.Pick(wheres);
    if (g.Chance(0.3)) q.offset = Millis(g.Chance(0.5) ? kHour : 24 * kHour + kMin);
    if (g.Chance(0.15)) q.only_agent = g.Chance(0.8) ? "release" : "nobody";
    out.push_back(q);
  }
  return out;
}

void CheckQuery(const WindowEngine& engine, const Reference& ref,
                const std::vector<RefRecord>& recs, SliQuery q, TimeMs now, int* checked) {
  const auto groups = RefGroups(recs, q, now);
  for (Sli sli : AllSlis()) {
    std::vector<Stat> stats = {Stat::kNone};
    if (IsDistribution(sli)) stats = DistributionStats();
    for (Stat stat : stats) {
      for (const std::string& match : std::vector<std::string>{"end_turn", ""}) {
        if (sli != Sli::kFinishReasonRate && !match.empty()) continue;
        q.sli = sli;
        q.stat = stat;
        q.match = match;
        const auto got = engine.Compute(q, now);
        std::string where;
        for (const auto& [k, v] : q.where) where += k + "=" + v + ",";
        const std::string ctx = std::string(SliName(sli)) + "/" + StatName(stat) +
                                " window=" + std::to_string(q.window.duration.count()) + "ms/" +
                                std::to_string(q.window.count) + " where=" + where +
                                Cat(" offset=", q.offset.count()) + " only=" + q.only_agent +
                                Cat(" now=", now);
        ASSERT_EQ(got.size(), groups.size()) << ctx;
        for (const SliValue& v : got) {
          auto it = groups.find(v.group);
          ASSERT_NE(it, groups.end()) << ctx;
          const SliValue want = RefValue(ref, it->second, q);
          ASSERT_EQ(v.samples, want.samples) << ctx;
          ASSERT_EQ(v.value.has_value(), want.value.has_value()) << ctx;
          if (v.value) {
            ASSERT_TRUE(Near(*v.value, *want.value))
                << ctx << " " << *v.value << " vs " << *want.value;
          }
          ++*checked;
        }
      }
    }
  }
}

void CheckSnapshot(const WindowEngine& engine, const Reference& ref,
                   const std::vector<RefRecord>& recs, TimeMs now) {
  std::vector<WindowSpec> windows(3);
  windows[0].duration = Millis(kHour);
  windows[0].name = "1h";
  windows[1].duration = Millis(24 * kHour);
  windows[1].name = "24h";
  windows[2].kind = WindowSpec::Kind::kCount;
  windows[2].count = 25;
  windows[2].name = "25 investigations";
  std::set<std::string> agents;
  for (const RefRecord& r : recs) agents.insert(r.agent);
  const auto rows = engine.Snapshot(windows, now);
  ASSERT_EQ(rows.size(), agents.size() * 3 * 37);
  for (const SliRow& row : rows) {
    ASSERT_TRUE(agents.count(row.agent)) << row.agent;
    SliQuery q;
    q.sli = row.sli;
    q.stat = row.stat;
    for (const auto& w : windows) {
      if (w.name == row.window) q.window = w;
    }
    auto groups = RefGroups(recs, q, now);
    const SliValue want = RefValue(ref, groups[Labels{{"agent", row.agent}}], q);
    ASSERT_EQ(row.samples, want.samples) << SliName(row.sli) << row.window;
    ASSERT_EQ(row.value.has_value(), want.value.has_value()) << SliName(row.sli) << row.window;
    if (row.value) {
      ASSERT_TRUE(Near(*row.value, *want.value)) << SliName(row.sli);
    }
  }
}

// Feeds `length` random events and checks every `check_every` of them.
void RunAgainstReference(uint32_t seed, int length, size_t check_every) {
  StreamGen gen(seed);
  const std::vector<Event> events = gen.Stream(length);
  WindowEngine engine(TestPricing());
  WindowEngine replayed(TestPricing());  // fed the same events without reads
  Reference ref(TestPricing());
  int checked = 0;
  int replaced = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const int64_t seq = static_cast<int64_t>(i) + 1;
    if (const Replace* rp = std::get_if<Replace>(&events[i])) {
      // Before the reference applies it: the engine holds the span (and its
      // seq) exactly when the reference does.
      ASSERT_EQ(engine.SpanSeq(rp->span.investigation_id), ref.SpanSeq(rp->span.investigation_id));
      const bool held = ref.HoldsSpan(rp->span.investigation_id);
      ASSERT_EQ(engine.ReplaceSpan(rp->span), held) << rp->span.investigation_id;
      ASSERT_EQ(replayed.ReplaceSpan(rp->span), held);
      ref.Apply(events[i], seq);
      ++replaced;
      if ((i + 1) % check_every != 0) continue;
    } else {
      ref.Apply(events[i], seq);
    }
    for (WindowEngine* e : {&engine, &replayed}) {
      if (std::holds_alternative<Replace>(events[i])) break;
      if (const Span* s = std::get_if<Span>(&events[i])) {
        e->ApplySpan(*s, seq);
      } else if (const Feedback* f = std::get_if<Feedback>(&events[i])) {
        e->ApplyFeedback(*f, seq);
      } else if (const Resolution* r = std::get_if<Resolution>(&events[i])) {
        e->ApplyResolution(*r, seq);
      } else {
        e->PruneBefore(std::get<Prune>(events[i]).cutoff);
      }
      ASSERT_TRUE(e->MisorderedAgents().empty()) << "event " << i;
    }
    if ((i + 1) % check_every != 0) continue;
    const auto recs = ref.Records();
    // Spot-check dedup state.
    for (int k = 0; k < 50; ++k) {
      const std::string id = gen.Id();
      bool has = false;
      for (const RefRecord& r : recs) {
        has = has || (r.span != nullptr && r.span->investigation_id == id);
      }
      ASSERT_EQ(engine.HasSpan(id), has) << id;
    }
    std::set<std::string> agents;
    for (const RefRecord& r : recs) agents.insert(r.agent);
    ASSERT_EQ(engine.Agents(), std::vector<std::string>(agents.begin(), agents.end()));
    ASSERT_EQ(engine.Memory().investigations, static_cast<int64_t>(recs.size()));

    for (const SliQuery& q : RandomQueries(gen, 25)) {
      // Now on the grid (window edges land on records), or off it.
      TimeMs now = gen.GridTs();
      if (gen.Chance(0.3)) now += gen.Int(1, 59'999);
      CheckQuery(engine, ref, recs, q, now, &checked);
      if (::testing::Test::HasFatalFailure()) return;
    }
    CheckSnapshot(engine, ref, recs, gen.GridTs());
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(checked, 1000);
  EXPECT_GT(replaced, length / 20);

  // Identical figures whether events came live (with reads in between,
  // which sort lazily) or were replayed in the same seq order.
  std::vector<WindowSpec> windows(2);
  windows[0].duration = Millis(6 * kHour);
  windows[0].name = "6h";
  windows[1].kind = WindowSpec::Kind::kCount;
  windows[1].count = 30;
  windows[1].name = "30 investigations";
  for (TimeMs now : {kT0 + 12 * kHour, kT0 + 48 * kHour, kT0 + kSpread}) {
    const auto a = engine.Snapshot(windows, now);
    const auto b = replayed.Snapshot(windows, now);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a[i].agent, b[i].agent);
      ASSERT_EQ(a[i].samples, b[i].samples);
      ASSERT_EQ(a[i].value, b[i].value) << SliName(a[i].sli) << " " << StatName(a[i].stat);
    }
  }
}

class WindowEnginePropertyTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(WindowEnginePropertyTest, MatchesBruteForceReference) {
  RunAgainstReference(GetParam(), 3000, 750);
}

INSTANTIATE_TEST_SUITE_P(Seeds, WindowEnginePropertyTest,
                         ::testing::Values(1u, 3u, 5u, 7u, 11u, 42u, 777u, 2024u, 31337u, 99991u,
                                           123457u, 4000000007u));

// Longer streams: more records per bucket, more late verdicts and moves.
class WindowEngineLongPropertyTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(WindowEngineLongPropertyTest, MatchesBruteForceReference) {
  RunAgainstReference(GetParam(), 12000, 4000);
}

INSTANTIATE_TEST_SUITE_P(Seeds, WindowEngineLongPropertyTest, ::testing::Values(17u, 4242u));

}  // namespace
}  // namespace aw::windows
