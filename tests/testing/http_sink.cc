#include "tests/testing/http_sink.h"

#include <cstdio>
#include <cstdlib>

namespace aw::testing {

std::string HttpSink::Request::Header(const std::string& name) const {
  auto it = headers.find(name);  // httplib::Headers compares case-insensitively
  return it == headers.end() ? "" : it->second;
}

HttpSink::HttpSink() {
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); };
  server_.Get(".*", handler);
  server_.Post(".*", handler);
  server_.Put(".*", handler);
  server_.Delete(".*", handler);
  // Enough threads for several hanging requests at once.
  server_.new_task_queue = [] { return new httplib::ThreadPool(16); };
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) {
    std::fprintf(stderr, "HttpSink: cannot bind 127.0.0.1\n");
    std::abort();
  }
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // No readiness callback in 0.11.4: wait for is_running(). The socket is
  // already bound and listening, so clients could connect even before.
  while (!server_.is_running()) std::this_thread::yield();
}

HttpSink::~HttpSink() { Stop(); }

void HttpSink::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    server_.stop();
    thread_.join();
  }
}

std::string HttpSink::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void HttpSink::Script(const std::string& path, const Reply& reply, int times) {
  std::lock_guard lock(mu_);
  auto& q = scripts_[path];
  for (int i = 0; i < times; ++i) q.push_back(reply);
}

void HttpSink::Respond(const std::string& path, int code, int times,
                       const std::string& retry_after) {
  Reply r;
  r.code = code;
  r.body = code >= 200 && code < 300 ? "ok" : "error " + std::to_string(code);
  r.retry_after = retry_after;
  Script(path, r, times);
}

void HttpSink::Hang(const std::string& path, std::chrono::milliseconds d, int times, int code) {
  Reply r;
  r.code = code;
  r.hang = d;
  Script(path, r, times);
}

void HttpSink::SetDefault(const std::string& path, const Reply& reply) {
  std::lock_guard lock(mu_);
  defaults_[path] = reply;
}

void HttpSink::Handle(const httplib::Request& req, httplib::Response& res) {
  Reply reply;
  {
    std::unique_lock lock(mu_);
    std::string query;
    for (const auto& [k, v] : req.params) {
      query += (query.empty() ? "" : "&") + k + "=" + v;
    }
    requests_.push_back(Request{req.method, req.path, query, req.headers, req.body,
                                std::chrono::steady_clock::now()});
    if (auto it = scripts_.find(req.path); it != scripts_.end() && !it->second.empty()) {
      reply = it->second.front();
      it->second.pop_front();
    } else if (auto d = defaults_.find(req.path); d != defaults_.end()) {
      reply = d->second;
    }
    cv_.notify_all();
    if (reply.hang.count() > 0) {
      cv_.wait_for(lock, reply.hang, [this] { return stopping_; });
    }
  }
  res.status = reply.code;
  if (!reply.retry_after.empty()) {
    res.set_header("Retry-After", reply.retry_after);
  }
  res.set_content(reply.body, reply.content_type.c_str());
}

std::vector<HttpSink::Request> HttpSink::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<HttpSink::Request> HttpSink::Requests(const std::string& path) const {
  std::lock_guard lock(mu_);
  std::vector<Request> out;
  for (const auto& r : requests_) {
    if (r.path == path) out.push_back(r);
  }
  return out;
}

size_t HttpSink::RequestCount() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

size_t HttpSink::RequestCount(const std::string& path) const { return Requests(path).size(); }

bool HttpSink::WaitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

bool HttpSink::WaitForRequests(const std::string& path, size_t n,
                               std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    size_t count = 0;
    for (const auto& r : requests_) count += r.path == path;
    return count >= n;
  });
}

}  // namespace aw::testing
