#pragma once

// `agentwatch silence add|list|expire`: a thin HTTP client of the daemon's
// /api/v1/silences. Returns the process exit code: 0 ok, 1 the server said
// no or could not be reached (its error printed), 2 usage.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "daemon/common/silence.h"
#include "daemon/common/status.h"

namespace aw::server {

struct SilenceCliArgs {
  std::string action;                 // add | list | expire
  std::string url;                    // the daemon, e.g. http://127.0.0.1:9464
  std::string token;                  // Bearer token (admin, when auth is set)
  std::vector<std::string> matchers;  // agent=ir, alertname=~Cost.*, a!=b, a!~b
  std::string duration;               // add: from now, e.g. 2h
  std::string end;                    // add: RFC 3339 end (instead of duration)
  std::string author;
  std::string comment;
  std::string id;     // expire
  bool json = false;  // list: print the server's JSON as is
};

// "name=value", "name!=value", "name=~regex", "name!~regex"; the value may
// be in double quotes. InvalidArgument naming the matcher otherwise.
Result<SilenceMatcher> ParseMatcherArg(const std::string& text);

// Runs the action. Usage errors (a missing flag) go to `err` with exit 2.
int RunSilenceCommand(const SilenceCliArgs& args, std::ostream& out, std::ostream& err);

}  // namespace aw::server
