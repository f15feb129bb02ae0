// The parts of the HTTP interface that need no Beast: request accessors,
// the router, JSON errors and the bounded gzip inflate.

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>

#include <nlohmann/json.hpp>

#include "daemon/http/http.h"

namespace aw::http {

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return "";
}

bool Request::has_header(std::string_view name) const {
  for (const auto& h : headers) {
    if (IEquals(h.first, name)) return true;
  }
  return false;
}

std::string Request::param(std::string_view name) const {
  auto it = params.find(std::string(name));
  return it == params.end() ? "" : it->second;
}

void Response::set_header(std::string name, std::string value) {
  for (auto& h : headers) {
    if (IEquals(h.first, name)) {
      h.second = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

void Response::set_content(std::string content, std::string content_type) {
  body = std::move(content);
  set_header("Content-Type", std::move(content_type));
}

struct Responder::State {
  std::function<void(Response)> deliver;
  std::atomic<bool> sent{false};

  ~State() {
    if (sent.load()) return;
    Response res;
    res.status = 500;
    res.set_content(JsonError("internal error: the handler gave no reply"), "application/json");
    deliver(std::move(res));
  }
};

Responder::Responder(std::function<void(Response)> deliver) : state_(std::make_shared<State>()) {
  state_->deliver = std::move(deliver);
}

void Responder::Send(Response res) const {
  if (state_->sent.exchange(true)) return;
  state_->deliver(std::move(res));
}

void Router::AddAsync(std::string method, std::string path, AsyncHandler handler) {
  async_routes_[{std::move(method), std::move(path)}] = std::move(handler);
}

AsyncHandler ReplyWhenDone(Handler handler) {
  return [handler = std::move(handler)](const Request& q, const Responder& reply) {
    Response res;
    handler(q, res);
    reply.Send(std::move(res));
  };
}

void Router::AddInline(std::string method, std::string path, Handler handler) {
  AddAsync(std::move(method), std::move(path), ReplyWhenDone(std::move(handler)));
}

const AsyncHandler* Router::FindAsync(std::string_view method, std::string_view path) const {
  if (method == "HEAD") method = "GET";
  auto it = async_routes_.find(std::pair<std::string, std::string>(method, path));
  return it == async_routes_.end() ? nullptr : &it->second;
}

void Router::Add(std::string method, std::string path, Handler handler) {
  routes_[{std::move(method), std::move(path)}] = std::move(handler);
}

void Router::AddPrefix(std::string method, std::string prefix, Handler handler) {
  prefix_routes_[{std::move(method), std::move(prefix)}] = std::move(handler);
}

const Handler* Router::Find(std::string_view method, std::string_view path,
                            bool* path_known) const {
  const std::string m = method == "HEAD" ? "GET" : std::string(method);
  auto it = routes_.find(std::pair<std::string, std::string>(m, std::string(path)));
  if (it != routes_.end()) {
    if (path_known) *path_known = true;
    return &it->second;
  }
  const auto same_path = [&](const auto& r) { return r.first.second == path; };
  bool known = std::any_of(routes_.begin(), routes_.end(), same_path) ||
               std::any_of(async_routes_.begin(), async_routes_.end(), same_path);
  const Handler* best = nullptr;
  size_t best_len = 0;
  for (const auto& [key, handler] : prefix_routes_) {
    const std::string& prefix = key.second;
    if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix) continue;
    known = true;
    if (key.first == m && prefix.size() > best_len) {
      best = &handler;
      best_len = prefix.size();
    }
  }
  if (path_known) *path_known = known;
  return best;
}

const char* RejectionName(Rejection r) {
  switch (r) {
    case Rejection::kMalformed:
      return "malformed";
    case Rejection::kHeaderLineTooLong:
      return "header_line_too_long";
    case Rejection::kHeadersTooLarge:
      return "headers_too_large";
    case Rejection::kBodyTooLarge:
      return "too_large";
    case Rejection::kBadEncoding:
      return "bad_encoding";
    case Rejection::kUnsupportedEncoding:
      return "unsupported_encoding";
    case Rejection::kTimeout:
      return "timeout";
  }
  return "unknown";
}

std::string JsonError(std::string_view message) {
  return nlohmann::json{{"error", std::string(message)}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

InflateResult Inflate(std::string_view in, uint64_t limit, std::string* out) {
  out->clear();
  z_stream zs{};
  // 15 window bits + 32: accept a gzip or a zlib header.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return InflateResult::kCorrupt;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), UINT32_MAX));
  char chunk[64 * 1024];
  InflateResult result = InflateResult::kCorrupt;
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = sizeof chunk - zs.avail_out;
    // Checked before appending, so memory never exceeds limit + one chunk.
    if (out->size() + produced > limit) {
      result = InflateResult::kTooLarge;
      break;
    }
    out->append(chunk, produced);
    if (rc == Z_STREAM_END) {
      // A gzip stream may hold several members back to back (RFC 1952).
      if (zs.avail_in == 0) {
        result = InflateResult::kOk;
        break;
      }
      if (inflateReset(&zs) != Z_OK) break;
      continue;
    }
    if (rc != Z_OK) break;  // Z_BUF_ERROR here: truncated input
  }
  inflateEnd(&zs);
  if (result != InflateResult::kOk) out->clear();
  return result;
}

}  // namespace aw::http
