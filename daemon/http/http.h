#pragma once

// The daemon's HTTP/1.1 front door: a small interface (Request, Response,
// Router, Server) with Boost.Beast/Asio confined to server.cc.
//
// The server owns every limit a client could abuse: an absolute deadline
// for the request head (not reset per byte), caps on header bytes, header
// count and header line length, a body limit that holds for chunked bodies
// and again after gzip decompression, an idle keep-alive timeout, and a
// connection cap that closes the longest-waiting connection without a
// request in flight when full. Requests on one connection are answered in
// order (pipelining). Handlers run on a small worker pool, never on the IO
// threads, so a handler that blocks (ingest waits for its commit) does not
// stall other connections.
//
// Invariants: a handler sees a complete request whose body is at most
// Options::body_limit bytes after decoding; every request gets exactly one
// response unless the connection is closed for a timeout or the cap; no
// exception from a handler leaves the server (it answers 500 and logs).
//
// Thread-safety: Router is built before Start() and read-only after.
// Server's Bind/Start/Stop are called from one thread; handlers and the
// rejection hook run concurrently on the worker pool.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aw::http {

struct Request {
  std::string method;  // as sent ("GET", "POST", ...)
  std::string target;  // the raw request target
  std::string path;    // target before '?', percent-decoded (may hold any bytes)
  std::multimap<std::string, std::string> params;            // the query, decoded
  std::vector<std::pair<std::string, std::string>> headers;  // in order, as sent
  std::string body;                                          // decoded (gzip already inflated)
  std::string remote;                                        // peer address

  // Case-insensitive; the first value, or "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // The first value of a query parameter, or "".
  std::string param(std::string_view name) const;
  // The names cpp-httplib used, so handler bodies read the same.
  std::string get_header_value(std::string_view name) const { return header(name); }
  std::string get_param_value(std::string_view name) const { return param(name); }
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void set_header(std::string name, std::string value);
  void set_content(std::string content, std::string content_type);
};

using Handler = std::function<void(const Request&, Response&)>;

// The reply to one request, sent from any thread when the handler has it
// (an ingest handler answers from the writer's commit, holding no thread
// while it waits). Copies share one reply and the first Send wins; when the
// last copy goes away unsent (a handler bug), the client gets a 500 rather
// than a connection that hangs. The Request stays valid until the reply is
// sent.
class Responder {
 public:
  explicit Responder(std::function<void(Response)> deliver);
  void Send(Response res) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

using AsyncHandler = std::function<void(const Request&, Responder)>;
// A Handler as an AsyncHandler that replies as soon as it returns.
AsyncHandler ReplyWhenDone(Handler handler);

// Exact (method, path) routes, and prefix routes for paths that carry an
// id (tried when no exact route matches; the longest prefix wins). HEAD is
// served by the GET route without a body.
class Router {
 public:
  void Add(std::string method, std::string path, Handler handler);
  // Every path that starts with `prefix` and is longer than it; the handler
  // reads the rest of Request::path.
  void AddPrefix(std::string method, std::string prefix, Handler handler);
  // An exact route whose handler must not block: it may run on an IO
  // thread and replies through its Responder when it can.
  void AddAsync(std::string method, std::string path, AsyncHandler handler);
  // A handler cheap enough to answer on the IO thread (a probe): no hop to
  // a worker and back, and an answer even while every worker is busy.
  void AddInline(std::string method, std::string path, Handler handler);
  // The handler for the request, or null. `path_known` tells whether some
  // route has this path (for a 405 rather than a 404).
  const Handler* Find(std::string_view method, std::string_view path, bool* path_known) const;
  const AsyncHandler* FindAsync(std::string_view method, std::string_view path) const;

