#include "daemon/server/receiver_options.h"

namespace aw::server {

namespace {

alerting::ReceiverOptions::Kind ToKind(ReceiverConfig::Kind kind) {
  using Kind = alerting::ReceiverOptions::Kind;
  switch (kind) {
    case ReceiverConfig::Kind::kPagerDuty:
      return Kind::kPagerDuty;
    case ReceiverConfig::Kind::kSlack:
      return Kind::kSlack;
    case ReceiverConfig::Kind::kWebhook:
      return Kind::kWebhook;
    case ReceiverConfig::Kind::kAlertmanager:
      return Kind::kAlertmanager;
  }
  return Kind::kWebhook;
}

}  // namespace

alerting::ReceiverOptions ToReceiverOptions(const ReceiverConfig& config) {
  // Structured bindings name every member: a field added to the config
  // structs stops this from compiling until it is carried over (or
  // consciously dropped) here.
  const auto& [name, kind, pagerduty, slack, webhook, alertmanager, timeout, grouping] = config;
  const auto& [pd_routing_key, pd_url] = pagerduty;
  const auto& [slack_url] = slack;
  const auto& [webhook_url, webhook_secret] = webhook;
  const auto& [am_url] = alertmanager;
  const auto& [g_enabled, g_by_all, g_by, g_wait, g_interval, g_repeat] = grouping;

  alerting::ReceiverOptions out;
  out.name = name;
  out.kind = ToKind(kind);
  switch (kind) {
    case ReceiverConfig::Kind::kPagerDuty:
      out.url = pd_url;
      break;
    case ReceiverConfig::Kind::kSlack:
      out.url = slack_url;
      break;
    case ReceiverConfig::Kind::kWebhook:
      out.url = webhook_url;
      break;
    case ReceiverConfig::Kind::kAlertmanager:
      out.url = am_url;
      break;
  }
  // Only their kind reads them; carried over whatever the kind.
  out.routing_key = pd_routing_key;
  out.secret = webhook_secret;
  out.timeout = timeout;
  out.grouping.enabled = g_enabled;
  out.grouping.by_all = g_by_all;
  out.grouping.by = g_by;
  out.grouping.wait = g_wait;
  out.grouping.interval = g_interval;
  out.grouping.repeat = g_repeat;
  return out;
}

std::vector<alerting::ReceiverOptions> ToReceiverOptions(
    const std::vector<ReceiverConfig>& configs) {
  std::vector<alerting::ReceiverOptions> out;
  out.reserve(configs.size());
  for (const ReceiverConfig& c : configs) out.push_back(ToReceiverOptions(c));
  return out;
}

}  // namespace aw::server
