#include "alerting/payloads.h"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "daemon/common/silence.h"
#include "daemon/common/time_util.h"

namespace aw::alerting {
namespace {

using nlohmann::json;

json SlackAlertBlocksJson(const AlertEvent& e, const PayloadOptions& o);
void AddSilenceButtonJson(const AlertEvent& e, json& message);

// Invalid UTF-8 in a label must not throw: replaced by U+FFFD.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Alertmanager writes the zero Go time for a firing alert's endsAt.
constexpr char kZeroTime[] = "0001-01-01T00:00:00Z";

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

json LabelsJson(const Labels& labels) {
  json out = json::object();
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

json Number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string Agent(const AlertEvent& e) {
  auto it = e.labels.find("agent");
  return it == e.labels.end() ? "" : it->second;
}

std::string Annotation(const AlertEvent& e, const char* key) {
  auto it = e.annotations.find(key);
  return it == e.annotations.end() ? "" : it->second;
}

TimeMs StartsAt(const AlertEvent& e) {
  return e.fired_at_ms != 0 ? e.fired_at_ms : e.active_since_ms;
}

// "override_rate p95" or "override_rate".
std::string SliText(const AlertEvent& e) {
  if (e.sli.empty()) return "value";
  return e.stat.empty() ? e.sli : e.sli + " " + e.stat;
}

// Slack mrkdwn treats these three as control characters.
std::string SlackEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Go's %q-style quoting, enough for label values in a groupKey.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string GeneratorUrl(const AlertEvent& e, const PayloadOptions& o) {
  return AlertPageUrl(o.external_url, e.fingerprint);
}

}  // namespace

std::string AlertPageUrl(const std::string& external_url, const std::string& fingerprint) {
  if (external_url.empty()) return "";
  std::string base = external_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/alerts/" + fingerprint;
}

std::string PagerDutySeverity(const Labels& labels) {
  auto it = labels.find("severity");
  if (it == labels.end()) return "error";
  const std::string& s = it->second;
  if (s == "critical" || s == "error" || s == "warning" || s == "info") {
    return s;
  }
  if (s == "page") return "critical";
  if (s == "ticket") return "warning";
  return "error";
}

std::string TruncateRunes(const std::string& text, size_t max_runes) {
  // Count code points by their lead bytes (anything but 10xxxxxx).
  size_t runes = 0;
  for (unsigned char c : text) runes += (c & 0xC0) != 0x80;
  if (runes <= max_runes) return text;
  if (max_runes == 0) return "";
  size_t keep = max_runes - 1;  // room for the ellipsis
  size_t seen = 0, i = 0;
  for (; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) {
      if (seen == keep) break;
      ++seen;
    }
  }
  return text.substr(0, i) + "\xE2\x80\xA6";  // U+2026 …
}

std::string AlertHeadline(const AlertEvent& e) {
  std::string agent = Agent(e);
  std::string out = e.name;
  if (!agent.empty()) out += " on " + agent;
  if (e.resolved) {
    out += " resolved: " + SliText(e) + " " + FormatNumber(e.value) + " (threshold " + e.op + " " +
           FormatNumber(e.threshold);
    if (!e.window.empty()) out += ", " + e.window;
    return out + ")";
  }
  out += ": " + SliText(e) + " " + FormatNumber(e.value) + " " + e.op + " " +
         FormatNumber(e.threshold);
  if (!e.window.empty()) out += " (" + e.window + ")";
  return out;
}

Labels AlertLabels(const AlertEvent& e) {
  Labels labels = e.labels;
  labels["alertname"] = e.name;
  return labels;
}

