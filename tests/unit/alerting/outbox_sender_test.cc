#include "alerting/outbox_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <algorithm>
#include <map>

#include "alerting/http_notifier.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/http_sink.h"
#include "tests/unit/alerting/fake_outbox_store.h"
#include "tests/unit/alerting/test_util.h"

namespace aw::alerting {
namespace {

using aw::testing::HttpSink;
using test::FakeOutboxStore;
using test::FiringEvent;
using test::kStart;
using ::testing::HasSubstr;
using State = FakeOutboxStore::State;
using namespace std::chrono_literals;

constexpr int64_t kDay = 24LL * 3600 * 1000;

HttpNotifier::Options NoProxy() {
  HttpNotifier::Options o;
  o.https_proxy = o.http_proxy = o.no_proxy = "";
  return o;
}

OutboxSender::Options Seeded() {
  OutboxSender::Options o;
  o.seed = 42;
  return o;
}

class OutboxSenderTest : public ::testing::Test {
 protected:
  std::vector<ReceiverOptions> Receivers() {
    return {test::Webhook("audit", sink_.Url("/hook"), "s3cret"),
            test::PagerDuty("pd", sink_.Url("/pd")), test::Slack("slack", sink_.Url("/slack"))};
  }
  int64_t Add(const std::string& receiver) {
    return store_.Add(receiver, test::Payload(FiringEvent()), clock_.NowMs());
  }
  OutboxItem Item(int64_t id) { return store_.Get(id)->item; }
  State StateOf(int64_t id) { return store_.Get(id)->state; }

  FakeClock clock_{kStart};
  FakeOutboxStore store_;
  HttpSink sink_;
  HttpNotifier notifier_{NoProxy()};
};

TEST_F(OutboxSenderTest, DeliversDueItemsOnce) {
  OutboxSender sender(store_, clock_, Receivers(), notifier_, Seeded());
  int64_t a = Add("audit"), b = Add("pd"), c = Add("slack");
  EXPECT_EQ(sender.DeliverDue(clock_.NowMs()), 3);
  EXPECT_EQ(StateOf(a), State::kDelivered);
  EXPECT_EQ(StateOf(b), State::kDelivered);
  EXPECT_EQ(StateOf(c), State::kDelivered);
  EXPECT_EQ(sink_.RequestCount(), 3u);
  EXPECT_EQ(sender.DeliverDue(clock_.NowMs()), 0);
  EXPECT_EQ(sink_.RequestCount(), 3u);
  auto counts = sender.Counts();
  EXPECT_EQ(counts["audit"].sent, 1);
  EXPECT_EQ(counts["pd"].sent, 1);
  EXPECT_EQ(counts["slack"].sent, 1);
}

TEST_F(OutboxSenderTest, CountsListEveryReceiverFromTheStart) {
  OutboxSender sender(store_, clock_, Receivers(), notifier_, Seeded());
  auto counts = sender.Counts();
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts["audit"].sent + counts["audit"].retry + counts["audit"].failed, 0);
}

TEST_F(OutboxSenderTest, OutageThenRecoveryWithGrowingBackoff) {
  OutboxSender sender(store_, clock_, Receivers(), notifier_, Seeded());
  sink_.Respond("/hook", 503, 3);
  int64_t id = Add("audit");

  std::vector<int64_t> delays;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    TimeMs now = clock_.NowMs();
    EXPECT_EQ(sender.DeliverDue(now), 1);
    OutboxItem item = Item(id);
    ASSERT_EQ(StateOf(id), State::kPending);
    EXPECT_EQ(item.attempts, attempt);
    EXPECT_THAT(item.last_error, HasSubstr("503"));
    delays.push_back(item.next_attempt_ms - now);
    // Not due a millisecond early.
    clock_.Set(item.next_attempt_ms - 1);
    EXPECT_EQ(sender.DeliverDue(clock_.NowMs()), 0);
    EXPECT_EQ(sink_.RequestCount(), static_cast<size_t>(attempt));
    clock_.Set(item.next_attempt_ms);
  }
  // First retry within 1 s (jitter only shortens), then doubling.
  EXPECT_GT(delays[0], 0);
  EXPECT_LE(delays[0], 1000);
  EXPECT_GT(delays[1], delays[0]);
  EXPECT_GT(delays[2], delays[1]);
  EXPECT_LE(delays[2], 4000);

