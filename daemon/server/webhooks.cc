// The on-call tools' native signed webhooks: PagerDuty Webhooks v3
// and Slack interactivity, verified with their own secrets and mapped to
// resolutions and verdicts (formats: daemon/ingest/webhooks.h).
//
// An endpoint whose secret is not configured answers 404 with the key to
// set: without a secret nothing could be verified, and a 404 tells the
// sender's operator the URL is not in use rather than that a credential is
// wrong. Bearer tokens are not accepted here: these tools sign, they do not
// hold tokens.
//
// Replies: 401 missing or wrong signature (or a Slack timestamp more than
// 5 minutes off), 409 for a signature already accepted (a replay: Slack's
// within its 5 minute window, PagerDuty's, which carries no timestamp, for
// kPagerDutyReplayWindow), 400 naming the field for a payload that cannot be mapped,
// 200 for an event that is not used (counted as ignored_event), else the
// ingest reply. PagerDuty incident.acknowledged acks the alert whose
// fingerprint is the incident's key (200 with "acknowledged": how many
// firing alerts it stopped repeating); a Slack "Silence 1h" click creates a
// one-hour silence matching that alert's labels exactly (200 with
// "silenceIDs"; a click on an alert no longer active is listed in errors). Every rejection is
// counted in agentwatch_ingest_rejected_total{endpoint, reason}.

#include <chrono>
#include <nlohmann/json.hpp>

#include "daemon/common/hmac.h"
#include "daemon/common/log.h"
#include "daemon/http/http.h"
#include "daemon/ingest/webhooks.h"
#include "daemon/server/app.h"
#include "daemon/server/handler_util.h"
#include "daemon/server/rule_runtime.h"