namespace {

json PagerDutyEventJson(const std::string& routing_key, const AlertEvent& e,
                        const PayloadOptions& o, TimeMs now) {
  json out = {{"routing_key", routing_key},
              {"event_action", e.resolved ? "resolve" : "trigger"},
              {"dedup_key", e.fingerprint}};
  if (e.resolved) return out;  // resolve needs only the three above

  std::string summary = Annotation(e, "summary");
  if (summary.empty()) summary = AlertHeadline(e);
  std::string agent = Agent(e);
  TimeMs ts = e.fired_at_ms != 0 ? e.fired_at_ms : now;
  json details = {{"value", Number(e.value)},
                  {"threshold", Number(e.threshold)},
                  {"op", e.op},
                  {"window", e.window},
                  {"stat", e.stat},
                  {"labels", LabelsJson(AlertLabels(e))},
                  {"annotations", LabelsJson(e.annotations)}};
  if (e.active_since_ms != 0) {
    details["active_since"] = FormatRfc3339(e.active_since_ms);
  }
  json payload = {{"summary", TruncateRunes(summary, kPagerDutySummaryMaxRunes)},
                  {"source", agent.empty() ? "agentwatch" : agent},
                  {"severity", PagerDutySeverity(e.labels)},
                  {"timestamp", FormatRfc3339(ts)},
                  {"group", e.name},
                  {"class", e.sli},
                  {"custom_details", std::move(details)}};
  if (!agent.empty()) payload["component"] = agent;
  out["payload"] = std::move(payload);
  out["client"] = "agentwatch";
  json links = json::array();
  if (const std::string page = AlertPageUrl(o.external_url, e.fingerprint); !page.empty()) {
    out["client_url"] = page;
    links.push_back({{"href", page}, {"text", "Alert page"}});
  }
  for (const auto& [key, text] :
       {std::pair{"runbook_url", "Runbook"}, std::pair{"dashboard_url", "Dashboard"}}) {
    if (std::string url = Annotation(e, key); !url.empty()) {
      links.push_back({{"href", std::move(url)}, {"text", text}});
    }
  }
  if (!links.empty()) out["links"] = std::move(links);
  return out;
}

json SlackMessageJson(const AlertEvent& e, const PayloadOptions& o) {
  std::string agent = Agent(e);
  std::string text = e.resolved ? ":white_check_mark: *[RESOLVED] " : ":rotating_light: *[FIRING] ";
  text += SlackEscape(e.name) + "*";
  if (!agent.empty()) text += " on agent `" + SlackEscape(agent) + "`";
  text += "\n";
  std::string window = e.window.empty() ? "" : " over " + e.window;
  if (e.resolved) {
    text += SlackEscape(SliText(e) + " is now " + FormatNumber(e.value) + " (threshold " + e.op +
                        " " + FormatNumber(e.threshold) + window + ")");
  } else {
    text += SlackEscape(SliText(e) + " = " + FormatNumber(e.value) + " " + e.op + " " +
                        FormatNumber(e.threshold) + window);
  }
  for (const char* key : {"summary", "description"}) {
    std::string a = Annotation(e, key);
    if (a.empty()) continue;
    // Appending piecewise: g++ 12 warns (-Wrestrict, a false positive, GCC
    // bug 105329) on `"\n" + std::string` here.
    text += '\n';
    text += SlackEscape(a);
  }
  std::string others;
  for (const auto& [k, v] : e.labels) {
    if (k == "agent") continue;
    others += (others.empty() ? "" : ", ") + k + "=" + v;
  }
  if (!others.empty()) text += "\nLabels: " + SlackEscape(others);
  if (StartsAt(e) != 0) {
    text += "\nFiring since " + FormatRfc3339(StartsAt(e));
    if (e.resolved && e.resolved_at_ms != 0) {
      text += ", resolved at " + FormatRfc3339(e.resolved_at_ms);
    }
  }
  std::string runbook = Annotation(e, "runbook_url");
  if (!runbook.empty()) text += "\n<" + runbook + "|Runbook>";
  std::string dashboard = Annotation(e, "dashboard_url");
  if (!dashboard.empty()) text += "\n<" + dashboard + "|Dashboard>";
  if (std::string page = AlertPageUrl(o.external_url, e.fingerprint); !page.empty()) {
    text += "\n<" + page + "|Alert page>";
  }
  // `text` is the notification and fallback; the coloured attachment holds
  // the Block Kit layout.
  text = TruncateRunes(text, kSlackTextMaxRunes);
  json attachment = {
      {"color", SlackColor(e)}, {"fallback", text}, {"blocks", SlackAlertBlocksJson(e, o)}};
  json message{{"text", std::move(text)}, {"attachments", json::array({std::move(attachment)})}};
  AddSilenceButtonJson(e, message);
  return message;
}

}  // namespace

