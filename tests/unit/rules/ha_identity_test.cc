// Two replicas of an HA pair fed the same records must name each alert the
// same way in every notification, or PagerDuty and an Alertmanager cluster
// cannot deduplicate them. Each replica here differs in everything that is
// instance-specific: its start time, its external URL, its seq numbers and
// the order in which it received the records.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>

#include "alerting/payloads.h"
#include "rules/rule_engine.h"
#include "rules/rule_loader.h"
#include "windows/window_engine.h"

namespace aw::rules {
namespace {

constexpr TimeMs kT0 = 1'764'000'000'000;

struct Replica {
  std::unique_ptr<windows::WindowEngine> windows;
  std::unique_ptr<RuleEngine> rules;
  alerting::PayloadOptions payload;
};

Replica MakeReplica(const std::string& external_url) {
  LoadOptions o;
  o.check_receivers = false;
  auto set = LoadRuleText(R"(groups:
- name: g
  rules:
  - alert: AgentHighOverrideRate
    sli: override_rate
    window: 1h
    by: [agent, env]
    threshold: 0.2
    min_samples: 3
    labels: {severity: page}
)",
                          "rules.yaml", o);
  EXPECT_TRUE(set.ok()) << set.status().message();
  Settings s;
  s.default_receivers = {"pd"};
  Replica r;
  r.windows = std::make_unique<windows::WindowEngine>(Pricing{});
  r.rules = std::make_unique<RuleEngine>(*set, s);
  r.payload.external_url = external_url;
  return r;
}

// The identity fields of each notification, serialized, sorted.
std::vector<std::string> Identities(Replica& r, TimeMs now) {
  std::vector<std::string> out;
  for (const auto& n : r.rules->Evaluate(*r.windows, now).notifications) {
    const auto pd =
        nlohmann::json::parse(alerting::BuildPagerDutyEvent("key", n.event, r.payload, now));
    const auto wh = nlohmann::json::parse(alerting::BuildWebhookV4("pd", n.event, r.payload));
    const auto am =
        nlohmann::json::parse(alerting::BuildAlertmanagerAlerts(n.event, r.payload, now));
    out.push_back(pd.at("dedup_key").dump() + "|" + wh.at("groupKey").dump() + "|" +
                  wh.at("alerts")[0].at("fingerprint").dump() + "|" +
                  wh.at("alerts")[0].at("labels").dump() + "|" + am[0].at("labels").dump());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(HaIdentityTest, TwoReplicasNameEveryAlertIdentically) {
  std::vector<Span> spans;
  std::vector<Feedback> verdicts;
  for (int i = 0; i < 24; ++i) {
    Span s;
    s.investigation_id = "inv-" + std::to_string(i);
    s.agent = i % 2 ? "ir" : "cost-bot";
    s.labels = {{"env", i % 3 ? "prod" : "staging"}};
    s.ts_ms = kT0 + i * 1000;
    spans.push_back(s);
    Feedback f;
    f.investigation_id = s.investigation_id;
    f.verdict = i % 4 == 0 ? Verdict::kConfirm : Verdict::kOverride;
    f.ts_ms = s.ts_ms + 500;
    verdicts.push_back(f);
  }
  Replica a = MakeReplica("http://replica-a.example:9464");
  Replica b = MakeReplica("https://replica-b.example");
  for (size_t i = 0; i < spans.size(); ++i) {
    a.windows->ApplySpan(spans[i], static_cast<int64_t>(i + 1));
    a.windows->ApplyFeedback(verdicts[i], static_cast<int64_t>(100 + i));
  }
  // Replica b received the same records in another order, with other seqs.
  std::vector<size_t> order(spans.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  int64_t seq = 5000;
  for (size_t i : order) b.windows->ApplyFeedback(verdicts[i], ++seq);
  for (size_t i : order) b.windows->ApplySpan(spans[i], ++seq);

  // They evaluate at slightly different times, as two processes do.
  const TimeMs now = kT0 + 60'000;
  const std::vector<std::string> ids_a = Identities(a, now);
  const std::vector<std::string> ids_b = Identities(b, now + 1234);
  ASSERT_FALSE(ids_a.empty());
  EXPECT_EQ(ids_a, ids_b);

  // And an identity still tells alerts apart: another label set, another key.
  EXPECT_NE(Fingerprint("AgentHighOverrideRate", Labels{{"agent", "ir"}, {"env", "prod"}}),
            Fingerprint("AgentHighOverrideRate", Labels{{"agent", "ir"}, {"env", "staging"}}));
}

}  // namespace
}  // namespace aw::rules
