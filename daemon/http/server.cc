// The Beast/Asio implementation of http::Server. The only translation unit
// that includes Beast: it is slow to compile, so the request checks, the
// connection state machine and the acceptor stay in this one file (about
// 750 lines) rather than spreading Beast's headers over several.
//
// Each connection lives on one IO thread's io_context: the reads, the
// timer and the writes of one connection never run concurrently. A request
// is read, then handed to the worker pool (or, for a small request to a
// handler that never blocks, handled right on the IO thread); the reply is
// posted back to the connection's io_context from whichever thread has it
// and written, and only then is the next request read. Pipelined bytes stay
// in the connection's buffer between requests, so replies keep their order.

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "daemon/common/log.h"
#include "daemon/common/thread_name.h"
#include "daemon/http/http.h"

namespace aw::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

using Parser = bhttp::request_parser<bhttp::string_body>;

void ConfigureParser(Parser& p, const Options& o) {
  p.header_limit(static_cast<std::uint32_t>(std::min<size_t>(o.header_limit, UINT32_MAX)));
  // Holds for chunked bodies too; a gzip body is bounded again once inflated.
  p.body_limit(o.body_limit);
  p.eager(true);
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string LowerTrim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  std::string out(v);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Copies what the parser has of the head (the start line and the fields
// seen so far) into `r`.
void FillHead(const Parser& p, Request* r) {
  const auto& msg = p.get();
  r->method = std::string(msg.method_string());
  r->target = std::string(msg.target());
  const std::string_view target(msg.target().data(), msg.target().size());
  const size_t q = target.find('?');
  r->path = PercentDecode(target.substr(0, q), false);
  r->params.clear();
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      const size_t eq = pair.find('=');
      if (!pair.empty()) {
        r->params.emplace(
            PercentDecode(pair.substr(0, eq), true),
            eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), true));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  r->headers.clear();
  for (const auto& f : msg) {
    r->headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }
}

bool IsGzip(const Request& r) {
  const std::string enc = LowerTrim(r.header("Content-Encoding"));
  return enc == "gzip" || enc == "x-gzip";
}

// The checks on a complete head; fills `r`.
std::optional<Rejection> CheckHead(const Parser& p, const Options& o, Request* r) {
  FillHead(p, r);
  if (r->headers.size() > o.max_header_fields) return Rejection::kHeadersTooLarge;
  for (const auto& [k, v] : r->headers) {
    if (k.size() + v.size() > o.max_header_line) return Rejection::kHeaderLineTooLong;
  }
  const std::string enc = LowerTrim(r->header("Content-Encoding"));
  if (!enc.empty() && enc != "identity" && enc != "gzip" && enc != "x-gzip") {
    return Rejection::kUnsupportedEncoding;
  }
  return std::nullopt;
}

// Decodes the body into `r->body`.
std::optional<Rejection> FinishBody(std::string body, const Options& o, Request* r) {
  if (!IsGzip(*r)) {
    r->body = std::move(body);
    return std::nullopt;
  }
  switch (Inflate(body, o.body_limit, &r->body)) {
    case InflateResult::kOk:
      return std::nullopt;
    case InflateResult::kTooLarge:
      return Rejection::kBodyTooLarge;
    case InflateResult::kCorrupt:
      return Rejection::kBadEncoding;
  }
  return Rejection::kBadEncoding;
}

// A parse error's rejection, or nullopt when the peer simply went away.
std::optional<Rejection> MapError(const beast::error_code& ec) {
  if (ec == bhttp::error::header_limit) return Rejection::kHeadersTooLarge;
  if (ec == bhttp::error::body_limit) return Rejection::kBodyTooLarge;
  // The peer went away (before or within a request): nobody to answer.
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) return std::nullopt;
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    return Rejection::kMalformed;
  }
  return std::nullopt;  // a socket error
}

int RejectionStatus(Rejection r) {
  switch (r) {
    case Rejection::kHeaderLineTooLong:
    case Rejection::kHeadersTooLarge:
      return 431;
    case Rejection::kBodyTooLarge:
      return 413;
    case Rejection::kTimeout:
      return 408;
    case Rejection::kUnsupportedEncoding:
      return 415;
    default:
      return 400;
  }
}

