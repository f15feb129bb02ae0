#pragma once

// Helpers shared by the handler files (ingest, read, admin, webhooks):
// JSON replies that are always valid UTF-8 and the ingest error shape.
// Stateless; safe from any thread.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/http/http.h"

namespace aw::server {

// Any bytes a client sent (a path, a header) may end up in a message:
// invalid UTF-8 becomes U+FFFD instead of making dump() throw.
inline void ReplyJson(http::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

inline nlohmann::json ErrorBody(const std::string& message) {
  return nlohmann::json{
      {"accepted", 0},
      {"duplicates", 0},
      {"rejected", 0},
      {"errors", nlohmann::json::array({nlohmann::json{{"index", 0}, {"error", message}}})}};
}

// Paths whose replies have the ingest shape (the error lists the record);
// every other path answers errors as {"error": "..."}.
inline bool HasIngestReplyShape(const std::string& path) {
  return path == "/v1/spans" || path == "/v1/feedback" || path == "/v1/resolutions" ||
         path.rfind("/v1/webhooks/", 0) == 0;
}

inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A metric label for a request path: known endpoints by name, anything else
// as "other", so a scanner cannot blow up the series count.
inline std::string EndpointLabel(const std::string& path) {
  static const char* kKnown[] = {"/v1/spans",
                                 "/v1/feedback",
                                 "/v1/resolutions",
                                 "/v1/traces",
                                 "/v1/logs",
                                 "/v1/webhooks/pagerduty",
                                 "/v1/webhooks/slack",
                                 "/-/reload",
                                 "/metrics",
                                 "/api/v1/slis",
                                 "/api/v1/alerts",
                                 "/api/v1/rules",
                                 "/api/v1/investigations",
                                 "/api/v1/calibration",
                                 "/api/v1/receivers",
                                 "/api/v1/silences"};
  for (const char* k : kKnown) {
    if (path == k) return path;
  }
  // One investigation's page: one label whatever the id.
  if (path.rfind("/api/v1/investigations/", 0) == 0) return "/api/v1/investigations/{id}";
  if (path.rfind("/api/v1/silences/", 0) == 0) return "/api/v1/silences/{id}";
  if (path.rfind("/alerts/", 0) == 0) return "/alerts/{fingerprint}";
  return "other";
}

}  // namespace aw::server
