// The flat hour buckets: after random adds and removals (hours far in the
// past, before 1970, and ahead within clock skew) they hold exactly the
// non-zero hours of a recount, in order, with the same calibration cells,
// finish reasons and (confidence, time to resolve) moments; and an engine fed in bulk-load
// mode (buckets counted once at its end) reads the same figures as one fed
// live, and as a brute-force count of the events.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "windows/engine_records.h"
#include "windows/window_engine.h"

namespace aw::windows {
namespace {

using internal::BucketCounts;
using internal::HourBuckets;

struct Plain {
  int64_t spans = 0, verdicts = 0, overrides = 0, reviewed = 0;
  int64_t cost = 0;
  std::optional<internal::CalibrationShare> calibration;  // a reviewed span with a confidence
  std::optional<uint32_t> finish;                         // a span's finish reason
  std::optional<internal::PairShare> pair;                // a resolved span's
  bool Zero() const {
    return spans == 0 && verdicts == 0 && overrides == 0 && reviewed == 0 && cost == 0;
  }
};

TEST(HourBuckets, EqualARecountAfterRandomAddsAndRemovals) {
  for (uint32_t seed : {1u, 2u, 3u, 4u}) {
    std::mt19937_64 rng(seed);
    const auto pick = [&](int64_t lo, int64_t hi) {
      return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    // Live items: (hour, counts); removing one takes its exact share out.
    std::vector<std::pair<int64_t, Plain>> live;
    HourBuckets b;
    for (int step = 0; step < 4000; ++step) {
      if (!live.empty() && pick(0, 2) == 0) {
        const size_t i = static_cast<size_t>(pick(0, static_cast<int64_t>(live.size()) - 1));
        const auto [hour, p] = live[i];
        std::optional<internal::CalibrationShare> out = p.calibration;
        if (out) out->sign = -1;
        std::optional<internal::PairShare> pair_out = p.pair;
        if (pair_out) pair_out->sign = -1;
        b.Add(hour, BucketCounts{-p.spans, -p.verdicts, -p.overrides, -p.reviewed, -p.cost},
              nullptr, out ? &*out : nullptr, pair_out ? &*pair_out : nullptr,
              p.finish ? &*p.finish : nullptr);
        live.erase(live.begin() + static_cast<ptrdiff_t>(i));
        continue;
      }
      int64_t hour;
      switch (pick(0, 5)) {
        case 0:
          hour = pick(-500'000, -1);  // before 1970
          break;
        case 1:
          hour = pick(400'000, 500'000);  // years back
          break;
        case 2:
          hour = 500'010 + pick(0, 1);  // ahead, within skew
          break;
        default:
          hour = 500'000 + pick(-3, 9);  // around now, most writes
      }
      Plain p;
      p.spans = pick(0, 1);
      p.verdicts = pick(0, 1);
      p.overrides = p.verdicts * pick(0, 1);
      p.reviewed = p.spans * p.verdicts;
      p.cost = pick(-5, 5) * 1'000'000'007LL;
      if (p.reviewed == 1 && pick(0, 3) != 0) {
        // Sixteenths: every sum below is exact, so the cells compare with ==.
        internal::CalibrationShare c;
        c.confidence = static_cast<double>(pick(0, 16)) / 16;
        c.bin = stats::CalibrationBinOf(c.confidence);
        c.confirm = pick(0, 1) == 1;
        c.squared_error = (c.confidence - c.confirm) * (c.confidence - c.confirm);
        p.calibration = c;
      }
      if (p.spans == 1) {
        p.finish = static_cast<uint32_t>(pick(0, 3));
        // Whole minutes around a large time to resolve, and three values of
        // confidence: hours whose pairs share a side.
        if (pick(0, 1) == 1) {
          p.pair = internal::PairShare{static_cast<double>(pick(0, 2)) / 4,
                                       1e7 + 60.0 * static_cast<double>(pick(0, 3)), 1};
        }
      }
      b.Add(hour, BucketCounts{p.spans, p.verdicts, p.overrides, p.reviewed, p.cost}, nullptr,
            p.calibration ? &*p.calibration : nullptr, p.pair ? &*p.pair : nullptr,
            p.finish ? &*p.finish : nullptr);
      live.emplace_back(hour, p);
    }
    std::map<int64_t, Plain> recount;
    std::map<int64_t, std::pair<stats::CalibrationBins, double>> calibration;  // bins, brier
    std::map<int64_t, std::map<uint32_t, int32_t>> finishes;
    std::map<int64_t, std::vector<std::pair<double, double>>> pairs;
    for (const auto& [hour, p] : live) {
      if (p.finish) ++finishes[hour][*p.finish];
      if (p.pair) pairs[hour].emplace_back(p.pair->x, p.pair->y);
      if (p.calibration) {
        auto& [bins, brier] = calibration[hour];
        stats::CalibrationBin& bin = bins[p.calibration->bin];
        ++bin.count;
        bin.confirms += p.calibration->confirm;
        bin.confidence_sum += p.calibration->confidence;
        brier += p.calibration->squared_error;
      }
      Plain& c = recount[hour];
      c.spans += p.spans;
      c.verdicts += p.verdicts;
      c.overrides += p.overrides;
      c.reviewed += p.reviewed;
      c.cost += p.cost;
    }
    std::erase_if(recount, [](const auto& kv) { return kv.second.Zero(); });
    ASSERT_EQ(b.size(), recount.size()) << "seed " << seed;
    auto want = recount.begin();
    for (auto it = b.begin(); it != b.end(); ++it) {
      const HourBuckets::Entry& e = *it;
      // The hour's calibration cells: exactly the bins its calibrated spans fill.
      const HourBuckets::HourDetail& h = b.DetailOf(it);
      const auto cal = calibration.find(e.hour);
      auto cell = h.cells.begin();
      double brier = 0;
      for (int bin = 0; bin < stats::kCalibrationBins; ++bin) {
        const int64_t count = cal == calibration.end() ? 0 : cal->second.first[bin].count;
        ASSERT_EQ((h.bins >> bin) & 1u, count > 0 ? 1u : 0u) << "hour " << e.hour << " bin " << bin;
        if (count == 0) continue;
        ASSERT_EQ(cell->count, count);
        ASSERT_EQ(cell->confirms, cal->second.first[bin].confirms);
        ASSERT_EQ(cell->confidence_sum, cal->second.first[bin].confidence_sum);
        brier = cal->second.second;
        ++cell;
      }
      ASSERT_EQ(cell, h.cells.end());
      ASSERT_EQ(h.brier, brier);
      const std::map<uint32_t, int32_t> want_finishes = finishes[e.hour];
      const std::map<uint32_t, int32_t> got_finishes(h.finishes.begin(), h.finishes.end());
      ASSERT_EQ(got_finishes, want_finishes);
      ASSERT_EQ(h.finishes.size(), want_finishes.size());  // no zero counts kept
      PairSample sample;
      for (const auto& [x, y] : pairs[e.hour]) sample.Add(x, y);
      const Comoments got = h.pairs.Moments(), want_moments = sample.Moments();
      ASSERT_EQ(got.n, want_moments.n) << "hour " << e.hour;
      ASSERT_EQ(Pearson(got).has_value(), Pearson(want_moments).has_value()) << "hour " << e.hour;
      if (Pearson(got)) {
        ASSERT_NEAR(*Pearson(got), *Pearson(want_moments), 1e-9);
      }
      if (got.n > 0) {
        ASSERT_NEAR(got.mean_y, want_moments.mean_y, 1e-6);
        ASSERT_NEAR(got.cyy, want_moments.cyy, 1e-6 * std::max(1.0, want_moments.cyy));
      }
      ASSERT_EQ(e.hour, want->first) << "seed " << seed;
      ASSERT_EQ(e.counts.spans, want->second.spans);
      ASSERT_EQ(e.counts.verdicts, want->second.verdicts);
      ASSERT_EQ(e.counts.overrides, want->second.overrides);
      ASSERT_EQ(e.counts.reviewed, want->second.reviewed);
      ASSERT_TRUE(e.counts.cost == want->second.cost);
      ++want;
    }
    // LowerBound finds the first hour at or after any probe: anywhere, and
    // at and beside every held hour (where the dense hours around now let
    // it answer from the back without a search).
    std::vector<int64_t> probes;
    for (int k = 0; k < 200; ++k) probes.push_back(pick(-600'000, 600'000));
    for (const auto& [hour, counts] : recount) {
      for (int64_t d : {-1, 0, 1}) probes.push_back(hour + d);
    }
    for (const int64_t probe : probes) {
      auto it = b.LowerBound(probe);
      auto ref = recount.lower_bound(probe);
      ASSERT_EQ(it == b.end(), ref == recount.end());
      if (ref != recount.end()) {
        ASSERT_EQ(it->hour, ref->first);
      }
    }
  }
}

constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kT0 = 1'764'000'000'000 - 1'764'000'000'000 % kHour + 17 * 60'000;

WindowSpec Hours(int64_t n) { return *ParseWindow(std::to_string(n) + "h", nullptr); }

struct Stream {
  struct Inv {
    std::string agent;
    TimeMs ts;
    double cost;
    Verdict verdict = Verdict::kNone;
  };
  std::vector<Span> spans;
  std::vector<Feedback> feedback;  // after all spans, one per reviewed span
  std::map<std::string, Inv> invs;
};

Stream MakeStream(uint32_t seed) {
  std::mt19937_64 rng(seed);
  const auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Stream s;
  for (int i = 0; i < 3000; ++i) {
    Span sp;
    sp.investigation_id = "i-" + std::to_string(i);
    sp.agent = "a" + std::to_string(pick(0, 6));
    // Mostly in order over three days, some far back, some minutes ahead.
    const int64_t roll = pick(0, 19);
    sp.ts_ms = roll == 0   ? kT0 - pick(1, 400) * 24 * kHour
               : roll == 1 ? kT0 + 72 * kHour + pick(0, 300'000)
                           : kT0 + i * (72 * kHour / 3000) - pick(0, 2 * kHour);
    sp.cost_usd = static_cast<double>(pick(0, 40)) / 8.0;
    s.invs[sp.investigation_id] = {sp.agent, sp.ts_ms, *sp.cost_usd};
    s.spans.push_back(sp);
    if (pick(0, 2) == 0) {
      Feedback f;
      f.investigation_id = sp.investigation_id;
      f.verdict = pick(0, 3) == 0 ? Verdict::kOverride : Verdict::kConfirm;
      f.ts_ms = sp.ts_ms + 1000;
      s.invs[sp.investigation_id].verdict = f.verdict;
      s.feedback.push_back(f);
    }
  }
  return s;
}

std::optional<double> Value(const WindowEngine& e, Sli sli, const WindowSpec& w, TimeMs now,
                            const std::string& agent) {
  SliQuery q;
  q.sli = sli;
  q.window = w;
  q.only_agent = agent;
  if (agent.empty()) q.by = {};  // one fleet-wide group
  const auto v = e.Compute(q, now);
  return v.empty() ? std::nullopt : v[0].value;
}

TEST(HourBuckets, ABulkLoadCountsTheSameAsALiveFeedAndABruteForceCount) {
  for (uint32_t seed : {11u, 12u, 13u}) {
    const Stream s = MakeStream(seed);
    WindowEngine live(Pricing{});
    WindowEngine bulk(Pricing{});
    WindowEngine still(Pricing{});  // read while its bulk load is still on
    bulk.BulkLoad(true);
    still.BulkLoad(true);
    int64_t seq = 0;
    for (WindowEngine* e : {&live, &bulk, &still}) {
      seq = 0;
      for (const Span& sp : s.spans) e->ApplySpan(sp, ++seq);
      for (const Feedback& f : s.feedback) e->ApplyFeedback(f, ++seq);
    }
    bulk.BulkLoad(false);
    std::vector<std::string> agents = live.Agents();
    agents.push_back("");  // the fleet
    for (TimeMs now : {kT0 + 72 * kHour + 400'000, kT0 + 40 * kHour + 1234}) {
      for (int64_t h : {1, 5, 24, 73, 24 * 500}) {
        for (const std::string& agent : agents) {
          // Brute force from the events: lo < ts <= now.
          int64_t spans = 0, verdicts = 0, overrides = 0;
          double cost = 0;
          for (const auto& [id, inv] : s.invs) {
            if (!agent.empty() && inv.agent != agent) continue;
            if (inv.ts <= now - h * kHour || inv.ts > now) continue;
            ++spans;
            cost += inv.cost;  // multiples of 1/8: exact
            if (inv.verdict != Verdict::kNone) ++verdicts;
            if (inv.verdict == Verdict::kOverride) ++overrides;
          }
          const std::string ctx =
              "seed " + std::to_string(seed) + " " + std::to_string(h) + "h agent '" + agent + "'";
          for (const WindowEngine* e : {&live, &bulk, &still}) {
            ASSERT_EQ(Value(*e, Sli::kInvestigations, Hours(h), now, agent),
                      static_cast<double>(spans))
                << ctx;
            ASSERT_EQ(Value(*e, Sli::kCostUsd, Hours(h), now, agent), cost) << ctx;
            const auto rate = Value(*e, Sli::kOverrideRate, Hours(h), now, agent);
            if (verdicts == 0) {
              ASSERT_FALSE(rate.has_value()) << ctx;
            } else {
              ASSERT_EQ(rate, static_cast<double>(overrides) / static_cast<double>(verdicts))
                  << ctx;
            }
          }
        }
      }
    }
    // Writes after the load keep the counted buckets exact: a prune and a
    // repricing (sent costs stay) both go through the live accounting.
    const TimeMs cutoff = kT0 + 10 * kHour;
    live.PruneBefore(cutoff);
    bulk.PruneBefore(cutoff);
    const TimeMs now = kT0 + 80 * kHour;
    for (const WindowEngine* e : {&live, &bulk}) {
      int64_t kept = 0;
      for (const auto& [id, inv] : s.invs) kept += inv.ts >= cutoff && inv.ts <= now;
      ASSERT_EQ(Value(*e, Sli::kInvestigations, Hours(24 * 800), now, ""),
                static_cast<double>(kept));
    }
  }
}

}  // namespace
}  // namespace aw::windows
