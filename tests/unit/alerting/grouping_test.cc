#include "alerting/grouping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "tests/testing/fake_clock.h"
#include "tests/unit/alerting/test_util.h"

namespace aw::alerting {
namespace {

using test::kStart;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using namespace std::chrono_literals;

constexpr Millis kWait = 30s;
constexpr Millis kInterval = 5min;
constexpr Millis kRepeat = 4h;

GroupingOptions By(std::vector<std::string> labels) {
  GroupingOptions c;
  c.enabled = true;
  c.by_all = false;
  c.by = std::move(labels);
  c.wait = kWait;
  c.interval = kInterval;
  c.repeat = kRepeat;
  return c;
}

AlertEvent Alert(const std::string& agent, bool resolved = false,
                 const std::string& name = "HighOverride") {
  AlertEvent e = test::FiringEvent(name);
  e.labels = {{"agent", agent}, {"severity", "page"}};
  e.fingerprint = name + "/" + agent;
  e.resolved = resolved;
  return e;
}

std::vector<std::string> Fingerprints(const GroupNotification& n) {
  std::vector<std::string> out;
  for (const AlertEvent& e : n.alerts)
    out.push_back(e.fingerprint + (e.resolved ? ":resolved" : ""));
  return out;
}

class GrouperTest : public ::testing::Test {
 protected:
  TimeMs Now() const { return clock_.NowMs(); }
  FakeClock clock_{kStart};
};

TEST_F(GrouperTest, FirstNotificationWaitsGroupWaitAndListsTheGroup) {
  Grouper g(By({"alertname"}));
  g.Add(Alert("a"), Now());
  clock_.Advance(10s);
  g.Add(Alert("b"), Now());
  g.Add(Alert("c"), Now());
  EXPECT_EQ(g.NextFlushMs(), kStart + kWait.count());
  clock_.Set(kStart + kWait.count() - 1);
  EXPECT_THAT(g.Flush(Now()), IsEmpty());
  clock_.Set(kStart + kWait.count());
  auto out = g.Flush(Now());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(Fingerprints(out[0]),
              ElementsAre("HighOverride/a", "HighOverride/b", "HighOverride/c"));
  EXPECT_EQ(out[0].key, "{}:{alertname=\"HighOverride\"}");
  EXPECT_EQ(out[0].labels, (Labels{{"alertname", "HighOverride"}}));
  EXPECT_THAT(out[0].send_fingerprints,
              ElementsAre("HighOverride/a", "HighOverride/b", "HighOverride/c"));
  EXPECT_THAT(g.Flush(Now()), IsEmpty());  // nothing new
}

TEST_F(GrouperTest, LaterChangesWaitForTheGroupIntervalAndGoOutTogether) {
  Grouper g(By({"alertname"}));
  g.Add(Alert("a"), Now());
  clock_.Advance(kWait);
  const TimeMs first = Now();
  ASSERT_EQ(g.Flush(first).size(), 1u);
  clock_.Advance(1min);
  g.Add(Alert("b"), Now());
  clock_.Advance(1min);
  g.Add(Alert("c"), Now());
  EXPECT_EQ(g.NextFlushMs(), first + kInterval.count());
  clock_.Set(first + kInterval.count() - 1);
  EXPECT_THAT(g.Flush(Now()), IsEmpty());
  clock_.Set(first + kInterval.count());
  auto out = g.Flush(Now());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].alerts.size(), 3u);
  // Only the changed ones for a per-alert receiver.
  EXPECT_THAT(out[0].send_fingerprints, ElementsAre("HighOverride/b", "HighOverride/c"));
}

TEST_F(GrouperTest, AChangeAfterAQuietIntervalGoesOutAtOnce) {
  Grouper g(By({"alertname"}));
  g.Add(Alert("a"), Now());
  clock_.Advance(kWait);
  ASSERT_EQ(g.Flush(Now()).size(), 1u);
  clock_.Advance(kInterval + 1min);
  g.Add(Alert("b"), Now());
  EXPECT_EQ(g.NextFlushMs(), Now());
  EXPECT_EQ(g.Flush(Now()).size(), 1u);
}

TEST_F(GrouperTest, RepeatedStateIsNoChangeAndTheGroupRepeatsAtRepeatInterval) {
  Grouper g(By({"alertname"}));
  g.Add(Alert("a"), Now());
  g.Add(Alert("b"), Now());
  clock_.Advance(kWait);
  const TimeMs first = Now();
  ASSERT_EQ(g.Flush(first).size(), 1u);
  clock_.Advance(kInterval * 2);
  g.Add(Alert("a"), Now());  // the engine's own repeat: still firing
  EXPECT_THAT(g.Flush(Now()), IsEmpty());
  clock_.Set(first + kRepeat.count() - 1);
  EXPECT_THAT(g.Flush(Now()), IsEmpty());
  clock_.Set(first + kRepeat.count());
  auto out = g.Flush(Now());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(out[0].send_fingerprints, ElementsAre("HighOverride/a", "HighOverride/b"));
  EXPECT_EQ(g.NextFlushMs(), Now() + kRepeat.count());
}

