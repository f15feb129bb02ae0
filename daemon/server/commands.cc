#include "daemon/server/commands.h"

#include "daemon/config/config.h"
#include "daemon/server/rule_runtime.h"
#include "rules/replay.h"
#include "rules/rule_test_runner.h"

namespace aw::server {

int RunCheck(const std::string& config_path, std::ostream& out, std::ostream& err) {
  auto config = LoadConfig(config_path);
  if (!config.ok()) {
    err << config.status().message() << "\n";
    return 1;
  }
  auto rules = LoadRulesFor(*config);
  if (!rules.ok()) {
    err << rules.status().message() << "\n";
    return 1;
  }
  size_t alerts = 0, slos = 0;
  for (const rules::RuleGroup& g : rules->groups) {
    alerts += g.rules.size();
    slos += g.slos.size();
  }
  out << config_path << ": OK (" << config->receivers.size() << " receivers, "
      << rules->files.size() << " rule files, " << alerts << " alerts, " << slos << " SLOs)\n";
  return 0;
}

int RunRuleTests(const std::vector<std::string>& files, std::ostream& out) {
  return rules::RunRuleTests(files, out);
}

int RunReplay(const std::string& config_path, const std::string& events_path, bool json,
              std::ostream& out, std::ostream& err) {
  auto config = LoadConfig(config_path);
  if (!config.ok()) {
    err << config.status().message() << "\n";
    return 1;
  }
  auto rules = LoadRulesFor(*config);
  if (!rules.ok()) {
    err << rules.status().message() << "\n";
    return 1;
  }
  return rules::Replay(*rules, config->pricing, events_path, json, config->evaluation_interval,
                       out, err);
}

}  // namespace aw::server
