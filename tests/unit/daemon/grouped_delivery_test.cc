// The OutboxSender over a real SQLite store with grouped receivers: alert
// items fold into groups, groups flush into group items at their time, an
// ungrouped receiver is untouched, and a group survives a reopen (restart).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sqlite3.h>
#include <mutex>
#include <utility>

#include "alerting/alert_json.h"
#include "alerting/outbox_sender.h"
#include "daemon/store/sqlite_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using alerting::DeliveryResult;
using alerting::GroupNotification;
using alerting::ReceiverOptions;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

constexpr TimeMs kStart = 1'764'000'000'000;

// Records every call; answers `next` (delivered by default).
class RecordingNotifier final : public alerting::Notifier {
 public:
  struct Call {
    std::string receiver;
    std::vector<std::string> alerts;  // fingerprint[:resolved]
    bool group = false;
  };
  DeliveryResult Send(const ReceiverOptions& r, const AlertEvent& e, TimeMs) noexcept override {
    std::lock_guard lock(mu_);
    calls_.push_back({r.name, {Name(e)}, false});
    return next_;
  }
  DeliveryResult SendGroup(const ReceiverOptions& r, const GroupNotification& g,
                           TimeMs) noexcept override {
    std::lock_guard lock(mu_);
    Call c{r.name, {}, true};
    for (const AlertEvent& e : g.alerts) c.alerts.push_back(Name(e));
    calls_.push_back(std::move(c));
    return next_;
  }
  std::vector<Call> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(calls_, {});
  }
  void Answer(DeliveryResult r) {
    std::lock_guard lock(mu_);
    next_ = r;
  }

 private:
  static std::string Name(const AlertEvent& e) {
    return e.fingerprint + (e.resolved ? ":resolved" : "");
  }
  std::mutex mu_;
  std::vector<Call> calls_;
  DeliveryResult next_ = DeliveryResult::Delivered();
};

ReceiverOptions Hook(const std::string& name, bool grouped) {
  ReceiverOptions r;
  r.name = name;
  r.kind = ReceiverOptions::Kind::kWebhook;
  r.url = "http://127.0.0.1:9/" + name;
  if (grouped) {
    r.grouping.enabled = true;
    r.grouping.by_all = false;
    r.grouping.by = {"alertname"};
    r.grouping.wait = 30s;
    r.grouping.interval = 5min;
    r.grouping.repeat = 4h;
  }
  return r;
}

AlertEvent Alert(const std::string& agent, bool resolved = false) {
  AlertEvent e;
  e.name = "HighOverride";
  e.labels = {{"agent", agent}};
  e.fingerprint = "fp-" + agent;
  e.resolved = resolved;
  e.fired_at_ms = kStart;
  return e;
}

class GroupedDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto s = SqliteStore::Open(dir_.File("events.db"), {});
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  std::unique_ptr<alerting::OutboxSender> Sender() {
    alerting::OutboxSender::Options o;
    o.seed = 1;
    o.groups = store_.get();
    return std::make_unique<alerting::OutboxSender>(
        *store_, clock_, std::vector<ReceiverOptions>{Hook("grouped", true), Hook("plain", false)},
        notifier_, o);
  }
  // What the rule runtime commits for one alert change: one item per receiver.
  void Change(const AlertEvent& e) {
    std::vector<OutboxItem> items;
    for (const char* r : {"grouped", "plain"}) {
      OutboxItem item;
      item.receiver = r;
      item.fingerprint = e.fingerprint;
      item.payload = alerting::AlertEventToJson(e);
      item.created_ms = item.next_attempt_ms = clock_.NowMs();
      items.push_back(std::move(item));
    }
    ASSERT_TRUE(store_->SaveAlertChanges({}, {}, std::move(items)).ok());
  }
  std::vector<std::vector<std::string>> GroupCalls(
      const std::vector<RecordingNotifier::Call>& calls) {
    std::vector<std::vector<std::string>> out;
    for (const auto& c : calls) {
      if (c.receiver == "grouped") {
        EXPECT_TRUE(c.group);
        out.push_back(c.alerts);
      }
    }
    return out;
  }
  static int PlainCalls(const std::vector<RecordingNotifier::Call>& calls) {
    int n = 0;
    for (const auto& c : calls) n += c.receiver == "plain" && !c.group ? 1 : 0;
    return n;
  }

  testing::TempDir dir_;
  FakeClock clock_{kStart};
  RecordingNotifier notifier_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(GroupedDeliveryTest, GroupWaitsThenGoesOutAsOneMessageWhileUngroupedGoesAtOnce) {
  auto sender = Sender();
  Change(Alert("a"));
  Change(Alert("b"));
  Change(Alert("c"));
  EXPECT_EQ(sender->DeliverDue(clock_.NowMs()), 3);
  auto calls = notifier_.Take();
  EXPECT_EQ(PlainCalls(calls), 3);
  EXPECT_THAT(GroupCalls(calls), IsEmpty());

  clock_.Advance(29s);
  sender->DeliverDue(clock_.NowMs());
  EXPECT_THAT(notifier_.Take(), IsEmpty());
  clock_.Advance(1s);
  sender->DeliverDue(clock_.NowMs());
  EXPECT_THAT(GroupCalls(notifier_.Take()), ElementsAre(ElementsAre("fp-a", "fp-b", "fp-c")));

  // A fourth within the interval waits for it, then the group goes out whole.
  clock_.Advance(1min);
  Change(Alert("d"));
  sender->DeliverDue(clock_.NowMs());
  EXPECT_EQ(PlainCalls(notifier_.Take()), 1);
  clock_.Set(kStart + 30'000 + 5 * 60'000 - 1);
  sender->DeliverDue(clock_.NowMs());
  EXPECT_THAT(notifier_.Take(), IsEmpty());
  clock_.Advance(1ms);
  sender->DeliverDue(clock_.NowMs());
  EXPECT_THAT(GroupCalls(notifier_.Take()),
              ElementsAre(ElementsAre("fp-a", "fp-b", "fp-c", "fp-d")));
}

TEST_F(GroupedDeliveryTest, AWaitingGroupSurvivesARestartAndGoesOutOnce) {
  {
    auto sender = Sender();
    Change(Alert("a"));
    Change(Alert("b"));
    sender->DeliverDue(clock_.NowMs());
    notifier_.Take();
  }
  Reopen();
  auto sender = Sender();
  clock_.Advance(30s);
  sender->DeliverDue(clock_.NowMs());
  EXPECT_THAT(GroupCalls(notifier_.Take()), ElementsAre(ElementsAre("fp-a", "fp-b")));
  clock_.Advance(10min);
  sender->DeliverDue(clock_.NowMs());
  EXPECT_THAT(GroupCalls(notifier_.Take()), IsEmpty());
}

TEST_F(GroupedDeliveryTest, AnAlertItemNotYetFoldedIsFoldedAfterARestart) {
  Change(Alert("a"));  // committed; the sender never ran
  Reopen();
  auto sender = Sender();
  sender->DeliverDue(clock_.NowMs());
  notifier_.Take();
  clock_.Advance(30s);
  sender->DeliverDue(clock_.NowMs());
  EXPECT_THAT(GroupCalls(notifier_.Take()), ElementsAre(ElementsAre("fp-a")));
}

TEST_F(GroupedDeliveryTest, AResolveSurvivesASupersededUndeliveredMessage) {
  auto sender = Sender();
  Change(Alert("a"));
  Change(Alert("b"));
  sender->DeliverDue(clock_.NowMs());
  clock_.Advance(30s);
  sender->DeliverDue(clock_.NowMs());
  notifier_.Take();
  // The receiver goes down; `a` resolves and its message is not delivered.
  notifier_.Answer(DeliveryResult::Retryable("HTTP 503"));
  Change(Alert("a", true));
  clock_.Advance(5min);
  sender->DeliverDue(clock_.NowMs());
  EXPECT_THAT(GroupCalls(notifier_.Take()), ElementsAre(ElementsAre("fp-a:resolved", "fp-b")));
  // `c` fires; the next message supersedes the failed one and still
  // carries a's resolve, which the group itself has let go.
  notifier_.Answer(DeliveryResult::Delivered());
  Change(Alert("c"));
  clock_.Advance(5min);
  sender->DeliverDue(clock_.NowMs());
  EXPECT_THAT(GroupCalls(notifier_.Take()),
              ElementsAre(ElementsAre("fp-a:resolved", "fp-b", "fp-c")));
  clock_.Advance(5min);
  sender->DeliverDue(clock_.NowMs());
  EXPECT_THAT(GroupCalls(notifier_.Take()), IsEmpty());
}

