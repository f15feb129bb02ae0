#include "daemon/ingest/webhooks.h"

#include <cstdint>

#include <nlohmann/json.hpp>

#include "daemon/common/hmac.h"
#include "daemon/common/time_util.h"

namespace aw::ingest {

using json = nlohmann::json;

namespace {

constexpr int64_t kSlackMaxSkewSeconds = 300;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The record validators name their own fields ("resolved_at: ..."); a
// webhook's error names the field of the webhook's payload instead.
std::string RenameField(const std::string& message,
                        std::initializer_list<std::pair<const char*, std::string>> names,
                        const std::string& otherwise) {
  for (const auto& [from, to] : names) {
    const std::string prefix = std::string(from) + ":";
    if (message.rfind(prefix, 0) == 0) return to + message.substr(std::string(from).size());
  }
  return otherwise + ": " + message;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> FormDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = HexDigit(s[i + 1]);
      const int lo = HexDigit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// A copy of `v` that is safe to take from untrusted JSON: copying a nested
// value recurses once per level, and a 4 MiB body can nest a million deep.
// A structure becomes an empty one of its kind, which the record validators
// reject by type ("must be a string") just the same.
// A record built here, as the text the record parsers read. Its strings
// come from parsed JSON (valid UTF-8); replacing keeps this from throwing.
std::string Text(const json& record) {
  return record.dump(-1, ' ', false, json::error_handler_t::replace);
}

json Shallow(const json& v) {
  if (v.is_array()) return json::array();
  if (v.is_object()) return json::object();
  return v;
}

// Slack's action_ts: "1700000000.123456" (seconds with a fraction).
std::optional<TimeMs> ParseSlackTs(std::string_view s) {
  int64_t secs = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] != '.'; ++i) {
    if (s[i] < '0' || s[i] > '9' || i >= 11) return std::nullopt;
    secs = secs * 10 + (s[i] - '0');
  }
  if (i == 0) return std::nullopt;
  int64_t ms = 0;
  int digits = 0;
  if (i < s.size()) {
    for (++i; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      if (digits < 3) {
        ms = ms * 10 + (s[i] - '0');
        ++digits;
      }
    }
  }
  while (digits < 3) {
    ms *= 10;
    ++digits;
  }
  return secs * 1000 + ms;
}

// Builds and validates one verdict. `value` is the button's value;
// returns nullopt when it is not an agentwatch button.
std::optional<Result<Feedback>> ActionToFeedback(std::string_view value, const std::string& actor,
                                                 std::optional<TimeMs> ts_ms,
                                                 const ParseOptions& options) {
  json record = json::object();
  const std::string_view v = Trim(value);
  if (!v.empty() && v.front() == '{') {
    json j = json::parse(v, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("investigation_id")) {
      return std::nullopt;
    }
    for (const char* key : {"investigation_id", "verdict", "agent", "reason"}) {
      if (const auto it = j.find(key); it != j.end()) record[key] = Shallow(*it);
    }
  } else {
    const size_t colon = v.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const std::string_view verdict = v.substr(0, colon);
    if (verdict != "confirm" && verdict != "override") return std::nullopt;
    record["verdict"] = std::string(verdict);
    record["investigation_id"] = std::string(v.substr(colon + 1));
  }
  if (!actor.empty()) record["actor"] = actor;
  if (ts_ms) record["ts"] = FormatRfc3339(*ts_ms);
  return FeedbackFromJson(Text(record), options);
}

}  // namespace

bool VerifyPagerDutySignature(std::string_view header, std::string_view body,
                              std::string_view secret) {
  if (secret.empty()) return false;
  const std::string expected = HmacSha256Hex(secret, body);
  bool match = false;
  size_t start = 0;
  while (start <= header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    const std::string_view entry = Trim(header.substr(start, end - start));
    if (entry.size() > 3 && entry.substr(0, 3) == "v1=") {
      // No early exit: every entry costs the same whatever it holds.
      match |= ConstantTimeEquals(entry.substr(3), expected);
    }
    start = end + 1;
  }
  return match;
}

