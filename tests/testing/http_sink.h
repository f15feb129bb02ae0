#pragma once

// A real HTTP server on 127.0.0.1 (an ephemeral port) that stands in for
// PagerDuty, Slack, webhooks or Alertmanager in tests. It records every
// request and answers as scripted per path: "503 for the next 3 requests,
// then 200", "429 with Retry-After: 30 once", "hang for 5 s once".
// Unscripted requests get the path's default (200 "ok" unless changed).
//
//   aw::testing::HttpSink sink;
//   sink.Respond("/hook", 503, /*times=*/3);
//   ... point a receiver at sink.Url("/hook") ...
//   ASSERT_TRUE(sink.WaitForRequests(4, std::chrono::seconds(5)));
//
// Thread-safe. The destructor releases hanging handlers and stops the
// server.

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aw::testing {

class HttpSink {
 public:
  struct Request {
    std::string method;
    std::string path;   // without the query
    std::string query;  // raw, without '?'
    httplib::Headers headers;
    std::string body;
    std::chrono::steady_clock::time_point at;           // when it arrived
    std::string Header(const std::string& name) const;  // "" when absent
  };

  // One scripted answer.
  struct Reply {
    int code = 200;
    std::string body = "ok";
    std::string content_type = "text/plain";
    std::string retry_after;            // Retry-After header when non-empty
    std::chrono::milliseconds hang{0};  // wait this long before answering
  };

  HttpSink();  // listening when it returns; aborts if it cannot bind
  ~HttpSink();
  HttpSink(const HttpSink&) = delete;
  HttpSink& operator=(const HttpSink&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" + path.
  std::string Url(const std::string& path = "") const;

  // Queues `times` copies of `reply` for `path`, after any already queued.
  void Script(const std::string& path, const Reply& reply, int times = 1);
  // Shorthands for Script.
  void Respond(const std::string& path, int code, int times = 1,
               const std::string& retry_after = "");
  void Hang(const std::string& path, std::chrono::milliseconds d, int times = 1, int code = 200);
  // What `path` answers once its script is used up (initially 200 "ok").
  void SetDefault(const std::string& path, const Reply& reply);

  std::vector<Request> Requests() const;
  std::vector<Request> Requests(const std::string& path) const;
  size_t RequestCount() const;
  size_t RequestCount(const std::string& path) const;
  // True once at least `n` requests (to `path`, if given) have arrived;
  // false after `timeout`. Waits on a condition variable, no polling.
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout) const;
  bool WaitForRequests(const std::string& path, size_t n, std::chrono::milliseconds timeout) const;

  // Stops the server (idempotent). Hanging handlers return at once.
  void Stop();

 private:
  void Handle(const httplib::Request& req, httplib::Response& res);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // a request arrived, or stopping
  std::vector<Request> requests_;
  std::map<std::string, std::deque<Reply>> scripts_;
  std::map<std::string, Reply> defaults_;
  bool stopping_ = false;
};

}  // namespace aw::testing