TEST_F(GrouperTest, AResolveIsListedOnceThenLeavesTheGroup) {
  Grouper g(By({"alertname"}));
  g.Add(Alert("a"), Now());
  g.Add(Alert("b"), Now());
  clock_.Advance(kWait);
  ASSERT_EQ(g.Flush(Now()).size(), 1u);
  clock_.Advance(1min);
  g.Add(Alert("a", /*resolved=*/true), Now());
  clock_.Advance(kInterval);
  auto out = g.Flush(Now());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(Fingerprints(out[0]), ElementsAre("HighOverride/a:resolved", "HighOverride/b"));
  EXPECT_THAT(out[0].send_fingerprints, ElementsAre("HighOverride/a"));
  g.Add(Alert("b", true), Now());
  clock_.Advance(kInterval);
  out = g.Flush(Now());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(Fingerprints(out[0]), ElementsAre("HighOverride/b:resolved"));
  EXPECT_TRUE(g.groups().empty());
  EXPECT_EQ(g.NextFlushMs(), -1);
}

TEST_F(GrouperTest, FiringAndResolvingBeforeTheFirstNotificationSendsTheResolve) {
  Grouper g(By({"alertname"}));
  g.Add(Alert("a"), Now());
  clock_.Advance(10s);
  g.Add(Alert("a", true), Now());
  clock_.Advance(kWait);
  auto out = g.Flush(Now());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_THAT(Fingerprints(out[0]), ElementsAre("HighOverride/a:resolved"));
  EXPECT_TRUE(g.groups().empty());
}

TEST_F(GrouperTest, GroupByPartitionsByLabelValues) {
  Grouper g(By({"agent"}));
  g.Add(Alert("a", false, "X"), Now());
  g.Add(Alert("a", false, "Y"), Now());
  g.Add(Alert("b", false, "X"), Now());
  clock_.Advance(kWait);
  auto out = g.Flush(Now());
  ASSERT_EQ(out.size(), 2u);
  std::map<std::string, std::vector<std::string>> by_key;
  for (const auto& n : out) by_key[n.key] = Fingerprints(n);
  EXPECT_EQ(by_key["{}:{agent=\"a\"}"], (std::vector<std::string>{"X/a", "Y/a"}));
  EXPECT_EQ(by_key["{}:{agent=\"b\"}"], (std::vector<std::string>{"X/b"}));
}

TEST_F(GrouperTest, AMissingLabelIsLeftOutOfTheGroupLabels) {
  Grouper g(By({"agent", "team"}));
  g.Add(Alert("a"), Now());
  ASSERT_EQ(g.groups().size(), 1u);
  EXPECT_EQ(g.groups().begin()->second.labels, (Labels{{"agent", "a"}}));
}

TEST_F(GrouperTest, GroupByEverythingMakesEachAlertItsOwnGroup) {
  GroupingOptions c = By({});
  c.by_all = true;
  Grouper g(c);
  g.Add(Alert("a"), Now());
  g.Add(Alert("b"), Now());
  g.Add(Alert("b"), Now());
  ASSERT_EQ(g.groups().size(), 2u);
  const AlertGroup& first = g.groups().begin()->second;
  EXPECT_EQ(first.labels,
            (Labels{{"agent", "a"}, {"alertname", "HighOverride"}, {"severity", "page"}}));
}

TEST_F(GrouperTest, SurvivesARoundTripThroughItsStoredForm) {
  Grouper g(By({"alertname"}));
  g.Add(Alert("a"), Now());
  clock_.Advance(kWait);
  ASSERT_EQ(g.Flush(Now()).size(), 1u);
  clock_.Advance(1min);
  g.Add(Alert("b"), Now());

  std::vector<AlertGroup> stored;
  for (const auto& [key, group] : g.groups()) {
    auto back = GroupFromJson(GroupToJson(group));
    ASSERT_TRUE(back.ok()) << back.status().message();
    stored.push_back(std::move(back).value());
  }
  Grouper restored(By({"alertname"}));
  restored.Restore(std::move(stored));
  EXPECT_EQ(restored.NextFlushMs(), g.NextFlushMs());
  clock_.Set(g.NextFlushMs());
  auto a = g.Flush(Now());
  auto b = restored.Flush(Now());
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(Fingerprints(a[0]), Fingerprints(b[0]));
  EXPECT_EQ(a[0].send_fingerprints, b[0].send_fingerprints);
  EXPECT_EQ(GroupNotificationToJson(a[0]), GroupNotificationToJson(b[0]));
}