std::string RejectionMessage(Rejection r, const Options& o, const Request& req) {
  switch (r) {
    case Rejection::kMalformed:
      return "request: malformed HTTP";
    case Rejection::kHeaderLineTooLong:
      return "request: a header line exceeds " + std::to_string(o.max_header_line) + " bytes";
    case Rejection::kHeadersTooLarge:
      return "request: headers exceed " + std::to_string(o.header_limit) + " bytes or " +
             std::to_string(o.max_header_fields) + " fields";
    case Rejection::kBodyTooLarge:
      return "body: exceeds " + std::to_string(o.body_limit) + " bytes";
    case Rejection::kBadEncoding:
      return "body: not valid gzip";
    case Rejection::kUnsupportedEncoding:
      return "Content-Encoding: " + req.header("Content-Encoding") +
             " is not supported; use gzip or identity";
    case Rejection::kTimeout:
      return "request: not received within the read timeout";
  }
  return "request: rejected";
}

Response RejectionResponse(Rejection r, const Options& o, const Request& req,
                           const RejectionHook& hook) {
  Response res;
  res.status = RejectionStatus(r);
  res.set_content(JsonError(RejectionMessage(r, o, req)), "application/json");
  if (hook) {
    try {
      hook(r, req, res);
    } catch (const std::exception& e) {
      LogError(std::string("http: rejection hook threw: ") + e.what());
    } catch (...) {
      LogError("http: rejection hook threw");
    }
  }
  return res;
}

// Runs a handler; one that throws gets a 500 (unless it already replied).
void RunHandler(const AsyncHandler& handler, const Request& req, const Responder& reply) {
  try {
    handler(req, reply);
    return;
  } catch (const std::exception& e) {
    LogError("http: handler for " + req.method + " " + req.target + " threw: " + e.what());
  } catch (...) {
    LogError("http: handler for " + req.method + " " + req.target + " threw");
  }
  Response err;
  err.status = 500;
  err.set_content(JsonError("internal error"), "application/json");
  reply.Send(std::move(err));
}

}  // namespace

ParseOutcome ParseRequest(std::string_view bytes, const Options& options, Request* out) {
  ParseOutcome o;
  Parser p;
  ConfigureParser(p, options);
  beast::error_code ec;
  size_t used = 0;
  bool head_checked = false;
  *out = Request{};
  const auto reject = [&](Rejection r) {
    o.rejected = true;
    o.rejection = r;
    o.consumed = used;
    return o;
  };
  while (!p.is_done()) {
    const size_t n = p.put(net::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == bhttp::error::need_more) {
      o.consumed = used;
      return o;  // incomplete
    }
    if (ec) {
      FillHead(p, out);
      auto r = MapError(ec);
      return reject(r ? *r : Rejection::kMalformed);
    }
    if (p.is_header_done() && !head_checked) {
      head_checked = true;
      if (auto r = CheckHead(p, options, out)) return reject(*r);
    }
    if (n == 0 && !p.is_done()) {
      o.consumed = used;
      return o;
    }
  }
  if (auto r = FinishBody(std::move(p.get().body()), options, out)) return reject(*r);
  o.complete = true;
  o.consumed = used;
  return o;
}

uint64_t RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

// ---- connections ----

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Closes the connection on its own IO thread (from any thread).
  virtual void Evict() = 0;
  // True while it waits for a request (nothing in flight): it may be
  // closed to make room; `waiting_since` orders the candidates.
  std::atomic<bool> evictable{false};
  std::atomic<int64_t> waiting_since{0};
};

struct Server::Impl {
  Options options;
  AsyncHandler handler;
  RejectionHook on_reject;

