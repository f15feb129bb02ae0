#include "daemon/config/config.h"

// The config file's top level (LoadConfig, the keys a file may hold, the
// checks across blocks), command-line overrides and what a reload keeps.
// Each block's parsing is in config_blocks.cc and config_receivers.cc.

#include <filesystem>
#include <fstream>

#include <yaml-cpp/yaml.h>

#include "daemon/common/time_util.h"
#include "daemon/config/loader.h"

namespace aw {

using config_internal::ConfigError;
using config_internal::Loader;

namespace config_internal {

Config Loader::Load(const YAML::Node& root) const {
  Config c;
  c.file = file_;
  c.dir = dir_;
  c.storage.path = Resolve(c.storage.path);
  if (!root || root.IsNull()) return WithDefaults(c);
  CheckKeys(root, "config",
            {"listen",
             "storage",
             "evaluation_interval",
             "max_event_age",
             "max_clock_skew",
             "sli_windows",
             "limits",
             "auth",
             "tls",
             "pricing",
             "receivers",
             "default_receivers",
             "repeat_interval",
             "rule_files",
             "log",
             "delivery",
             "exporters",
             "otlp",
             "external_url",
             "external_labels",
             "shard",
             "silence_retention"});
  if (root["listen"]) c.listen = Expand(root["listen"], "listen");
  if (root["external_url"]) {
    c.external_url = Expand(root["external_url"], "external_url");
    if (c.external_url.rfind("http://", 0) != 0 && c.external_url.rfind("https://", 0) != 0) {
      Fail(root["external_url"],
           "external_url: must start with http:// or https:// (the address "
           "people open links at, e.g. https://agentwatch.example.com)");
    }
  }
  if (const YAML::Node st = root["storage"]) LoadStorage(st, c);
  if (root["evaluation_interval"]) {
    c.evaluation_interval = Duration(root["evaluation_interval"], "evaluation_interval");
    if (c.evaluation_interval.count() < 100) {
      Fail(root["evaluation_interval"], "evaluation_interval: must be at least 100ms");
    }
  }
  if (root["max_event_age"]) c.max_event_age = Duration(root["max_event_age"], "max_event_age");
  if (root["max_clock_skew"]) {
    c.max_clock_skew = Duration(root["max_clock_skew"], "max_clock_skew");
  }
  if (const YAML::Node w = root["sli_windows"]) LoadWindows(w, c);
  if (const YAML::Node ex = root["exporters"]) LoadExporters(ex, c);
  if (const YAML::Node l = root["limits"]) LoadLimits(l, c);
  if (const YAML::Node a = root["auth"]) LoadAuth(a, c);
  if (const YAML::Node t = root["tls"]) LoadTls(t, c);
  if (const YAML::Node o = root["otlp"]) LoadOtlp(o, c);
  if (const YAML::Node el = root["external_labels"]) LoadExternalLabels(el, c);
  if (const YAML::Node sh = root["shard"]) LoadShard(sh, c);
  if (root["pricing"]) LoadPricing(root["pricing"], c);
  if (root["receivers"]) LoadReceivers(root["receivers"], c);
  if (const YAML::Node d = root["default_receivers"]) LoadDefaultReceivers(d, c);
  if (root["repeat_interval"]) {
    c.repeat_interval = Duration(root["repeat_interval"], "repeat_interval");
    if (c.repeat_interval.count() <= 0) {
      Fail(root["repeat_interval"], "repeat_interval: must be positive");
    }
  }
  // A receiver without its own repeat_interval repeats at the top-level one.
  for (ReceiverConfig& r : c.receivers) {
    if (r.grouping.repeat.count() == 0) r.grouping.repeat = c.repeat_interval;
  }
  if (const YAML::Node dl = root["delivery"]) {
    CheckKeys(dl, "delivery", {"max_age"});
    if (dl["max_age"]) c.delivery_max_age = Duration(dl["max_age"], "delivery.max_age");
  }
  if (root["silence_retention"]) {
    c.silence_retention = Duration(root["silence_retention"], "silence_retention");
    if (c.silence_retention.count() <= 0) {
      Fail(root["silence_retention"], "silence_retention: must be positive");
    }
  }
  if (root["rule_files"]) {
    for (const std::string& g : StringList(root["rule_files"], "rule_files")) {
      c.rule_files.push_back(Resolve(g));
    }
  }
  if (const YAML::Node lg = root["log"]) LoadLog(lg, c);
  if (c.storage.retention < c.max_event_age) {
    Fail(root["storage"] ? root["storage"] : root,
         "storage.retention: must be at least max_event_age (" + FormatDuration(c.max_event_age) +
             ") so a resent old record is never counted twice");
  }
  return WithDefaults(c);
}

Config Loader::WithDefaults(Config c) {
  if (c.sli_windows.empty()) {
    for (const char* w : {"1h", "24h", "7d"}) c.sli_windows.push_back(*ParseWindow(w, nullptr));
  }
  return c;
}

}  // namespace config_internal

Result<Config> LoadConfig(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  Loader loader(path, dir.empty() ? "." : dir);
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(path + ": cannot read the config file");
  try {
    YAML::Node root = YAML::Load(in);
    return loader.Load(root);
  } catch (const ConfigError& e) {
    return Status::InvalidArgument(e.message);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Status ApplyOverride(Config& config, const std::string& key, const std::string& value) {
  if (key == "listen") {
    config.listen = value;
  } else if (key == "storage.path") {
    config.storage.path = value;
  } else if (key == "log.level") {
    if (value != "debug" && value != "info" && value != "warn" && value != "error") {
      return Status::InvalidArgument("--log.level: must be debug, info, warn or error");
    }
    config.log_level = value;
  } else if (key == "log.format") {
    if (value != "logfmt" && value != "json") {
      return Status::InvalidArgument("--log.format: must be logfmt or json");
    }
    config.log_format = value;
  } else if (key == "evaluation_interval") {
    auto d = ParseDuration(value);
    if (!d || d->count() < 100) {
      return Status::InvalidArgument("--evaluation_interval: must be a duration of at least 100ms");
    }
    config.evaluation_interval = *d;
  } else {
    return Status::InvalidArgument("unknown flag --" + key);
  }
  config.overrides.emplace_back(key, value);
  return Status::Ok();
}

Config ForReload(const Config& running, Config fresh) {
  for (const auto& [key, value] : running.overrides) {
    (void)ApplyOverride(fresh, key, value);  // applied once already: cannot fail
  }
  // Sized or opened once at start.
  fresh.file = running.file;
  fresh.dir = running.dir;
  fresh.listen = running.listen;
  fresh.storage = running.storage;
  fresh.tls = running.tls;
  fresh.otlp = running.otlp;
  fresh.log_level = running.log_level;
  fresh.log_format = running.log_format;
  const int64_t max_records = fresh.limits.max_records_per_request;
  fresh.limits = running.limits;
  fresh.limits.max_records_per_request = max_records;
  return fresh;
}

}  // namespace aw