std::string SlackColor(const AlertEvent& e) {
  if (e.resolved) return "#2eb67d";
  auto it = e.labels.find("severity");
  const std::string s = it == e.labels.end() ? "" : it->second;
  if (s == "warning" || s == "ticket") return "#ecb22e";
  if (s == "info") return "#36c5f0";
  return "#e01e5a";  // critical, page, error and anything else
}

// Slack layout, kept apart from the other builders so that more blocks can
// be added after it without touching it.
namespace {

// Limits from Block Kit: header text 150, button text 75, section text
// and fields 3000 and 2000 characters.
constexpr size_t kSlackHeaderMaxRunes = 150;
constexpr size_t kSlackFieldMaxRunes = 2000;

json SlackField(const std::string& title, const std::string& value) {
  return {{"type", "mrkdwn"},
          {"text", TruncateRunes("*" + title + "*\n" + SlackEscape(value), kSlackFieldMaxRunes)}};
}

json SlackButton(const std::string& text, const std::string& url, const std::string& action_id) {
  return {{"type", "button"},
          {"text", {{"type", "plain_text"}, {"text", text}}},
          {"url", url},
          {"action_id", action_id}};
}

json SlackAlertBlocksJson(const AlertEvent& e, const PayloadOptions& o) {
  std::string header = e.resolved ? "[RESOLVED] " : "[FIRING] ";
  header += e.name;
  const std::string agent = Agent(e);
  if (!agent.empty()) header += " on " + agent;
  json blocks = json::array();
  blocks.push_back(
      {{"type", "header"},
       {"text", {{"type", "plain_text"}, {"text", TruncateRunes(header, kSlackHeaderMaxRunes)}}}});
  json fields = json::array();
  fields.push_back(SlackField("Agent", agent.empty() ? "-" : agent));
  fields.push_back(
      SlackField(e.resolved ? "Value (now)" : "Value", SliText(e) + " " + FormatNumber(e.value)));
  fields.push_back(SlackField("Threshold", e.op.empty() ? FormatNumber(e.threshold)
                                                        : e.op + " " + FormatNumber(e.threshold)));
  fields.push_back(SlackField("Window", e.window.empty() ? "-" : e.window));
  if (auto it = e.labels.find("severity"); it != e.labels.end()) {
    fields.push_back(SlackField("Severity", it->second));
  }
  if (StartsAt(e) != 0) {
    fields.push_back(SlackField(
        e.resolved ? "Resolved at" : "Firing since",
        FormatRfc3339(e.resolved && e.resolved_at_ms != 0 ? e.resolved_at_ms : StartsAt(e))));
  }
  blocks.push_back({{"type", "section"}, {"fields", std::move(fields)}});
  std::string about;
  for (const char* key : {"summary", "description"}) {
    std::string a = Annotation(e, key);
    if (a.empty()) continue;
    if (!about.empty()) about += '\n';
    about += SlackEscape(a);
  }
  if (!about.empty()) {
    blocks.push_back(
        {{"type", "section"},
         {"text", {{"type", "mrkdwn"}, {"text", TruncateRunes(about, kSlackTextMaxRunes)}}}});
  }
  json buttons = json::array();
  if (std::string page = AlertPageUrl(o.external_url, e.fingerprint); !page.empty()) {
    buttons.push_back(SlackButton("Alert page", page, "alert_page"));
  }
  if (std::string url = Annotation(e, "runbook_url"); !url.empty()) {
    buttons.push_back(SlackButton("Runbook", url, "runbook"));
  }
  if (std::string url = Annotation(e, "dashboard_url"); !url.empty()) {
    buttons.push_back(SlackButton("Dashboard", url, "dashboard"));
  }
  if (!buttons.empty()) {
    blocks.push_back(
        {{"type", "actions"}, {"block_id", "links"}, {"elements", std::move(buttons)}});
  }
  return blocks;
}

void AddSilenceButtonJson(const AlertEvent& e, json& message) {
  if (e.resolved || e.fingerprint.empty()) return;
  json action = {
      {"type", "actions"},
      {"block_id", "silence"},
      {"elements", json::array({json{{"type", "button"},
                                     {"action_id", kSlackSilenceActionId},
                                     {"text", {{"type", "plain_text"}, {"text", "Silence 1h"}}},
                                     {"value", e.fingerprint}}})}};
  // Our own layout keeps its blocks in the coloured attachment; a message
  // without blocks gets its text as a section first, since Slack shows the
  // blocks and not `text` once there are any.
  if (message.contains("attachments") && message["attachments"].is_array() &&
      !message["attachments"].empty() && message["attachments"][0].contains("blocks")) {
    message["attachments"][0]["blocks"].push_back(std::move(action));
    return;
  }
  if (!message.contains("blocks")) {
    message["blocks"] = json::array({json{
        {"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", message.value("text", "")}}}}});
  }
  message["blocks"].push_back(std::move(action));
}