 private:
  std::map<std::pair<std::string, std::string>, Handler, std::less<>> routes_;
  std::map<std::pair<std::string, std::string>, Handler, std::less<>> prefix_routes_;
  std::map<std::pair<std::string, std::string>, AsyncHandler, std::less<>> async_routes_;
};

// Why the server answered a request itself, before any handler ran.
enum class Rejection {
  kMalformed,            // not HTTP/1.x the parser accepts: 400
  kHeaderLineTooLong,    // one header line over max_header_line: 400
  kHeadersTooLarge,      // header bytes or count over the caps: 431
  kBodyTooLarge,         // over body_limit, declared, chunked or inflated: 413
  kBadEncoding,          // gzip that does not inflate: 400
  kUnsupportedEncoding,  // Content-Encoding other than identity/gzip: 415
  kTimeout,              // head or body not received within its deadline: 400
};
const char* RejectionName(Rejection r);

// Called (on a worker) for every rejection with what is known of the
// request (method, path and headers once the head is parsed) and a
// response prefilled with the status and a JSON error; it may rewrite the
// body and count the rejection.
using RejectionHook = std::function<void(Rejection, const Request&, Response&)>;

struct Options {
  int io_threads = 2;
  int worker_threads = 32;  // handlers that block on a commit hold one each
  // When full, the connection that has waited longest with no request in
  // flight is closed for the new one; with none such, the new one is closed.
  int max_connections = 4096;
  int backlog = 1024;
  size_t header_limit = 64 * 1024;  // all header bytes, request line included
  size_t max_header_fields = 100;
  size_t max_header_line = 8192;  // one field's name + value
  uint64_t body_limit = 4 << 20;  // after decoding
  // Absolute, from when the server starts waiting for the request (after
  // the previous reply on a keep-alive connection); bytes do not extend it.
  std::chrono::milliseconds head_timeout{10'000};
  std::chrono::milliseconds body_timeout{10'000};  // absolute, from the end of the head
  std::chrono::milliseconds idle_timeout{5'000};   // no byte of a next request by then: closed
  std::chrono::milliseconds write_timeout{10'000};
  // Asked on the IO thread for a complete request whose body is at most
  // inline_body_limit bytes and not compressed: true runs the handler right
  // there instead of handing it to a worker (two thread wake-ups less). Only
  // for handlers that never block.
  std::function<bool(const Request&)> run_inline;
  size_t inline_body_limit = 64 * 1024;
  std::string tls_cert_file;  // both set: TLS only
  std::string tls_key_file;
};

// A JSON error body {"error": message} that is valid UTF-8 whatever bytes
// `message` holds (invalid sequences become U+FFFD).
std::string JsonError(std::string_view message);

// Inflates a gzip (or zlib) body into `out`, stopping at `limit` bytes.
enum class InflateResult { kOk, kTooLarge, kCorrupt };
InflateResult Inflate(std::string_view in, uint64_t limit, std::string* out);

// Parses one request from raw bytes with the same parser settings, head
// checks and decoding the server applies to a connection; for the fuzzer
// and unit tests. Returns true with `out` filled, or false with the
// rejection (`*rejection` unset when the bytes are merely incomplete).
struct ParseOutcome {
  bool complete = false;
  bool rejected = false;
  Rejection rejection = Rejection::kMalformed;
  size_t consumed = 0;  // bytes of `bytes` used by this request
};
ParseOutcome ParseRequest(std::string_view bytes, const Options& options, Request* out);

class Server {
 public:
  // `handler` answers every request that passed the server's checks
  // (typically a Router lookup); `on_reject` words the server's own replies.
  Server(Options options, AsyncHandler handler, RejectionHook on_reject);
  Server(Options options, Handler handler, RejectionHook on_reject);
  ~Server();  // Stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads TLS material (when set), binds and listens (no SO_REUSEPORT: a
  // port held by another listener fails here). Returns "" or the reason.
  std::string Bind(const std::string& host, int port);
  int port() const;
  // Starts the IO threads and the worker pool.
  void Start();
  // Closes the listener, closes idle connections, lets requests in flight
  // finish (up to `grace`), then stops every thread. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // Connections currently open (for tests and metrics).
  size_t connections() const;

  struct Impl;  // server.cc only

 private:
  std::unique_ptr<Impl> impl_;
};

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
uint64_t RaiseFileLimit();

}  // namespace aw::http