  std::mutex conn_mu;
  std::unordered_map<ConnectionBase*, std::weak_ptr<ConnectionBase>> conns;  // guarded by conn_mu

  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};  // requests read and not yet answered
  int port = 0;
  bool started = false;
  bool stopped = false;

  // One io_context per IO thread, each run by that thread alone: a
  // connection lives on one of them for its whole life, so its handlers
  // never run concurrently without a strand, and a completion never wakes
  // another thread to run it (one shared io_context run by two threads
  // handed most completions across, measured as context switches).
  // Destroyed before the registry above (reverse order), so a connection
  // released with its io_context still finds the registry.
  std::vector<std::unique_ptr<net::io_context>> iocs;
  std::optional<net::ssl::context> ssl;
  tcp::acceptor acceptor;
  net::steady_timer accept_retry{acceptor.get_executor()};
  std::unique_ptr<net::thread_pool> workers;
  std::vector<std::thread> io_threads;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  size_t next_ioc = 0;  // the acceptor's: connections go round-robin

  explicit Impl(int io_thread_count)
      : iocs(MakeContexts(io_thread_count)), acceptor(iocs.front()->get_executor()) {}
  static std::vector<std::unique_ptr<net::io_context>> MakeContexts(int n) {
    std::vector<std::unique_ptr<net::io_context>> v;
    for (int i = 0; i < std::max(1, n); ++i) {
      v.push_back(std::make_unique<net::io_context>(1));  // run by one thread
    }
    return v;
  }

  void Accept();
  void Register(const std::shared_ptr<ConnectionBase>& c);
  // Makes room for one more connection; false when every one is busy.
  bool MakeRoom();
};

namespace {

template <typename Stream>
class Connection : public ConnectionBase, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <typename... Args>
  Connection(Server::Impl& server, Args&&... args)
      : server_(server), stream_(std::forward<Args>(args)...), timer_(stream_.get_executor()) {}

  ~Connection() override {
    std::lock_guard lock(server_.conn_mu);
    server_.conns.erase(this);
  }

