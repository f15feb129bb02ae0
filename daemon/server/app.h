#pragma once

// The daemon: wires config, store, windows, rules, alerting and exporters
// behind one HTTP listener (daemon/http). The only place that holds a Clock
// besides main.
//
// Owns the store, the windows engine, the ingest writer, the rule runtime
// and the HTTP server, and every thread they run on. Invariants: a record
// is acknowledged only once committed to the store; the windows and alert
// state are rebuilt from the store at start. Thread-safe (see App).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

#include "daemon/common/clock.h"
#include "daemon/config/config.h"
#include "daemon/server/ingest_writer.h"
#include "daemon/server/replay_cache.h"
#include "daemon/store/sqlite_store.h"
#include "exporters/daemon_metrics.h"
#include "exporters/sli_collector.h"

namespace aw::http {
class Router;
class Server;
struct Request;
struct Response;
class Responder;
enum class Rejection;
}  // namespace aw::http

namespace aw::otlp {
class Assembler;
enum class Encoding;
}  // namespace aw::otlp

namespace aw {
class InvestigationReader;
}  // namespace aw

namespace aw::ingest {
struct RecordError;
}  // namespace aw::ingest

namespace aw::server {

struct AppOptions {
  std::string port_file;  // written with the bound port once listening
  bool insecure = false;  // allow a non-loopback listener without auth
};

class RuleRuntime;  // rules + alert delivery (app_rules.cc)

// Thread-safe: HTTP handlers, the writer, the evaluator and signal handling
// run concurrently.
class App {
 public:
  App(Config config, const Clock& clock, AppOptions options);
  ~App();

  // Opens the store, rebuilds state, loads rules, binds the listener and
  // starts every thread. Returns an error (with the reason) on failure.
  Status Start();
  // Blocks until Stop() has finished.
  void Wait();
  // Graceful: refuse new ingest (503), finish in-flight requests, commit
  // what is queued, stop the threads, close the store.
  void Stop();
  // Reloads config and rule files; on error keeps the old ones.
  Status Reload();

  int port() const { return port_; }

 private:
  enum class Endpoint { kSpans, kFeedback, kResolutions };
  // Commits records that a webhook produced; fills `res` like an ingest call.
  // `replay_key` (if any) is released when the commit fails.
  void SubmitWebhookRecords(EventBatch batch, const std::string& endpoint, http::Response& res,
                            const std::string& replay_key = "");
  // The routing table: each family registers its own routes.
  void Routes();
  void IngestRoutes();   // ingest_handlers.cc
  void ReadRoutes();     // read_handlers.cc
  void AdminRoutes();    // admin_handlers.cc
  void SilenceRoutes();  // silence_handlers.cc
  // investigation_handlers.cc: GET /api/v1/investigations and /{id}.
  void InvestigationRoutes();
  void HandleInvestigations(const http::Request& req, http::Response& res);
  void HandleInvestigation(const http::Request& req, http::Response& res);
  // Every request the server accepted: route lookup, 404/405, and the
  // last-resort guard (500, logged, counted).
  void Dispatch(const http::Request& req, http::Responder reply);
  // Words and counts the server's own rejections (413, 415, 431, 400).
  void OnRejected(http::Rejection why, const http::Request& req, http::Response& res);
  // webhooks.cc: the on-call tools' native signed webhooks (PagerDuty v3,
  // Slack interactions), mapped to resolutions and verdicts.
  void WebhookRoutes();
  // Parses and queues; the reply is sent from the writer after the commit.
  void HandleIngest(const http::Request& req, const http::Responder& reply, Endpoint endpoint);
  // Moves the spans of agents this shard does not own out of `spans` (and
  // their body index out of `indexes`) into `errors`, kept in index order.
  // Returns how many moved; 0 when unsharded.
  size_t DropMisdirected(std::vector<Span>& spans, std::vector<int>& indexes,
                         std::vector<ingest::RecordError>& errors);
  // otlp_handlers.cc: OTLP/HTTP /v1/traces and /v1/logs.
  void OtlpRoutes();
  // The checks both OTLP endpoints make before decoding: ready, auth, a
  // supported Content-Type. Returns the body's encoding, or nullopt after
  // filling `res` and counting the rejection under `path`.
  // A server-level rejection of /v1/traces or /v1/logs as a google.rpc.Status
  // in the request's encoding (JSON when it names none we serve).
  static void ReplyOtlpError(const http::Request& req, http::Response& res, int status,
                             const std::string& message);
  std::optional<otlp::Encoding> AdmitOtlp(const http::Request& req, http::Response& res,
                                          const std::string& path);
  void HandleOtlpTraces(const http::Request& req, http::Response& res);
  void HandleOtlpLogs(const http::Request& req, http::Response& res);
  // Remembers committed OTLP investigations by (trace, span) and by trace so
  // that a verdict naming a span, or a trace whose agent span is not its
  // root, finds its investigation id.
  void RememberOtlpInvestigation(const std::string& trace_id, const std::string& span_id,
                                 uint64_t start_ns, const std::string& investigation_id,
                                 const std::string& agent);
  void PublishOtlpMetrics();
  void HandleSlis(const http::Request& req, http::Response& res);
  void HandleStatusPage(const http::Request& req, http::Response& res);
  // alert_page_handlers.cc: GET /alerts/<fingerprint>, the page every
  // notification links to.
  void HandleAlertPage(const http::Request& req, http::Response& res);
  // calibration_handlers.cc: GET /api/v1/calibration.
  void CalibrationRoutes();
  void HandleCalibration(const http::Request& req, http::Response& res,
                         const std::vector<WindowSpec>& configured);
  // Delivery health per receiver: the body of GET /api/v1/receivers.
  nlohmann::json ReceiversJson() const;
  // Returns true when the request may proceed; otherwise fills `res`.
  // A verified signature is claimed in replay_cache_; its key goes to
  // *claimed so the caller can release it if nothing was stored.
  bool Authorize(const http::Request& req, http::Response& res, bool admin, bool allow_signature,
                 std::string* claimed = nullptr);
  void OnCommit(const CommittedBatch& batch);
  void EvaluatorLoop();
  // The last step of a tick: renders stale SLI blocks, purges expired
  // silences.
  void TickHousekeeping(Millis silence_retention);
  exporters::ExportSnapshot Snapshot();
  // Every agent's sli_windows rows at `now`, rendered (per-agent cache).
  windows::Rendered RenderedSlis(TimeMs now);
  // Renders up to `max_agents` stale SLI blocks ahead of the next read;
  // returns how many (fewer: none left).
  size_t WarmSlis(TimeMs now, size_t max_agents);
  // What the SLI blocks are rendered with, under the current config.
  struct SliRendering {
    std::vector<WindowSpec> windows;
    std::string key;
    windows::SnapshotCache::Renderer render;
  };
  SliRendering CurrentSliRendering();
  std::string MetricsText();

