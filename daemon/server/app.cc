// The daemon's lifecycle: Start (store, state, rules, listener, threads),
// Stop, Reload, the commit hook and the evaluator loop, and the routing
// table. The handlers live in one file per endpoint family:
// ingest_handlers.cc, read_handlers.cc, investigation_handlers.cc,
// admin_handlers.cc, webhooks.cc.

#include "daemon/server/app.h"

#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "daemon/common/log.h"
#include "daemon/common/parse.h"
#include "daemon/common/thread_name.h"
#include "daemon/common/time_util.h"
#include "daemon/http/http.h"
#include "daemon/otlp/assembler.h"
#include "daemon/server/commands.h"
#include "daemon/server/handler_util.h"
#include "daemon/server/idle_warming.h"
#include "daemon/server/ingest_pacer.h"
#include "daemon/server/rule_runtime.h"
#include "daemon/server/tick_planner.h"
#include "daemon/store/investigation_reads.h"

namespace aw::server {

using json = nlohmann::json;

namespace {

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
  const std::optional<int64_t> port = ParseWholeInt(std::string_view(listen).substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) {
    return Status::InvalidArgument("listen: \"" + listen + "\" has an invalid port");
  }
  a.port = static_cast<int>(*port);
  return a;
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr addr{};
  return inet_pton(AF_INET, host.c_str(), &addr) == 1 && (ntohl(addr.s_addr) >> 24) == 127;
}

}  // namespace

App::App(Config config, const Clock& clock, AppOptions options)
    : config_(std::move(config)),
      clock_(clock),
      options_(std::move(options)),
      metrics_(AW_VERSION),
      shard_(std::make_shared<const ShardMap>(config_.shard)) {}

