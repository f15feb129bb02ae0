// The daemon's HTTP front door against the real binary, as an attacker
// would try it: bytes that are not UTF-8 anywhere in a request, bodies that
// grow past the limit only while being read (chunked, gzip), floods of slow
// and idle connections, pipelined requests, oversized headers, and a
// second daemon on a port in use. Every case checks that the daemon keeps
// serving a legitimate client afterwards.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/testing/daemon_process.h"
#include "tests/testing/raw_socket.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;
using testing::RawSocket;
using Clock = std::chrono::steady_clock;

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string BodyOf(const std::string& response) {
  const size_t p = response.find("\r\n\r\n");
  return p == std::string::npos ? "" : response.substr(p + 4);
}

// nlohmann's parser rejects invalid UTF-8: parsing is the validity check.
bool IsUtf8Json(const std::string& body) {
  return !json::parse(body, nullptr, false).is_discarded();
}

// Peak resident memory of a process, in KiB.
int64_t PeakRssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

std::string Span(const std::string& id, const std::string& agent = "ir") {
  return json{{"investigation_id", id}, {"agent", agent}}.dump();
}

std::string PostRequest(const std::string& path, const std::string& body,
                        const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string Gzip(const std::function<bool(std::string*)>& next_chunk) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::string out, chunk;
  char buf[65536];
  bool more = true;
  while (more) {
    chunk.clear();
    more = next_chunk(&chunk);
    zs.next_in = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_in = static_cast<uInt>(chunk.size());
    const int flush = more ? Z_NO_FLUSH : Z_FINISH;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof buf;
      deflate(&zs, flush);
      out.append(buf, sizeof buf - zs.avail_out);
    } while (zs.avail_out == 0);
  }
  deflateEnd(&zs);
  return out;
}

class FrontDoorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Thousands of sockets in this process.
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  std::unique_ptr<DaemonProcess> StartDaemon(const std::string& limits = "{}",
                                             const std::string& extra_yaml = "") {
    const std::string config =
        dir_.Write("agentwatch.yaml", testing::SmallDaemonConfig(limits, extra_yaml));
    auto d = std::make_unique<DaemonProcess>(AW_BINARY, config, dir_.path());
    EXPECT_TRUE(d->Start()) << d->Log();
    return d;
  }

  // A legitimate client's ingest: a fresh connection, one span; returns
  // the status (0 on failure) and how long it took.
  static int LegitPost(const DaemonProcess& d, const std::string& id,
                       std::chrono::milliseconds* took = nullptr) {
    const auto start = Clock::now();
    httplib::Client c("127.0.0.1", d.port());
    c.set_connection_timeout(5);
    c.set_read_timeout(5);
    auto res = c.Post("/v1/spans", Span(id), "application/json");
    if (took) *took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return res ? res->status : 0;
  }

  static int64_t Investigations(const DaemonProcess& d, const std::string& agent) {
    auto res = d.Client()->Get(("/api/v1/slis?agent=" + agent).c_str());
    if (!res || res->status != 200) return -1;
    const json body = json::parse(res->body);
    for (const json& row : body["slis"]) {
      if (row["sli"] == "investigations" && row["window"] == "1h") {
        return static_cast<int64_t>(row["value"].get<double>());
      }
    }
    ADD_FAILURE() << "no investigations row for " << agent << ": " << res->body;
    return -3;
  }

  testing::TempDir dir_;
};

TEST_F(FrontDoorTest, BytesThatAreNotUtf8AnywhereGetA4xxWithValidJson) {
  auto d = StartDaemon();
  struct Case {
    std::string request;
    int status;
  };
  const std::string span = Span("u1");
  const std::vector<Case> cases = {
      {"GET /%FF HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", 404},  // raw bytes in the target
      {PostRequest("/v1/spans/%ff", span), 404},
      {PostRequest("/v1/spans%C0%AF", span), 404},
      {"GET /api/v1/slis?agent=%FF%FE HTTP/1.1\r\nHost: x\r\n\r\n", 200},
      {"POST /v1/spans HTTP/1.1\r\nHost: x\r\nContent-Type: application/\xff\r\nContent-Length: " +
           std::to_string(span.size()) + "\r\n\r\n" + span,
       415},
      {"POST /v1/spans HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\n"
       "Content-Length: " +
           std::to_string(span.size()) + "\r\n\r\n" + span,
       415},
      {PostRequest("/v1/spans", span, "Content-Encoding: br\r\n"), 415},
      {PostRequest("/v1/spans", span, "Content-Encoding: deflate\xff\r\n"), 415},
      {PostRequest("/v1/spans", span, "Content-Encoding: gzip\r\n"), 400},  // not gzip
      {PostRequest("/v1/spans", span, "X-Junk: \xff\xfe\x80\r\n"), 200},
      {PostRequest("/v1/spans", "{\"investigation_id\":\"\xff\",\"agent\":\"\xc0\xaf\"}"), 400},
      {PostRequest("/v1/feedback", "\xff\xfe\xfd"), 400},
      {PostRequest("/-/reload\xff", ""), 404},
  };
  for (const Case& c : cases) {
    RawSocket s(d->port());
    ASSERT_TRUE(s.connected());
    ASSERT_TRUE(s.Send(c.request));
    const std::string reply = s.ReadResponse();
    EXPECT_EQ(StatusOf(reply), c.status)
        << json(c.request).dump(-1, ' ', false, json::error_handler_t::replace) << "\n"
        << reply;
    EXPECT_TRUE(IsUtf8Json(BodyOf(reply))) << reply;
    ASSERT_TRUE(d->running());
  }
  // The 415 for an encoding names the header.
  RawSocket s(d->port());
  ASSERT_TRUE(s.Send(PostRequest("/v1/spans", span, "Content-Encoding: br\r\n")));
  EXPECT_NE(BodyOf(s.ReadResponse()).find("Content-Encoding: br is not supported"),
            std::string::npos);
  EXPECT_EQ(LegitPost(*d, "after-bytes"), 200);
  EXPECT_EQ(d->Stop(), 0) << d->Log();
}

