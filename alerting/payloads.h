#pragma once

// Pure builders for what each receiver kind is sent. No I/O, no clock: the
// caller passes `now`. Each returns the body as sent: JSON text, with
// invalid UTF-8 replaced (U+FFFD), so none throws on label values. See
// /work/shared/reference/protocols.md sections 1 (PagerDuty Events v2), 3a (Slack incoming
// webhooks) and 5 (Alertmanager).

#include <string>

#include "daemon/common/clock.h"
#include "daemon/common/hmac.h"
#include "daemon/common/types.h"

namespace aw::alerting {

// Knobs shared by the builders. Immutable after construction.
struct PayloadOptions {
  // Our own base URL (e.g. "http://agentwatch.example:9464"), used for the
  // webhook's externalURL and, as the alert page AlertPageUrl(), for the
  // generatorURL, PagerDuty's client_url and links and Slack's buttons. Empty
  // leaves the URL fields empty (or out, where the format allows).
  std::string external_url;
  // How often firing alerts are re-posted to Alertmanager; endsAt of a
  // firing alert is now + 4 x this (Prometheus' convention).
  Millis alertmanager_resend_interval{60'000};
};

// PagerDuty severity from the `severity` label: critical, error, warning,
// info pass through; page -> critical, ticket -> warning; else error.
std::string PagerDutySeverity(const Labels& labels);

// Cuts `text` to at most `max_runes` UTF-8 code points, ending in "…" when
// cut (Alertmanager's TruncateInRunes). Never splits a code point.
std::string TruncateRunes(const std::string& text, size_t max_runes);

// The one-line description used by PagerDuty (when there is no `summary`
// annotation) and Slack: "low_accuracy on ir: override_rate 0.31 > 0.2 (1h)".
std::string AlertHeadline(const AlertEvent& event);

// The labels a receiver sees: the event's labels plus alertname = name.
Labels AlertLabels(const AlertEvent& event);

// PagerDuty Events API v2: trigger (or resolve when event.resolved),
// dedup_key = fingerprint, summary <= 1024 code points. A trigger links the
// alert page as client_url and first links[] entry, then the runbook_url and
// dashboard_url annotations when set.
std::string BuildPagerDutyEvent(const std::string& routing_key, const AlertEvent& event,
                                const PayloadOptions& options, TimeMs now);

// The alert page: "<external_url>/alerts/<fingerprint>" (trailing '/' of
// the base dropped), or "" without an external_url.
std::string AlertPageUrl(const std::string& external_url, const std::string& fingerprint);

// Slack incoming webhook: {"text": mrkdwn fallback with &, <, > escaped,
// "attachments": [{"color", "blocks"}]}, the blocks from SlackAlertBlocks
// and the colour from SlackColor; a firing alert's blocks end with a
// "Silence 1h" button (AddSlackSilenceButton).
std::string BuildSlackMessage(const AlertEvent& event, const PayloadOptions& options);

// The Slack attachment colour: green when resolved, else by the severity
// label (critical/page red, warning/ticket orange, info blue, else red).
std::string SlackColor(const AlertEvent& event);

// The Block Kit layout of one alert: a header, fields (agent, value,
// threshold, window), the summary and description, and an actions block
// with link buttons to the alert page, runbook and dashboard (those that
// are set). Further blocks may be appended by the caller. A JSON array.
std::string SlackAlertBlocks(const AlertEvent& event, const PayloadOptions& options);

// Alertmanager webhook payload, version 4, with one alert; the group is
// the alert's full label set.
std::string BuildWebhookV4(const std::string& receiver_name, const AlertEvent& event,
                           const PayloadOptions& options);

// Alertmanager API v2 POST /api/v2/alerts body: a one-element array.
// endsAt = now + 4 x resend interval while firing, resolved_at when
// resolved.
std::string BuildAlertmanagerAlerts(const AlertEvent& event, const PayloadOptions& options,
                                    TimeMs now);

// The X-Agentwatch-Signature header value: "sha256=<hex>".
std::string WebhookSignature(const std::string& secret, const std::string& body);

inline constexpr char kSignatureHeader[] = "X-Agentwatch-Signature";
inline constexpr size_t kPagerDutySummaryMaxRunes = 1024;
inline constexpr size_t kSlackTextMaxRunes = 3000;

// Appends to a Slack message's blocks (those of its first attachment when
// it has them, else top-level ones, adding a section with its `text` first
// if there are none) an actions block with a "Silence 1h" button: action_id
// kSlackSilenceActionId, value the fingerprint. Nothing for a resolve. A
// click comes back to /v1/webhooks/slack and silences the alert for 1h.
// Takes and returns the message as JSON text; returns `message` unchanged
// when it is not a JSON object.
std::string AddSlackSilenceButton(const AlertEvent& event, const std::string& message);

}  // namespace aw::alerting
