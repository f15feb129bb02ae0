// The admin endpoints: POST /-/reload (admin token when auth is set). A
// reload takes no body; whatever body is sent is ignored.

#include <nlohmann/json.hpp>

#include "daemon/http/http.h"
#include "daemon/server/app.h"
#include "daemon/server/handler_util.h"

namespace aw::server {

using json = nlohmann::json;

void App::AdminRoutes() {
  router_->Add("POST", "/-/reload", [this](const http::Request& q, http::Response& r) {
    if (!Authorize(q, r, true, false)) return;
    Status s = Reload();
    if (s.ok()) {
      ReplyJson(r, 200, json{{"status", "success"}});
    } else {
      ReplyJson(r, 400, json{{"status", "error"}, {"error", s.message()}});
    }
  });
}

}  // namespace aw::server
