#pragma once

// Loads and validates YAML rule files (CONTRACT.md "Rule files"). Every
// error reads "FILE:LINE: message" and names the field, e.g.
//   rules/agents.yaml:14: rule "AgentCostSpike": window: window "1x": ...
// Pure apart from reading the files; thread-compatible.

#include <set>
#include <string>
#include <vector>

#include "daemon/common/status.h"
#include "rules/rule.h"

namespace aw::rules {

struct LoadOptions {
  // Receiver names from the config; a rule naming another one is an error.
  std::set<std::string> receivers;
  bool check_receivers = true;
};

// Loads every file (already glob-expanded) into one RuleSet. The first
// error found is returned; nothing is partially loaded.
Result<RuleSet> LoadRuleFiles(const std::vector<std::string>& paths, const LoadOptions& options);

// Parses one file's text (`file` is used only in messages and RuleGroup::file).
Result<RuleSet> LoadRuleText(const std::string& text, const std::string& file,
                             const LoadOptions& options);

// Expands glob(3) patterns; relative patterns are resolved against
// base_dir (the config file's folder). Matches are sorted per pattern and
// de-duplicated. A pattern without glob characters that names no file is an
// error ("rules/x.yaml: no such file"); a glob matching nothing is not.
Result<std::vector<std::string>> ExpandRuleGlobs(const std::vector<std::string>& globs,
                                                 const std::string& base_dir);

// The patterns of `globs` (resolved as ExpandRuleGlobs does) that match no
// file. Not an error for ExpandRuleGlobs, as a glob over an empty folder is
// legitimate while serving; `agentwatch check` reports each one as an error
// and a reload as a warning, since it is usually a typo in rule_files.
std::vector<std::string> UnmatchedRuleGlobs(const std::vector<std::string>& globs,
                                            const std::string& base_dir);

}  // namespace aw::rules