Result<WebhookRecords> ParsePagerDutyWebhook(std::string_view body, const ParseOptions& options) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return Status::InvalidArgument("body: malformed JSON");
  if (!doc.is_object()) {
    return Status::InvalidArgument("body: must be a PagerDuty v3 envelope {\"event\": {...}}");
  }
  const auto event = doc.find("event");
  if (event == doc.end() || event->is_null()) {
    return Status::InvalidArgument("event: is required (a PagerDuty v3 envelope)");
  }
  if (!event->is_object()) return Status::InvalidArgument("event: must be an object");
  const auto type = event->find("event_type");
  if (type == event->end() || !type->is_string()) {
    return Status::InvalidArgument("event.event_type: must be a string");
  }
  WebhookRecords out;
  out.kind = type->get<std::string>();
  if (out.kind == "incident.acknowledged") {
    const auto data = event->find("data");
    if (data == event->end() || !data->is_object()) {
      return Status::InvalidArgument("event.data: must be an incident object");
    }
    const auto key = data->find("incident_key");
    if (key != data->end() && !key->is_null() && !key->is_string()) {
      return Status::InvalidArgument("event.data.incident_key: must be a string");
    }
    if (key != data->end() && key->is_string() && !key->get_ref<const std::string&>().empty()) {
      out.acknowledged.push_back(key->get<std::string>());
    }
    out.ignored = out.acknowledged.empty();
    return out;
  }
  if (out.kind != "incident.resolved") {
    out.ignored = true;
    return out;
  }
  const auto data = event->find("data");
  if (data == event->end() || !data->is_object()) {
    return Status::InvalidArgument("event.data: must be an incident object");
  }
  const auto occurred = event->find("occurred_at");
  if (occurred == event->end() || occurred->is_null()) {
    return Status::InvalidArgument("event.occurred_at: is required");
  }
  const auto id = data->find("id");
  if (id == data->end() || id->is_null()) {
    return Status::InvalidArgument("event.data.id: is required");
  }
  std::vector<json> ids = {Shallow(*id)};
  if (const auto number = data->find("number"); number != data->end() && !number->is_null()) {
    if (!number->is_number_integer() || number->get<int64_t>() < 0) {
      return Status::InvalidArgument("event.data.number: must be a non-negative integer");
    }
    ids.push_back(std::to_string(number->get<int64_t>()));
  }
  for (const json& incident : ids) {
    json record = {{"incident_id", incident}, {"resolved_at", Shallow(*occurred)}};
    if (const auto created = data->find("created_at"); created != data->end()) {
      record["opened_at"] = Shallow(*created);
    }
    Result<Resolution> r = ResolutionFromJson(Text(record), options);
    if (!r.ok()) {
      return Status::InvalidArgument(RenameField(r.status().message(),
                                                 {{"incident_id", "event.data.id"},
                                                  {"resolved_at", "event.occurred_at"},
                                                  {"opened_at", "event.data.created_at"}},
                                                 "event"));
    }
    out.resolutions.push_back(std::move(r).value());
  }
  return out;
}

Status VerifySlackSignature(std::string_view timestamp, std::string_view signature,
                            std::string_view body, std::string_view secret, TimeMs now_ms) {
  if (secret.empty()) return Status::InvalidArgument("slack_signing_secret: not configured");
  if (timestamp.empty()) return Status::InvalidArgument("X-Slack-Request-Timestamp: is required");
  int64_t ts = 0;
  for (char c : timestamp) {
    if (c < '0' || c > '9' || ts > 100'000'000'000LL) {
      return Status::InvalidArgument("X-Slack-Request-Timestamp: must be Unix seconds");
    }
    ts = ts * 10 + (c - '0');
  }
  if (signature.empty()) return Status::InvalidArgument("X-Slack-Signature: is required");
  std::string base = "v0:";
  base.append(timestamp);
  base.push_back(':');
  base.append(body);
  const std::string expected = "v0=" + HmacSha256Hex(secret, base);
  if (!ConstantTimeEquals(signature, expected)) {
    return Status::InvalidArgument("X-Slack-Signature: does not match the body");
  }
  const int64_t now_s = now_ms / 1000;
  if (ts < now_s - kSlackMaxSkewSeconds || ts > now_s + kSlackMaxSkewSeconds) {
    return Status::InvalidArgument(
        "X-Slack-Request-Timestamp: more than 5 minutes from now (a replay?)");
  }
  return Status::Ok();
}

