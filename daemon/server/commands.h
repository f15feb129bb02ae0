#pragma once

// The offline commands of the binary: check, test, replay. Each returns the
// process exit code (0 ok, 1 invalid input or failed expectations).

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "daemon/common/status.h"
#include "daemon/config/config.h"

namespace aw::server {

int RunCheck(const std::string& config_path, std::ostream& out, std::ostream& err);
int RunRuleTests(const std::vector<std::string>& files, std::ostream& out);
int RunReplay(const std::string& config_path, const std::string& events_path, bool json,
              std::ostream& out, std::ostream& err);

// What `serve` checks before it binds or opens anything: the rule files
// load. Returns the first error, "FILE:LINE: message".
Status CheckRulesBeforeServe(const Config& config);

// Logs a warning for each rule_files pattern that matches no file (serve
// and reload: a glob over an empty folder may be intended, but is usually
// a typo). Returns how many there were.
size_t WarnUnmatchedRuleGlobs(const Config& config);

// Notifications still waiting in the outbox of the store at `db_path`, or -1
// when it cannot be read. Call only once the daemon has closed the store.
int64_t PendingNotifications(const std::string& db_path);

}  // namespace aw::server