App::~App() { Stop(); }

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
  auto reader = InvestigationReader::Open(config_.storage.path);
  if (!reader.ok()) return reader.status();
  investigations_ = std::move(reader).value();
  state_ = std::make_unique<EngineState>(config_.pricing);

  {
    otlp::AssemblerOptions aopts;
    aopts.assembly_window = config_.otlp.assembly_window;
    aopts.max_pending_spans = config_.otlp.max_pending_spans;
    aopts.mapping.labels = config_.otlp.labels;
    // The same limits /v1/spans applies; now_ms is set per call.
    aopts.mapping.validation.max_event_age = config_.max_event_age;
    aopts.mapping.validation.max_clock_skew = config_.max_clock_skew;
    aopts.mapping.validation.max_records = config_.limits.max_records_per_request;
    assembler_ = std::make_unique<otlp::Assembler>(std::move(aopts));
  }

  IngestWriter::Options wopts;
  wopts.max_agents = config_.limits.max_agents;
  wopts.max_label_sets = config_.limits.max_label_sets;
  metrics_.SetMaxModels(config_.limits.max_models);
  writer_ = std::make_unique<IngestWriter>(*store_, *state_, wopts,
                                           [this](const CommittedBatch& b) { OnCommit(b); });

  // Listen first (so /-/healthy answers during the rebuild), open ingest
  // once the state is rebuilt.
  http::Options hopts;
  hopts.max_connections =
      static_cast<int>(std::clamp<int64_t>(config_.limits.max_connections, 8, 1 << 20));
  hopts.body_limit = static_cast<uint64_t>(config_.limits.max_body_bytes);
  hopts.head_timeout = std::max<Millis>(config_.limits.read_timeout, Millis(1));
  hopts.body_timeout = hopts.head_timeout;
  // Ingest handlers wait for their group commit on a worker: enough
  // workers that the usual number of concurrent ingest clients all join the
  // same commit instead of queueing for a worker.
  hopts.worker_threads = 64;
  hopts.tls_cert_file = config_.tls.cert_file;
  hopts.tls_key_file = config_.tls.key_file;
  // Thousands of connections need as many descriptors.
  http::RaiseFileLimit();
  router_ = std::make_unique<http::Router>();
  Routes();
  // Ingest handlers only parse and queue (the writer replies after the
  // commit), so a small request is handled on the IO thread that read it.
  hopts.run_inline = [this](const http::Request& q) {
    return router_->FindAsync(q.method, q.path) != nullptr;
  };
  http_ = std::make_unique<http::Server>(
      hopts, [this](const http::Request& q, http::Responder r) { Dispatch(q, std::move(r)); },
      [this](http::Rejection why, const http::Request& q, http::Response& r) {
        OnRejected(why, q, r);
      });
  if (std::string err = http_->Bind(addr->host, addr->port); !err.empty()) {
    if (err.rfind("tls:", 0) == 0) return Status::InvalidArgument(err);
    return Status::Unavailable(err + " (is another agentwatch or another server on this port?)");
  }
  port_ = http_->port();
  http_->Start();
  LogInfo("listening on " + addr->host + ":" + std::to_string(port_));

  const auto rebuild_start = std::chrono::steady_clock::now();
  // OTLP investigations under a parent (id "<traceId>/<spanId>") are
  // remembered again, so a verdict naming their span or bare trace id after
  // a restart still finds them.
  Status s = writer_->Rebuild([this](const Span& span) {
    const std::string& id = span.investigation_id;
    constexpr const char* kHex = "0123456789abcdef";
    if (id.size() != 32 + 1 + 16 || id[32] != '/') return;
    if (id.find_first_not_of(kHex) != 32 || id.find_first_not_of(kHex, 33) != std::string::npos) {
      return;
    }
    const uint64_t start_ns =
        static_cast<uint64_t>(span.ts_ms - span.duration_ms.value_or(0)) * 1'000'000ULL;
    RememberOtlpInvestigation(id.substr(0, 32), id.substr(33), start_ns, id, span.agent);
  });
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
  evaluator_ = std::thread([this] {
    NameThisThread("aw-evaluator");
    EvaluatorLoop();
  });

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
  // Closes the listener and waits for the requests in flight (their
  // records are committed by the still-running writer).
  if (http_) http_->Stop();
  if (writer_) writer_->Stop();
  {
    std::lock_guard lock(eval_mu_);
    eval_stop_ = true;
  }
  eval_cv_.notify_all();
  if (evaluator_.joinable()) evaluator_.join();
  if (rules_) rules_->Stop();
  rules_.reset();
  investigations_.reset();
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
  if (fresh.ok()) WarnUnmatchedRuleGlobs(*fresh);  // not an error: the old files may be moving
  Result<rules::RuleSet> rules =
      fresh.ok() ? LoadRulesFor(*fresh) : Result<rules::RuleSet>(fresh.status());
  if (!rules.ok()) {
    const TimeMs now = clock_.NowMs();
    metrics_.SetReload(false, now);
    if (rules_) rules_->RecordReload(false, now, rules.status().message());
    LogError("reload failed, keeping the running config and rules: " + rules.status().message());
    return rules.status();
  }
  Config applied;
  {
    std::lock_guard lock(config_mu_);
    config_ = ForReload(config_, std::move(fresh).value());
    shard_ = std::make_shared<const ShardMap>(config_.shard);
    applied = config_;
  }
  state_->engine.SetPricing(applied.pricing);
  const TimeMs now = clock_.NowMs();
  if (rules_) {
    rules_->Reconfigure(applied, std::move(rules).value());
    rules_->RecordReload(true, now, "");
  }
  metrics_.SetReload(true, now);
  LogInfo("reloaded " + config_.file);
  return Status::Ok();
}

std::shared_ptr<const ShardMap> App::Shard() const {
  std::lock_guard lock(config_mu_);
  return shard_;
}

void App::OnCommit(const CommittedBatch& batch) {
  Pricing pricing;
  {
    std::lock_guard lock(config_mu_);
    pricing = config_.pricing;
  }
  metrics_.CountSpans(batch.accepted.spans, pricing);
  const std::shared_ptr<const ShardMap> shard = Shard();
  for (size_t i = 0; i < batch.accepted.feedback.size(); ++i) {
    // Verdicts are broadcast to every shard: each counts only its own
    // agents', and a held verdict that names no agent ("unknown") only
    // where there is no sharding, so the fleet-wide sum counts each once.
    const std::string& agent = batch.feedback_agents[i];
    if (shard->enabled() && (agent == "unknown" || !shard->Owns(agent))) continue;
    metrics_.CountFeedback(batch.feedback_agents[i], batch.accepted.feedback[i].verdict);
  }
  metrics_.ObserveCommit(
      batch.commit_seconds,
      static_cast<double>(batch.accepted.spans.size() + batch.accepted.feedback.size() +
                          batch.accepted.resolutions.size()));
  if (batch.over_agent_cap > 0)
    metrics_.CountOverCardinality(static_cast<double>(batch.over_agent_cap));
  if (!batch.touched_agents.empty()) {
    {
      std::lock_guard lock(eval_mu_);
      touched_.insert(batch.touched_agents.begin(), batch.touched_agents.end());
    }
    eval_cv_.notify_one();
  }
}

