// The ingest endpoints: POST /v1/spans, /v1/feedback, /v1/resolutions
// (parse, authorize, submit to the group commit and answer once durable),
// the commit of records the webhooks produced, and Authorize, which every
// endpoint family uses.

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "daemon/common/hmac.h"
#include "daemon/common/log.h"
#include "daemon/common/parse.h"
#include "daemon/http/http.h"
#include "daemon/ingest/parser.h"
#include "daemon/server/app.h"
#include "daemon/server/handler_util.h"

namespace aw::server {

using json = nlohmann::json;

namespace {

const char* EndpointPath(int e) {
  static const char* kPaths[] = {"/v1/spans", "/v1/feedback", "/v1/resolutions"};
  return kPaths[e];
}

// Verdicts are broadcast to every shard. One naming another shard's agent
// would be placed in that agent's windows here (a verdict whose span never
// came counts at its own time); without the name it is held as any verdict
// for an unknown investigation, bounded and expired.
void UnnameForeignAgents(const ShardMap& shard, std::vector<Feedback>& feedback) {
  if (!shard.enabled()) return;
  for (Feedback& f : feedback) {
    if (!f.agent.empty() && !shard.Owns(f.agent)) f.agent.clear();
  }
}

// The reply to a submitted batch: 503 (retry) when nothing was stored,
// else 200 with the counts. Formatted by hand, as it runs on the writer's
// thread for ingest (the next group waits for it): the same bytes as the
// json object's dump, keys sorted. `errors_json` is the rejected records'
// error list, already dumped.
void ReplyOutcome(const IngestOutcome& outcome, int rejected, const std::string& errors_json,
                  http::Response& res) {
  if (!outcome.status.ok()) {
    res.set_header("Retry-After", "1");
    ReplyJson(res, 503, ErrorBody(outcome.status.message()));
    return;
  }
  std::string body = "{\"accepted\":";
  body += std::to_string(outcome.accepted);
  body += ",\"duplicates\":";
  body += std::to_string(outcome.duplicates);
  body += ",\"errors\":";
  body += errors_json;
  body += ",\"held\":";
  body += std::to_string(outcome.held);
  body += ",\"rejected\":";
  body += std::to_string(rejected);
  body += '}';
  res.status = 200;
  res.set_content(std::move(body), "application/json");
}

}  // namespace

void App::IngestRoutes() {
  router_->AddAsync("POST", "/v1/spans", [this](const http::Request& q, http::Responder r) {
    HandleIngest(q, r, Endpoint::kSpans);
  });
  router_->AddAsync("POST", "/v1/feedback", [this](const http::Request& q, http::Responder r) {
    HandleIngest(q, r, Endpoint::kFeedback);
  });
  router_->AddAsync("POST", "/v1/resolutions", [this](const http::Request& q, http::Responder r) {
    HandleIngest(q, r, Endpoint::kResolutions);
  });
}

bool App::Authorize(const http::Request& req, http::Response& res, bool admin, bool allow_signature,
                    std::string* claimed) {
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
  if (allow_signature && !auth.webhook_secret.empty() && req.has_header("X-Agentwatch-Signature")) {
    const std::string ts = req.get_header_value("X-Agentwatch-Timestamp");
    const std::string sig = req.get_header_value("X-Agentwatch-Signature");
    const std::optional<int64_t> parsed = ParseWholeInt(ts);
    if (!parsed) {
      ReplyJson(res, 401, json{{"error", "X-Agentwatch-Timestamp: must be Unix seconds"}});
      return false;
    }
    const int64_t ts_s = *parsed;
    const int64_t now_s = clock_.NowMs() / 1000;
    if (ts_s < now_s - 300 || ts_s > now_s + 300) {
      ReplyJson(res, 401, json{{"error", "X-Agentwatch-Timestamp: outside the 5 minute window"}});
      return false;
    }
    const std::string expected =
        "sha256=" + HmacSha256Hex(auth.webhook_secret, ts + "." + req.body);
    if (!ConstantTimeEquals(sig, expected)) {
      ReplyJson(res, 401, json{{"error", "X-Agentwatch-Signature: does not match the body"}});
      return false;
    }
    // One request per signature: a replay inside the timestamp window is refused.
    const std::string key = "agentwatch:" + expected;
    if (!replay_cache_.Claim(key, clock_.NowMs(), (ts_s + 301) * 1000)) {
      ReplyJson(res, 409,
                json{{"error",
                      "X-Agentwatch-Signature: this signed request was already received "
                      "(replay); sign a new request with a fresh X-Agentwatch-Timestamp"}});
      return false;
    }
    if (claimed) *claimed = key;
    return true;
  }
  res.set_header("WWW-Authenticate", "Bearer");
  ReplyJson(res, 401, json{{"error", "missing bearer token"}});
  return false;
}

void App::HandleIngest(const http::Request& req, const http::Responder& reply, Endpoint endpoint) {
  const auto start = std::chrono::steady_clock::now();
  const std::string path = EndpointPath(static_cast<int>(endpoint));
  http::Response res;
  const auto finish = [&] {
    metrics_.CountRequest(path, res.status, SecondsSince(start));
    reply.Send(std::move(res));
  };
  if (!ready_ || stopping_) {
    res.set_header("Retry-After", "1");
    ReplyJson(res, 503, ErrorBody(stopping_ ? "shutting down" : "starting: rebuilding state"));
    metrics_.CountRejected(path, "unavailable");
    return finish();
  }
  std::string replay_key;
  if (!Authorize(req, res, false, endpoint != Endpoint::kSpans, &replay_key)) {
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
    ReplyJson(res, 415,
              ErrorBody("Content-Type: " + ctype +
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
    case Endpoint::kSpans:
      take(ingest::ParseSpans(req.body, format, popts), batch.spans);
      break;
    case Endpoint::kFeedback:
      take(ingest::ParseFeedback(req.body, format, popts), batch.feedback);
      break;
    case Endpoint::kResolutions:
      take(ingest::ParseResolutions(req.body, format, popts), batch.resolutions);
      break;
  }
  for (const auto& e : errors) metrics_.CountRejected(path, ingest::RejectReasonName(e.reason));
  // Spans of agents another shard serves: rejected per record, naming the
  // owner; a request of nothing else gets 421 so the client can redirect.
  size_t misdirected = 0;
  if (endpoint == Endpoint::kSpans) misdirected = DropMisdirected(batch.spans, indexes, errors);
  UnnameForeignAgents(*Shard(), batch.feedback);
  if (misdirected > 0)
    metrics_.CountRejected(path, "misdirected", static_cast<double>(misdirected));

  // Built only when some record was rejected: most requests have none.
  const auto error_list = [&errors] {
    json list = json::array();
    for (const auto& e : errors) list.push_back({{"index", e.index}, {"error", e.error}});
    return list;
  };
  if (!errors.empty() && errors[0].reason == ingest::RejectReason::kTooMany) {
    ReplyJson(res, 413,
              json{{"accepted", 0}, {"duplicates", 0}, {"rejected", 0}, {"errors", error_list()}});
    return finish();
  }
  if (indexes.empty() && misdirected > 0 && misdirected == errors.size()) {
    ReplyJson(res, 421,
              json{{"accepted", 0},
                   {"duplicates", 0},
                   {"rejected", static_cast<int>(errors.size())},
                   {"error", errors.front().error},
                   {"errors", error_list()}});
    return finish();
  }
  if (indexes.empty()) {
    ReplyJson(res, 400,
              json{{"accepted", 0},
                   {"duplicates", 0},
                   {"rejected", malformed ? 0 : static_cast<int>(errors.size())},
                   {"errors", error_list()}});
    return finish();
  }
  // Answered from the writer thread once the group is committed and applied.
  const int rejected = static_cast<int>(errors.size());
  const size_t submitted = indexes.size();
  std::string errors_json =
      errors.empty() ? "[]" : error_list().dump(-1, ' ', false, json::error_handler_t::replace);
  writer_->Submit(std::move(batch), [this, reply, path, start, replay_key, rejected, submitted,
                                     errors_json = std::move(errors_json)](IngestOutcome outcome) {
    http::Response done;
    ReplyOutcome(outcome, rejected, errors_json, done);
    if (!outcome.status.ok()) {
      if (!replay_key.empty()) replay_cache_.Release(replay_key);
      metrics_.CountRejected(path, "unavailable", static_cast<double>(submitted));
    }
    metrics_.CountRequest(path, done.status, SecondsSince(start));
    reply.Send(std::move(done));
  });
}

size_t App::DropMisdirected(std::vector<Span>& spans, std::vector<int>& indexes,
                            std::vector<ingest::RecordError>& errors) {
  const std::shared_ptr<const ShardMap> shard = Shard();
  if (!shard->enabled()) return 0;
  size_t kept = 0, dropped = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    std::string why = shard->Misdirected(spans[i].agent);
    if (!why.empty()) {
      errors.push_back({indexes[i], std::move(why), ingest::RejectReason::kInvalid});
      ++dropped;
      continue;
    }
    if (kept != i) {  // a self-move would empty the record
      spans[kept] = std::move(spans[i]);
      indexes[kept] = indexes[i];
    }
    ++kept;
  }
  spans.resize(kept);
  indexes.resize(kept);
  if (dropped == 0) return 0;
  std::stable_sort(
      errors.begin(), errors.end(),
      [](const ingest::RecordError& a, const ingest::RecordError& b) { return a.index < b.index; });
  return dropped;
}

void App::SubmitWebhookRecords(EventBatch batch, const std::string& endpoint, http::Response& res,
                               const std::string& replay_key) {
  const auto start = std::chrono::steady_clock::now();
  if (!ready_ || stopping_) {
    if (!replay_key.empty()) replay_cache_.Release(replay_key);
    res.set_header("Retry-After", "1");
    ReplyJson(res, 503, ErrorBody("not ready"));
  } else if (batch.empty()) {
    // An event we do not map (e.g. incident.acknowledged): acknowledged so
    // the sender does not retry it, and counted.
    metrics_.CountRejected(endpoint, "ignored_event");
    ReplyJson(res, 200,
              json{{"accepted", 0}, {"duplicates", 0}, {"rejected", 0}, {"errors", json::array()}});
  } else {
    const IngestOutcome outcome = writer_->Submit(std::move(batch)).get();
    ReplyOutcome(outcome, 0, "[]", res);
    if (!outcome.status.ok() && !replay_key.empty()) replay_cache_.Release(replay_key);
  }
  metrics_.CountRequest(endpoint, res.status, SecondsSince(start));
}

}  // namespace aw::server
