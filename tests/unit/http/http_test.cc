// The HTTP front door's pieces in process: the parser path the server
// uses (limits, head checks, decoding), the bounded inflate, the router,
// and a live Server on an ephemeral port (ordering, rejections, the guard
// around handlers, the connection cap).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/http/http.h"

namespace aw::http {
namespace {

std::string Gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(ParseRequest, SplitsTheTargetAndDecodesPercentEscapes) {
  Request r;
  const ParseOutcome o = ParseRequest(
      "GET /api/v1/slis%2Fx?agent=a%20b&flag&q=1+2 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n", {}, &r);
  ASSERT_TRUE(o.complete);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/api/v1/slis/x");
  EXPECT_EQ(r.param("agent"), "a b");
  EXPECT_EQ(r.param("q"), "1 2");
  EXPECT_TRUE(r.params.count("flag"));
  EXPECT_EQ(r.header("x-a"), "1");
  EXPECT_EQ(r.get_header_value("X-A"), "1");
}

TEST(ParseRequest, IncompleteInputIsNeitherCompleteNorRejected) {
  Request r;
  const ParseOutcome o =
      ParseRequest("POST /v1/spans HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", {}, &r);
  EXPECT_FALSE(o.complete);
  EXPECT_FALSE(o.rejected);
}

TEST(ParseRequest, LimitsApplyToChunkedAndInflatedBodies) {
  Options opts;
  opts.body_limit = 16;
  Request r;
  ParseOutcome o = ParseRequest(
      "POST / HTTP/1.1\r\nTransfer-Encoding: "
      "chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n",
      opts, &r);
  EXPECT_TRUE(o.rejected);
  EXPECT_EQ(o.rejection, Rejection::kBodyTooLarge);

  const std::string bomb = Gzip(std::string(1000, 'a'));
  Options small;
  small.body_limit = 999;
  Options exact;
  exact.body_limit = 1000;
  Request g;
  o = ParseRequest("POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: " +
                       std::to_string(bomb.size()) + "\r\n\r\n" + bomb,
                   small, &g);
  EXPECT_TRUE(o.rejected);
  EXPECT_EQ(o.rejection, Rejection::kBodyTooLarge);
  Request ok;
  o = ParseRequest("POST / HTTP/1.1\r\nContent-Encoding: GZIP\r\nContent-Length: " +
                       std::to_string(bomb.size()) + "\r\n\r\n" + bomb,
                   exact, &ok);
  EXPECT_TRUE(o.complete);
  EXPECT_EQ(ok.body, std::string(1000, 'a'));
}

TEST(ParseRequest, HeadChecks) {
  Options opts;
  opts.max_header_fields = 3;
  opts.max_header_line = 20;
  Request r;
  EXPECT_EQ(
      ParseRequest("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n", opts, &r).rejection,
      Rejection::kHeadersTooLarge);
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\na: 123456789012345678901\r\n\r\n", opts, &r).rejection,
            Rejection::kHeaderLineTooLong);
  EXPECT_EQ(ParseRequest("POST / HTTP/1.1\r\nContent-Encoding: br\r\n\r\n", opts, &r).rejection,
            Rejection::kUnsupportedEncoding);
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", opts, &r).rejection,
            Rejection::kMalformed);
  opts.header_limit = 64;
  const ParseOutcome big =
      ParseRequest("GET / HTTP/1.1\r\nX: " + std::string(100, 'x') + "\r\n\r\n", opts, &r);
  EXPECT_TRUE(big.rejected);
  EXPECT_EQ(big.rejection, Rejection::kHeadersTooLarge);
}

TEST(Inflate, StopsAtTheLimitAndRejectsGarbage) {
  std::string out;
  EXPECT_EQ(Inflate(Gzip(std::string(1 << 20, 'z')), 1 << 16, &out), InflateResult::kTooLarge);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(Inflate("not gzip", 100, &out), InflateResult::kCorrupt);
  const std::string g = Gzip("hello");
  EXPECT_EQ(Inflate(g.substr(0, g.size() - 4), 100, &out), InflateResult::kCorrupt);  // truncated
  EXPECT_EQ(Inflate(g, 5, &out), InflateResult::kOk);
  EXPECT_EQ(out, "hello");
}

