// The on-call tools' native signed webhooks (issue 8): PagerDuty Webhooks v3
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
// ingest reply. Every rejection is counted in
// agentwatch_ingest_rejected_total{endpoint, reason}.

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "daemon/common/hmac.h"
#include "daemon/common/log.h"
#include "daemon/ingest/webhooks.h"
#include "daemon/server/app.h"

namespace aw::server {

namespace {

using json = nlohmann::json;

constexpr const char* kPagerDutyPath = "/v1/webhooks/pagerduty";
constexpr const char* kSlackPath = "/v1/webhooks/slack";
constexpr TimeMs kPagerDutyReplayWindow = 24LL * 3600 * 1000;

void Reply(httplib::Response& res, int status, const std::string& error) {
  res.status = status;
  res.set_content(json{{"accepted", 0}, {"duplicates", 0}, {"rejected", 0},
                       {"errors", json::array({json{{"index", 0}, {"error", error}}})}}
                      .dump(),
                  "application/json");
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void App::WebhookRoutes() {
  // What every early rejection does: reply, count it and the request.
  const auto reject = [this](httplib::Response& res, const char* path, int status,
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

  http_->Post(kPagerDutyPath, [this, reject, options](const httplib::Request& req,
                                                      httplib::Response& res) {
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
      return reject(res, kPagerDutyPath, 401, "unauthorized", "X-PagerDuty-Signature: is required",
                    start);
    }
    if (!ingest::VerifyPagerDutySignature(req.get_header_value("X-PagerDuty-Signature"), req.body,
                                          secret)) {
      return reject(res, kPagerDutyPath, 401, "unauthorized",
                    "X-PagerDuty-Signature: no v1 signature matches the body", start);
    }
    // Keyed on the body's own signature, not the header: extra v1 entries
    // must not make a replay look new.
    const TimeMs now = clock_.NowMs();
    if (!replay_cache_.Claim("pagerduty:" + HmacSha256Hex(secret, req.body), now,
                             now + kPagerDutyReplayWindow)) {
      return reject(res, kPagerDutyPath, 409, "replayed",
                    "X-PagerDuty-Signature: this signed webhook was already received (replay)", start);
    }
    auto parsed = ingest::ParsePagerDutyWebhook(req.body, options());
    if (!parsed.ok()) {
      return reject(res, kPagerDutyPath, 400,
                    parsed.status().message().rfind("body: malformed", 0) == 0 ? "malformed"
                                                                               : "invalid",
                    parsed.status().message(), start);
    }
    LogDebug("pagerduty webhook " + parsed->kind + " (" + req.get_header_value("X-Webhook-Id") +
             "): " + std::to_string(parsed->resolutions.size()) + " resolutions");
    EventBatch batch;
    batch.resolutions = std::move(parsed->resolutions);
    SubmitWebhookRecords(std::move(batch), kPagerDutyPath, res);
  });

  // A content-reader handler: httplib caps form-encoded bodies read for
  // ordinary handlers at 8 KiB (CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH)
  // and Slack's block_actions payloads are often larger. This path is bounded
  // by limits.max_body_bytes only.
  http_->Post(kSlackPath, [this, reject, options](const httplib::Request& req,
                                                  httplib::Response& res,
                                                  const httplib::ContentReader& reader) {
    const auto start = std::chrono::steady_clock::now();
    std::string body;
    if (!reader([&](const char* data, size_t n) {
          body.append(data, n);
          return true;
        })) {
      // httplib has set 413 (over limits.max_body_bytes) or 400; the error
      // handler writes and counts the reply.
      if (res.status < 400) res.status = 400;
      return;
    }
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
        req.get_header_value("X-Slack-Request-Timestamp"), req.get_header_value("X-Slack-Signature"),
        body, secret, clock_.NowMs());
    if (!verified.ok()) {
      return reject(res, kSlackPath, 401, "unauthorized", verified.message(), start);
    }
    // Verified, so the timestamp is Unix seconds within 5 minutes of now.
    const TimeMs slack_ts_ms =
        std::stoll(req.get_header_value("X-Slack-Request-Timestamp")) * 1000;
    if (!replay_cache_.Claim("slack:" + req.get_header_value("X-Slack-Signature"),
                             clock_.NowMs(), slack_ts_ms + 301'000)) {
      return reject(res, kSlackPath, 409, "replayed",
                    "X-Slack-Signature: this signed request was already received (replay)", start);
    }
    auto parsed = ingest::ParseSlackInteraction(body, options());
    if (!parsed.ok()) {
      return reject(res, kSlackPath, 400,
                    parsed.status().message().find("malformed") != std::string::npos
                        ? "malformed"
                        : "invalid",
                    parsed.status().message(), start);
    }
    EventBatch batch;
    batch.feedback = std::move(parsed->feedback);
    SubmitWebhookRecords(std::move(batch), kSlackPath, res);
  });
}

}  // namespace aw::server