  EXPECT_EQ(sender.DeliverDue(clock_.NowMs()), 1);
  EXPECT_EQ(StateOf(id), State::kDelivered);
  EXPECT_EQ(sink_.RequestCount("/hook"), 4u);
  // Nothing lost: the delivered body is the alert, signed.
  auto last = sink_.Requests("/hook").back();
  EXPECT_EQ(nlohmann::json::parse(last.body)["alerts"][0]["fingerprint"],
            FiringEvent().fingerprint);
  auto counts = sender.Counts()["audit"];
  EXPECT_EQ(counts.retry, 3);
  EXPECT_EQ(counts.sent, 1);
  EXPECT_EQ(counts.failed, 0);
}

// A receiver down long enough for an item's backoff to reach a minute: once
// it answers again (here, to a newer alert), the item that waited goes out
// at once, not a minute later. Another receiver still down keeps its times.
TEST_F(OutboxSenderTest, ReceiverBackAfterAnOutageSendsWhatWaitedAtOnce) {
  OutboxSender sender(store_, clock_, Receivers(), notifier_, Seeded());
  sink_.Respond("/hook", 503, 7);
  // pd is down and asks for an hour: nothing may retry it earlier.
  sink_.SetDefault("/pd", HttpSink::Reply{503, "down", "text/plain", "3600", 0ms});
  const int64_t waited = store_.Add("audit", test::Payload(FiringEvent("a")), clock_.NowMs(), "fa");
  const int64_t pd = store_.Add("pd", test::Payload(FiringEvent("p")), clock_.NowMs(), "fp");
  for (int attempt = 1; attempt <= 7; ++attempt) {
    sender.DeliverDue(clock_.NowMs());
    ASSERT_EQ(Item(waited).attempts, attempt);
    if (attempt < 7) clock_.Set(Item(waited).next_attempt_ms);
  }
  ASSERT_EQ(StateOf(waited), State::kPending);
  clock_.Set(clock_.NowMs() + 1);
  const TimeMs back = clock_.NowMs();
  ASSERT_GT(Item(waited).next_attempt_ms - back, 20'000) << "backed off by then";
  const OutboxItem pd_before = Item(pd);
  ASSERT_GT(pd_before.next_attempt_ms, back);

  const int64_t newer = store_.Add("audit", test::Payload(FiringEvent("b")), back, "fb");
  sender.DeliverDue(back);  // the newer alert goes out: the receiver is back
  ASSERT_EQ(StateOf(newer), State::kDelivered);
  sender.DeliverDue(back);  // same instant: no clock moved
  EXPECT_EQ(StateOf(waited), State::kDelivered);
  EXPECT_EQ(StateOf(pd), State::kPending);
  EXPECT_EQ(Item(pd).next_attempt_ms, pd_before.next_attempt_ms) << "pd is still down";
  EXPECT_EQ(Item(pd).attempts, pd_before.attempts);
}

TEST_F(OutboxSenderTest, BackoffDoublesUpToTheCapWithJitterBelow) {
  OutboxSender sender(store_, clock_, {}, notifier_, Seeded());
  for (int i = 0; i < 50; ++i) {
    Millis b1 = sender.Backoff(1);
    EXPECT_GE(b1, 800ms);
    EXPECT_LE(b1, 1000ms);
    Millis b3 = sender.Backoff(3);
    EXPECT_GE(b3, 3200ms);
    EXPECT_LE(b3, 4000ms);
    Millis b30 = sender.Backoff(30);
    EXPECT_GE(b30, 240s);
    EXPECT_LE(b30, 300s);
  }
}

TEST_F(OutboxSenderTest, RetryAfterIsHonoured) {
  OutboxSender sender(store_, clock_, Receivers(), notifier_, Seeded());
  sink_.Respond("/slack", 429, 1, "30");
  int64_t id = Add("slack");
  const TimeMs t0 = clock_.NowMs();
  EXPECT_EQ(sender.DeliverDue(t0), 1);
  EXPECT_EQ(Item(id).next_attempt_ms, t0 + 30'000);
  EXPECT_EQ(sender.DeliverDue(t0 + 29'999), 0);
  EXPECT_EQ(sink_.RequestCount(), 1u);
  EXPECT_EQ(sender.DeliverDue(t0 + 30'000), 1);
  EXPECT_EQ(StateOf(id), State::kDelivered);
}

TEST_F(OutboxSenderTest, PermanentErrorIsNotRetriedAndCountsAsFailed) {
  OutboxSender sender(store_, clock_, Receivers(), notifier_, Seeded());
  sink_.Respond("/pd", 400);
  int64_t id = Add("pd");
  EXPECT_EQ(sender.DeliverDue(clock_.NowMs()), 1);
  EXPECT_EQ(StateOf(id), State::kFailed);
  EXPECT_THAT(Item(id).last_error, HasSubstr("400"));
  clock_.Advance(1h);
  EXPECT_EQ(sender.DeliverDue(clock_.NowMs()), 0);
  EXPECT_EQ(sink_.RequestCount(), 1u);
  auto counts = sender.Counts()["pd"];
  EXPECT_EQ(counts.failed, 1);
  EXPECT_EQ(counts.retry, 0);
  EXPECT_EQ(counts.sent, 0);
}

TEST_F(OutboxSenderTest, RetriesStopAfterMaxAge) {
  OutboxSender sender(store_, clock_, Receivers(), notifier_, Seeded());
  sink_.SetDefault("/hook", HttpSink::Reply{503, "down", "text/plain", "", 0ms});
  const TimeMs created = clock_.NowMs();
  int64_t id = Add("audit");
  int attempts = 0;
  while (StateOf(id) == State::kPending) {
    ASSERT_LT(attempts, 1000) << "never gave up";
    clock_.Set(Item(id).next_attempt_ms);
    ASSERT_EQ(sender.DeliverDue(clock_.NowMs()), 1);
    ++attempts;
  }
  EXPECT_EQ(StateOf(id), State::kFailed);
  // The last try is at the deadline, not after it.
  EXPECT_EQ(clock_.NowMs(), created + kDay);
  EXPECT_THAT(Item(id).last_error, HasSubstr("503"));
  // 24h at a 4-5 min cap is some 300 attempts; no more than that.
  EXPECT_GT(attempts, 250);
  EXPECT_LT(attempts, 400);
  EXPECT_EQ(sink_.RequestCount(), static_cast<size_t>(attempts));
  auto counts = sender.Counts()["audit"];
  EXPECT_EQ(counts.failed, 1);
  EXPECT_EQ(counts.retry, attempts - 1);
}

TEST_F(OutboxSenderTest, ItemAlreadyPastMaxAgeIsFailedWithoutSending) {
  OutboxSender sender(store_, clock_, Receivers(), notifier_, Seeded());
  int64_t id = Add("audit");
  clock_.Advance(Millis(kDay + 1));  // e.g. the daemon was down for a day
  EXPECT_EQ(sender.DeliverDue(clock_.NowMs()), 1);
  EXPECT_EQ(StateOf(id), State::kFailed);
  EXPECT_THAT(Item(id).last_error, HasSubstr("expired"));
  EXPECT_EQ(sink_.RequestCount(), 0u);
}

TEST_F(OutboxSenderTest, UnknownReceiverAndBadPayloadFail) {
  OutboxSender sender(store_, clock_, Receivers(), notifier_, Seeded());
  int64_t unknown = Add("removed-from-config");
  int64_t bad = store_.Add("audit", "{not json", clock_.NowMs());
  EXPECT_EQ(sender.DeliverDue(clock_.NowMs()), 2);
  EXPECT_EQ(StateOf(unknown), State::kFailed);
  EXPECT_THAT(Item(unknown).last_error, HasSubstr("unknown receiver"));
  EXPECT_EQ(StateOf(bad), State::kFailed);
  EXPECT_EQ(sink_.RequestCount(), 0u);
  EXPECT_EQ(sender.Counts()["removed-from-config"].failed, 1);
}

TEST_F(OutboxSenderTest, NewSenderOverTheSameStoreResumesPendingItems) {
  sink_.Respond("/hook", 503);
  int64_t id = Add("audit");
  {
    OutboxSender first(store_, clock_, Receivers(), notifier_, Seeded());
    EXPECT_EQ(first.DeliverDue(clock_.NowMs()), 1);
    first.Start();
    first.Stop();
  }  // "crash": the pending item stays in the store
  ASSERT_EQ(StateOf(id), State::kPending);
  EXPECT_EQ(Item(id).attempts, 1);

  clock_.Set(Item(id).next_attempt_ms);
  OutboxSender::Options options = Seeded();
  options.idle_poll = 10min;  // only the start-up pass can deliver it
  OutboxSender second(store_, clock_, Receivers(), notifier_, options);
  second.Start();
  EXPECT_TRUE(store_.WaitForState(id, State::kDelivered, 10s));
  second.Stop();
  EXPECT_EQ(sink_.RequestCount("/hook"), 2u);
  EXPECT_EQ(second.Counts()["audit"].sent, 1);
}

TEST_F(OutboxSenderTest, HangingReceiverDoesNotHoldUpOthers) {
  auto receivers = Receivers();
  receivers[0].timeout = 30s;  // audit: hangs far longer than the test
  sink_.Hang("/hook", 60s);
  OutboxSender sender(store_, clock_, receivers, notifier_, Seeded());
  int64_t slow = Add("audit");  // older: first in every DueOutbox batch
  int64_t fast = Add("slack");
  auto t0 = std::chrono::steady_clock::now();
  sender.Start();
  ASSERT_TRUE(sink_.WaitForRequests("/hook", 1, 10s));
  ASSERT_TRUE(sink_.WaitForRequests("/slack", 1, 10s));
  // Delivered while the other receiver's POST is still hanging.
  EXPECT_TRUE(store_.WaitForState(fast, State::kDelivered, 10s));
  EXPECT_EQ(StateOf(slow), State::kPending);
  EXPECT_EQ(Item(slow).attempts, 0);  // its POST has not returned
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  sink_.Stop();  // releases the hanging handler, so Stop() need not wait
  sender.Stop();
}

TEST_F(OutboxSenderTest, WakeDeliversNewItemsAtOnce) {
  OutboxSender::Options options = Seeded();
  options.idle_poll = 10min;  // without Wake nothing would happen for ages
  OutboxSender sender(store_, clock_, Receivers(), notifier_, options);
  sender.Start();
  int64_t id = Add("pd");
  sender.Wake();
  EXPECT_TRUE(store_.WaitForState(id, State::kDelivered, 10s));
  sender.Stop();
}

TEST_F(OutboxSenderTest, ThreadedRetryFollowsTheClock) {
  OutboxSender::Options options = Seeded();
  options.idle_poll = 10min;
  OutboxSender sender(store_, clock_, Receivers(), notifier_, options);
  sink_.Respond("/slack", 503);
  int64_t id = Add("slack");
  sender.Start();
  ASSERT_TRUE(store_.WaitForItem(
      id, [](const auto& e) { return e.item.attempts == 1; }, 10s));
  // The retry waits for the (fake) clock, not for real time.
  clock_.Advance(1s);
  sender.Wake();
  EXPECT_TRUE(store_.WaitForState(id, State::kDelivered, 10s));
  sender.Stop();
  EXPECT_EQ(sink_.RequestCount("/slack"), 2u);
  EXPECT_EQ(sender.Counts()["slack"].retry, 1);
  EXPECT_EQ(sender.Counts()["slack"].sent, 1);
}

TEST_F(OutboxSenderTest, UnknownReceiverItemsFailInThreadedMode) {
  OutboxSender::Options options = Seeded();
  options.idle_poll = 10min;
  OutboxSender sender(store_, clock_, Receivers(), notifier_, options);
  int64_t id = Add("nobody");
  sender.Start();
  EXPECT_TRUE(store_.WaitForState(id, State::kFailed, 10s));
  sender.Stop();
}

TEST_F(OutboxSenderTest, ActiveAlertsAreRepostedToAlertmanager) {
  OutboxSender::Options options = Seeded();
  options.idle_poll = 10min;
  options.alertmanager_resend_interval = 1min;
  std::vector<ReceiverOptions> receivers = {test::Alertmanager("am", sink_.Url()),
                                            test::Slack("slack", sink_.Url("/slack"))};
  OutboxSender sender(store_, clock_, receivers, notifier_, options);
  AlertEvent resolved = FiringEvent("gone");
  resolved.resolved = true;
  sender.SetActiveAlertsSource([&] { return std::vector<AlertEvent>{FiringEvent(), resolved}; });
  sender.Start();
  clock_.Advance(1min);
  sender.Wake();
  ASSERT_TRUE(sink_.WaitForRequests("/api/v2/alerts", 1, 10s));
  sender.Stop();
  auto reqs = sink_.Requests("/api/v2/alerts");
  ASSERT_EQ(reqs.size(), 1u);  // the resolved one is not re-posted
  auto body = nlohmann::json::parse(reqs[0].body);
  EXPECT_EQ(body[0]["labels"]["alertname"], "low_accuracy");
  EXPECT_EQ(sender.Counts()["am"].resent, 1);
  EXPECT_EQ(sink_.RequestCount("/slack"), 0u);  // slack gets no re-posts
}

// A receiver that answers 500 while alerts fire and resolve, then recovers:
// whatever the retries' jitter, each alert's last delivered state is its
// latest (resolve), and no trigger is delivered after its resolve.
TEST_F(OutboxSenderTest, AfterAnOutageEachAlertEndsOnItsLatestState) {
  OutboxSender sender(store_, clock_, Receivers(), notifier_, Seeded());
  constexpr int kAlerts = 8;
  auto event = [](int i, bool resolved) {
    AlertEvent e = FiringEvent("alert" + std::to_string(i));
    e.fingerprint = "fp" + std::to_string(i);
    e.resolved = resolved;
    return e;
  };
  sink_.SetDefault("/pd", HttpSink::Reply{500, "down", "text/plain", "", 0ms});
  std::vector<int64_t> triggers, resolves;
  for (int i = 0; i < kAlerts; ++i) {
    triggers.push_back(
        store_.Add("pd", test::Payload(event(i, false)), clock_.NowMs(), "fp" + std::to_string(i)));
  }
  size_t delivered_from = 0;
  for (int step = 0; step < 6000 && *store_.OutboxDepth() > 0; ++step) {
    if (step == 30) {  // 3 s in: every alert resolves while still down
      for (int i = 0; i < kAlerts; ++i) {
        resolves.push_back(store_.Add("pd", test::Payload(event(i, true)), clock_.NowMs(),
                                      "fp" + std::to_string(i)));
      }
    }
    if (step == 60) {  // 6 s in: the receiver is back
      delivered_from = sink_.RequestCount("/pd");
      sink_.SetDefault("/pd", HttpSink::Reply{});
    }
    sender.DeliverDue(clock_.NowMs());
    clock_.Advance(100ms);
  }
  ASSERT_EQ(*store_.OutboxDepth(), 0);
  ASSERT_GT(delivered_from, 0u);
  auto reqs = sink_.Requests("/pd");
  std::map<std::string, std::vector<std::string>> actions;  // per dedup_key
  for (size_t i = delivered_from; i < reqs.size(); ++i) {
    auto body = nlohmann::json::parse(reqs[i].body);
    actions[body["dedup_key"]].push_back(body["event_action"]);
  }
  ASSERT_EQ(actions.size(), static_cast<size_t>(kAlerts));
  for (const auto& [key, seq] : actions) {
    EXPECT_EQ(seq.back(), "resolve") << key;
    EXPECT_EQ(std::count(seq.begin(), seq.end(), "resolve"), 1) << key;
  }
  for (int i = 0; i < kAlerts; ++i) {
    EXPECT_EQ(StateOf(resolves[i]), State::kDelivered);
    EXPECT_EQ(StateOf(triggers[i]), State::kSuperseded);
  }
  EXPECT_EQ(sender.Counts()["pd"].superseded, kAlerts);
}

TEST_F(OutboxSenderTest, OlderStateIsNeverSentAfterANewerOne) {
  OutboxSender sender(store_, clock_, Receivers(), notifier_, Seeded());
  AlertEvent firing = FiringEvent();
  AlertEvent resolved = FiringEvent();
  resolved.resolved = true;
  // Both due in one batch: only the newer goes out.
  int64_t a = store_.Add("pd", test::Payload(firing), clock_.NowMs(), "x");
  int64_t b = store_.Add("pd", test::Payload(resolved), clock_.NowMs(), "x");
  // Another alert and another receiver are independent.
  int64_t c = store_.Add("pd", test::Payload(firing), clock_.NowMs(), "y");
  int64_t d = store_.Add("audit", test::Payload(firing), clock_.NowMs(), "x");
  sender.DeliverDue(clock_.NowMs());
  EXPECT_EQ(StateOf(a), State::kSuperseded);
  EXPECT_EQ(StateOf(b), State::kDelivered);
  EXPECT_EQ(StateOf(c), State::kDelivered);
  EXPECT_EQ(StateOf(d), State::kDelivered);
  auto reqs = sink_.Requests("/pd");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(reqs[0].body)["event_action"], "resolve");
}

}  // namespace
}  // namespace aw::alerting
