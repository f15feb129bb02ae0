#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "alerting/alert_json.h"
#include "alerting/receiver.h"
#include "daemon/common/types.h"
#include "tests/testing/fake_clock.h"

namespace aw::alerting::test {

// 2025-11-24T16:00:00Z, FakeClock's default start.
inline constexpr TimeMs kStart = 1'764'000'000'000;

inline AlertEvent FiringEvent(const std::string& name = "low_accuracy") {
  AlertEvent e;
  e.name = name;
  e.labels = {{"agent", "incident-response"}, {"severity", "page"}, {"team", "sre"}};
  e.annotations = {{"summary", "Override rate is high"}};
  e.value = 0.31;
  e.threshold = 0.2;
  e.op.assign(1, '>');  // not = ">": GCC 12 -Wrestrict false positive (bug 105329)
  e.sli = "override_rate";
  e.window = "1h";
  e.active_since_ms = kStart - 300'000;
  e.fired_at_ms = kStart;
  e.fingerprint = "b1946ac92492d234";
  return e;
}

inline std::string Payload(const AlertEvent& e) { return AlertEventToJson(e); }

// A builder's body (payloads.h) parsed, for field-by-field assertions.
inline nlohmann::json Json(const std::string& body) { return nlohmann::json::parse(body); }

inline ReceiverOptions Webhook(const std::string& name, const std::string& url,
                               const std::string& secret = "") {
  ReceiverOptions r;
  r.name = name;
  r.kind = ReceiverOptions::Kind::kWebhook;
  r.url = url;
  r.secret = secret;
  r.timeout = Millis(5000);
  return r;
}

inline ReceiverOptions PagerDuty(const std::string& name, const std::string& url) {
  ReceiverOptions r;
  r.name = name;
  r.kind = ReceiverOptions::Kind::kPagerDuty;
  r.url = url;
  r.routing_key = std::string(32, 'k');
  r.timeout = Millis(5000);
  return r;
}

inline ReceiverOptions Slack(const std::string& name, const std::string& url) {
  ReceiverOptions r;
  r.name = name;
  r.kind = ReceiverOptions::Kind::kSlack;
  r.url = url;
  r.timeout = Millis(5000);
  return r;
}

inline ReceiverOptions Alertmanager(const std::string& name, const std::string& url) {
  ReceiverOptions r;
  r.name = name;
  r.kind = ReceiverOptions::Kind::kAlertmanager;
  r.url = url;
  r.timeout = Millis(5000);
  return r;
}

}  // namespace aw::alerting::test