TEST(JsonError, IsValidUtf8WhateverTheBytes) {
  const std::string body = JsonError("no such endpoint: /\xff\xfe\xc0");
  EXPECT_FALSE(nlohmann::json::parse(body, nullptr, false).is_discarded()) << body;
}

TEST(Router, ExactRoutesHeadFallsBackToGet) {
  Router router;
  router.Add("GET", "/a", [](const Request&, Response& r) { r.status = 204; });
  bool known = false;
  EXPECT_NE(router.Find("GET", "/a", &known), nullptr);
  EXPECT_NE(router.Find("HEAD", "/a", &known), nullptr);
  EXPECT_EQ(router.Find("POST", "/a", &known), nullptr);
  EXPECT_TRUE(known);
  EXPECT_EQ(router.Find("GET", "/b", &known), nullptr);
  EXPECT_FALSE(known);
}

// The daemon runs async routes on the IO thread (run_inline finds them with
// FindAsync): an inline route is one, HEAD included, and replies at once.
TEST(Router, InlineRoutesAreAsyncForGetAndHeadAndReplyAtOnce) {
  Router router;
  router.AddInline("GET", "/probe", [](const Request&, Response& r) { r.status = 204; });
  EXPECT_EQ(router.FindAsync("POST", "/probe"), nullptr);
  for (const char* method : {"GET", "HEAD"}) {
    const AsyncHandler* h = router.FindAsync(method, "/probe");
    ASSERT_NE(h, nullptr) << method;
    int status = 0;
    (*h)(Request{}, Responder([&](Response res) { status = res.status; }));
    EXPECT_EQ(status, 204) << method;
  }
  bool known = false;
  EXPECT_EQ(router.Find("DELETE", "/probe", &known), nullptr);
  EXPECT_TRUE(known);  // 405, not 404
}

TEST(Router, PrefixRoutesTakeTheRestOfThePathExactRoutesFirst) {
  Router router;
  int hit = 0;
  router.Add("GET", "/items", [&](const Request&, Response&) { hit = 1; });
  router.AddPrefix("GET", "/items/", [&](const Request&, Response&) { hit = 2; });
  router.AddPrefix("GET", "/items/special/", [&](const Request&, Response&) { hit = 3; });
  router.Add("GET", "/items/fixed", [&](const Request&, Response&) { hit = 4; });
  const auto call = [&](const char* method, const char* path) {
    hit = 0;
    bool known = false;
    const Handler* h = router.Find(method, path, &known);
    Request q;
    Response r;
    if (h) (*h)(q, r);
    return std::make_pair(hit, known);
  };
  EXPECT_EQ(call("GET", "/items"), std::make_pair(1, true));
  EXPECT_EQ(call("GET", "/items/a/b"), std::make_pair(2, true));  // '/' in the rest
  EXPECT_EQ(call("HEAD", "/items/a"), std::make_pair(2, true));
  EXPECT_EQ(call("GET", "/items/special/x"), std::make_pair(3, true));  // longest prefix
  EXPECT_EQ(call("GET", "/items/fixed"), std::make_pair(4, true));      // exact first
  EXPECT_EQ(call("GET", "/items/"), std::make_pair(0, false));          // nothing after the prefix
  EXPECT_EQ(call("DELETE", "/items/a"), std::make_pair(0, true));       // 405, not 404
  EXPECT_EQ(call("GET", "/itemsx"), std::make_pair(0, false));
}

// ---- a live server ----

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{};
  tv.tv_usec = 20'000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// How many complete responses (head + Content-Length body) `r` holds.
size_t ResponsesIn(const std::string& r) {
  size_t count = 0, pos = 0;
  for (;;) {
    const size_t head_end = r.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) return count;
    std::string head = r.substr(pos, head_end - pos);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t length = 0;
    if (size_t cl = head.find("content-length:"); cl != std::string::npos)
      length = std::stoul(head.substr(cl + 15));
    if (r.size() < head_end + 4 + length) return count;
    ++count;
    pos = head_end + 4 + length;
  }
}