  // The shard map of the running config; swapped whole on reload.
  std::shared_ptr<const ShardMap> Shard() const;

  Config config_;  // guarded by config_mu_ after Start
  mutable std::mutex config_mu_;
  const Clock& clock_;
  const AppOptions options_;

  exporters::DaemonMetrics metrics_;
  std::shared_ptr<const ShardMap> shard_;  // guarded by config_mu_
  std::unique_ptr<SqliteStore> store_;
  // Its own read connection on the store's file, so the investigation
  // endpoints never wait for a commit (own lock).
  std::unique_ptr<InvestigationReader> investigations_;
  std::unique_ptr<EngineState> state_;
  // The /api/v1/slis rule rows of every agent, rendered (own lock).
  windows::RuleRowsCache rule_rows_;
  std::unique_ptr<IngestWriter> writer_;
  std::unique_ptr<RuleRuntime> rules_;
  ReplayCache replay_cache_;  // signed requests already accepted (own lock)
  // Joins OTLP child spans to their investigation spans across requests
  // (own lock). Built in Start from config_.otlp.
  std::unique_ptr<otlp::Assembler> assembler_;
  // Late joins that changed their stored investigation (a re-sent
  // descendant, already joined, does not count).
  std::atomic<int64_t> otlp_joined_late_{0};
  // Held from Assembler::Ingest to IngestWriter::Submit, so the writer sees
  // requests in the order the assembler decided them: a late join is queued
  // after the investigation it changes.
  std::mutex otlp_order_mu_;
  // The investigation ids of recently committed OTLP investigations, for
  // /v1/logs verdicts. Memory only, bounded (oldest forgotten first).
  struct OtlpIdEntry {
    std::string investigation_id;
    std::string agent;
    uint64_t start_ns = 0;
  };
  std::mutex otlp_ids_mu_;
  std::unordered_map<std::string, OtlpIdEntry> otlp_ids_;  // guarded by otlp_ids_mu_
  std::deque<std::string> otlp_id_order_;                  // guarded by otlp_ids_mu_
  std::shared_ptr<exporters::SliCollector> collector_;
  std::unique_ptr<http::Router> router_;  // built in Start, read-only after
  std::unique_ptr<http::Server> http_;
  int port_ = 0;

  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};

  // Evaluator wake-ups: agents touched by ingest since the last evaluation.
  std::mutex eval_mu_;
  std::condition_variable eval_cv_;
  std::set<std::string> touched_;  // guarded by eval_mu_
  bool eval_stop_ = false;         // guarded by eval_mu_
  std::thread evaluator_;

  std::mutex reload_mu_;  // one reload at a time (SIGHUP and POST)
  std::mutex stop_mu_;
  std::condition_variable stopped_cv_;
  bool stopped_ = false;  // guarded by stop_mu_
};

}  // namespace aw::server