void App::EvaluatorLoop() {
  // Ingest first when the cores are short: acknowledging a commit is what a
  // client waits for, and the touched agents of the commits an evaluation
  // misses are merged into the next one (one evaluation for several
  // commits). With idle cores the nice value changes nothing.
  constexpr int kEvaluatorNice = 5;
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kEvaluatorNice) != 0) {
    LogWarn("could not lower the evaluator thread's priority; ingest shares the cores evenly");
  }
  // Ticks and pruning are scheduled on the injected clock, so a fake clock
  // drives them in tests. The wait itself is in real time, capped so that a
  // clock moved from outside is noticed within kMaxWait.
  using Duration = std::chrono::steady_clock::duration;
  constexpr Duration kMaxWait = std::chrono::seconds(1);
  // Agents per step of a tick: an evaluation on ingest waits for one step at
  // most. With 1,000 agents a step is a few percent of a whole tick.
  constexpr size_t kTickChunkAgents = 32;
  TickPlanner ticks(clock_.Steady(), kTickChunkAgents);
  // Stale SLI blocks are rendered in idle time, a few agents per step, so
  // that a read mostly concatenates ready bytes and an evaluation on ingest
  // never waits for more than one such step. Idle: no commit for 200 ms.
  constexpr size_t kWarmAgents = 4;
  IdleWarming warming(std::chrono::milliseconds(200), clock_.Steady());
  IngestPacer pacer;
  auto next_prune = clock_.Steady() + std::chrono::minutes(1);
  for (;;) {
    std::set<std::string> touched;
    {
      std::unique_lock lock(eval_mu_);
      const auto now = clock_.Steady();
      const Duration wait = warming.Wait(now, ticks.Wait(now, kMaxWait));
      if (touched_.empty()) {
        eval_cv_.wait_for(lock, wait, [&] { return eval_stop_ || !touched_.empty(); });
      } else {
        // Commits until the pacer lets us go join this evaluation.
        eval_cv_.wait_for(lock, pacer.Wait(now, wait), [&] { return eval_stop_; });
      }
      if (eval_stop_) return;
      if (pacer.Ready(clock_.Steady())) touched.swap(touched_);
    }
    Millis interval;
    Millis retention;
    Millis silence_retention;
    {
      std::lock_guard lock(config_mu_);
      interval = config_.evaluation_interval;
      retention = config_.storage.retention;
      silence_retention = config_.silence_retention;
    }
    // Ingest first: it waits for one step of a tick at most. It evaluates
    // only the agents it touched; a tick evaluates everything (time passing
    // fires and resolves too), in steps.
    if (rules_ && !touched.empty()) {
      const auto start = clock_.Steady();
      rules_->Evaluate(*state_, clock_.NowMs(), &touched);
      pacer.Ran(start, clock_.Steady());
    }
    if (!touched.empty()) warming.Ingested(clock_.Steady());
    if (ticks.Due(clock_.Steady())) {
      ticks.Start(rules_ ? rules_->TickAgents(*state_) : std::set<std::string>{}, clock_.Steady(),
                  interval);
      warming.MoreStale();  // time passing moves records out of windows too
    }
    if (ticks.Running()) {
      TickPlanner::Step step = ticks.Next();
      switch (step.kind) {
        case TickPlanner::Step::Kind::kAgents:
          if (rules_) rules_->EvaluateAgents(*state_, clock_.NowMs(), step.agents);
          break;
        case TickPlanner::Step::Kind::kFleet:
          if (rules_) rules_->EvaluateFleet(*state_, clock_.NowMs());
          break;
        case TickPlanner::Step::Kind::kHousekeeping:
          TickHousekeeping(silence_retention);
          break;
      }
    } else if (warming.Ready(clock_.Steady())) {
      warming.Warmed(WarmSlis(clock_.NowMs(), kWarmAgents) < kWarmAgents);
    }
    if (clock_.Steady() >= next_prune) {
      next_prune = clock_.Steady() + std::chrono::hours(1);
      writer_->Prune(clock_.NowMs() - retention.count());
    }
  }
}