TEST_F(GroupedDeliveryTest, WithoutAGroupStoreEveryReceiverIsUngrouped) {
  alerting::OutboxSender::Options o;
  o.seed = 1;
  alerting::OutboxSender sender(*store_, clock_, {Hook("grouped", true)}, notifier_, o);
  Change(Alert("a"));
  sender.DeliverDue(clock_.NowMs());
  auto calls = notifier_.Take();
  ASSERT_EQ(calls.size(), 1u);  // "plain" is unknown here: failed, not sent
  EXPECT_EQ(calls[0].receiver, "grouped");
  EXPECT_FALSE(calls[0].group);
}

// A reload that makes a receiver ungrouped: what its groups still held
// unnotified goes out at once, as one last group message, and later changes
// go out alone.
TEST_F(GroupedDeliveryTest, AReceiverMadeUngroupedSendsItsWaitingGroupsAtOnce) {
  alerting::OutboxSender::Options o;
  o.seed = 1;
  o.groups = store_.get();
  {
    auto sender = Sender();
    Change(Alert("a"));
    Change(Alert("b"));
    sender->DeliverDue(clock_.NowMs());
    EXPECT_THAT(GroupCalls(notifier_.Take()), IsEmpty());  // waiting out group_wait
  }
  clock_.Advance(1s);
  {
    alerting::OutboxSender sender(*store_, clock_, {Hook("grouped", false), Hook("plain", false)},
                                  notifier_, o);
    sender.DeliverDue(clock_.NowMs());
    EXPECT_THAT(GroupCalls(notifier_.Take()), ElementsAre(ElementsAre("fp-a", "fp-b")));
    Change(Alert("c"));
    sender.DeliverDue(clock_.NowMs());
    auto calls = notifier_.Take();
    ASSERT_EQ(calls.size(), 2u);
    for (const auto& c : calls) {
      EXPECT_FALSE(c.group) << c.receiver;
      EXPECT_THAT(c.alerts, ElementsAre("fp-c"));
    }
  }
  // Drained once: a later sender finds no group left.
  alerting::OutboxSender again(*store_, clock_, {Hook("grouped", false)}, notifier_, o);
  again.DeliverDue(clock_.NowMs());
  EXPECT_THAT(notifier_.Take(), IsEmpty());
}

// A receiver with only its own repeat_interval (config: each alert its own
// group, no wait, no interval): changes go out at once, the rules' repeats
// at the top-level interval are not changes, and it repeats at its own.
TEST_F(GroupedDeliveryTest, OwnRepeatIntervalAloneSendsAtOnceAndRepeatsAtItsInterval) {
  ReceiverOptions r = Hook("grouped", false);
  r.grouping.enabled = true;
  r.grouping.by_all = true;
  r.grouping.wait = 0ms;
  r.grouping.interval = 0ms;
  r.grouping.repeat = 1h;
  alerting::OutboxSender::Options o;
  o.seed = 1;
  o.groups = store_.get();
  alerting::OutboxSender sender(*store_, clock_, {r, Hook("plain", false)}, notifier_, o);
  Change(Alert("a"));
  sender.DeliverDue(clock_.NowMs());
  EXPECT_THAT(GroupCalls(notifier_.Take()), ElementsAre(ElementsAre("fp-a")));
  // The rule engine repeats every 10 min here: the same state again.
  for (int i = 1; i < 6; ++i) {
    clock_.Advance(10min);
    Change(Alert("a"));
    sender.DeliverDue(clock_.NowMs());
    EXPECT_THAT(GroupCalls(notifier_.Take()), IsEmpty()) << i;
  }
  clock_.Set(kStart + 3'600'000);
  sender.DeliverDue(clock_.NowMs());
  EXPECT_THAT(GroupCalls(notifier_.Take()), ElementsAre(ElementsAre("fp-a")));
  // A resolve is a change: at once.
  clock_.Advance(1s);
  Change(Alert("a", true));
  sender.DeliverDue(clock_.NowMs());
  EXPECT_THAT(GroupCalls(notifier_.Take()), ElementsAre(ElementsAre("fp-a:resolved")));
}

}  // namespace
}  // namespace aw