  void Start() {
    if constexpr (std::is_same_v<Stream, net::ssl::stream<tcp::socket>>) {
      state_ = State::kHandshake;
      MarkWaiting();
      Arm(SteadyClock::now() + server_.options.head_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->ReadHead();
                              });
    } else {
      ReadHead();
    }
  }

  void Evict() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->state_ == State::kWaiting || self->state_ == State::kHead ||
          self->state_ == State::kHandshake) {
        self->Close();
      }
    });
  }

 private:
  enum class State { kHandshake, kWaiting, kHead, kBody, kHandling, kWriting, kLinger, kClosed };

  auto& Socket() { return beast::get_lowest_layer(stream_); }
  const Options& opts() const { return server_.options; }

  void MarkWaiting() {
    waiting_since = SteadyClock::now().time_since_epoch().count();
    evictable = true;
  }

  // The connection's one deadline. The timer is not re-armed for every
  // read and write (each re-arm is a timer-queue update and a cancelled
  // wait's completion, a large part of a small request's cost): a pending
  // wait that fires before the deadline waits again for the rest. Only a
  // deadline earlier than the pending wait starts a new one.
  void Arm(SteadyClock::time_point at) {
    deadline_ = at;
    if (!waiting_ || at < armed_) StartWait(at);
  }
  // No deadline while a handler runs: the reply's write sets the next one.
  void Disarm() { deadline_ = SteadyClock::time_point::max(); }

  void StartWait(SteadyClock::time_point at) {
    const uint64_t gen = ++timer_gen_;
    armed_ = at;
    waiting_ = true;
    timer_.expires_at(at);  // a pending wait completes as cancelled: its gen is stale
    timer_.async_wait([self = this->shared_from_this(), gen](beast::error_code ec) {
      if (gen != self->timer_gen_) return;
      self->waiting_ = false;
      if (ec || self->state_ == State::kClosed) return;
      if (self->deadline_ == SteadyClock::time_point::max()) return;  // handling
      if (SteadyClock::now() < self->deadline_) return self->StartWait(self->deadline_);
      self->OnTimer();
    });
  }

  void OnTimer() {
    const auto now = SteadyClock::now();
    switch (state_) {
      case State::kWaiting:
      case State::kHead: {
        const bool received = buffer_.size() > 0 || parser_->got_some();
        const auto idle_end = wait_start_ + opts().idle_timeout;
        const auto head_end = wait_start_ + opts().head_timeout;
        if (!received) {
          if (now >= idle_end || server_.stopping) return Close();
          return Arm(idle_end);
        }
        if (now < head_end) return Arm(head_end);
        timed_out_ = true;
        Socket().cancel();  // the read completes with operation_aborted
        return;
      }
      case State::kBody:
        timed_out_ = true;
        Socket().cancel();
        return;
      default:
        return Close();  // handshake, write or linger past their deadline
    }
  }

  void ReadHead() {
    if (server_.stopping) return Close();
    state_ = State::kWaiting;
    parser_.emplace();
    ConfigureParser(*parser_, opts());
    req_ = Request{};
    req_.remote = remote_;
    timed_out_ = false;
    wait_start_ = SteadyClock::now();
    MarkWaiting();
    Arm(wait_start_ + std::min(opts().idle_timeout, opts().head_timeout));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHead(ec); });
  }

  void OnHead(beast::error_code ec) {
    evictable = false;
    if (state_ == State::kClosed) return;
    if (ec) return OnReadError(ec);
    if (auto r = CheckHead(*parser_, opts(), &req_)) return Reject(*r);
    state_ = State::kBody;
    if (parser_->is_done()) return OnBody({});
    Arm(SteadyClock::now() + opts().body_timeout);
    if (LowerTrim(req_.header("Expect")) == "100-continue") {
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue, sizeof kContinue - 1),
                       [self = this->shared_from_this()](beast::error_code wec, size_t) {
                         if (wec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnReadError(const beast::error_code& ec) {
    if (state_ == State::kClosed) return;
    if (timed_out_) {
      FillHead(*parser_, &req_);
      return Reject(Rejection::kTimeout);
    }
    auto r = MapError(ec);
    if (!r) return Close();
    FillHead(*parser_, &req_);
    Reject(*r);
  }

  void OnBody(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    if (ec) return OnReadError(ec);
    keep_alive_ = parser_->get().keep_alive();
    Dispatch(std::move(parser_->get().body()), std::nullopt);
  }

  // Answers without reading further, then closes: after a rejection the
  // rest of the stream cannot be trusted to start a new request.
  void Reject(Rejection r) {
    keep_alive_ = false;
    Dispatch({}, r);
  }

  void Dispatch(std::string body, std::optional<Rejection> rejection) {
    state_ = State::kHandling;
    Disarm();
    ++server_.in_flight;
    if (!rejection && body.size() <= opts().inline_body_limit && opts().run_inline &&
        !IsGzip(req_) && opts().run_inline(req_)) {
      req_.body = std::move(body);
      return RunHandler(server_.handler, req_, MakeResponder());
    }
    net::post(*server_.workers, [self = this->shared_from_this(), body = std::move(body),
                                 rejection]() mutable {
      // Asio's pool starts its threads itself: each names itself on its first task.
      thread_local const bool named = (NameThisThread("aw-http-work"), true);
      (void)named;
      std::optional<Rejection> r = rejection;
      if (!r) r = FinishBody(std::move(body), self->opts(), &self->req_);
      if (!r) return RunHandler(self->server_.handler, self->req_, self->MakeResponder());
      Response res = RejectionResponse(*r, self->opts(), self->req_, self->server_.on_reject);
      self->keep_alive_ = false;
      self->MakeResponder().Send(std::move(res));
    });
  }

  // The reply goes back to the connection's IO thread, from whichever thread
  // sends it.
  Responder MakeResponder() {
    return Responder([self = this->shared_from_this()](Response res) {
      auto* conn = self.get();
      net::post(conn->stream_.get_executor(),
                [self = std::move(self), res = std::move(res)]() mutable {
                  self->Write(std::move(res));
                });
    });
  }

  // The reply's head is formatted here, into a buffer the connection keeps:
  // a Beast message and its serializer per reply were a large part of a
  // small request's cost.
  void Write(Response res) {
    --server_.in_flight;
    if (state_ == State::kClosed) return;
    state_ = State::kWriting;
    const bool keep = keep_alive_ && !server_.stopping;
    FormatHead(res, keep, &head_);
    body_ = req_.method == "HEAD" ? std::string() : std::move(res.body);
    Arm(SteadyClock::now() + opts().write_timeout);
    const std::array<net::const_buffer, 2> buffers = {net::buffer(head_), net::buffer(body_)};
    net::async_write(stream_, buffers,
                     [self = this->shared_from_this(), keep](beast::error_code ec, size_t) {
                       if (ec) return self->Close();
                       if (!keep) return self->Linger();
                       self->ReadHead();
                     });
  }

  // Status line and fields; a field's CR or LF (never sent by our
  // handlers) would end it early, so they are dropped.
  static void FormatHead(const Response& res, bool keep, std::string* out) {
    out->clear();
    const auto status = static_cast<unsigned>(res.status);
    out->append("HTTP/1.1 ").append(std::to_string(status)).append(" ");
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    out->append(reason.data(), reason.size()).append("\r\nServer: agentwatch\r\n");
    const auto field = [out](std::string_view text) {
      for (char c : text) {
        if (c != '\r' && c != '\n') out->push_back(c);
      }
    };
    for (const auto& [k, v] : res.headers) {
      field(k);
      out->append(": ");
      field(v);
      out->append("\r\n");
    }
    out->append("Content-Length: ").append(std::to_string(res.body.size())).append("\r\n");
    if (!keep) out->append("Connection: close\r\n");
    out->append("\r\n");
  }

  // Half-closes and reads what the client still sends for a moment before
  // closing: closing with unread bytes would reset the connection and the
  // client could lose the reply it has not read yet.
  void Linger() {
    state_ = State::kLinger;
    beast::error_code ec;
    Socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    Arm(SteadyClock::now() + std::chrono::seconds(1));
    Drain();
  }

  void Drain() {
    Socket().async_read_some(net::buffer(drain_),
                             [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                               self->drained_ += n;
                               if (ec || self->drained_ > (1u << 20)) return self->Close();
                               self->Drain();
                             });
  }

  void Close() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    evictable = false;
    ++timer_gen_;
    timer_.cancel();
    beast::error_code ec;
    Socket().close(ec);
  }

  Server::Impl& server_;
  Stream stream_;
  net::steady_timer timer_;
  uint64_t timer_gen_ = 0;
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();  // none
  SteadyClock::time_point armed_;  // the pending wait's expiry, while waiting_
  bool waiting_ = false;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  Request req_;  // the handler's while kHandling, until its reply is sent
  std::string remote_;
  State state_ = State::kWaiting;
  SteadyClock::time_point wait_start_;
  bool timed_out_ = false;
  bool keep_alive_ = true;
  size_t drained_ = 0;
  char drain_[4096];
  std::string head_, body_;  // the reply being written

 public:
  void SetRemote(std::string r) { remote_ = std::move(r); }
};

}  // namespace

