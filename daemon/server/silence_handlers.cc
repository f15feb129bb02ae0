// Silences (CONTRACT.md "Delivery"), Alertmanager's API shape:
//   POST   /api/v1/silences        -> 200 {"silenceID": "..."}   (admin token when auth is set)
//   GET    /api/v1/silences        -> {"silences": [...]}        (as the other reads)
//   DELETE /api/v1/silences/{id}   expires it -> 200; unknown id -> 404 (admin token)
// Bad input is a 400 whose error names the field.

#include <nlohmann/json.hpp>

#include "alerting/silences.h"
#include "daemon/http/http.h"
#include "daemon/server/app.h"
#include "daemon/server/handler_util.h"
#include "daemon/server/rule_runtime.h"

namespace aw::server {

using json = nlohmann::json;

namespace {

constexpr const char* kPath = "/api/v1/silences";
constexpr const char* kItemPrefix = "/api/v1/silences/";

json Error(const std::string& message) { return json{{"status", "error"}, {"error", message}}; }

int HttpStatus(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kNotFound:
      return 404;
    default:
      return 503;
  }
}

}  // namespace

void App::SilenceRoutes() {
  const auto ready = [this](http::Response& r) {
    if (ready_) return true;
    ReplyJson(r, 503, Error("starting: rebuilding state"));
    return false;
  };
  router_->Add("POST", kPath, [this, ready](const http::Request& q, http::Response& r) {
    if (!Authorize(q, r, true, false) || !ready(r)) return;
    auto parsed = alerting::ParseSilenceRequest(q.body, clock_.NowMs());
    if (!parsed.ok()) return ReplyJson(r, 400, Error(parsed.status().message()));
    auto id = rules_->AddSilence(std::move(parsed).value());
    if (!id.ok()) return ReplyJson(r, HttpStatus(id.status()), Error(id.status().message()));
    ReplyJson(r, 200, json{{"silenceID", *id}});
  });
  router_->Add("GET", kPath, [this, ready](const http::Request& q, http::Response& r) {
    bool protect;
    {
      std::lock_guard lock(config_mu_);
      protect = config_.auth.protect_reads;
    }
    if (!ready(r) || (protect && !Authorize(q, r, false, false))) return;
    ReplyJson(r, 200, rules_->SilencesJson());
  });
  router_->AddPrefix("DELETE", kItemPrefix,
                     [this, ready](const http::Request& q, http::Response& r) {
                       if (!Authorize(q, r, true, false) || !ready(r)) return;
                       const std::string id = q.path.substr(std::string(kItemPrefix).size());
                       Status s = rules_->ExpireSilence(id);
                       if (!s.ok()) return ReplyJson(r, HttpStatus(s), Error(s.message()));
                       ReplyJson(r, 200, json{{"status", "success"}});
                     });
}

}  // namespace aw::server
