#pragma once

// The real Notifier: one HTTP POST per call with cpp-httplib (HTTPS through
// OpenSSL), body from alerting/payloads.h by receiver kind:
//   pagerduty    POST url (Events API v2)
//   slack        POST url (incoming webhook)
//   webhook      POST url, Alertmanager webhook v4 JSON, plus
//                X-Agentwatch-Signature: sha256=<hex HMAC> when secret set
//   alertmanager POST url + "/api/v2/alerts"
// Connect, read and write timeouts are ReceiverOptions::timeout. A proxy is
// taken from HTTPS_PROXY / HTTP_PROXY (or lower-case) at construction;
// NO_PROXY is honoured and loopback never goes through a proxy.
// Owns no connection between calls; thread-safe (see HttpNotifier).

#include <optional>
#include <string>

#include "alerting/notifier.h"
#include "alerting/payloads.h"

namespace aw::alerting {

struct ParsedUrl {
  std::string scheme;  // "http" | "https"
  std::string host;    // without brackets for IPv6
  int port = 0;        // explicit or the scheme's default
  std::string path;    // "/..." including any query; "/" when absent
  // "scheme://host:port" as httplib::Client wants it.
  std::string SchemeHostPort() const;
};

// nullopt for anything but an absolute http(s) URL with a host.
std::optional<ParsedUrl> ParseUrl(const std::string& url);

// Retry-After as seconds ("30") or an HTTP-date ("Wed, 21 Oct 2015
// 07:28:00 GMT", relative to now). 0 when empty, malformed or past.
Millis ParseRetryAfter(const std::string& value, TimeMs now);

// The proxy (a parsed http:// URL) to use for `target`, or nullopt.
// `no_proxy` is a comma list of hosts, ".suffix"es or "*".
std::optional<ParsedUrl> ProxyFor(const ParsedUrl& target, const std::string& https_proxy,
                                  const std::string& http_proxy, const std::string& no_proxy);

// Thread-safe; holds no connection between calls.
class HttpNotifier final : public Notifier {
 public:
  struct Options {
    PayloadOptions payload;
    std::string user_agent = "agentwatch";
    // Read from the environment when not set.
    std::optional<std::string> https_proxy, http_proxy, no_proxy;
    // Test CA bundle for HTTPS; empty uses the system store.
    std::string ca_cert_path;
  };

  HttpNotifier();
  explicit HttpNotifier(Options options);

  DeliveryResult Send(const ReceiverOptions& receiver, const AlertEvent& event,
                      TimeMs now) noexcept override;
  // One POST with the group's body (group_payloads.h); PagerDuty: one POST
  // per event, stopping at the first not delivered.
  DeliveryResult SendGroup(const ReceiverOptions& receiver, const GroupNotification& group,
                           TimeMs now) noexcept override;

  // The request Send would make, for tests and `agentwatch check`-style
  // diagnostics. Error when the receiver's URL is unusable.
  struct Request {
    ParsedUrl url;
    std::string body;
    std::string signature;  // header value; empty when unsigned
  };
  Result<Request> BuildRequest(const ReceiverOptions& receiver, const AlertEvent& event,
                               TimeMs now) const;

 private:
  // The request for `body` (JSON text) to receiver `r` (URL and signature
  // by kind).
  Result<Request> MakeRequest(const ReceiverOptions& r, std::string body) const;
  DeliveryResult Post(const ReceiverOptions& receiver, const Request& request, TimeMs now) const;

  // Constant after construction.
  const Options options_;
  const std::string https_proxy_, http_proxy_, no_proxy_;
};

}  // namespace aw::alerting