// Reads until `count` complete responses arrived, EOF, or 5 s.
std::string ReadReplies(int fd, size_t count, bool* closed = nullptr) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  char buf[4096];
  if (closed) *closed = false;
  while (std::chrono::steady_clock::now() < deadline && ResponsesIn(out) < count) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      if (closed) *closed = true;
      break;
    }
  }
  return out;
}

// Writes all of `bytes` to the connection in one send.
void SendAll(int fd, const std::string& bytes) {
  ASSERT_EQ(send(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
}

// Every needle is in `out`, each after the one before.
void ExpectInOrder(const std::string& out, const std::vector<std::string>& needles) {
  for (size_t i = 0, last = 0; i < needles.size(); ++i) {
    const size_t at = out.find(needles[i]);
    ASSERT_NE(at, std::string::npos) << needles[i] << " missing from " << out;
    if (i > 0) {
      EXPECT_GT(at, last) << needles[i] << " out of order in " << out;
    }
    last = at;
  }
}

class LiveServer : public ::testing::Test {
 protected:
  void Serve(Options opts) {
    server_ = std::make_unique<Server>(
        opts,
        [](const Request& q, Response& r) {
          if (q.path == "/throw") throw std::runtime_error("boom");
          if (q.path == "/slow") std::this_thread::sleep_for(std::chrono::milliseconds(200));
          if (q.path == "/fields") r.set_header("X-Note", "a\r\nInjected: 1");
          r.set_content("echo:" + q.path + ":" + q.body, "text/plain");
        },
        [this](Rejection why, const Request&, Response&) { rejections_.push_back(why); });
    ASSERT_EQ(server_->Bind("127.0.0.1", 0), "");
    server_->Start();
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  std::unique_ptr<Server> server_;
  std::vector<Rejection> rejections_;
};

TEST_F(LiveServer, PipelinedRepliesComeInRequestOrder) {
  Serve({});
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  // The first is slow: a server answering as handlers finish would reorder.
  const std::string reqs =
      "POST /slow HTTP/1.1\r\nContent-Length: 1\r\n\r\n1"
      "POST /fast HTTP/1.1\r\nContent-Length: 1\r\n\r\n2"
      "GET /last HTTP/1.1\r\n\r\n";
  SendAll(fd, reqs);
  ExpectInOrder(ReadReplies(fd, 3), {"echo:/slow:1", "echo:/fast:2", "echo:/last:"});
  close(fd);
}

// The timer is not re-armed for each read and write; a deadline earlier
// than the pending wait must still start a new one. The wait for the head
// runs to the (long) head deadline; the body's (short) deadline, set when
// the head arrives, must still end a stalled body on time.
TEST_F(LiveServer, ABodyDeadlineEarlierThanThePendingWaitStillFires) {
  Options opts;
  opts.idle_timeout = std::chrono::seconds(30);
  opts.head_timeout = std::chrono::seconds(30);
  opts.body_timeout = std::chrono::milliseconds(300);
  Serve(opts);
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  const auto sent = std::chrono::steady_clock::now();
  SendAll(fd, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  std::string reply;
  bool closed = false;
  while (!closed && ResponsesIn(reply) == 0 &&
         std::chrono::steady_clock::now() - sent < std::chrono::seconds(4)) {
    reply += ReadReplies(fd, 1, &closed);
  }
  EXPECT_NE(reply.find(" 408 "), std::string::npos)
      << "a body stalled past its 300 ms deadline was not answered within 4 s: " << reply;
  close(fd);
}

// The reply's head as the server formats it: status line, the handler's
// fields (a CR or LF in one cannot start a line of its own), the length
// (also for HEAD, which gets no body), and Connection: close when the
// client asked to close.
TEST_F(LiveServer, RepliesCarryTheirFieldsAndLengthAndNoInjectedLine) {
  Serve({});
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  SendAll(fd,
          "GET /fields HTTP/1.1\r\nHost: x\r\n\r\n"
          "HEAD /fields HTTP/1.1\r\nHost: x\r\n\r\n"
          "GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  bool closed = false;
  const std::string out = ReadReplies(fd, 3, &closed);
  const std::string body = "echo:/fields:";
  const std::string get_head =
      "HTTP/1.1 200 OK\r\nServer: agentwatch\r\nX-Note: aInjected: 1\r\n"
      "Content-Type: text/plain\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  ASSERT_EQ(out.rfind(get_head + body + get_head + "HTTP/1.1 200 OK\r\n", 0), 0u) << out;
  EXPECT_EQ(out.find("\r\nInjected"), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close\r\n\r\necho:/bye:"), std::string::npos) << out;
  // Closed after the last reply: a read sees EOF.
  char c;
  for (int i = 0; i < 100 && !closed; ++i) {
    const ssize_t n = recv(fd, &c, 1, 0);
    closed = n == 0;
  }
  EXPECT_TRUE(closed);
  close(fd);
}

TEST_F(LiveServer, AThrowingHandlerGets500AndTheServerGoesOn) {
  Serve({});
  const int fd = Connect(server_->port());
  const std::string reqs = "GET /throw HTTP/1.1\r\n\r\nGET /ok HTTP/1.1\r\n\r\n";
  SendAll(fd, reqs);
  const std::string out = ReadReplies(fd, 2);
  EXPECT_EQ(out.rfind("HTTP/1.1 500", 0), 0u) << out;
  EXPECT_NE(out.find("echo:/ok:"), std::string::npos) << out;
  close(fd);
}

TEST_F(LiveServer, RejectionsGoThroughTheHookAndCloseTheConnection) {
  Options opts;
  opts.body_limit = 10;
  Serve(opts);
  const int fd = Connect(server_->port());
  const std::string req = "POST /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n01234567890";
  SendAll(fd, req);
  bool closed = false;
  const std::string out = ReadReplies(fd, 2, &closed);
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
  EXPECT_TRUE(closed);
  ASSERT_EQ(rejections_.size(), 1u);
  EXPECT_EQ(rejections_[0], Rejection::kBodyTooLarge);
  close(fd);
}

TEST_F(LiveServer, AtTheCapTheLongestIdleConnectionMakesRoom) {
  Options opts;
  opts.max_connections = 4;
  Serve(opts);
  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) {
    fds.push_back(Connect(server_->port()));
    // Accepted (and registered) before the next one.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (server_->connections() < static_cast<size_t>(i + 1) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  const int fresh = Connect(server_->port());
  const std::string req = "GET /hi HTTP/1.1\r\n\r\n";
  SendAll(fresh, req);
  EXPECT_NE(ReadReplies(fresh, 1).find("echo:/hi:"), std::string::npos);
  bool closed = false;
  ReadReplies(fds[0], 1, &closed);
  EXPECT_TRUE(closed) << "the oldest idle connection was kept";
  closed = false;
  char b;
  EXPECT_EQ(recv(fds[3], &b, 1, 0), -1);  // still open: nothing to read, no EOF
  for (int fd : fds) close(fd);
  close(fresh);
}

// Handlers that reply later, from another thread, as ingest does from the
// writer's commit: /inline/* runs on the IO thread (run_inline), the rest on
// the one worker. "/block" holds that worker until released.
class AsyncServer : public ::testing::Test {
 protected:
  void SetUp() override {
    Options opts;
    opts.worker_threads = 1;
    opts.run_inline = [](const Request& q) { return q.path.rfind("/inline/", 0) == 0; };
    server_ = std::make_unique<Server>(
        opts,
        [this](const Request& q, Responder reply) {
          if (q.path == "/block") {
            std::unique_lock lock(mu_);
            cv_.wait_for(lock, std::chrono::seconds(10), [&] { return released_; });
          }
          if (q.path == "/inline/drop") return;  // never replies
          if (q.path == "/inline/throw-after-reply") {
            reply.Send(Response{});
            throw std::runtime_error("after the reply");
          }
          Response res;
          res.set_content("late:" + q.path + ":" + q.body, "text/plain");
          std::lock_guard lock(mu_);
          repliers_.emplace_back([reply, res = std::move(res)]() mutable {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            reply.Send(std::move(res));
          });
        },
        nullptr);
    ASSERT_EQ(server_->Bind("127.0.0.1", 0), "");
    server_->Start();
  }
  void TearDown() override {
    Release();
    server_->Stop();
    std::lock_guard lock(mu_);
    for (auto& t : repliers_) t.join();
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::vector<std::thread> repliers_;
  std::unique_ptr<Server> server_;
};

// Replies sent after the handler returned, from other threads, are written
// in request order on a pipelined connection.
TEST_F(AsyncServer, RepliesSentLaterFromOtherThreadsAreWrittenInOrder) {
  const int fd = Connect(server_->port());
  const std::string reqs =
      "POST /inline/a HTTP/1.1\r\nContent-Length: 1\r\n\r\n1"
      "POST /worker/b HTTP/1.1\r\nContent-Length: 1\r\n\r\n2"
      "POST /inline/c HTTP/1.1\r\nContent-Length: 1\r\n\r\n3";
  SendAll(fd, reqs);
  ExpectInOrder(ReadReplies(fd, 3), {"late:/inline/a:1", "late:/worker/b:2", "late:/inline/c:3"});
  close(fd);
}

// An inline route is answered while the only worker is blocked: it never
// needs a worker. With run_inline ignored it would wait behind /block.
TEST_F(AsyncServer, InlineRoutesDoNotNeedAWorker) {
  const int blocker = Connect(server_->port());
  const std::string block = "GET /block HTTP/1.1\r\n\r\n";
  SendAll(blocker, block);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the worker takes it
  const int fd = Connect(server_->port());
  const std::string req = "POST /inline/single HTTP/1.1\r\nContent-Length: 2\r\n\r\nok";
  SendAll(fd, req);
  EXPECT_NE(ReadReplies(fd, 1).find("late:/inline/single:ok"), std::string::npos);
  Release();
  close(fd);
  close(blocker);
}

// A handler that drops its Responder without replying: the client gets a
// 500, not a connection that hangs, and the connection goes on.
TEST_F(AsyncServer, AReplyNeverSentBecomesA500) {
  const int fd = Connect(server_->port());
  const std::string reqs =
      "GET /inline/drop HTTP/1.1\r\n\r\n"
      "POST /inline/single HTTP/1.1\r\nContent-Length: 1\r\n\r\ny";
  SendAll(fd, reqs);
  const std::string out = ReadReplies(fd, 2);
  EXPECT_EQ(out.rfind("HTTP/1.1 500", 0), 0u) << out;
  EXPECT_NE(out.find("late:/inline/single:y"), std::string::npos) << out;
  close(fd);
}

// A handler that throws after replying: the reply stands (no second
// response on the wire) and the connection goes on.
TEST_F(AsyncServer, AThrowAfterTheReplyKeepsTheReply) {
  const int fd = Connect(server_->port());
  const std::string reqs =
      "GET /inline/throw-after-reply HTTP/1.1\r\n\r\n"
      "POST /inline/next HTTP/1.1\r\nContent-Length: 1\r\n\r\nz";
  SendAll(fd, reqs);
  const std::string out = ReadReplies(fd, 2);
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
  EXPECT_NE(out.find("late:/inline/next:z"), std::string::npos) << out;
  char extra;
  EXPECT_EQ(recv(fd, &extra, 1, 0), -1) << "a second reply to one request";
  close(fd);
}

TEST_F(LiveServer, ASecondBindOnTheSamePortFails) {
  Serve({});
  Server second(
      {}, [](const Request&, Response&) {}, nullptr);
  const std::string err = second.Bind("127.0.0.1", server_->port());
  EXPECT_NE(err.find("cannot bind"), std::string::npos) << err;
}

}  // namespace
}  // namespace aw::http
