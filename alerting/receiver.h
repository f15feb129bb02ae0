#pragma once

// What delivery needs to know about one receiver. The daemon builds these
// from its config; alerting/ itself knows nothing of the config file.
// Plain values, immutable once the sender holds them; safe to share.

#include <string>
#include <vector>

#include "daemon/common/clock.h"

namespace aw::alerting {

// Alertmanager's notification grouping for one receiver (grouping.h).
struct GroupingOptions {
  // false: every change goes out at once, one alert per message.
  bool enabled = false;
  bool by_all = true;           // each alert its own group (keyed by all its labels)
  std::vector<std::string> by;  // label names when !by_all
  Millis wait{0};
  Millis interval{5LL * 60 * 1000};
  Millis repeat{0};  // the daemon always sets it (repeat_interval)
};

struct ReceiverOptions {
  enum class Kind { kPagerDuty, kSlack, kWebhook, kAlertmanager };
  std::string name;
  Kind kind = Kind::kWebhook;
  // Where to POST: PagerDuty's Events API v2 URL, the Slack incoming
  // webhook, the webhook URL, or Alertmanager's base URL (we POST
  // {url}/api/v2/alerts).
  std::string url;
  std::string routing_key;  // PagerDuty only
  std::string secret;       // webhook only: HMAC key; empty: unsigned
  Millis timeout{10'000};   // connect, read and write, each
  GroupingOptions grouping;
};

}  // namespace aw::alerting