TEST(GroupPayloadJsonTest, RoundTripsAndIsToldApartFromAnAlertItem) {
  GroupNotification n{
      "{}:{agent=\"a\"}", {{"agent", "a"}}, {Alert("a"), Alert("b", true)}, {"HighOverride/b"}};
  const std::string text = GroupNotificationToJson(n);
  EXPECT_TRUE(IsGroupPayload(text));
  EXPECT_FALSE(IsGroupPayload(test::Payload(Alert("a"))));
  AlertEvent tricky = Alert("a");
  tricky.labels["group_key"] = "x";  // a label is not the payload's key
  EXPECT_FALSE(IsGroupPayload(test::Payload(tricky)));
  auto back = GroupNotificationFromJson(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->key, n.key);
  EXPECT_EQ(back->labels, n.labels);
  EXPECT_EQ(Fingerprints(*back), Fingerprints(n));
  EXPECT_EQ(back->send_fingerprints, n.send_fingerprints);
  auto bad = GroupNotificationFromJson(R"({"group_key": "k", "alerts": [{"labels": {}}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("alerts[0]"));
}

TEST(GroupPayloadJsonTest, CarryOverKeepsResolvesOfASupersededMessage) {
  GroupNotification older{"k", {}, {Alert("a", true), Alert("b")}, {"HighOverride/a"}};
  GroupNotification newer{"k", {}, {Alert("b"), Alert("c")}, {"HighOverride/c"}};
  CarryOver(older, newer);
  EXPECT_THAT(Fingerprints(newer),
              ElementsAre("HighOverride/a:resolved", "HighOverride/b", "HighOverride/c"));
  EXPECT_THAT(newer.send_fingerprints, UnorderedElementsAre("HighOverride/a", "HighOverride/c"));
}

// Differential test against a brute-force reference of the rules in
// grouping.h: every alert's changes replayed minute by minute.
TEST(GrouperPropertyTest, MatchesAReferenceOverRandomHistories) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    GroupingOptions c = By({"alertname"});
    c.wait = Millis(int64_t{60'000} * (rng() % 3));
    c.interval = Millis(int64_t{60'000} * (1 + rng() % 5));
    c.repeat = Millis(int64_t{60'000} * (5 + rng() % 20));
    Grouper g(c);
    // Reference state for the single group (one alertname).
    std::map<std::string, bool> current;  // fingerprint -> firing
    std::set<std::string> changed;
    TimeMs created = -1, last_sent = -1;
    for (int minute = 0; minute < 120; ++minute) {
      const TimeMs now = kStart + int64_t{60'000} * minute;
      if (rng() % 3 == 0) {
        const std::string agent(1, static_cast<char>('a' + rng() % 4));
        const std::string fp = "HighOverride/" + agent;
        // Only a firing alert resolves; firing again while firing is the
        // engine's repeat, which is no change.
        const bool resolve = current.count(fp) != 0 && current[fp] && rng() % 2 == 0;
        g.Add(Alert(agent, resolve), now);
        if (created < 0) created = now;
        const bool state_changed = current.count(fp) == 0 || current[fp] == resolve;
        current[fp] = !resolve;
        if (state_changed) changed.insert(fp);
      }
      // Reference: due?
      bool expect = false;
      if (created >= 0) {
        const bool any_firing =
            std::any_of(current.begin(), current.end(), [](const auto& kv) { return kv.second; });
        if (!changed.empty()) {
          expect = last_sent < 0 ? now >= created + c.wait.count()
                                 : now >= last_sent + c.interval.count();
        } else {
          expect = any_firing && last_sent >= 0 && now >= last_sent + c.repeat.count();
        }
      }
      auto out = g.Flush(now);
      ASSERT_EQ(out.size(), expect ? 1u : 0u) << "round " << round << " minute " << minute;
      if (!expect) continue;
      std::vector<std::string> want;
      for (const auto& [fp, f] : current) want.push_back(fp + (f ? "" : ":resolved"));
      ASSERT_EQ(Fingerprints(out[0]), want) << "round " << round << " minute " << minute;
      last_sent = now;
      changed.clear();
      for (auto it = current.begin(); it != current.end();) {
        it = it->second ? std::next(it) : current.erase(it);
      }
      if (current.empty()) {
        created = -1;
        last_sent = -1;
      }
    }
  }
}

}  // namespace
}  // namespace aw::alerting