TEST_F(FrontDoorTest, AuthOnInvalidBytesInTokensAndSignaturesAre401) {
  auto d = StartDaemon("{}",
                       "auth: {ingest_tokens: [ingest-token-0123456789], "
                       "admin_tokens: [admin-token-0123456789ab], webhook_secret: s3cret}\n");
  const std::vector<std::string> requests = {
      PostRequest("/v1/spans", Span("a"), "Authorization: Bearer \xff\xfe\r\n"),
      PostRequest("/v1/feedback", "{}",
                  "X-Agentwatch-Timestamp: \xff\r\nX-Agentwatch-Signature: \xfe\r\n"),
      PostRequest("/-/reload", "", "Authorization: \xc0\r\n"),
  };
  for (const std::string& r : requests) {
    RawSocket s(d->port());
    ASSERT_TRUE(s.Send(r));
    const std::string reply = s.ReadResponse();
    EXPECT_EQ(StatusOf(reply), 401) << reply;
    EXPECT_TRUE(IsUtf8Json(BodyOf(reply))) << reply;
  }
  EXPECT_EQ(d->Stop(), 0) << d->Log();
}

TEST_F(FrontDoorTest, ReloadWithoutABodyAnswersAtOnce) {
  auto d = StartDaemon();
  RawSocket s(d->port());
  const auto start = Clock::now();
  ASSERT_TRUE(s.Send("POST /-/reload HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string reply = s.ReadResponse(std::chrono::seconds(5));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(StatusOf(reply), 200) << reply;
  EXPECT_EQ(json::parse(BodyOf(reply)), json({{"status", "success"}}));
}

TEST_F(FrontDoorTest, ChunkedBodyOverTheLimitIs413WithoutBufferingIt) {
  auto d = StartDaemon("{max_body_bytes: 1MiB}");
  const int64_t before = PeakRssKib(d->pid());
  ASSERT_GT(before, 0);
  RawSocket s(d->port());
  ASSERT_TRUE(
      s.Send("POST /v1/spans HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"));
  // Up to 300 MiB in 64 KiB chunks, from another thread while this one
  // reads: the reply comes while the client is still sending.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> sent{0};
  std::thread sender([&] {
    const std::string line = Span("chunked") + "\n";
    std::string payload;
    while (payload.size() < 65536) payload += line;
    char size_line[32];
    snprintf(size_line, sizeof size_line, "%zx\r\n", payload.size());
    const std::string chunk = size_line + payload + "\r\n";
    while (!stop && sent < (300LL << 20)) {
      if (!s.Send(chunk)) return;
      sent += static_cast<int64_t>(chunk.size());
    }
  });
  bool closed = false;
  const std::string reply = s.Read(std::chrono::seconds(20), &closed, [](const std::string& r) {
    return RawSocket::ResponsesIn(r) >= 1;
  });
  stop = true;
  sender.join();
  EXPECT_EQ(StatusOf(reply), 413) << reply;
  EXPECT_NE(BodyOf(reply).find("limits.max_body_bytes (1048576 bytes)"), std::string::npos)
      << reply;
  EXPECT_LT(sent.load(), 300LL << 20) << "the daemon read the whole body";
  const int64_t after = PeakRssKib(d->pid());
  EXPECT_LT(after - before, 64 * 1024)
      << "peak RSS grew from " << before << " to " << after << " KiB";
  EXPECT_EQ(LegitPost(*d, "after-chunked"), 200);
}

TEST_F(FrontDoorTest, GzipBombIs413AfterInflatingOnlyUpToTheLimit) {
  auto d = StartDaemon("{max_body_bytes: 4MiB}");
  // 1 GiB once inflated: 1,024 gzip members of 1 MiB of zeros each (a
  // gzip stream may hold several members; every decoder reads them all).
  const std::string block(1 << 20, '0');
  const std::string member = Gzip([&](std::string* chunk) {
    *chunk = block;
    return false;
  });
  std::string bomb;
  for (int i = 0; i < 1024; ++i) bomb += member;
  ASSERT_LT(bomb.size(), 4u << 20);
  const int64_t before = PeakRssKib(d->pid());
  RawSocket s(d->port());
  ASSERT_TRUE(s.Send(PostRequest("/v1/spans", bomb, "Content-Encoding: gzip\r\n")));
  const std::string reply = s.ReadResponse(std::chrono::seconds(20));
  EXPECT_EQ(StatusOf(reply), 413) << reply;
  const int64_t after = PeakRssKib(d->pid());
  EXPECT_LT(after - before, 64 * 1024)
      << "peak RSS grew from " << before << " to " << after << " KiB";

  // A well-formed gzip body within the limit is accepted.
  const std::string ndjson = Span("gz-1") + "\n" + Span("gz-2") + "\n";
  bool once = false;
  const std::string small = Gzip([&](std::string* chunk) {
    if (!once) *chunk = ndjson;
    once = true;
    return false;
  });
  RawSocket ok(d->port());
  ASSERT_TRUE(
      ok.Send("POST /v1/spans HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
              "Content-Encoding: gzip\r\nContent-Length: " +
              std::to_string(small.size()) + "\r\n\r\n" + small));
  const std::string ok_reply = ok.ReadResponse();
  EXPECT_EQ(StatusOf(ok_reply), 200) << ok_reply;
  EXPECT_EQ(json::parse(BodyOf(ok_reply))["accepted"], 2) << ok_reply;
}

TEST_F(FrontDoorTest, AThousandSlowHeaderClientsDoNotLockOutIngest) {
  auto d = StartDaemon("{max_connections: 4096, read_timeout: 3s}");
  std::vector<std::unique_ptr<RawSocket>> slow;
  for (int i = 0; i < 1000; ++i) {
    slow.push_back(std::make_unique<RawSocket>(d->port()));
    ASSERT_TRUE(slow.back()->connected()) << i;
    ASSERT_TRUE(slow.back()->Send("POST /v1/spans HTTP/1.1\r\nHost: x\r\nX-a"));
  }
  // One more header byte each every 200 ms: a per-byte timeout would never fire.
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    while (!stop) {
      for (auto& s : slow) s->Send("a");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  std::chrono::milliseconds worst{0};
  for (int i = 0; i < 20; ++i) {
    std::chrono::milliseconds took{};
    EXPECT_EQ(LegitPost(*d, "legit-" + std::to_string(i), &took), 200) << i;
    worst = std::max(worst, took);
  }
  EXPECT_LT(worst, std::chrono::milliseconds(1000));
  // The head deadline is absolute: trickling does not extend it past
  // read_timeout (3 s, plus a margin for a loaded host).
  bool closed = false;
  const auto start = Clock::now();
  const std::string reply = slow.front()->Read(std::chrono::seconds(10), &closed,
                                               [](const std::string& r) { return !r.empty(); });
  stop = true;
  trickle.join();
  EXPECT_EQ(StatusOf(reply), 408) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
  EXPECT_NE(reply.find("limits.read_timeout"), std::string::npos) << reply;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(6));
  EXPECT_EQ(Investigations(*d, "ir"), 20);
}

TEST_F(FrontDoorTest, TwoThousandIdleConnectionsDoNotLockOutIngest) {
  // A connection cap far below 2,000: the oldest idle connections are
  // closed to make room.
  auto d = StartDaemon("{max_connections: 256}");
  std::vector<std::unique_ptr<RawSocket>> idle;
  for (int i = 0; i < 2000; ++i) {
    idle.push_back(std::make_unique<RawSocket>(d->port()));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  std::chrono::milliseconds worst{0};
  for (int i = 0; i < 20; ++i) {
    std::chrono::milliseconds took{};
    EXPECT_EQ(LegitPost(*d, "idle-legit-" + std::to_string(i), &took), 200) << i;
    worst = std::max(worst, took);
  }
  EXPECT_LT(worst, std::chrono::milliseconds(1000));
  // The oldest went first; the newest are still open.
  bool closed = false;
  idle.front()->Read(std::chrono::seconds(2), &closed);
  EXPECT_TRUE(closed) << "the oldest idle connection is still open";
  closed = false;
  idle.back()->Read(std::chrono::milliseconds(200), &closed);
  EXPECT_FALSE(closed) << "the newest idle connection was closed";
  EXPECT_EQ(Investigations(*d, "ir"), 20);
}

TEST_F(FrontDoorTest, IdleKeepAliveConnectionsAreClosedAfterTheTimeout) {
  auto d = StartDaemon();
  RawSocket s(d->port());
  ASSERT_TRUE(s.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(StatusOf(s.ReadResponse()), 200);
  const auto start = Clock::now();
  bool closed = false;
  s.Read(std::chrono::seconds(10), &closed);
  EXPECT_TRUE(closed);
  EXPECT_GT(Clock::now() - start, std::chrono::seconds(3));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(8));
}

TEST_F(FrontDoorTest, PipelinedRequestsAreAllAnsweredInOrderAndStored) {
  auto d = StartDaemon();
  for (const int n : {3, 100}) {
    const std::string agent = "pipe" + std::to_string(n);
    std::string batch;
    for (int i = 0; i < n; ++i)
      batch += PostRequest("/v1/spans", Span(agent + "-" + std::to_string(i), agent));
    // The same span again last: its reply must say duplicate, which tells
    // the replies are in request order.
    batch += PostRequest("/v1/spans", Span(agent + "-0", agent));
    RawSocket s(d->port());
    ASSERT_TRUE(s.Send(batch));
    bool closed = false;
    const std::string replies =
        s.Read(std::chrono::seconds(30), &closed, [&](const std::string& r) {
          return RawSocket::ResponsesIn(r) >= static_cast<size_t>(n + 1);
        });
    ASSERT_EQ(RawSocket::ResponsesIn(replies), static_cast<size_t>(n + 1)) << replies;
    size_t pos = 0;
    for (int i = 0; i <= n; ++i) {
      const size_t at = replies.find("HTTP/1.1 ", pos);
      ASSERT_NE(at, std::string::npos);
      EXPECT_EQ(StatusOf(replies.substr(at)), 200);
      const size_t body = replies.find("\r\n\r\n", at) + 4;
      const size_t end = replies.find("HTTP/1.1 ", body);
      const json r = json::parse(replies.substr(body, end == std::string::npos ? end : end - body));
      EXPECT_EQ(r["accepted"], i < n ? 1 : 0) << i;
      EXPECT_EQ(r["duplicates"], i < n ? 0 : 1) << i;
      pos = body;
    }
    EXPECT_EQ(Investigations(*d, agent), n);
  }
}

TEST_F(FrontDoorTest, OversizedHeadersAreRejectedWithoutBufferingThem) {
  auto d = StartDaemon();
  const int64_t before = PeakRssKib(d->pid());
  // Many small headers: over the field count.
  std::string many = "GET /-/healthy HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 200; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  RawSocket a(d->port());
  ASSERT_TRUE(a.Send(many + "\r\n"));
  std::string reply = a.ReadResponse();
  EXPECT_EQ(StatusOf(reply), 431) << reply;
  EXPECT_TRUE(IsUtf8Json(BodyOf(reply)));
  // 35 MB of headers that never end: answered once past the byte cap.
  RawSocket b(d->port());
  ASSERT_TRUE(b.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n"));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> sent{0};
  std::thread sender([&] {
    const std::string line = "X-Pad: " + std::string(1000, 'p') + "\r\n";
    std::string block;
    while (block.size() < 65536) block += line;
    while (!stop && sent < 35'000'000) {
      if (!b.Send(block)) return;
      sent += static_cast<int64_t>(block.size());
    }
  });
  bool closed = false;
  reply = b.Read(std::chrono::seconds(10), &closed,
                 [](const std::string& r) { return RawSocket::ResponsesIn(r) >= 1; });
  stop = true;
  sender.join();
  EXPECT_TRUE(StatusOf(reply) == 431 || StatusOf(reply) == 400) << reply;
  EXPECT_LT(sent.load(), 35'000'000);
  EXPECT_LT(PeakRssKib(d->pid()) - before, 32 * 1024);
  EXPECT_EQ(LegitPost(*d, "after-headers"), 200);
}

TEST_F(FrontDoorTest, ASecondDaemonOnAPortInUseExitsNonZeroSayingSo) {
  auto d = StartDaemon();
  testing::TempDir other;
  const std::string config =
      other.Write("agentwatch.yaml", "listen: 127.0.0.1:" + std::to_string(d->port()) +
                                         "\nstorage: {path: other.db}\n");
  std::string out, err;
  const int code = testing::RunBinary(AW_BINARY, {"serve", "--config", config}, &out, &err);
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find("cannot bind 127.0.0.1:" + std::to_string(d->port())), std::string::npos)
      << err;
  EXPECT_NE(err.find("in use"), std::string::npos) << err;
  // The first one still serves.
  EXPECT_EQ(LegitPost(*d, "first-still-serves"), 200);
}

}  // namespace
}  // namespace aw
