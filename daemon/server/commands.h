#pragma once

// The offline commands of the binary: check, test, replay. Each returns the
// process exit code (0 ok, 1 invalid input or failed expectations).

#include <ostream>
#include <string>
#include <vector>

namespace aw::server {

int RunCheck(const std::string& config_path, std::ostream& out, std::ostream& err);
int RunRuleTests(const std::vector<std::string>& files, std::ostream& out);
int RunReplay(const std::string& config_path, const std::string& events_path, bool json,
              std::ostream& out, std::ostream& err);

}  // namespace aw::server