json WebhookV4Json(const std::string& receiver_name, const AlertEvent& e, const PayloadOptions& o) {
  Labels labels = AlertLabels(e);
  std::string group_key = "{}:{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    group_key += (first ? "" : ", ") + k + "=" + Quote(v);
    first = false;
  }
  group_key += "}";
  const char* status = e.resolved ? "resolved" : "firing";
  json alert = {{"status", status},
                {"labels", LabelsJson(labels)},
                {"annotations", LabelsJson(e.annotations)},
                {"startsAt", FormatRfc3339(StartsAt(e))},
                {"endsAt", e.resolved ? FormatRfc3339(e.resolved_at_ms) : kZeroTime},
                {"generatorURL", GeneratorUrl(e, o)},
                {"fingerprint", e.fingerprint}};
  return json{{"version", "4"},
              {"groupKey", group_key},
              {"truncatedAlerts", 0},
              {"status", status},
              {"receiver", receiver_name},
              {"groupLabels", LabelsJson(labels)},
              {"commonLabels", LabelsJson(labels)},
              {"commonAnnotations", LabelsJson(e.annotations)},
              {"externalURL", o.external_url},
              {"alerts", json::array({std::move(alert)})}};
}

json AlertmanagerAlertsJson(const AlertEvent& e, const PayloadOptions& o, TimeMs now) {
  TimeMs ends = e.resolved ? (e.resolved_at_ms != 0 ? e.resolved_at_ms : now)
                           : now + 4 * o.alertmanager_resend_interval.count();
  json alert = {{"labels", LabelsJson(AlertLabels(e))},
                {"annotations", LabelsJson(e.annotations)},
                {"startsAt", FormatRfc3339(StartsAt(e) != 0 ? StartsAt(e) : now)},
                {"endsAt", FormatRfc3339(ends)}};
  std::string gen = GeneratorUrl(e, o);
  if (!gen.empty()) alert["generatorURL"] = gen;
  return json::array({std::move(alert)});
}

}  // namespace

std::string BuildPagerDutyEvent(const std::string& routing_key, const AlertEvent& event,
                                const PayloadOptions& options, TimeMs now) {
  return Dump(PagerDutyEventJson(routing_key, event, options, now));
}

std::string BuildSlackMessage(const AlertEvent& event, const PayloadOptions& options) {
  return Dump(SlackMessageJson(event, options));
}

std::string SlackAlertBlocks(const AlertEvent& event, const PayloadOptions& options) {
  return Dump(SlackAlertBlocksJson(event, options));
}

std::string AddSlackSilenceButton(const AlertEvent& event, const std::string& message) {
  json j = json::parse(message, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return message;
  AddSilenceButtonJson(event, j);
  return Dump(j);
}

std::string BuildWebhookV4(const std::string& receiver_name, const AlertEvent& event,
                           const PayloadOptions& options) {
  return Dump(WebhookV4Json(receiver_name, event, options));
}

std::string BuildAlertmanagerAlerts(const AlertEvent& event, const PayloadOptions& options,
                                    TimeMs now) {
  return Dump(AlertmanagerAlertsJson(event, options, now));
}

std::string WebhookSignature(const std::string& secret, const std::string& body) {
  return "sha256=" + HmacSha256Hex(secret, body);
}

}  // namespace aw::alerting
