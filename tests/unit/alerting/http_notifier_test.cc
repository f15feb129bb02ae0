#include "alerting/http_notifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "tests/testing/http_sink.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/alerting/test_util.h"

namespace aw::alerting {
namespace {

using aw::testing::HttpSink;
using test::FiringEvent;
using test::kStart;
using ::testing::HasSubstr;

// Recomputed independently of alerting/payloads.cc.
std::string ExpectedSignature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", mac[i]);
    hex += buf;
  }
  return "sha256=" + hex;
}

HttpNotifier::Options NoProxy() {
  HttpNotifier::Options o;
  o.https_proxy = o.http_proxy = o.no_proxy = "";
  return o;
}

class HttpNotifierTest : public ::testing::Test {
 protected:
  HttpSink sink_;
  HttpNotifier notifier_{NoProxy()};
};

TEST_F(HttpNotifierTest, WebhookIsSignedWithHmacOfTheBody) {
  auto r = test::Webhook("audit", sink_.Url("/hook"), "s3cret");
  DeliveryResult res = notifier_.Send(r, FiringEvent(), kStart);
  EXPECT_EQ(res.status, DeliveryStatus::kDelivered) << res.error;
  auto reqs = sink_.Requests("/hook");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(reqs[0].Header("X-Agentwatch-Signature"), ExpectedSignature("s3cret", reqs[0].body));
  auto body = nlohmann::json::parse(reqs[0].body);
  EXPECT_EQ(body["version"], "4");
  EXPECT_EQ(body["receiver"], "audit");
  EXPECT_EQ(body["alerts"][0]["labels"]["alertname"], "low_accuracy");
}

TEST_F(HttpNotifierTest, WebhookWithoutSecretIsUnsigned) {
  auto r = test::Webhook("audit", sink_.Url("/hook"));
  EXPECT_EQ(notifier_.Send(r, FiringEvent(), kStart).status, DeliveryStatus::kDelivered);
  ASSERT_EQ(sink_.RequestCount(), 1u);
  EXPECT_EQ(sink_.Requests()[0].Header("X-Agentwatch-Signature"), "");
}

TEST_F(HttpNotifierTest, EachKindPostsItsFormatToItsPath) {
  EXPECT_EQ(
      notifier_.Send(test::PagerDuty("pd", sink_.Url("/v2/enqueue")), FiringEvent(), kStart).status,
      DeliveryStatus::kDelivered);
  EXPECT_EQ(
      notifier_.Send(test::Slack("slack", sink_.Url("/services/T/B/x")), FiringEvent(), kStart)
          .status,
      DeliveryStatus::kDelivered);
  // A trailing slash on the base URL must not double up.
  EXPECT_EQ(notifier_.Send(test::Alertmanager("am", sink_.Url("/")), FiringEvent(), kStart).status,
            DeliveryStatus::kDelivered);
  auto pd = sink_.Requests("/v2/enqueue");
  ASSERT_EQ(pd.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(pd[0].body)["routing_key"], std::string(32, 'k'));
  auto slack = sink_.Requests("/services/T/B/x");
  ASSERT_EQ(slack.size(), 1u);
  EXPECT_THAT(nlohmann::json::parse(slack[0].body)["text"].get<std::string>(),
              HasSubstr("low_accuracy"));
  auto am = sink_.Requests("/api/v2/alerts");
  ASSERT_EQ(am.size(), 1u);
  EXPECT_TRUE(nlohmann::json::parse(am[0].body).is_array());
}

