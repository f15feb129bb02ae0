#include "daemon/server/commands.h"

#include "daemon/common/log.h"
#include "daemon/config/config.h"
#include "daemon/server/rule_runtime.h"
#include "daemon/store/sqlite_store.h"
#include "rules/rule_loader.h"
#include "tools/replay.h"
#include "tools/rule_test_runner.h"

namespace aw::server {

namespace {

// The config and its rule files, or the first error (FILE:LINE: ...).
Result<std::pair<Config, rules::RuleSet>> LoadConfigAndRules(const std::string& config_path) {
  auto config = LoadConfig(config_path);
  if (!config.ok()) return config.status();
  auto rules = LoadRulesFor(*config);
  if (!rules.ok()) return rules.status();
  return std::make_pair(std::move(config).value(), std::move(rules).value());
}

}  // namespace

int RunCheck(const std::string& config_path, std::ostream& out, std::ostream& err) {
  auto parsed = LoadConfig(config_path);
  if (!parsed.ok()) {
    err << parsed.status().message() << "\n";
    return 1;
  }
  // rule_files are already resolved against the config's folder.
  const std::vector<std::string> unmatched = rules::UnmatchedRuleGlobs(parsed->rule_files, ".");
  for (const std::string& pattern : unmatched) {
    err << config_path << ": rule_files: \"" << pattern
        << "\" matches no file (paths are relative to the config file's folder)\n";
  }
  if (!unmatched.empty()) return 1;
  auto loaded = LoadConfigAndRules(config_path);
  if (!loaded.ok()) {
    err << loaded.status().message() << "\n";
    return 1;
  }
  const auto& [config, rules] = *loaded;
  size_t alerts = 0, slos = 0;
  for (const rules::RuleGroup& g : rules.groups) {
    alerts += g.rules.size();
    slos += g.slos.size();
  }
  out << config_path << ": OK (" << config.receivers.size() << " receivers, " << rules.files.size()
      << " rule files, " << alerts << " alerts, " << slos << " SLOs, " << rules.budgets.size()
      << " budgets)\n";
  return 0;
}

int RunRuleTests(const std::vector<std::string>& files, std::ostream& out) {
  return tools::RunRuleTests(files, out);
}

int RunReplay(const std::string& config_path, const std::string& events_path, bool json,
              std::ostream& out, std::ostream& err) {
  auto loaded = LoadConfigAndRules(config_path);
  if (!loaded.ok()) {
    err << loaded.status().message() << "\n";
    return 1;
  }
  const auto& [config, rules] = *loaded;
  return tools::Replay(rules, config.pricing, events_path, json, config.evaluation_interval, out,
                       err);
}

Status CheckRulesBeforeServe(const Config& config) {
  auto rules = LoadRulesFor(config);
  return rules.ok() ? Status::Ok() : rules.status();
}

size_t WarnUnmatchedRuleGlobs(const Config& config) {
  const std::vector<std::string> unmatched = rules::UnmatchedRuleGlobs(config.rule_files, ".");
  for (const std::string& pattern : unmatched) {
    LogWarn("rule_files pattern matches no file; no rules load from it",
            {{"pattern", pattern}, {"config", config.file}});
  }
  return unmatched.size();
}

int64_t PendingNotifications(const std::string& db_path) {
  auto store = SqliteStore::Open(db_path, {});
  if (!store.ok()) return -1;
  auto depth = (*store)->OutboxDepth();
  return depth.ok() ? *depth : -1;
}

}  // namespace aw::server
