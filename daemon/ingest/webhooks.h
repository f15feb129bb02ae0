#pragma once

// The on-call tools' native signed webhooks, mapped to agentwatch records.
// Pure: the secret, the time ("now") and the limits are passed in; nothing
// here touches the network or a clock. The HTTP side is
// daemon/server/webhooks.cc. Invariant: nothing is mapped from a body whose
// signature does not verify. Thread-safe (pure functions).
//
// PagerDuty Webhooks v3 (POST /v1/webhooks/pagerduty)
//   Verified with X-PagerDuty-Signature: one or more comma-separated
//   "v1=<hex HMAC-SHA256(secret, raw body)>" entries (several during a
//   secret rotation); any match accepts. There is no timestamp in the
//   scheme, so a captured body can be replayed; replaying a resolution only
//   re-states it (a later resolution replaces an earlier one).
//   incident.resolved -> a Resolution by incident id:
//     incident_id = event.data.id (PagerDuty's incident ID, e.g. "Q2ABC3D",
//                   the id the PagerDuty API, URLs and webhooks carry), and,
//                   when event.data.number is present, a second Resolution
//                   with incident_id = the number as decimal text ("4411"),
//                   so an agent that records either one is matched. An
//                   investigation names one incident_id, so it matches at
//                   most one of the two.
//     resolved_at = event.occurred_at, opened_at = event.data.created_at.
//   incident.acknowledged -> an ack of the alert whose dedup key the
//     incident carries (event.data.incident_key = the alert's fingerprint):
//     its repeats stop until it resolves. Without an incident_key (an
//     incident agentwatch did not open) it is ignored.
//   Every other event type (incident.triggered, pagey.ping, ...) is
//   acknowledged and ignored.
//
// Slack interactivity (POST /v1/webhooks/slack)
//   Verified with X-Slack-Signature: "v0=<hex HMAC-SHA256(secret,
//   "v0:" + X-Slack-Request-Timestamp + ":" + raw body)>", the timestamp at
//   most 5 minutes from now (either way).
//   The body is application/x-www-form-urlencoded with one field, `payload`,
//   holding JSON. A `block_actions` payload yields one Feedback per button
//   action whose `value` is ours, in either form:
//       "confirm:<investigation_id>"  |  "override:<investigation_id>"
//       {"investigation_id": "inv-7f3a", "verdict": "confirm",
//        "agent": "incident-response", "reason": "..."}   (agent, reason optional)
//   (the id is everything after the first ':'). Buttons with another value
//   are not ours and are ignored. actor = user.username, else user.name,
//   else user.id; ts = the action's action_ts (Slack's "1700000000.123456"),
//   else now. A button whose action_id is kSlackSilenceActionId
//   ("Silence 1h" on a notification) asks for a silence of the alert whose
//   fingerprint is its value. Other payload types (view_submission,
//   shortcut, ...) are ignored.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/common/silence.h"
#include "daemon/common/status.h"
#include "daemon/common/types.h"
#include "daemon/ingest/parser.h"

namespace aw::ingest {

// What a verified webhook body maps to. Empty records with `ignored` set:
// a well-formed event that agentwatch does not use (acknowledge it with a
// 2xx so the sender does not retry).
struct WebhookRecords {
  std::vector<Feedback> feedback;
  std::vector<Resolution> resolutions;
  // Fingerprints of alerts whose PagerDuty incident was acknowledged.
  std::vector<std::string> acknowledged;
  // "Silence 1h" clicks: the alert's fingerprint and who clicked.
  struct SilenceClick {
    std::string fingerprint;
    std::string actor;
  };
  std::vector<SilenceClick> silence_clicks;
  bool ignored = false;
  std::string kind;  // the event type / payload type, for logs
};

// ---- PagerDuty Webhooks v3 ----

// True when any "v1=" entry of `header` equals the hex HMAC-SHA256 of `body`
// under `secret`. Every entry is compared (constant time, no early exit).
// False for an empty secret or a header without v1 entries.
bool VerifyPagerDutySignature(std::string_view header, std::string_view body,
                              std::string_view secret);

// Parses one v3 envelope ({"event": {...}}). Errors name the field, e.g.
// "event.occurred_at: must be an RFC 3339 time ...".
Result<WebhookRecords> ParsePagerDutyWebhook(std::string_view body, const ParseOptions& options);

// ---- Slack ----

// OK when `signature` is "v0=" + hex HMAC-SHA256(secret, "v0:" + timestamp
// + ":" + body) and `timestamp` (Unix seconds) is within 300 s of now_ms.
// The error names the header and the reason.
Status VerifySlackSignature(std::string_view timestamp, std::string_view signature,
                            std::string_view body, std::string_view secret, TimeMs now_ms);

// Decodes application/x-www-form-urlencoded text and returns the value of
// `key` ('+' is a space, %XX a byte). nullopt when absent or badly encoded.
std::optional<std::string> FormValue(std::string_view form, std::string_view key);

// Parses an interaction body (form-encoded, with a `payload` field).
// Errors name the field, e.g. "payload.actions[0].value: ...".
Result<WebhookRecords> ParseSlackInteraction(std::string_view body, const ParseOptions& options);

// One button value in either form above. nullopt: not an agentwatch button.
// An error: ours, but invalid (names the problem).
std::optional<Result<Feedback>> ParseSlackActionValue(std::string_view value,
                                                      const ParseOptions& options);

}  // namespace aw::ingest
