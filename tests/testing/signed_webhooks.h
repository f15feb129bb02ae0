#pragma once

// What on-call tools send: form encoding and the signatures of Slack
// interactivity and PagerDuty webhooks, computed as their senders do.

#include <cstdint>
#include <string>

#include <httplib.h>

namespace aw::testing {

// application/x-www-form-urlencoded value: unreserved characters stay,
// everything else is %XX.
std::string FormEncode(const std::string& s);

// X-Slack-Request-Timestamp and X-Slack-Signature (v0, over
// "v0:<timestamp>:<body>").
httplib::Headers SlackSignedHeaders(const std::string& body, int64_t unix_seconds,
                                    const std::string& secret);

// X-PagerDuty-Signature (v1, over the body).
httplib::Headers PagerDutySignedHeaders(const std::string& body, const std::string& secret);

}  // namespace aw::testing
