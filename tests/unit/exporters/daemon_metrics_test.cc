// The per-agent counters of the contract over random batches (agents,
// models, tokens present or not, priced or not): every series holds the
// sum a recount of all spans gives, and a series exists only once it has
// had something to count (a cost series for every agent and model seen).

#include "exporters/daemon_metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace aw::exporters {
namespace {

using Series = std::map<std::string, double>;  // "family{labels}" -> value

Series Collect(DaemonMetrics& metrics) {
  Series out;
  for (const auto& family : metrics.registry().Collect()) {
    if (family.name.rfind("agentwatch_", 0) != 0) continue;
    for (const auto& m : family.metric) {
      std::string key = family.name + "{";
      for (const auto& l : m.label) key += l.name + "=" + l.value + ",";
      out[key + "}"] = m.counter.value;
    }
  }
  return out;
}

TEST(DaemonMetricsTest, CountersEqualARecountOverRandomBatches) {
  std::mt19937_64 rng(7);
  DaemonMetrics metrics("test");
  Pricing pricing;
  pricing["priced"] = ModelPrice{1.0, 2.0, 0.5, 0.25};
  Series want;
  const char* types[4] = {"input", "output", "cache_read", "cache_write"};
  for (int batch = 0; batch < 30; ++batch) {
    std::vector<Span> spans;
    const int n = static_cast<int>(rng() % 50);
    for (int i = 0; i < n; ++i) {
      Span s;
      s.investigation_id = std::to_string(batch) + "-" + std::to_string(i);
      s.agent = "agent-" + std::to_string(rng() % 5);
      const int m = static_cast<int>(rng() % 4);
      (m == 0 ? s.response_model : s.model) = m < 2 ? "priced" : m == 2 ? "free" : "";
      std::optional<int64_t>* tokens[4] = {&s.input_tokens, &s.output_tokens, &s.cache_read_tokens,
                                           &s.cache_creation_tokens};
      for (auto* t : tokens) {
        if (rng() % 3 == 0) *t = static_cast<int64_t>(rng() % 1000);
      }
      if (rng() % 4 == 0) s.tool_calls = static_cast<int64_t>(rng() % 30);
      if (rng() % 5 == 0) s.cost_usd = 0.125;
      const std::string model = s.model.empty() ? s.response_model : s.model;
      const std::string am = "agent=" + s.agent + ",model=" + model + ",";
      want["agentwatch_investigations_total{agent=" + s.agent + ",}"] += 1;
      want["agentwatch_tool_calls_total{agent=" + s.agent + ",}"] +=
          s.tool_calls ? static_cast<double>(*s.tool_calls) : 0;
      for (int t = 0; t < 4; ++t) {
        // A token series exists once a span had tokens of its type, even 0.
        if (*tokens[t] && **tokens[t] > 0) {
          want["agentwatch_tokens_total{" + am + "type=" + types[t] + ",}"] +=
              static_cast<double>(**tokens[t]);
        }
      }
      const auto cost = PriceSpan(s, pricing);
      want["agentwatch_cost_usd_total{" + am + "}"] += cost ? *cost : 0;
      if (!cost) want["agentwatch_unpriced_investigations_total{" + am + "}"] += 1;
      spans.push_back(std::move(s));
    }
    metrics.CountSpans(spans, pricing);
    Series got = Collect(metrics);
    for (const auto& [key, value] : want) {
      ASSERT_TRUE(got.count(key)) << "batch " << batch << ": missing " << key;
      EXPECT_NEAR(got[key], value, 1e-9 * (1 + value)) << "batch " << batch << ": " << key;
    }
    for (const auto& [key, value] : got) {
      const bool per_agent = key.find("agent=") != std::string::npos;
      if (per_agent && key.rfind("agentwatch_feedback", 0) != 0) {
        EXPECT_TRUE(want.count(key)) << "batch " << batch << ": unexpected series " << key;
      }
    }
  }
}

}  // namespace
}  // namespace aw::exporters