void Server::Impl::Register(const std::shared_ptr<ConnectionBase>& c) {
  std::lock_guard lock(conn_mu);
  conns.emplace(c.get(), c);
}

bool Server::Impl::MakeRoom() {
  std::shared_ptr<ConnectionBase> victim;
  {
    std::lock_guard lock(conn_mu);
    if (conns.size() < static_cast<size_t>(options.max_connections)) return true;
    // Pick by raw pointer first: dropping a shared_ptr here could run a
    // destructor that takes conn_mu.
    ConnectionBase* oldest = nullptr;
    for (auto& [raw, weak] : conns) {
      if (raw->evictable && (!oldest || raw->waiting_since < oldest->waiting_since)) oldest = raw;
    }
    if (oldest) victim = conns[oldest].lock();
  }
  if (!victim) return false;
  victim->evictable = false;  // not chosen twice
  victim->Evict();
  return true;
}

void Server::Impl::Accept() {
  net::io_context& target = *iocs[next_ioc++ % iocs.size()];
  acceptor.async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
    if (stopping || !acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors or similar: wait a little instead of spinning.
      LogWarn("http: accept failed: " + ec.message());
      accept_retry.expires_after(std::chrono::milliseconds(50));
      accept_retry.async_wait([this](beast::error_code) { Accept(); });
      return;
    }
    if (!MakeRoom()) {
      beast::error_code ignored;
      socket.close(ignored);
      return Accept();
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::string remote;
    auto ep = socket.remote_endpoint(ignored);
    if (!ignored) remote = ep.address().to_string();
    if (ssl) {
      auto c = std::make_shared<Connection<net::ssl::stream<tcp::socket>>>(*this, std::move(socket),
                                                                           *ssl);
      c->SetRemote(remote);
      Register(c);
      c->Start();
    } else {
      auto c = std::make_shared<Connection<tcp::socket>>(*this, std::move(socket));
      c->SetRemote(remote);
      Register(c);
      c->Start();
    }
    Accept();
  });
}