namespace aw::server {

namespace {

using json = nlohmann::json;

constexpr const char* kPagerDutyPath = "/v1/webhooks/pagerduty";
constexpr const char* kSlackPath = "/v1/webhooks/slack";
constexpr TimeMs kPagerDutyReplayWindow = 24LL * 3600 * 1000;
constexpr Millis kSlackSilenceDuration{3600 * 1000};

void Reply(http::Response& res, int status, const std::string& error) {
  ReplyJson(res, status, ErrorBody(error));
}

}  // namespace

void App::WebhookRoutes() {
  // What every early rejection does: reply, count it and the request.
  const auto reject = [this](http::Response& res, const char* path, int status,
                             const std::string& reason, const std::string& error,
                             std::chrono::steady_clock::time_point start) {
    Reply(res, status, error);
    metrics_.CountRejected(path, reason);
    metrics_.CountRequest(path, status, SecondsSince(start));
  };
  const auto options = [this] {
    ingest::ParseOptions o;
    std::lock_guard lock(config_mu_);
    o.now_ms = clock_.NowMs();
    o.max_event_age = config_.max_event_age;
    o.max_clock_skew = config_.max_clock_skew;
    return o;
  };

  router_->Add(
      "POST", kPagerDutyPath,
      [this, reject, options](const http::Request& req, http::Response& res) {
        const auto start = std::chrono::steady_clock::now();
        std::string secret;
        {
          std::lock_guard lock(config_mu_);
          secret = config_.auth.pagerduty_webhook_secret;
        }
        if (secret.empty()) {
          return reject(res, kPagerDutyPath, 404, "not_configured",
                        "PagerDuty webhooks are not enabled: set auth.pagerduty_webhook_secret "
                        "to the subscription's signing secret",
                        start);
        }
        if (!req.has_header("X-PagerDuty-Signature")) {
          return reject(res, kPagerDutyPath, 401, "unauthorized",
                        "X-PagerDuty-Signature: is required", start);
        }
        if (!ingest::VerifyPagerDutySignature(req.get_header_value("X-PagerDuty-Signature"),
                                              req.body, secret)) {
          return reject(res, kPagerDutyPath, 401, "unauthorized",
                        "X-PagerDuty-Signature: no v1 signature matches the body", start);
        }
        // Keyed on the body's own signature, not the header: extra v1 entries
        // must not make a replay look new.
        const TimeMs now = clock_.NowMs();
        const std::string replay_key = "pagerduty:" + HmacSha256Hex(secret, req.body);
        if (!replay_cache_.Claim(replay_key, now, now + kPagerDutyReplayWindow)) {
          return reject(res, kPagerDutyPath, 409, "replayed",
                        "X-PagerDuty-Signature: this signed webhook was already received (replay)",
                        start);
        }
        auto parsed = ingest::ParsePagerDutyWebhook(req.body, options());
        if (!parsed.ok()) {
          return reject(
              res, kPagerDutyPath, 400,
              parsed.status().message().rfind("body: malformed", 0) == 0 ? "malformed" : "invalid",
              parsed.status().message(), start);
        }
        LogDebug("pagerduty webhook " + parsed->kind + " (" + req.get_header_value("X-Webhook-Id") +
                 "): " + std::to_string(parsed->resolutions.size()) + " resolutions");
        if (!parsed->acknowledged.empty()) {
          int acked = 0;
          for (const std::string& fingerprint : parsed->acknowledged) {
            Status s = ready_ ? rules_->Acknowledge(fingerprint) : Status::Unavailable("not ready");
            if (s.ok()) {
              ++acked;
            } else if (s.code() != Status::Code::kNotFound) {
              // Not stored: let PagerDuty retry it.
              replay_cache_.Release(replay_key);
              res.set_header("Retry-After", "1");
              return reject(res, kPagerDutyPath, 503, "unavailable", s.message(), start);
            }
          }
          ReplyJson(res, 200,
                    json{{"accepted", 0},
                         {"duplicates", 0},
                         {"rejected", 0},
                         {"errors", json::array()},
                         {"acknowledged", acked}});
          metrics_.CountRequest(kPagerDutyPath, 200, SecondsSince(start));
          return;
        }
        EventBatch batch;
        batch.resolutions = std::move(parsed->resolutions);
        SubmitWebhookRecords(std::move(batch), kPagerDutyPath, res, replay_key);
      });

  // The body is bounded by limits.max_body_bytes like every other body
  // (the server answers 413 before this runs).
  router_->Add(
      "POST", kSlackPath, [this, reject, options](const http::Request& req, http::Response& res) {
        const auto start = std::chrono::steady_clock::now();
        const std::string& body = req.body;
        std::string secret;
        {
          std::lock_guard lock(config_mu_);
          secret = config_.auth.slack_signing_secret;
        }
        if (secret.empty()) {
          return reject(res, kSlackPath, 404, "not_configured",
                        "Slack interactivity is not enabled: set auth.slack_signing_secret to the "
                        "Slack app's signing secret",
                        start);
        }
        Status verified = ingest::VerifySlackSignature(
            req.get_header_value("X-Slack-Request-Timestamp"),
            req.get_header_value("X-Slack-Signature"), body, secret, clock_.NowMs());
        if (!verified.ok()) {
          return reject(res, kSlackPath, 401, "unauthorized", verified.message(), start);
        }
        // Verified, so the timestamp is Unix seconds within 5 minutes of now.
        const TimeMs slack_ts_ms =
            std::stoll(req.get_header_value("X-Slack-Request-Timestamp")) * 1000;
        const std::string replay_key = "slack:" + req.get_header_value("X-Slack-Signature");
        if (!replay_cache_.Claim(replay_key, clock_.NowMs(), slack_ts_ms + 301'000)) {
          return reject(res, kSlackPath, 409, "replayed",
                        "X-Slack-Signature: this signed request was already received (replay)",
                        start);
        }
        auto parsed = ingest::ParseSlackInteraction(body, options());
        if (!parsed.ok()) {
          return reject(res, kSlackPath, 400,
                        parsed.status().message().find("malformed") != std::string::npos
                            ? "malformed"
                            : "invalid",
                        parsed.status().message(), start);
        }
        if (!parsed->silence_clicks.empty() && parsed->feedback.empty()) {
          json ids = json::array();
          json errors = json::array();
          for (const auto& click : parsed->silence_clicks) {
            auto id = ready_ ? rules_->SilenceAlert(click.fingerprint, kSlackSilenceDuration,
                                                    click.actor, "silenced from Slack")
                             : Result<std::string>(Status::Unavailable("not ready"));
            if (id.ok()) {
              ids.push_back(*id);
            } else if (id.status().code() == Status::Code::kNotFound) {
              errors.push_back({{"index", errors.size()}, {"error", id.status().message()}});
            } else {
              replay_cache_.Release(replay_key);
              res.set_header("Retry-After", "1");
              return reject(res, kSlackPath, 503, "unavailable", id.status().message(), start);
            }
          }
          ReplyJson(res, 200,
                    json{{"accepted", 0},
                         {"duplicates", 0},
                         {"rejected", 0},
                         {"errors", std::move(errors)},
                         {"silenceIDs", std::move(ids)}});
          metrics_.CountRequest(kSlackPath, 200, SecondsSince(start));
          return;
        }
        EventBatch batch;
        batch.feedback = std::move(parsed->feedback);
        SubmitWebhookRecords(std::move(batch), kSlackPath, res, replay_key);
      });
}

}  // namespace aw::server