TEST_F(HttpNotifierTest, StatusMapping) {
  auto r = test::PagerDuty("pd", sink_.Url("/e"));
  struct Case {
    int code;
    DeliveryStatus want;
  };
  const Case cases[] = {
      {200, DeliveryStatus::kDelivered}, {202, DeliveryStatus::kDelivered},
      {204, DeliveryStatus::kDelivered}, {400, DeliveryStatus::kPermanent},
      {401, DeliveryStatus::kPermanent}, {403, DeliveryStatus::kPermanent},
      {404, DeliveryStatus::kPermanent}, {410, DeliveryStatus::kPermanent},
      {429, DeliveryStatus::kRetryable}, {500, DeliveryStatus::kRetryable},
      {502, DeliveryStatus::kRetryable}, {503, DeliveryStatus::kRetryable},
  };
  for (const auto& c : cases) {
    sink_.Respond("/e", c.code);
    DeliveryResult res = notifier_.Send(r, FiringEvent(), kStart);
    EXPECT_EQ(res.status, c.want) << c.code << " " << res.error;
    EXPECT_EQ(res.http_status, c.code);
    if (c.code >= 300) {
      EXPECT_THAT(res.error, HasSubstr(std::to_string(c.code)));
    }
  }
}

TEST_F(HttpNotifierTest, RetryAfterSecondsAndHttpDate) {
  auto r = test::Slack("slack", sink_.Url("/s"));
  sink_.Respond("/s", 429, 1, "30");
  DeliveryResult res = notifier_.Send(r, FiringEvent(), kStart);
  EXPECT_EQ(res.status, DeliveryStatus::kRetryable);
  EXPECT_EQ(res.retry_after, Millis(30'000));

  // kStart is 2025-11-24T16:00:00Z.
  sink_.Respond("/s", 503, 1, "Mon, 24 Nov 2025 16:02:00 GMT");
  res = notifier_.Send(r, FiringEvent(), kStart);
  EXPECT_EQ(res.status, DeliveryStatus::kRetryable);
  EXPECT_EQ(res.retry_after, Millis(120'000));
}

TEST(ParseRetryAfterTest, Forms) {
  EXPECT_EQ(ParseRetryAfter("", kStart), Millis(0));
  EXPECT_EQ(ParseRetryAfter("0", kStart), Millis(0));
  EXPECT_EQ(ParseRetryAfter(" 5 ", kStart), Millis(5000));
  EXPECT_EQ(ParseRetryAfter("soon", kStart), Millis(0));
  EXPECT_EQ(ParseRetryAfter("-3", kStart), Millis(0));
  EXPECT_EQ(ParseRetryAfter("Mon, 24 Nov 2025 16:00:10 GMT", kStart), Millis(10'000));
  EXPECT_EQ(ParseRetryAfter("Mon, 24 Nov 2025 15:00:00 GMT", kStart),
            Millis(0));  // in the past
}

TEST_F(HttpNotifierTest, ConnectionRefusedIsRetryable) {
  std::string url;
  {
    HttpSink gone;
    url = gone.Url("/hook");
  }  // closed: nothing listens on that port now
  DeliveryResult res = notifier_.Send(test::Webhook("w", url), FiringEvent(), kStart);
  EXPECT_EQ(res.status, DeliveryStatus::kRetryable);
  EXPECT_EQ(res.http_status, 0);
  EXPECT_FALSE(res.error.empty());
}

TEST_F(HttpNotifierTest, TimeoutIsRetryable) {
  sink_.Hang("/slow", std::chrono::seconds(30));
  auto r = test::Webhook("w", sink_.Url("/slow"));
  r.timeout = Millis(200);
  auto t0 = std::chrono::steady_clock::now();
  DeliveryResult res = notifier_.Send(r, FiringEvent(), kStart);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(res.status, DeliveryStatus::kRetryable) << res.error;
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST_F(HttpNotifierTest, UnusableUrlIsPermanent) {
  DeliveryResult res = notifier_.Send(test::Webhook("w", "ftp://x/hook"), FiringEvent(), kStart);
  EXPECT_EQ(res.status, DeliveryStatus::kPermanent);
  EXPECT_THAT(res.error, HasSubstr("URL"));
}

TEST(ParseUrlTest, Forms) {
  auto u = ParseUrl("https://events.pagerduty.com/v2/enqueue");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->SchemeHostPort(), "https://events.pagerduty.com:443");
  EXPECT_EQ(u->path, "/v2/enqueue");
  u = ParseUrl("http://127.0.0.1:9093");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 9093);
  EXPECT_EQ(u->path, "/");
  u = ParseUrl("http://[::1]:8080/a?b=c");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->path, "/a?b=c");
  EXPECT_EQ(u->SchemeHostPort(), "http://[::1]:8080");
  EXPECT_FALSE(ParseUrl("hooks.slack.com/services/x"));
  EXPECT_FALSE(ParseUrl("http://:80/"));
  EXPECT_FALSE(ParseUrl("http://host:99999/"));
}

TEST(ProxyForTest, LoopbackAndNoProxyBypassTheProxy) {
  auto target = *ParseUrl("https://events.pagerduty.com/v2/enqueue");
  auto p = ProxyFor(target, "http://proxy:3128", "", "");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "proxy");
  EXPECT_EQ(p->port, 3128);
  EXPECT_FALSE(ProxyFor(target, "", "http://proxy:3128", ""));  // https only
  EXPECT_FALSE(ProxyFor(target, "proxy:3128", "", "pagerduty.com"));
  EXPECT_FALSE(ProxyFor(target, "proxy:3128", "", "x, .pagerduty.com"));
  EXPECT_FALSE(ProxyFor(target, "proxy:3128", "", "*"));
  EXPECT_TRUE(ProxyFor(target, "proxy:3128", "", "duty.com"));
  auto local = *ParseUrl("http://127.0.0.1:9000/hook");
  EXPECT_FALSE(ProxyFor(local, "", "http://proxy:3128", ""));
  EXPECT_FALSE(ProxyFor(*ParseUrl("http://localhost/x"), "", "proxy:1", ""));
}

TEST_F(HttpNotifierTest, SendsThroughTheHttpProxy) {
  // The sink plays the proxy for a host that does not resolve.
  HttpNotifier::Options o = NoProxy();
  o.http_proxy = sink_.Url();
  HttpNotifier via_proxy(o);
  DeliveryResult res = via_proxy.Send(test::Webhook("w", "http://receiver.invalid:9000/hook"),
                                      FiringEvent(), kStart);
  EXPECT_EQ(res.status, DeliveryStatus::kDelivered) << res.error;
  ASSERT_EQ(sink_.RequestCount(), 1u);
  auto req = sink_.Requests()[0];
  EXPECT_THAT(req.path + " " + req.Header("Host"), HasSubstr("receiver.invalid"));
}

}  // namespace
}  // namespace aw::alerting

namespace aw::alerting {
namespace {

// HTTPS to a real TLS server on loopback with a certificate made here:
// delivered when the notifier trusts it, a retryable error when not.
TEST(HttpNotifierTlsTest, DeliversOverHttpsAndVerifiesTheCertificate) {
  aw::testing::TempDir dir;
  const std::string cert = dir.File("cert.pem");
  const std::string key = dir.File("key.pem");
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " +
                          cert +
                          " -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
                          " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  httplib::SSLServer server(cert.c_str(), key.c_str());
  ASSERT_TRUE(server.is_valid());
  std::atomic<int> received{0};
  std::string body;
  std::mutex mu;
  server.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    body = req.body;
    ++received;
    res.set_content("ok", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread listener([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::yield();

  const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/hook";
  HttpNotifier::Options trusted = NoProxy();
  trusted.ca_cert_path = cert;
  DeliveryResult ok =
      HttpNotifier(trusted).Send(test::Webhook("audit", url), FiringEvent(), kStart);
  EXPECT_EQ(ok.status, DeliveryStatus::kDelivered) << ok.error;
  EXPECT_EQ(received.load(), 1);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(nlohmann::json::parse(body)["version"], "4");
  }

  // The system store does not know this certificate: not delivered.
  DeliveryResult refused =
      HttpNotifier(NoProxy()).Send(test::Webhook("audit", url), FiringEvent(), kStart);
  EXPECT_NE(refused.status, DeliveryStatus::kDelivered);
  EXPECT_EQ(received.load(), 1);
  server.stop();
  listener.join();
}

}  // namespace
}  // namespace aw::alerting
