// OTLP/HTTP ingest: POST /v1/traces (investigation spans, with their
// descendants joined by the assembler) and POST /v1/logs (evaluation events
// as verdicts). Same auth and durability as /v1/spans: a 200 means the
// investigations (or verdicts) in the request are committed. Replies follow
// the OTLP/HTTP specification, in the request's encoding.
//
// Joins are stored (otlp_joined_spans): descendants joined on time in the
// transaction of their investigation; a descendant arriving after its
// investigation was committed (a late join) in the transaction of its own
// request, which also changes the stored investigation record, and only if
// the join row is new, so a re-sent descendant changes nothing, also after
// a restart. The windows then take the changed record. A 200 means the
// late joins of the request are committed too.

#include <chrono>
#include <functional>
#include <future>
#include <mutex>

#include <nlohmann/json.hpp>

#include "daemon/http/http.h"
#include "daemon/otlp/assembler.h"
#include "daemon/otlp/decode.h"
#include "daemon/otlp/logs.h"
#include "daemon/server/app.h"
#include "daemon/server/handler_util.h"

namespace aw::server {

using json = nlohmann::json;

namespace {

// Remembered (trace, span) and trace ids; beyond it the oldest go first.
constexpr size_t kMaxRememberedOtlpIds = 200'000;

const char* ContentTypeOf(otlp::Encoding e) {
  return e == otlp::Encoding::kProtobuf ? "application/x-protobuf" : "application/json";
}

void ReplyOtlp(http::Response& res, int status, std::string body, otlp::Encoding e) {
  res.status = status;
  res.set_content(std::move(body), ContentTypeOf(e));
}

// google.rpc.Code values used in replies.
constexpr int32_t kInvalidArgument = 3;
constexpr int32_t kUnavailable = 14;

}  // namespace

void App::OtlpRoutes() {
  router_->Add("POST", "/v1/traces",
               [this](const http::Request& q, http::Response& r) { HandleOtlpTraces(q, r); });
  router_->Add("POST", "/v1/logs",
               [this](const http::Request& q, http::Response& r) { HandleOtlpLogs(q, r); });
}

void App::PublishOtlpMetrics() {
  const otlp::AssemblerCounters c = assembler_->counters();
  // Expired unjoined spans never counted either: dropped, like those over
  // the bound.
  metrics_.SetOtlpSpans(static_cast<double>(c.held), static_cast<double>(otlp_joined_late_.load()),
                        static_cast<double>(c.dropped_total + c.expired_total));
}

void App::RememberOtlpInvestigation(const std::string& trace_id, const std::string& span_id,
                                    uint64_t start_ns, const std::string& investigation_id,
                                    const std::string& agent) {
  std::lock_guard lock(otlp_ids_mu_);
  const auto put = [&](const std::string& key, bool prefer_earliest) {
    auto [it, inserted] = otlp_ids_.try_emplace(key);
    if (!inserted && prefer_earliest) {
      // A bare trace id names the investigation whose id is the trace id,
      // else the trace's earliest-started one.
      const bool old_is_trace = it->second.investigation_id == trace_id;
      const bool new_is_trace = investigation_id == trace_id;
      if (old_is_trace || (!new_is_trace && it->second.start_ns <= start_ns)) return;
    }
    it->second = OtlpIdEntry{investigation_id, agent, start_ns};
    if (inserted) otlp_id_order_.push_back(key);
  };
  put(trace_id + "/" + span_id, false);
  put(trace_id, true);
  while (otlp_id_order_.size() > kMaxRememberedOtlpIds) {
    otlp_ids_.erase(otlp_id_order_.front());
    otlp_id_order_.pop_front();
  }
}

void App::ReplyOtlpError(const http::Request& req, http::Response& res, int status,
                         const std::string& message) {
  const otlp::Encoding e = otlp::EncodingFromContentType(req.get_header_value("Content-Type"))
                               .value_or(otlp::Encoding::kJson);
  ReplyOtlp(res, status, otlp::EncodeRpcStatus(kInvalidArgument, message, e), e);
}

std::optional<otlp::Encoding> App::AdmitOtlp(const http::Request& req, http::Response& res,
                                             const std::string& path) {
  const std::optional<otlp::Encoding> encoding =
      otlp::EncodingFromContentType(req.get_header_value("Content-Type"));
  // Replies before the encoding is known (or when it is not supported) are JSON.
  const otlp::Encoding reply_encoding = encoding.value_or(otlp::Encoding::kJson);
  if (!ready_ || stopping_) {
    res.set_header("Retry-After", "1");
    ReplyOtlp(res, 503,
              otlp::EncodeRpcStatus(kUnavailable,
                                    stopping_ ? "shutting down" : "starting: rebuilding state",
                                    reply_encoding),
              reply_encoding);
    metrics_.CountRejected(path, "unavailable");
    return std::nullopt;
  }
  if (!Authorize(req, res, false, false)) {
    metrics_.CountRejected(path, res.status == 403 ? "forbidden" : "unauthorized");
    return std::nullopt;
  }
  if (!encoding) {
    ReplyOtlp(res, 415,
              otlp::EncodeRpcStatus(
                  kInvalidArgument,
                  "Content-Type: " + req.get_header_value("Content-Type") +
                      " is not supported; use application/x-protobuf or application/json",
                  otlp::Encoding::kJson),
              otlp::Encoding::kJson);
    metrics_.CountRejected(path, "unsupported_media_type");
    return std::nullopt;
  }
  return encoding;
}

void App::HandleOtlpTraces(const http::Request& req, http::Response& res) {
  const auto start = std::chrono::steady_clock::now();
  const std::string path = "/v1/traces";
  const auto finish = [&] { metrics_.CountRequest(path, res.status, SecondsSince(start)); };
  const std::optional<otlp::Encoding> encoding = AdmitOtlp(req, res, path);
  if (!encoding) return finish();
  auto batch = otlp::DecodeTraces(req.body, *encoding);
  if (!batch.ok()) {
    ReplyOtlp(res, 400,
              otlp::EncodeRpcStatus(kInvalidArgument, batch.status().message(), *encoding),
              *encoding);
    metrics_.CountRejected(path, "malformed");
    return finish();
  }

  otlp::AssemblyResult result;
  std::future<IngestOutcome> pending;
  bool submitted = false;
  {
    std::lock_guard order(otlp_order_mu_);
    const TimeMs now = clock_.NowMs();
    const std::shared_ptr<const ShardMap> shard = Shard();
    std::function<std::string(const std::string&)> misdirected;
    if (shard->enabled()) {
      misdirected = [&shard](const std::string& agent) { return shard->Misdirected(agent); };
    }
    result = assembler_->Ingest(*batch, now, misdirected);
    EventBatch records;
    records.spans.reserve(result.investigations.size());
    // Cost: a span without agent.estimated_cost_usd keeps cost_usd empty and
    // is priced from `pricing` by model when applied, as /v1/spans does; a
    // late join changes its tokens and model, so it is priced again.
    for (const otlp::AssembledInvestigation& inv : result.investigations) {
      records.spans.push_back(inv.span);
      for (const std::string& child : inv.joined_span_ids) {
        records.joins.push_back({inv.trace_id, child, inv.span.investigation_id, now});
      }
    }
    for (const otlp::LateUpdate& u : result.late_updates) {
      LateJoin late;
      late.join = {u.trace_id, u.child_span_id, u.investigation_id, now};
      late.apply = [u](Span& s) { otlp::ApplyLateUpdate(s, u); };
      records.late_joins.push_back(std::move(late));
    }
    if (!records.empty()) {
      pending = writer_->Submit(std::move(records));
      submitted = true;
    }
  }
  if (submitted) {
    IngestOutcome outcome = pending.get();
    if (!outcome.status.ok()) {
      // Nothing stored: forget this request's spans so the client's retry
      // is not taken for a duplicate.
      assembler_->Rollback(result);
      res.set_header("Retry-After", "1");
      ReplyOtlp(res, 503, otlp::EncodeRpcStatus(kUnavailable, outcome.status.message(), *encoding),
                *encoding);
      metrics_.CountRejected(path, "unavailable",
                             static_cast<double>(result.investigations.size()));
      PublishOtlpMetrics();
      return finish();
    }
    otlp_joined_late_ += outcome.late_applied;
    for (const otlp::AssembledInvestigation& inv : result.investigations) {
      const uint64_t start_ns =
          static_cast<uint64_t>(inv.span.ts_ms - inv.span.duration_ms.value_or(0)) * 1'000'000ULL;
      RememberOtlpInvestigation(inv.trace_id, inv.span_id, start_ns, inv.span.investigation_id,
                                inv.span.agent);
    }
  }
  PublishOtlpMetrics();

  // Misdirected investigations are rejected like invalid ones (the client
  // must not retry them here), with the owner in the message.
  std::string message;
  const size_t rejected = result.rejected.size() + result.misdirected.size();
  if (rejected > 0) {
    const otlp::RejectedSpan& first =
        result.rejected.empty() ? result.misdirected.front() : result.rejected.front();
    message = "span " + first.span_id + ": " + first.error;
    if (rejected > 1) message += " (and " + std::to_string(rejected - 1) + " more)";
  }
  if (!result.rejected.empty()) {
    metrics_.CountRejected(path, "invalid", static_cast<double>(result.rejected.size()));
  }
  if (!result.misdirected.empty()) {
    metrics_.CountRejected(path, "misdirected", static_cast<double>(result.misdirected.size()));
  }
  ReplyOtlp(res, 200, otlp::EncodeTraceResponse(static_cast<int64_t>(rejected), message, *encoding),
            *encoding);
  finish();
}

void App::HandleOtlpLogs(const http::Request& req, http::Response& res) {
  const auto start = std::chrono::steady_clock::now();
  const std::string path = "/v1/logs";
  const auto finish = [&] { metrics_.CountRequest(path, res.status, SecondsSince(start)); };
  const std::optional<otlp::Encoding> encoding = AdmitOtlp(req, res, path);
  if (!encoding) return finish();
  auto batch = otlp::DecodeLogs(req.body, *encoding);
  if (!batch.ok()) {
    ReplyOtlp(res, 400,
              otlp::EncodeRpcStatus(kInvalidArgument, batch.status().message(), *encoding),
              *encoding);
    metrics_.CountRejected(path, "malformed");
    return finish();
  }
  otlp::LogsOptions lopts;
  {
    std::lock_guard lock(config_mu_);
    lopts.verdict_evaluations = config_.otlp.verdict_evaluations;
  }
  otlp::LogsResult verdicts = otlp::VerdictsFromLogs(*batch, lopts, clock_.NowMs());
  EventBatch records;
  {
    // The investigation a verdict names: the investigation span it names,
    // else the one its trace id names. Known for investigations committed
    // since the start (memory only); otherwise the trace id stands, which
    // is right whenever the agent span is the trace's root.
    std::lock_guard lock(otlp_ids_mu_);
    for (otlp::OtlpVerdict& v : verdicts.verdicts) {
      auto it = otlp_ids_.end();
      if (!v.span_id.empty()) it = otlp_ids_.find(v.trace_id + "/" + v.span_id);
      if (it == otlp_ids_.end()) it = otlp_ids_.find(v.trace_id);
      if (it != otlp_ids_.end()) {
        v.feedback.investigation_id = it->second.investigation_id;
        if (v.feedback.agent.empty()) v.feedback.agent = it->second.agent;
      }
      records.feedback.push_back(std::move(v.feedback));
    }
  }
  // As /v1/feedback: a verdict naming another shard's agent is held here,
  // not placed in that agent's windows.
  const std::shared_ptr<const ShardMap> shard = Shard();
  for (Feedback& f : records.feedback) {
    if (shard->enabled() && !f.agent.empty() && !shard->Owns(f.agent)) f.agent.clear();
  }
  if (verdicts.rejected > 0) {
    metrics_.CountRejected(path, "invalid", static_cast<double>(verdicts.rejected));
  }
  if (!records.feedback.empty()) {
    IngestOutcome outcome = writer_->Submit(std::move(records)).get();
    if (!outcome.status.ok()) {
      res.set_header("Retry-After", "1");
      ReplyOtlp(res, 503, otlp::EncodeRpcStatus(kUnavailable, outcome.status.message(), *encoding),
                *encoding);
      metrics_.CountRejected(path, "unavailable");
      return finish();
    }
  }
  ReplyOtlp(res, 200, otlp::EncodeLogsResponse(verdicts.rejected, verdicts.error, *encoding),
            *encoding);
  finish();
}

}  // namespace aw::server
