#include "daemon/server/app.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <prometheus/text_serializer.h>

#include "daemon/common/hmac.h"
#include "daemon/common/log.h"
#include "daemon/common/time_util.h"
#include "daemon/ingest/parser.h"
#include "daemon/server/rule_runtime.h"
#include "daemon/server/status_page.h"

namespace aw::server {

using json = nlohmann::json;

namespace {

// cpp-httplib 0.11.4 listens with a backlog of 5 and has no setter: bursts
// of new connections then wait for the kernel's 1 s SYN retry. The
// listening socket is protected, so a subclass can widen the backlog.
template <typename Base>
class TunedServer : public Base {
 public:
  using Base::Base;
  void WidenBacklog(int backlog) { ::listen(this->svr_sock_, backlog); }
};

struct ListenAddress {
  std::string host;
  int port = 0;
};

Result<ListenAddress> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("listen: \"" + listen + "\" must be host:port");
  }
  ListenAddress a;
  a.host = listen.substr(0, colon);
  if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']') {
    a.host = a.host.substr(1, a.host.size() - 2);
  }
  if (a.host.empty()) a.host = "0.0.0.0";
  try {
    size_t pos = 0;
    a.port = std::stoi(listen.substr(colon + 1), &pos);
    if (pos != listen.size() - colon - 1 || a.port < 0 || a.port > 65535) throw 0;
  } catch (...) {
    return Status::InvalidArgument("listen: \"" + listen + "\" has an invalid port");
  }
  return a;
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr addr{};
  return inet_pton(AF_INET, host.c_str(), &addr) == 1 &&
         (ntohl(addr.s_addr) >> 24) == 127;
}

const char* EndpointPath(int e) {
  static const char* kPaths[] = {"/v1/spans", "/v1/feedback", "/v1/resolutions"};
  return kPaths[e];
}

// A metric label for a request path: known endpoints by name, anything else
// as "other", so a scanner cannot blow up the series count.
std::string EndpointLabel(const std::string& path) {
  static const char* kKnown[] = {"/v1/spans", "/v1/feedback", "/v1/resolutions",
                                 "/v1/webhooks/pagerduty", "/v1/webhooks/slack", "/-/reload",
                                 "/metrics", "/api/v1/slis", "/api/v1/alerts", "/api/v1/rules"};
  for (const char* k : kKnown) {
    if (path == k) return path;
  }
  return "other";
}

void ReplyJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