std::optional<std::string> FormValue(std::string_view form, std::string_view key) {
  size_t start = 0;
  while (start <= form.size()) {
    size_t end = form.find('&', start);
    if (end == std::string_view::npos) end = form.size();
    const std::string_view pair = form.substr(start, end - start);
    const size_t eq = pair.find('=');
    const auto name = FormDecode(pair.substr(0, eq));
    if (name && *name == key) {
      if (eq == std::string_view::npos) return std::string();
      return FormDecode(pair.substr(eq + 1));
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::optional<Result<Feedback>> ParseSlackActionValue(std::string_view value,
                                                      const ParseOptions& options) {
  return ActionToFeedback(value, "", std::nullopt, options);
}

Result<WebhookRecords> ParseSlackInteraction(std::string_view body, const ParseOptions& options) {
  const std::optional<std::string> payload = FormValue(body, "payload");
  if (!payload) {
    return Status::InvalidArgument(
        "payload: missing or badly encoded form field (expected "
        "application/x-www-form-urlencoded payload=<JSON>)");
  }
  const json p = json::parse(*payload, nullptr, false);
  if (p.is_discarded()) return Status::InvalidArgument("payload: malformed JSON");
  if (!p.is_object()) return Status::InvalidArgument("payload: must be a JSON object");
  const auto type = p.find("type");
  if (type == p.end() || !type->is_string()) {
    return Status::InvalidArgument("payload.type: must be a string");
  }
  WebhookRecords out;
  out.kind = type->get<std::string>();
  if (out.kind != "block_actions") {
    out.ignored = true;
    return out;
  }
  std::string actor;
  const auto user = p.find("user");
  if (user != p.end() && !user->is_null()) {
    if (!user->is_object()) return Status::InvalidArgument("payload.user: must be an object");
    for (const char* k : {"username", "name", "id"}) {
      const auto it = user->find(k);
      if (it != user->end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
        actor = it->get<std::string>();
        break;
      }
    }
  }
  const auto actions = p.find("actions");
  if (actions == p.end() || !actions->is_array()) {
    return Status::InvalidArgument("payload.actions: must be an array");
  }
  for (size_t i = 0; i < actions->size(); ++i) {
    const json& a = (*actions)[i];
    const std::string field = "payload.actions[" + std::to_string(i) + "]";
    if (!a.is_object()) return Status::InvalidArgument(field + ": must be an object");
    const auto atype = a.find("type");
    if (atype != a.end() && *atype != "button") continue;  // a select, a date picker: not ours
    const auto value = a.find("value");
    if (value == a.end() || !value->is_string()) continue;
    if (const auto id = a.find("action_id"); id != a.end() && *id == kSlackSilenceActionId) {
      if (value->get_ref<const std::string&>().empty()) {
        return Status::InvalidArgument(field + ".value: must be an alert fingerprint");
      }
      out.silence_clicks.push_back({value->get<std::string>(), actor.empty() ? "slack" : actor});
      continue;
    }
    std::optional<TimeMs> ts;
    if (const auto ats = a.find("action_ts"); ats != a.end() && ats->is_string()) {
      ts = ParseSlackTs(ats->get_ref<const std::string&>());
    }
    auto fb = ActionToFeedback(value->get_ref<const std::string&>(), actor, ts, options);
    if (!fb) continue;
    if (!fb->ok()) {
      return Status::InvalidArgument(RenameField(
          fb->status().message(),
          {{"actor", "payload.user.username"}, {"ts", field + ".action_ts"}}, field + ".value"));
    }
    out.feedback.push_back(std::move(*fb).value());
  }
  out.ignored = out.feedback.empty() && out.silence_clicks.empty();
  return out;
}

}  // namespace aw::ingest