void App::TickHousekeeping(Millis silence_retention) {
  if (rules_) {
    if (auto purged = rules_->PurgeSilences(clock_.NowMs(), silence_retention); !purged.ok()) {
      LogWarn("purging expired silences failed: " + purged.status().message());
    }
  }
}

void App::Routes() {
  IngestRoutes();
  OtlpRoutes();
  WebhookRoutes();
  ReadRoutes();
  InvestigationRoutes();
  CalibrationRoutes();
  AdminRoutes();
  SilenceRoutes();
}

void App::Dispatch(const http::Request& q, http::Responder reply) {
  http::Response r;
  try {
    if (const http::AsyncHandler* a = router_->FindAsync(q.method, q.path)) return (*a)(q, reply);
    bool path_known = false;
    const http::Handler* h = router_->Find(q.method, q.path, &path_known);
    if (h) {
      (*h)(q, r);
    } else if (path_known) {
      ReplyJson(r, 405, json{{"error", "method not allowed: " + q.method + " " + q.path}});
    } else {
      ReplyJson(r, 404, json{{"error", "no such endpoint: " + q.method + " " + q.path}});
    }
  } catch (const std::exception& e) {
    // Last resort: a handler must never take the daemon down.
    LogError("handler exception on " + q.method + " " + q.target + ": " + e.what());
    metrics_.CountRejected(EndpointLabel(q.path), "internal_error");
    r = http::Response{};
    ReplyJson(r, 500, json{{"error", "internal error"}});
  } catch (...) {
    LogError("handler exception on " + q.method + " " + q.target);
    metrics_.CountRejected(EndpointLabel(q.path), "internal_error");
    r = http::Response{};
    ReplyJson(r, 500, json{{"error", "internal error"}});
  }
  reply.Send(std::move(r));  // ignored when an async handler replied before throwing
}

void App::OnRejected(http::Rejection why, const http::Request& q, http::Response& r) {
  const std::string endpoint = EndpointLabel(q.path);
  int64_t body_limit;
  Millis read_timeout;
  {
    std::lock_guard lock(config_mu_);
    body_limit = config_.limits.max_body_bytes;
    read_timeout = config_.limits.read_timeout;
  }
  int status = 400;
  std::string reason = "bad_request";
  std::string message;
  switch (why) {
    case http::Rejection::kBodyTooLarge:
      status = 413, reason = "too_large";
      message = "body: exceeds limits.max_body_bytes (" + std::to_string(body_limit) + " bytes)";
      break;
    case http::Rejection::kUnsupportedEncoding:
      status = 415, reason = "unsupported_media_type";
      message = "Content-Encoding: " + q.header("Content-Encoding") +
                " is not supported; use gzip or identity";
      break;
    case http::Rejection::kBadEncoding:
      status = 400, reason = "malformed";
      message = "body: Content-Encoding gzip, but the body does not inflate";
      break;
    case http::Rejection::kTimeout:
      status = 408, reason = "timeout";
      message =
          "request: not received within limits.read_timeout (" + FormatDuration(read_timeout) + ")";
      break;
    case http::Rejection::kHeaderLineTooLong:
      status = 431, reason = "too_large";
      message = "request: a header line exceeds 8192 bytes";
      break;
    case http::Rejection::kHeadersTooLarge:
      status = 431, reason = "bad_request";
      message = "request: headers exceed 65536 bytes or 100 fields";
      break;
    case http::Rejection::kMalformed:
      status = 400, reason = "bad_request";
      message = "request: malformed HTTP/1.1";
      break;
  }
  metrics_.CountRejected(endpoint, reason);
  // The same shape as the endpoint's own errors, so a client parses one.
  if (q.path == "/v1/traces" || q.path == "/v1/logs") {
    ReplyOtlpError(q, r, status, message);
  } else if (HasIngestReplyShape(q.path)) {
    ReplyJson(r, status, ErrorBody(message));
  } else {
    ReplyJson(r, status, json{{"error", message}});
  }
  metrics_.CountRequest(endpoint, r.status, 0);
}

}  // namespace aw::server
