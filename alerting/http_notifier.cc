#include "alerting/http_notifier.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <utility>

#include "alerting/group_payloads.h"

namespace aw::alerting {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::string Env(const char* upper, const char* lower) {
  if (const char* v = std::getenv(upper); v != nullptr && *v != '\0') return v;
  if (const char* v = std::getenv(lower); v != nullptr && *v != '\0') return v;
  return "";
}

bool IsLoopback(const std::string& host) {
  std::string h = Lower(host);
  return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0 ||
         (h.size() > 10 && h.compare(h.size() - 10, 10, ".localhost") == 0);
}

// NO_PROXY entries: "*", "host", ".suffix" or "suffix" (matches the host and
// its subdomains, as curl does); a ":port" on an entry is ignored.
bool NoProxyMatches(const std::string& host, const std::string& no_proxy) {
  std::string h = Lower(host);
  size_t pos = 0;
  while (pos <= no_proxy.size()) {
    size_t comma = no_proxy.find(',', pos);
    if (comma == std::string::npos) comma = no_proxy.size();
    std::string entry = Lower(Trim(no_proxy.substr(pos, comma - pos)));
    pos = comma + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (entry.front() != '[') {
      size_t colon = entry.find(':');
      if (colon != std::string::npos && entry.find(':', colon + 1) == std::string::npos) {
        entry.resize(colon);
      }
    }
    if (!entry.empty() && entry.front() == '.') entry.erase(0, 1);
    if (h == entry) return true;
    if (h.size() > entry.size() && h.compare(h.size() - entry.size(), entry.size(), entry) == 0 &&
        h[h.size() - entry.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

std::string BodyPrefix(const std::string& body) {
  constexpr size_t kMax = 200;
  return body.size() <= kMax ? body : body.substr(0, kMax) + "...";
}

}  // namespace

const char* DeliveryStatusName(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kDelivered:
      return "delivered";
    case DeliveryStatus::kRetryable:
      return "retryable";
    case DeliveryStatus::kPermanent:
      return "permanent";
  }
  return "unknown";
}

std::string ParsedUrl::SchemeHostPort() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

std::optional<ParsedUrl> ParseUrl(const std::string& url) {
  ParsedUrl out;
  size_t sep = url.find("://");
  if (sep == std::string::npos) return std::nullopt;
  out.scheme = Lower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") return std::nullopt;
  size_t start = sep + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string authority =
      url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  out.path = end == std::string::npos ? "/" : url.substr(end);
  if (out.path.front() != '/') out.path = "/" + out.path;
  if (size_t hash = out.path.find('#'); hash != std::string::npos) {
    out.path.resize(hash);
  }
  if (size_t at = authority.rfind('@'); at != std::string::npos) {
    authority.erase(0, at + 1);  // userinfo is not supported; drop it
  }
  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      port_text = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return std::nullopt;
  if (port_text.empty()) {
    out.port = out.scheme == "https" ? 443 : 80;
  } else {
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || out.port <= 0 ||
        out.port > 65535) {
      return std::nullopt;
    }
  }
  return out;
}

Millis ParseRetryAfter(const std::string& raw, TimeMs now) {
  std::string value = Trim(raw);
  if (value.empty()) return Millis(0);
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    int64_t seconds = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    // Cap absurd values at a day; the outbox's max age bounds them anyway.
    if (ec != std::errc()) return Millis(24LL * 3600 * 1000);
    return Millis(std::min<int64_t>(seconds, 24LL * 3600) * 1000);
  }
  // IMF-fixdate, the only HTTP-date form senders may generate (RFC 9110).
  std::tm tm{};
  const char* end = strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return Millis(0);
  TimeMs at = static_cast<TimeMs>(timegm(&tm)) * 1000;
  return at > now ? Millis(at - now) : Millis(0);
}

std::optional<ParsedUrl> ProxyFor(const ParsedUrl& target, const std::string& https_proxy,
                                  const std::string& http_proxy, const std::string& no_proxy) {
  if (IsLoopback(target.host) || NoProxyMatches(target.host, no_proxy)) {
    return std::nullopt;
  }
  const std::string& proxy = target.scheme == "https" ? https_proxy : http_proxy;
  if (proxy.empty()) return std::nullopt;
  // "host:port" without a scheme is common in the wild.
  std::string with_scheme = proxy.find("://") == std::string::npos ? "http://" + proxy : proxy;
  return ParseUrl(with_scheme);
}

HttpNotifier::HttpNotifier() : HttpNotifier(Options{}) {}

HttpNotifier::HttpNotifier(Options options)
    : options_(std::move(options)),
      https_proxy_(options_.https_proxy.value_or(Env("HTTPS_PROXY", "https_proxy"))),
      http_proxy_(options_.http_proxy.value_or(Env("HTTP_PROXY", "http_proxy"))),
      no_proxy_(options_.no_proxy.value_or(Env("NO_PROXY", "no_proxy"))) {}

Result<HttpNotifier::Request> HttpNotifier::BuildRequest(const ReceiverOptions& r,
                                                         const AlertEvent& event,
                                                         TimeMs now) const {
  std::string body;
  switch (r.kind) {
    case ReceiverOptions::Kind::kPagerDuty:
      body = BuildPagerDutyEvent(r.routing_key, event, options_.payload, now);
      break;
    case ReceiverOptions::Kind::kSlack:
      body = BuildSlackMessage(event, options_.payload);
      break;
    case ReceiverOptions::Kind::kWebhook:
      body = BuildWebhookV4(r.name, event, options_.payload);
      break;
    case ReceiverOptions::Kind::kAlertmanager:
      body = BuildAlertmanagerAlerts(event, options_.payload, now);
      break;
  }
  return MakeRequest(r, std::move(body));
}

namespace {

std::string ReceiverUrl(const ReceiverOptions& r) {
  if (r.kind != ReceiverOptions::Kind::kAlertmanager) return r.url;
  std::string url = r.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/api/v2/alerts";
}

}  // namespace

Result<HttpNotifier::Request> HttpNotifier::MakeRequest(const ReceiverOptions& r,
                                                        std::string body) const {
  const std::string url = ReceiverUrl(r);
  Request request;
  auto parsed = ParseUrl(url);
  if (!parsed) {
    return Status::InvalidArgument("receiver " + r.name + ": unusable URL \"" + url + "\"");
  }
  request.url = *parsed;
  request.body = std::move(body);
  if (r.kind == ReceiverOptions::Kind::kWebhook && !r.secret.empty()) {
    request.signature = WebhookSignature(r.secret, request.body);
  }
  return request;
}

DeliveryResult HttpNotifier::SendGroup(const ReceiverOptions& r, const GroupNotification& group,
                                       TimeMs now) noexcept {
  try {
    std::vector<std::string> bodies;
    switch (r.kind) {
      case ReceiverOptions::Kind::kPagerDuty:
        bodies = BuildGroupPagerDutyEvents(r.routing_key, group, options_.payload, now);
        break;
      case ReceiverOptions::Kind::kSlack:
        bodies.push_back(BuildGroupSlackMessage(group, options_.payload));
        break;
      case ReceiverOptions::Kind::kWebhook:
        bodies.push_back(BuildGroupWebhookV4(r.name, group, options_.payload));
        break;
      case ReceiverOptions::Kind::kAlertmanager:
        bodies.push_back(BuildGroupAlertmanagerAlerts(group, options_.payload, now));
        break;
    }
    for (std::string& body : bodies) {
      auto request = MakeRequest(r, std::move(body));
      if (!request.ok()) return DeliveryResult::Permanent(request.status().message());
      DeliveryResult result = Post(r, *request, now);
      if (result.status != DeliveryStatus::kDelivered) return result;
    }
    return DeliveryResult::Delivered();
  } catch (const std::exception& e) {
    return DeliveryResult::Retryable(std::string("internal error: ") + e.what());
  } catch (...) {
    return DeliveryResult::Retryable("internal error");
  }
}

DeliveryResult HttpNotifier::Send(const ReceiverOptions& receiver, const AlertEvent& event,
                                  TimeMs now) noexcept {
  try {
    auto request = BuildRequest(receiver, event, now);
    if (!request.ok()) {
      return DeliveryResult::Permanent(request.status().message());
    }
    return Post(receiver, *request, now);
  } catch (const std::exception& e) {
    // Nothing here should throw; if it does, the next attempt may succeed.
    return DeliveryResult::Retryable(std::string("internal error: ") + e.what());
  } catch (...) {
    return DeliveryResult::Retryable("internal error");
  }
}

DeliveryResult HttpNotifier::Post(const ReceiverOptions& receiver, const Request& request,
                                  TimeMs now) const {
  httplib::Client client(request.url.SchemeHostPort());
  if (!client.is_valid()) {
    return DeliveryResult::Permanent("cannot create a client for " + request.url.SchemeHostPort());
  }
  client.set_connection_timeout(receiver.timeout);
  client.set_read_timeout(receiver.timeout);
  client.set_write_timeout(receiver.timeout);
  client.set_follow_location(false);
  client.set_keep_alive(false);
  if (!options_.ca_cert_path.empty()) {
    client.set_ca_cert_path(options_.ca_cert_path);
  }
  if (auto proxy = ProxyFor(request.url, https_proxy_, http_proxy_, no_proxy_)) {
    client.set_proxy(proxy->host, proxy->port);
  }
  httplib::Headers headers = {{"User-Agent", options_.user_agent}};
  if (!request.signature.empty()) {
    headers.emplace(kSignatureHeader, request.signature);
  }
  auto res = client.Post(request.url.path, headers, request.body, "application/json");
  if (!res) {
    return DeliveryResult::Retryable("POST " + request.url.SchemeHostPort() + ": " +
                                     httplib::to_string(res.error()));
  }
  int code = res->status;
  if (code >= 200 && code < 300) return DeliveryResult::Delivered(code);
  std::string error = "HTTP " + std::to_string(code) + ": " + BodyPrefix(res->body);
  if (code == 429 || code >= 500) {
    return DeliveryResult::Retryable(
        std::move(error), ParseRetryAfter(res->get_header_value("Retry-After"), now), code);
  }
  return DeliveryResult::Permanent(std::move(error), code);
}

}  // namespace aw::alerting
