#include <httplib.h>

#include "daemon/server/app.h"

namespace aw::server {

// Filled in by the PagerDuty v3 / Slack interactions work (issue 8).
void App::WebhookRoutes() {}

}  // namespace aw::server