Server::Server(Options options, AsyncHandler handler, RejectionHook on_reject)
    : impl_(std::make_unique<Impl>(options.io_threads)) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  impl_->on_reject = std::move(on_reject);
}

Server::Server(Options options, Handler handler, RejectionHook on_reject)
    : Server(std::move(options), ReplyWhenDone(std::move(handler)), std::move(on_reject)) {}

Server::~Server() { Stop(std::chrono::milliseconds(0)); }

std::string Server::Bind(const std::string& host, int port) {
  Impl& s = *impl_;
  if (!s.options.tls_cert_file.empty()) {
    s.ssl.emplace(net::ssl::context::tls_server);
    beast::error_code ec;
    s.ssl->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                       net::ssl::context::no_tlsv1_1);
    s.ssl->use_certificate_chain_file(s.options.tls_cert_file, ec);
    if (!ec) s.ssl->use_private_key_file(s.options.tls_key_file, net::ssl::context::pem, ec);
    if (ec) {
      s.ssl.reset();
      return "tls: cannot load " + s.options.tls_cert_file + " / " + s.options.tls_key_file + ": " +
             ec.message();
    }
  }
  beast::error_code ec;
  tcp::endpoint endpoint;
  auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) {
    net::io_context resolve_ctx;
    tcp::resolver resolver(resolve_ctx);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) return "cannot resolve " + host + ": " + ec.message();
    endpoint = *results.begin();
  } else {
    endpoint = tcp::endpoint(address, static_cast<unsigned short>(port));
  }
  const std::string where = host + ":" + std::to_string(port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (ec) return "cannot open a socket for " + where + ": " + ec.message();
  // SO_REUSEADDR only (restarts while old connections sit in TIME_WAIT);
  // never SO_REUSEPORT, so a port another listener holds fails to bind.
  s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  s.acceptor.bind(endpoint, ec);
  if (ec) return "cannot bind " + where + ": " + ec.message();
  s.acceptor.listen(s.options.backlog, ec);
  if (ec) return "cannot listen on " + where + ": " + ec.message();
  s.port = s.acceptor.local_endpoint().port();
  return "";
}

int Server::port() const { return impl_->port; }

void Server::Start() {
  Impl& s = *impl_;
  if (s.started) return;
  s.started = true;
  s.workers = std::make_unique<net::thread_pool>(
      static_cast<size_t>(std::max(1, s.options.worker_threads)));
  net::post(s.acceptor.get_executor(), [&s] { s.Accept(); });
  for (auto& ioc : s.iocs) {
    s.guards.push_back(net::make_work_guard(*ioc));
    s.io_threads.emplace_back([ioc = ioc.get()] {
      NameThisThread("aw-http-io");
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          LogError(std::string("http: io thread caught: ") + e.what());
        } catch (...) {
          LogError("http: io thread caught an unknown exception");
        }
      }
    });
  }
}

void Server::Stop(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  if (!s.started) return;
  net::post(s.acceptor.get_executor(), [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
    s.accept_retry.cancel();
  });
  // Idle connections go now; busy ones close after their reply.
  {
    std::vector<std::shared_ptr<ConnectionBase>> idle;
    {
      std::lock_guard lock(s.conn_mu);
      for (auto& [raw, weak] : s.conns) {
        if (auto c = weak.lock()) idle.push_back(std::move(c));
      }
    }
    for (auto& c : idle) c->Evict();
  }
  const auto deadline = SteadyClock::now() + grace;
  while (s.in_flight > 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  s.guards.clear();
  for (auto& ioc : s.iocs) ioc->stop();
  for (auto& t : s.io_threads) t.join();
  s.io_threads.clear();
  if (s.workers) s.workers->join();
}

size_t Server::connections() const {
  std::lock_guard lock(impl_->conn_mu);
  return impl_->conns.size();
}

}  // namespace aw::http
