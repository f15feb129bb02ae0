#pragma once

// The config file's loader, internal to daemon/config. Owns the typed reads
// of YAML values (config_values.cc) and one Load* per block: receivers and
// their grouping in config_receivers.cc, the other blocks in
// config_blocks.cc, the top level in config.cc.
// Invariant: every error names its key and line; a failed read throws
// ConfigError, which LoadConfig alone catches. Not thread-safe: one Loader
// per load, which reads the environment and secret files.

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "daemon/config/config.h"

namespace aw::config_internal {

// A config error at a YAML node, "file:line: message".
struct ConfigError {
  std::string message;
};

class Loader {
 public:
  Loader(std::string file, std::string dir) : file_(std::move(file)), dir_(std::move(dir)) {}

  // The whole file: defaults for what it leaves out.
  Config Load(const YAML::Node& root) const;

  [[noreturn]] void Fail(const YAML::Node& at, const std::string& msg) const {
    const int line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    throw ConfigError{file_ + ":" + std::to_string(line) + ": " + msg};
  }

  // Typed reads (config_values.cc). ${VAR} is expanded from the environment.
  // Rejects keys of `node` not in `known`, naming the key's line.
  void CheckKeys(const YAML::Node& node, const std::string& where,
                 const std::set<std::string>& known) const;
  std::string Expand(const YAML::Node& node, const std::string& field) const;
  std::string Resolve(const std::string& path) const;
  std::string ReadSecretFile(const YAML::Node& node, const std::string& field) const;
  // A string given inline as `key` or read from `key_file`.
  std::string Secret(const YAML::Node& parent, const std::string& key, const std::string& where,
                     bool required) const;
  Millis Duration(const YAML::Node& node, const std::string& field) const;
  int64_t Bytes(const YAML::Node& node, const std::string& field) const;
  int64_t PositiveInt(const YAML::Node& node, const std::string& field) const;
  double NonNegative(const YAML::Node& node, const std::string& field) const;
  bool Bool(const YAML::Node& node, const std::string& field) const;
  std::vector<std::string> StringList(const YAML::Node& node, const std::string& field) const;
  std::vector<std::string> TokenList(const YAML::Node& parent, const std::string& key) const;
  static bool IsLabelName(const std::string& s);
  std::string CheckUrl(const YAML::Node& node, const std::string& field) const;
  void CheckUrlText(const YAML::Node& node, const std::string& url, const std::string& field) const;

  // Blocks (config_receivers.cc, config_blocks.cc).
  void LoadReceivers(const YAML::Node& node, Config& c) const;
  void LoadGrouping(const YAML::Node& r, const std::string& where, GroupingConfig& g) const;
  // default_receivers: names of receivers already loaded.
  void LoadDefaultReceivers(const YAML::Node& d, Config& c) const;
  // storage: the database file, its retention and fsync policy.
  void LoadStorage(const YAML::Node& st, Config& c) const;
  // sli_windows: the windows every SLI is kept over.
  void LoadWindows(const YAML::Node& w, Config& c) const;
  // exporters: which SLIs, stats and windows /metrics shows.
  void LoadExporters(const YAML::Node& ex, Config& c) const;
  // limits: request sizes, cardinality caps, connections.
  void LoadLimits(const YAML::Node& l, Config& c) const;
  // auth: tokens and webhook secrets; admin tokens are required.
  void LoadAuth(const YAML::Node& a, Config& c) const;
  // tls: certificate and key files, both readable.
  void LoadTls(const YAML::Node& t, Config& c) const;
  // log: level and format.
  void LoadLog(const YAML::Node& lg, Config& c) const;
  void LoadOtlp(const YAML::Node& o, Config& c) const;
  void LoadExternalLabels(const YAML::Node& node, Config& c) const;
  void LoadShard(const YAML::Node& s, Config& c) const;
  void LoadPricing(const YAML::Node& node, Config& c) const;

 private:
  static Config WithDefaults(Config c);

  std::string file_;
  std::string dir_;
};

}  // namespace aw::config_internal