json ErrorBody(const std::string& message) {
  return json{{"accepted", 0}, {"duplicates", 0}, {"rejected", 0},
              {"errors", json::array({json{{"index", 0}, {"error", message}}})}};
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

App::App(Config config, const Clock& clock, AppOptions options)
    : config_(std::move(config)), clock_(clock), options_(std::move(options)),
      metrics_(AW_VERSION) {}

App::~App() {
  Stop();
}

Status App::Start() {
  auto addr = ParseListen(config_.listen);
  if (!addr.ok()) return addr.status();
  if (!IsLoopback(addr->host) && !config_.auth.enabled && !options_.insecure) {
    return Status::InvalidArgument(
        "refusing to listen on " + config_.listen +
        " without auth: anyone who can reach it could forge verdicts and spans. "
        "Configure auth.ingest_tokens/admin_tokens, listen on 127.0.0.1, or pass --insecure");
  }
  SetLogLevel(config_.log_level);

  std::filesystem::create_directories(
      std::filesystem::path(config_.storage.path).parent_path().empty()
          ? std::filesystem::path(".")
          : std::filesystem::path(config_.storage.path).parent_path());
  auto store = SqliteStore::Open(config_.storage.path, {config_.storage.sync_full});
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  state_ = std::make_unique<EngineState>(config_.pricing);

  IngestWriter::Options wopts;
  wopts.max_agents = config_.limits.max_agents;
  wopts.max_label_sets = config_.limits.max_label_sets;
  writer_ = std::make_unique<IngestWriter>(*store_, *state_, wopts,
                                           [this](const CommittedBatch& b) { OnCommit(b); });

  // Listen first (so /-/healthy answers during the rebuild), open ingest
  // once the state is rebuilt.
  if (!config_.tls.cert_file.empty()) {
    auto tls = std::make_unique<TunedServer<httplib::SSLServer>>(config_.tls.cert_file.c_str(),
                                                                 config_.tls.key_file.c_str());
    if (!tls->is_valid()) {
      return Status::InvalidArgument("tls: cannot load " + config_.tls.cert_file + " / " +
                                     config_.tls.key_file);
    }
    http_ = std::move(tls);
  } else {
    http_ = std::make_unique<TunedServer<httplib::Server>>();
  }
  const size_t threads = static_cast<size_t>(std::clamp<int64_t>(config_.limits.max_connections, 8, 1024));
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(static_cast<size_t>(config_.limits.max_body_bytes));
  http_->set_keep_alive_max_count(100000);
  http_->set_keep_alive_timeout(5);
  const auto read_timeout = std::chrono::duration_cast<std::chrono::seconds>(config_.limits.read_timeout);
  http_->set_read_timeout(std::max<time_t>(1, read_timeout.count()), 0);
  http_->set_write_timeout(10, 0);
  http_->set_tcp_nodelay(true);
  Routes();

  int port = addr->port;
  if (port == 0) {
    port = http_->bind_to_any_port(addr->host);
    if (port < 0) return Status::Unavailable("cannot bind " + config_.listen);
  } else if (!http_->bind_to_port(addr->host, port)) {
    return Status::Unavailable("cannot bind " + config_.listen + ": address in use or not allowed");
  }
  port_ = port;
  if (auto* tuned = dynamic_cast<TunedServer<httplib::Server>*>(http_.get())) {
    tuned->WidenBacklog(1024);
  } else if (auto* tuned_tls = dynamic_cast<TunedServer<httplib::SSLServer>*>(http_.get())) {
    tuned_tls->WidenBacklog(1024);
  }
  listen_thread_ = std::thread([this] { http_->listen_after_bind(); });
  LogInfo("listening on " + addr->host + ":" + std::to_string(port_));

  const auto rebuild_start = std::chrono::steady_clock::now();
  Status s = writer_->Rebuild();
  if (!s.ok()) return s;
  LogInfo("rebuilt state from " + config_.storage.path + ": " +
          std::to_string(state_->engine.Memory().investigations) + " investigations in " +
          std::to_string(SecondsSince(rebuild_start)) + " s");
  auto rules = LoadRulesFor(config_);
  if (!rules.ok()) return rules.status();
  rules_ = std::make_unique<RuleRuntime>(*store_, clock_, metrics_);
  s = rules_->Start(config_, std::move(rules).value());
  if (!s.ok()) return s;
  writer_->Start();

  collector_ = std::make_shared<exporters::SliCollector>([this] { return Snapshot(); });
  evaluator_ = std::thread([this] { EvaluatorLoop(); });

  metrics_.SetReload(true, clock_.NowMs());
  ready_ = true;
  metrics_.SetReady(true);
  if (!options_.port_file.empty()) {
    const std::string tmp = options_.port_file + ".tmp";
    std::ofstream(tmp) << port_ << "\n";
    std::filesystem::rename(tmp, options_.port_file);
  }
  return Status::Ok();
}

void App::Wait() {
  std::unique_lock lock(stop_mu_);
  stopped_cv_.wait(lock, [&] { return stopped_; });
}

void App::Stop() {
  if (stopping_.exchange(true)) {
    Wait();
    return;
  }
  ready_ = false;
  metrics_.SetReady(false);
  // httplib's stop() closes the listener and joins the pool, so in-flight
  // requests finish (their records are committed by the still-running writer).
  if (http_) http_->stop();
  if (listen_thread_.joinable()) listen_thread_.join();
  if (writer_) writer_->Stop();
  {
    std::lock_guard lock(eval_mu_);
    eval_stop_ = true;
  }
  eval_cv_.notify_all();
  if (evaluator_.joinable()) evaluator_.join();
  if (rules_) rules_->Stop();
  rules_.reset();
  store_.reset();
  LogInfo("stopped");
  {
    std::lock_guard lock(stop_mu_);
    stopped_ = true;
  }
  stopped_cv_.notify_all();
}

Status App::Reload() {
  std::lock_guard reload_lock(reload_mu_);
  auto fresh = LoadConfig(config_.file);
  Result<rules::RuleSet> rules = fresh.ok() ? LoadRulesFor(*fresh) : Result<rules::RuleSet>(fresh.status());
  if (!rules.ok()) {
    const TimeMs now = clock_.NowMs();
    metrics_.SetReload(false, now);
    if (rules_) rules_->RecordReload(false, now, rules.status().message());
    LogError("reload failed, keeping the running config and rules: " + rules.status().message());
    return rules.status();
  }
  {
    std::lock_guard lock(config_mu_);
    // Listener, storage and TLS need a restart; the rest applies now.
    const Config& c = *fresh;
    config_.sli_windows = c.sli_windows;
    config_.exporters = c.exporters;
    config_.evaluation_interval = c.evaluation_interval;
    config_.max_event_age = c.max_event_age;
    config_.max_clock_skew = c.max_clock_skew;
    config_.limits.max_records_per_request = c.limits.max_records_per_request;
    config_.auth = c.auth;
    config_.pricing = c.pricing;
    config_.receivers = c.receivers;
    config_.default_receivers = c.default_receivers;
    config_.repeat_interval = c.repeat_interval;
    config_.rule_files = c.rule_files;
  }
  state_->engine.SetPricing(fresh->pricing);
  const TimeMs now = clock_.NowMs();
  if (rules_) {
    rules_->Reconfigure(*fresh, std::move(rules).value());
    rules_->RecordReload(true, now, "");
  }
  metrics_.SetReload(true, now);
  LogInfo("reloaded " + config_.file);
  return Status::Ok();
}

void App::OnCommit(const CommittedBatch& batch) {
  Pricing pricing;
  {
    std::lock_guard lock(config_mu_);
    pricing = config_.pricing;
  }
  metrics_.CountSpans(batch.accepted.spans, pricing);
  for (const Feedback& f : batch.accepted.feedback) {
    metrics_.CountFeedback(f.agent.empty() ? "unknown" : f.agent, f.verdict);
  }
  metrics_.ObserveCommit(batch.commit_seconds,
                         static_cast<double>(batch.accepted.spans.size() + batch.accepted.feedback.size() +
                                             batch.accepted.resolutions.size()));
  if (batch.over_agent_cap > 0) metrics_.CountOverCardinality(static_cast<double>(batch.over_agent_cap));
  if (!batch.touched_agents.empty()) {
    {
      std::lock_guard lock(eval_mu_);
      touched_.insert(batch.touched_agents.begin(), batch.touched_agents.end());
    }
    eval_cv_.notify_one();
  }
}

void App::EvaluatorLoop() {
  auto next_tick = std::chrono::steady_clock::now();
  auto next_prune = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  for (;;) {
    std::set<std::string> touched;
    bool tick = false;
    {
      std::unique_lock lock(eval_mu_);
      eval_cv_.wait_until(lock, next_tick, [&] { return eval_stop_ || !touched_.empty(); });
      if (eval_stop_) return;
      touched.swap(touched_);
      tick = std::chrono::steady_clock::now() >= next_tick;
    }
    Millis interval;
    Millis retention;
    {
      std::lock_guard lock(config_mu_);
      interval = config_.evaluation_interval;
      retention = config_.storage.retention;
    }
    if (tick) next_tick = std::chrono::steady_clock::now() + interval;
    // A tick evaluates everything (time passing fires and resolves too);
    // an ingest wake-up only the agents it touched.
    if (rules_) rules_->Evaluate(*state_, clock_.NowMs(), tick ? nullptr : &touched);
    if (std::chrono::steady_clock::now() >= next_prune) {
      next_prune = std::chrono::steady_clock::now() + std::chrono::hours(1);
      writer_->Prune(clock_.NowMs() - retention.count());
    }
  }
}

bool App::Authorize(const httplib::Request& req, httplib::Response& res, bool admin,
                    bool allow_signature) {
  Config::Auth auth;
  {
    std::lock_guard lock(config_mu_);
    auth = config_.auth;
  }
  if (!auth.enabled) return true;
  const std::string header = req.get_header_value("Authorization");
  if (header.rfind("Bearer ", 0) == 0) {
    const std::string token = header.substr(7);
    bool is_admin = false, is_ingest = false;
    // Compare against every token, without early exit.
    for (const std::string& t : auth.admin_tokens) is_admin |= ConstantTimeEquals(token, t);
    for (const std::string& t : auth.ingest_tokens) is_ingest |= ConstantTimeEquals(token, t);
    if (is_admin) return true;
    if (is_ingest && !admin) return true;
    if (is_ingest && admin) {
      ReplyJson(res, 403, json{{"error", "this endpoint needs an admin token"}});
      return false;
    }
    ReplyJson(res, 401, json{{"error", "unknown bearer token"}});
    return false;
  }
  if (allow_signature && !auth.webhook_secret.empty() &&
      req.has_header("X-Agentwatch-Signature")) {
    const std::string ts = req.get_header_value("X-Agentwatch-Timestamp");
    const std::string sig = req.get_header_value("X-Agentwatch-Signature");
    int64_t ts_s = 0;
    try {
      size_t pos = 0;
      ts_s = std::stoll(ts, &pos);
      if (pos != ts.size()) throw 0;
    } catch (...) {
      ReplyJson(res, 401, json{{"error", "X-Agentwatch-Timestamp: must be Unix seconds"}});
      return false;
    }
    const int64_t now_s = clock_.NowMs() / 1000;
    if (ts_s < now_s - 300 || ts_s > now_s + 300) {
      ReplyJson(res, 401, json{{"error", "X-Agentwatch-Timestamp: outside the 5 minute window"}});
      return false;
    }
    const std::string expected = "sha256=" + HmacSha256Hex(auth.webhook_secret, ts + "." + req.body);
    if (!ConstantTimeEquals(sig, expected)) {
      ReplyJson(res, 401, json{{"error", "X-Agentwatch-Signature: does not match the body"}});
      return false;
    }
    return true;
  }
  res.set_header("WWW-Authenticate", "Bearer");
  ReplyJson(res, 401, json{{"error", "missing bearer token"}});
  return false;
}

void App::HandleIngest(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
  const auto start = std::chrono::steady_clock::now();
  const std::string path = EndpointPath(static_cast<int>(endpoint));
  const auto finish = [&] { metrics_.CountRequest(path, res.status, SecondsSince(start)); };
  if (!ready_ || stopping_) {
    res.set_header("Retry-After", "1");
    ReplyJson(res, 503, ErrorBody(stopping_ ? "shutting down" : "starting: rebuilding state"));
    metrics_.CountRejected(path, "unavailable");
    return finish();
  }
  if (!Authorize(req, res, false, endpoint != Endpoint::kSpans)) {
    metrics_.CountRejected(path, res.status == 403 ? "forbidden" : "unauthorized");
    return finish();
  }
  std::string ctype = req.get_header_value("Content-Type");
  ctype = ctype.substr(0, ctype.find(';'));
  while (!ctype.empty() && ctype.back() == ' ') ctype.pop_back();
  for (char& c : ctype) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  ingest::BodyFormat format;
  if (ctype.empty() || ctype == "application/json") {
    format = ingest::BodyFormat::kJson;
  } else if (ctype == "application/x-ndjson" || ctype == "application/ndjson" ||
             ctype == "application/jsonl") {
    format = ingest::BodyFormat::kNdjson;
  } else {
    ReplyJson(res, 415, ErrorBody("Content-Type: " + ctype +
                                  " is not supported; use application/json or application/x-ndjson"));
    metrics_.CountRejected(path, "unsupported_media_type");
    return finish();
  }
  ingest::ParseOptions popts;
  {
    std::lock_guard lock(config_mu_);
    popts.now_ms = clock_.NowMs();
    popts.max_event_age = config_.max_event_age;
    popts.max_clock_skew = config_.max_clock_skew;
    popts.max_records = config_.limits.max_records_per_request;
  }

  EventBatch batch;
  std::vector<int> indexes;  // body index of each record in `batch`
  std::vector<ingest::RecordError> errors;
  bool malformed = false;
  const auto take = [&](auto parsed, auto& into) {
    malformed = parsed.malformed;
    errors = std::move(parsed.errors);
    for (auto& [index, record] : parsed.records) {
      indexes.push_back(index);
      into.push_back(std::move(record));
    }
  };
  switch (endpoint) {
    case Endpoint::kSpans: take(ingest::ParseSpans(req.body, format, popts), batch.spans); break;
    case Endpoint::kFeedback:
      take(ingest::ParseFeedback(req.body, format, popts), batch.feedback);
      break;
    case Endpoint::kResolutions:
      take(ingest::ParseResolutions(req.body, format, popts), batch.resolutions);
      break;
  }
  for (const auto& e : errors) metrics_.CountRejected(path, ingest::RejectReasonName(e.reason));

  json error_list = json::array();
  for (const auto& e : errors) error_list.push_back({{"index", e.index}, {"error", e.error}});
  if (!errors.empty() && errors[0].reason == ingest::RejectReason::kTooMany) {
    ReplyJson(res, 413, json{{"accepted", 0}, {"duplicates", 0}, {"rejected", 0}, {"errors", error_list}});
    return finish();
  }
  if (indexes.empty()) {
    ReplyJson(res, 400, json{{"accepted", 0}, {"duplicates", 0},
                             {"rejected", malformed ? 0 : static_cast<int>(errors.size())},
                             {"errors", error_list}});
    return finish();
  }
  IngestOutcome outcome = writer_->Submit(std::move(batch)).get();
  if (!outcome.status.ok()) {
    res.set_header("Retry-After", "1");
    ReplyJson(res, 503, ErrorBody(outcome.status.message()));
    metrics_.CountRejected(path, "unavailable", static_cast<double>(indexes.size()));
    return finish();
  }
  ReplyJson(res, 200, json{{"accepted", outcome.accepted},
                           {"duplicates", outcome.duplicates},
                           {"rejected", static_cast<int>(errors.size())},
                           {"errors", error_list}});
  finish();
}

void App::SubmitWebhookRecords(EventBatch batch, const std::string& endpoint,
                               httplib::Response& res) {
  const auto start = std::chrono::steady_clock::now();
  if (!ready_ || stopping_) {
    res.set_header("Retry-After", "1");
    ReplyJson(res, 503, ErrorBody("not ready"));
  } else if (batch.empty()) {
    // An event we do not map (e.g. incident.acknowledged): acknowledged so
    // the sender does not retry it, and counted.
    metrics_.CountRejected(endpoint, "ignored_event");
    ReplyJson(res, 200, json{{"accepted", 0}, {"duplicates", 0}, {"rejected", 0},
                             {"errors", json::array()}});
  } else {
    IngestOutcome outcome = writer_->Submit(std::move(batch)).get();
    if (!outcome.status.ok()) {
      res.set_header("Retry-After", "1");
      ReplyJson(res, 503, ErrorBody(outcome.status.message()));
    } else {
      ReplyJson(res, 200, json{{"accepted", outcome.accepted}, {"duplicates", outcome.duplicates},
                               {"rejected", 0}, {"errors", json::array()}});
    }
  }
  metrics_.CountRequest(endpoint, res.status, SecondsSince(start));
}

void App::HandleSlis(const httplib::Request& req, httplib::Response& res) {
  const std::string agent = req.get_param_value("agent");
  std::vector<WindowSpec> windows;
  {
    std::lock_guard lock(config_mu_);
    windows = config_.sli_windows;
  }
  const TimeMs now = clock_.NowMs();
  const std::vector<SliQuery> rule_queries = rules_ ? rules_->Queries() : std::vector<SliQuery>{};
  const windows::SliRows base =
      agent.empty() ? state_->snapshots.Get(state_->engine, windows, now)
                    : std::make_shared<const std::vector<windows::SliRow>>(
                          state_->engine.Snapshot(windows, now, agent));
  std::string body = "{\"slis\":[";
  bool first = true;
  exporters::AppendSliRowsJson(*base, body, &first);
  exporters::AppendSliRowsJson(
      windows::RuleRows(state_->engine, windows, rule_queries, now, agent), body, &first);
  body += "]}";
  res.status = 200;
  res.set_content(body, "application/json");
}

exporters::ExportSnapshot App::Snapshot() {
  exporters::ExportSnapshot snap;
  std::vector<WindowSpec> windows;
  {
    std::lock_guard lock(config_mu_);
    windows = config_.sli_windows;
    const Config::Exporters& ex = config_.exporters;
    snap.selection = exporters::MakeSelection(ex.slis, ex.stats, ex.windows, windows, ex.samples);
  }
  const TimeMs now = clock_.NowMs();
  snap.slis = state_->snapshots.Get(state_->engine, windows, now);
  if (rules_) rules_->FillSnapshot(state_->engine, now, snap);
  return snap;
}

std::string App::MetricsText() {
  if (store_) metrics_.SetOutboxDepth(static_cast<double>(store_->OutboxDepth()));
  auto families = metrics_.registry().Collect();
  auto slis = collector_->Collect();
  families.insert(families.end(), std::make_move_iterator(slis.begin()),
                  std::make_move_iterator(slis.end()));
  return prometheus::TextSerializer().Serialize(families);
}

void App::HandleStatusPage(const httplib::Request&, httplib::Response& res) {
  const json alerts = rules_ ? rules_->AlertsJson() : json::object();
  res.set_content(RenderStatusPage(state_->engine, clock_.NowMs(), alerts),
                  "text/html; charset=utf-8");
}

void App::Routes() {
  http_->Post("/v1/spans", [this](const httplib::Request& q, httplib::Response& r) {
    HandleIngest(q, r, Endpoint::kSpans);
  });
  http_->Post("/v1/feedback", [this](const httplib::Request& q, httplib::Response& r) {
    HandleIngest(q, r, Endpoint::kFeedback);
  });
  http_->Post("/v1/resolutions", [this](const httplib::Request& q, httplib::Response& r) {
    HandleIngest(q, r, Endpoint::kResolutions);
  });
  WebhookRoutes();
  http_->Get("/-/healthy", [](const httplib::Request&, httplib::Response& r) {
    r.set_content("agentwatch is healthy.\n", "text/plain");
  });
  http_->Get("/-/ready", [this](const httplib::Request&, httplib::Response& r) {
    if (ready_ && !stopping_) {
      r.set_content("agentwatch is ready.\n", "text/plain");
    } else {
      r.status = 503;
      r.set_content(stopping_ ? "shutting down\n" : "rebuilding state from the store\n", "text/plain");
    }
  });
  const auto read_guard = [this](const httplib::Request& q, httplib::Response& r) {
    bool protect;
    {
      std::lock_guard lock(config_mu_);
      protect = config_.auth.protect_reads;
    }
    if (!ready_) {
      ReplyJson(r, 503, json{{"error", "starting: rebuilding state"}});
      return false;
    }
    return !protect || Authorize(q, r, false, false);
  };
  http_->Get("/metrics", [this, read_guard](const httplib::Request& q, httplib::Response& r) {
    if (!read_guard(q, r)) return;
    r.set_content(MetricsText(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http_->Get("/api/v1/slis", [this, read_guard](const httplib::Request& q, httplib::Response& r) {
    if (read_guard(q, r)) HandleSlis(q, r);
  });
  http_->Get("/", [this, read_guard](const httplib::Request& q, httplib::Response& r) {
    if (read_guard(q, r)) HandleStatusPage(q, r);
  });
  http_->Get("/api/v1/rules", [this, read_guard](const httplib::Request& q, httplib::Response& r) {
    if (read_guard(q, r)) ReplyJson(r, 200, rules_->RulesJson());
  });
  http_->Get("/api/v1/alerts", [this, read_guard](const httplib::Request& q, httplib::Response& r) {
    if (read_guard(q, r)) ReplyJson(r, 200, rules_->AlertsJson());
  });
  http_->Post("/-/reload", [this](const httplib::Request& q, httplib::Response& r) {
    if (!Authorize(q, r, true, false)) return;
    Status s = Reload();
    if (s.ok()) {
      ReplyJson(r, 200, json{{"status", "success"}});
    } else {
      ReplyJson(r, 400, json{{"status", "error"}, {"error", s.message()}});
    }
  });
  // Called for every reply >= 400; one with a body came from a handler,
  // which has already counted it. An empty one is httplib's own rejection.
  http_->set_error_handler([this](const httplib::Request& q, httplib::Response& r) {
    if (!r.body.empty()) return;
    // The label is bounded: an unknown path would add a series per request.
    static const std::set<std::string> kEndpoints = {
        "/v1/spans", "/v1/feedback", "/v1/resolutions", "/v1/webhooks/pagerduty",
        "/v1/webhooks/slack"};
    const std::string endpoint = kEndpoints.count(q.path) ? q.path : "other";
    if (r.status == 413) {
      int64_t limit;
      {
        std::lock_guard lock(config_mu_);
        limit = config_.limits.max_body_bytes;
      }
      metrics_.CountRejected(endpoint, "too_large");
      ReplyJson(r, 413, ErrorBody("body: exceeds limits.max_body_bytes (" + std::to_string(limit) +
                                  " bytes)"));
    } else if (r.status == 404) {
      ReplyJson(r, 404, json{{"error", "no such endpoint: " + q.method + " " + q.path}});
    } else {
      // A malformed request line, a header line over 8192 bytes (httplib's
      // cap), a URI over 8192 bytes (414), or a body that stalled past
      // limits.read_timeout.
      metrics_.CountRejected(endpoint, "bad_request");
      ReplyJson(r, r.status,
                ErrorBody("request: malformed, too long (request line and header lines are limited "
                          "to 8192 bytes each) or not received within limits.read_timeout"));
    }
  });
  http_->set_exception_handler(
      [this](const httplib::Request& q, httplib::Response& r, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        LogError("handler exception on " + q.path + ": " + what);
        metrics_.CountRejected(EndpointLabel(q.path), "internal_error");
        ReplyJson(r, 500, json{{"error", "internal error"}});
      });
}

}  // namespace aw::server
