#include "daemon/config/config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "daemon/common/did_you_mean.h"
#include "daemon/common/time_util.h"

namespace aw {

namespace {

// A config error at a YAML node; thrown inside this file only.
struct ConfigError {
  std::string message;
};

class Loader {
 public:
  Loader(std::string file, std::string dir) : file_(std::move(file)), dir_(std::move(dir)) {}

  [[noreturn]] void Fail(const YAML::Node& at, const std::string& msg) const {
    const int line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    throw ConfigError{file_ + ":" + std::to_string(line) + ": " + msg};
  }

  // Rejects keys of `node` not in `known`, naming the key's line.
  void CheckKeys(const YAML::Node& node, const std::string& where,
                 const std::set<std::string>& known) const {
    if (!node.IsMap()) Fail(node, where + ": must be a mapping");
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      if (!known.count(key)) {
        Fail(kv.first, "unknown key \"" + key + "\" in " + where +
                           DidYouMean(key, std::vector<std::string>(known.begin(), known.end())));
      }
    }
  }

  std::string Expand(const YAML::Node& node, const std::string& field) const {
    if (!node.IsScalar()) Fail(node, field + ": must be a string");
    const std::string raw = node.Scalar();
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '$' && i + 1 < raw.size() && raw[i + 1] == '{') {
        const size_t end = raw.find('}', i + 2);
        if (end == std::string::npos) Fail(node, field + ": unterminated ${...}");
        const std::string var = raw.substr(i + 2, end - i - 2);
        const char* value = std::getenv(var.c_str());
        if (!value) Fail(node, field + ": environment variable " + var + " is not set");
        out += value;
        i = end;
      } else {
        out += raw[i];
      }
    }
    return out;
  }

  std::string Resolve(const std::string& path) const {
    if (path.empty() || path[0] == '/') return path;
    return (std::filesystem::path(dir_) / path).lexically_normal().string();
  }

  std::string ReadSecretFile(const YAML::Node& node, const std::string& field) const {
    const std::string path = Resolve(Expand(node, field));
    std::ifstream in(path, std::ios::binary);
    if (!in) Fail(node, field + ": cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    if (s.empty()) Fail(node, field + ": " + path + " is empty");
    return s;
  }

  // A string given inline as `key` or read from `key_file`.
  std::string Secret(const YAML::Node& parent, const std::string& key, const std::string& where,
                     bool required) const {
    const YAML::Node inl = parent[key];
    const YAML::Node file = parent[key + "_file"];
    if (inl && file)
      Fail(file, where + "." + key + "_file: give " + key + " or " + key + "_file, not both");
    if (inl) return Expand(inl, where + "." + key);
    if (file) return ReadSecretFile(file, where + "." + key + "_file");
    if (required) Fail(parent, where + "." + key + ": is required");
    return "";
  }

  Millis Duration(const YAML::Node& node, const std::string& field) const {
    const std::string text = Expand(node, field);
    auto d = ParseDuration(text);
    if (!d) {
      const std::string hint = SuggestDuration(text);
      Fail(node, field + ": must be a duration such as 15s, 5m, 4h, 7d, got \"" + text + "\"" +
                     (hint.empty() ? "" : " (did you mean " + hint + "?)"));
    }
    return *d;
  }

  int64_t Bytes(const YAML::Node& node, const std::string& field) const {
    const std::string s = Expand(node, field);
    size_t i = 0;
    int64_t n = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      n = n * 10 + (s[i++] - '0');
      if (n > (int64_t{1} << 40)) Fail(node, field + ": too large");
    }
    const std::string unit = s.substr(i);
    int64_t mul = 0;
    if (unit.empty() || unit == "B")
      mul = 1;
    else if (unit == "KiB")
      mul = 1 << 10;
    else if (unit == "MiB")
      mul = 1 << 20;
    else if (unit == "GiB")
      mul = 1 << 30;
    else if (unit == "KB" || unit == "kB")
      mul = 1000;
    else if (unit == "MB")
      mul = 1000 * 1000;
    if (i == 0 || mul == 0 || n <= 0)
      Fail(node, field + ": must be a size such as 4MiB or 1048576");
    if (n > (int64_t{1} << 40) / mul) Fail(node, field + ": too large");  // n * mul overflowed
    return n * mul;
  }

  int64_t PositiveInt(const YAML::Node& node, const std::string& field) const {
    const std::string s = Expand(node, field);
    try {
      size_t pos = 0;
      const long long v = std::stoll(s, &pos);
      if (pos == s.size() && v > 0) return v;
    } catch (const std::exception&) {
    }
    Fail(node, field + ": must be a positive integer");
  }

  double NonNegative(const YAML::Node& node, const std::string& field) const {
    const std::string s = Expand(node, field);
    try {
      size_t pos = 0;
      const double v = std::stod(s, &pos);
      if (pos == s.size() && std::isfinite(v) && v >= 0) return v;
    } catch (const std::exception&) {
    }
    Fail(node, field + ": must be a non-negative number");
  }

  bool Bool(const YAML::Node& node, const std::string& field) const {
    const std::string s = Expand(node, field);
    if (s == "true") return true;
    if (s == "false") return false;
    Fail(node, field + ": must be true or false");
  }

  std::vector<std::string> StringList(const YAML::Node& node, const std::string& field) const {
    if (!node.IsSequence()) Fail(node, field + ": must be a list");
    std::vector<std::string> out;
    for (const auto& item : node) out.push_back(Expand(item, field + "[]"));
    return out;
  }

  std::vector<std::string> TokenList(const YAML::Node& parent, const std::string& key) const {
    std::vector<std::string> tokens;
    if (parent[key]) tokens = StringList(parent[key], "auth." + key);
    if (const YAML::Node file = parent[key + "_file"]) {
      const std::string text = ReadSecretFile(file, "auth." + key + "_file");
      std::istringstream in(text);
      for (std::string line; std::getline(in, line);) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (!line.empty() && line[0] != '#') tokens.push_back(line);
      }
    }
    for (const std::string& t : tokens) {
      if (t.size() < 16) {
        Fail(parent[key] ? parent[key] : parent[key + "_file"],
             "auth." + key + ": tokens must be at least 16 characters");
      }
    }
    return tokens;
  }

  void LoadReceivers(const YAML::Node& node, Config& c) const {
    if (!node.IsSequence()) Fail(node, "receivers: must be a list");
    std::set<std::string> names;
    for (const auto& r : node) {
      CheckKeys(r, "receivers[]",
                {"name", "pagerduty", "slack", "webhook", "alertmanager", "timeout", "group_by",
                 "group_wait", "group_interval", "repeat_interval"});
      ReceiverConfig rc;
      if (!r["name"]) Fail(r, "receivers[].name: is required");
      rc.name = Expand(r["name"], "receivers[].name");
      if (rc.name.empty()) Fail(r["name"], "receivers[].name: must not be empty");
      if (!names.insert(rc.name).second) {
        Fail(r["name"], "receivers[].name: duplicate receiver \"" + rc.name + "\"");
      }
      const std::string where = "receivers." + rc.name;
      if (r["timeout"]) rc.timeout = Duration(r["timeout"], where + ".timeout");
      LoadGrouping(r, where, rc.grouping);
      int kinds = 0;
      if (const YAML::Node pd = r["pagerduty"]) {
        ++kinds;
        rc.kind = ReceiverConfig::Kind::kPagerDuty;
        CheckKeys(pd, where + ".pagerduty", {"routing_key", "routing_key_file", "url"});
        rc.pagerduty.routing_key = Secret(pd, "routing_key", where + ".pagerduty", true);
        if (pd["url"]) rc.pagerduty.url = CheckUrl(pd["url"], where + ".pagerduty.url");
      }
      if (const YAML::Node sl = r["slack"]) {
        ++kinds;
        rc.kind = ReceiverConfig::Kind::kSlack;
        CheckKeys(sl, where + ".slack", {"webhook_url", "webhook_url_file"});
        rc.slack.webhook_url = Secret(sl, "webhook_url", where + ".slack", true);
        CheckUrlText(sl, rc.slack.webhook_url, where + ".slack.webhook_url");
      }
      if (const YAML::Node wh = r["webhook"]) {
        ++kinds;
        rc.kind = ReceiverConfig::Kind::kWebhook;
        CheckKeys(wh, where + ".webhook", {"url", "url_file", "secret", "secret_file"});
        rc.webhook.url = Secret(wh, "url", where + ".webhook", true);
        CheckUrlText(wh, rc.webhook.url, where + ".webhook.url");
        rc.webhook.secret = Secret(wh, "secret", where + ".webhook", false);
      }
      if (const YAML::Node am = r["alertmanager"]) {
        ++kinds;
        rc.kind = ReceiverConfig::Kind::kAlertmanager;
        CheckKeys(am, where + ".alertmanager", {"url"});
        if (!am["url"]) Fail(am, where + ".alertmanager.url: is required");
        rc.alertmanager.url = CheckUrl(am["url"], where + ".alertmanager.url");
      }
      if (kinds != 1) {
        Fail(r, where + ": needs exactly one of pagerduty, slack, webhook, alertmanager");
      }
      c.receivers.push_back(std::move(rc));
    }
  }

  void LoadGrouping(const YAML::Node& r, const std::string& where, GroupingConfig& g) const {
    g.enabled = r["group_by"] || r["group_wait"] || r["group_interval"];
    if (!g.enabled && r["repeat_interval"]) {
      // Its own repeat_interval only: every change still goes out at once
      // (each alert its own group, no wait, no interval), and the grouper
      // repeats it at this receiver's interval.
      g.enabled = true;
      g.wait = Millis(0);
      g.interval = Millis(0);
    }
    if (const YAML::Node by = r["group_by"]) {
      const std::vector<std::string> names = StringList(by, where + ".group_by");
      std::set<std::string> seen;
      for (const std::string& name : names) {
        if (name == "...") {
          if (names.size() != 1) {
            Fail(by, where + ".group_by: \"...\" (every label) must stand alone");
          }
          continue;
        }
        if (!IsLabelName(name)) {
          Fail(by, where + ".group_by: \"" + name +
                       "\" is not a label name (letters, digits, _; not starting with a digit)");
        }
        if (!seen.insert(name).second) {
          Fail(by, where + ".group_by: \"" + name + "\" is listed twice");
        }
      }
      g.by_all = names.size() == 1 && names[0] == "...";
      if (!g.by_all) g.by = names;
    }
    if (r["group_wait"]) {
      g.wait = Duration(r["group_wait"], where + ".group_wait");
      if (g.wait.count() < 0) Fail(r["group_wait"], where + ".group_wait: must not be negative");
    }
    if (r["group_interval"]) {
      g.interval = Duration(r["group_interval"], where + ".group_interval");
      if (g.interval.count() <= 0) {
        Fail(r["group_interval"], where + ".group_interval: must be positive");
      }
    }
    if (r["repeat_interval"]) {
      g.repeat = Duration(r["repeat_interval"], where + ".repeat_interval");
      if (g.repeat.count() <= 0) {
        Fail(r["repeat_interval"], where + ".repeat_interval: must be positive");
      }
    }
  }

  static bool IsLabelName(const std::string& s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    for (const char ch : s) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') return false;
    }
    return true;
  }

  std::string CheckUrl(const YAML::Node& node, const std::string& field) const {
    std::string url = Expand(node, field);
    CheckUrlText(node, url, field);
    return url;
  }
  void CheckUrlText(const YAML::Node& node, const std::string& url,
                    const std::string& field) const {
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      Fail(node, field + ": must be an http:// or https:// URL");
    }
  }

  void LoadOtlp(const YAML::Node& o, Config& c) const {
    CheckKeys(o, "otlp", {"assembly_window", "max_pending_spans", "labels", "verdict_evaluations"});
    if (o["assembly_window"]) {
      c.otlp.assembly_window = Duration(o["assembly_window"], "otlp.assembly_window");
      if (c.otlp.assembly_window.count() <= 0) {
        Fail(o["assembly_window"], "otlp.assembly_window: must be positive");
      }
    }
    if (o["max_pending_spans"]) {
      c.otlp.max_pending_spans = PositiveInt(o["max_pending_spans"], "otlp.max_pending_spans");
    }
    if (const YAML::Node l = o["labels"]) {
      if (!l.IsMap()) Fail(l, "otlp.labels: must be a mapping of label name to attribute");
      // Replaces the default mapping: a config that lists labels means exactly these.
      c.otlp.labels.clear();
      for (const auto& kv : l) {
        const std::string name = kv.first.as<std::string>();
        const std::string attr = Expand(kv.second, "otlp.labels." + name);
        if (name.empty() || attr.empty())
          Fail(kv.first, "otlp.labels: names and attributes must not be empty");
        if (name == "agent") Fail(kv.first, "otlp.labels.agent: agent is not a label");
        c.otlp.labels[name] = attr;
      }
      if (c.otlp.labels.size() > 16) Fail(l, "otlp.labels: at most 16 labels");
    }
    if (const YAML::Node v = o["verdict_evaluations"]) {
      c.otlp.verdict_evaluations = StringList(v, "otlp.verdict_evaluations");
    }
  }

  void LoadExternalLabels(const YAML::Node& node, Config& c) const {
    if (!node.IsMap()) Fail(node, "external_labels: must be a mapping of label name to value");
    for (const auto& kv : node) {
      const std::string name = kv.first.as<std::string>();
      // Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*, "__" reserved.
      bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                   name.rfind("__", 0) != 0;
      for (char ch : name) valid &= std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
      if (!valid) {
        Fail(kv.first, "external_labels: \"" + name +
                           "\" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not __*)");
      }
      c.external_labels[name] = Expand(kv.second, "external_labels." + name);
    }
  }

  void LoadShard(const YAML::Node& s, Config& c) const {
    CheckKeys(s, "shard", {"agents", "count", "index", "peers"});
    const bool by_hash = s["count"] || s["index"];
    if (s["agents"] && by_hash) Fail(s, "shard: give agents, or count and index, not both");
    if (s["agents"]) {
      c.shard.agents = StringList(s["agents"], "shard.agents");
      if (c.shard.agents.empty()) Fail(s["agents"], "shard.agents: must not be empty");
      return;
    }
    if (!s["count"] || !s["index"]) Fail(s, "shard: needs agents, or both count and index");
    c.shard.count = PositiveInt(s["count"], "shard.count");
    const std::string index = Expand(s["index"], "shard.index");
    const bool digits =
        !index.empty() && index.size() < 10 && std::all_of(index.begin(), index.end(), [](char ch) {
          return std::isdigit(static_cast<unsigned char>(ch));
        });
    if (!digits || std::stoll(index) >= c.shard.count) {
      Fail(s["index"], "shard.index: must be an integer from 0 to shard.count - 1 (" +
                           std::to_string(c.shard.count - 1) + ")");
    }
    c.shard.index = std::stoll(index);
    if (s["peers"]) {
      c.shard.peers = StringList(s["peers"], "shard.peers");
      if (static_cast<int64_t>(c.shard.peers.size()) != c.shard.count) {
        Fail(s["peers"], "shard.peers: must list one URL per shard (" +
                             std::to_string(c.shard.count) + "), in index order");
      }
      for (const std::string& url : c.shard.peers) CheckUrlText(s["peers"], url, "shard.peers[]");
    }
  }

  void LoadPricing(const YAML::Node& node, Config& c) const {
    if (!node.IsMap()) Fail(node, "pricing: must be a mapping of model to prices");
    for (const auto& kv : node) {
      const std::string model = kv.first.as<std::string>();
      const std::string where = "pricing." + model;
      CheckKeys(kv.second, where, {"input", "output", "cache_read", "cache_write"});
      ModelPrice p;
      if (kv.second["input"]) p.input = NonNegative(kv.second["input"], where + ".input");
      if (kv.second["output"]) p.output = NonNegative(kv.second["output"], where + ".output");
      if (kv.second["cache_read"]) {
        p.cache_read = NonNegative(kv.second["cache_read"], where + ".cache_read");
      }
      if (kv.second["cache_write"]) {
        p.cache_write = NonNegative(kv.second["cache_write"], where + ".cache_write");
      }
      c.pricing[model] = p;
    }
  }

  Config Load(const YAML::Node& root) const {
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
    if (const YAML::Node st = root["storage"]) {
      CheckKeys(st, "storage", {"path", "retention", "sync"});
      if (st["path"]) c.storage.path = Resolve(Expand(st["path"], "storage.path"));
      if (st["retention"]) c.storage.retention = Duration(st["retention"], "storage.retention");
      if (st["sync"]) {
        const std::string sync = Expand(st["sync"], "storage.sync");
        if (sync != "normal" && sync != "full") {
          Fail(st["sync"], "storage.sync: must be normal or full");
        }
        c.storage.sync_full = sync == "full";
      }
    }
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
    if (const YAML::Node w = root["sli_windows"]) {
      if (!w.IsSequence()) Fail(w, "sli_windows: must be a list of windows");
      for (const auto& item : w) {
        std::string err;
        auto spec = ParseWindow(Expand(item, "sli_windows[]"), &err);
        if (!spec) {
          const std::string hint = SuggestDuration(item.Scalar());
          Fail(item, hint.empty() ? "sli_windows: " + err
                                  : "sli_windows: \"" + item.Scalar() +
                                        "\" is not a window (did you mean " + hint + "?)");
        }
        c.sli_windows.push_back(*spec);
      }
    }
    if (const YAML::Node ex = root["exporters"]) {
      CheckKeys(ex, "exporters", {"slis", "stats", "windows", "samples"});
      if (ex["slis"]) {
        for (const std::string& name : StringList(ex["slis"], "exporters.slis")) {
          auto sli = ParseSli(name);
          if (!sli) Fail(ex["slis"], "exporters.slis: unknown SLI \"" + name + "\"");
          c.exporters.slis.push_back(*sli);
        }
      }
      if (ex["stats"]) {
        c.exporters.stats.clear();
        for (const std::string& name : StringList(ex["stats"], "exporters.stats")) {
          auto stat = ParseStat(name);
          if (!stat || *stat == Stat::kNone) {
            Fail(ex["stats"], "exporters.stats: unknown stat \"" + name + "\"");
          }
          c.exporters.stats.push_back(*stat);
        }
      }
      if (ex["windows"]) {
        for (const std::string& name : StringList(ex["windows"], "exporters.windows")) {
          std::string err;
          if (!ParseWindow(name, &err)) Fail(ex["windows"], "exporters.windows: " + err);
          c.exporters.windows.push_back(name);
        }
      }
      if (ex["samples"]) c.exporters.samples = Bool(ex["samples"], "exporters.samples");
    }
    if (const YAML::Node l = root["limits"]) {
      CheckKeys(l, "limits",
                {"max_body_bytes", "max_records_per_request", "max_agents", "max_label_sets",
                 "max_models", "max_connections", "read_timeout"});
      if (l["max_body_bytes"])
        c.limits.max_body_bytes = Bytes(l["max_body_bytes"], "limits.max_body_bytes");
      if (l["max_records_per_request"]) {
        c.limits.max_records_per_request =
            PositiveInt(l["max_records_per_request"], "limits.max_records_per_request");
      }
      if (l["max_agents"]) c.limits.max_agents = PositiveInt(l["max_agents"], "limits.max_agents");
      if (l["max_label_sets"]) {
        c.limits.max_label_sets = PositiveInt(l["max_label_sets"], "limits.max_label_sets");
      }
      if (l["max_models"]) c.limits.max_models = PositiveInt(l["max_models"], "limits.max_models");
      if (l["max_connections"]) {
        c.limits.max_connections = PositiveInt(l["max_connections"], "limits.max_connections");
      }
      if (l["read_timeout"])
        c.limits.read_timeout = Duration(l["read_timeout"], "limits.read_timeout");
    }
    if (const YAML::Node a = root["auth"]) {
      CheckKeys(a, "auth",
                {"ingest_tokens", "ingest_tokens_file", "admin_tokens", "admin_tokens_file",
                 "webhook_secret", "webhook_secret_file", "pagerduty_webhook_secret",
                 "pagerduty_webhook_secret_file", "slack_signing_secret",
                 "slack_signing_secret_file", "protect_reads"});
      c.auth.enabled = true;
      c.auth.ingest_tokens = TokenList(a, "ingest_tokens");
      c.auth.admin_tokens = TokenList(a, "admin_tokens");
      c.auth.webhook_secret = Secret(a, "webhook_secret", "auth", false);
      c.auth.pagerduty_webhook_secret = Secret(a, "pagerduty_webhook_secret", "auth", false);
      c.auth.slack_signing_secret = Secret(a, "slack_signing_secret", "auth", false);
      if (a["protect_reads"]) c.auth.protect_reads = Bool(a["protect_reads"], "auth.protect_reads");
      if (c.auth.admin_tokens.empty()) {
        Fail(a, "auth.admin_tokens: at least one admin token is required when auth is set");
      }
    }
    if (const YAML::Node t = root["tls"]) {
      CheckKeys(t, "tls", {"cert_file", "key_file"});
      if (!t["cert_file"] || !t["key_file"]) Fail(t, "tls: needs both cert_file and key_file");
      c.tls.cert_file = Resolve(Expand(t["cert_file"], "tls.cert_file"));
      c.tls.key_file = Resolve(Expand(t["key_file"], "tls.key_file"));
      for (const auto& [field, path] : {std::pair{"tls.cert_file", c.tls.cert_file},
                                        std::pair{"tls.key_file", c.tls.key_file}}) {
        if (!std::ifstream(path)) Fail(t, std::string(field) + ": cannot read " + path);
      }
    }
    if (const YAML::Node o = root["otlp"]) LoadOtlp(o, c);
    if (const YAML::Node el = root["external_labels"]) LoadExternalLabels(el, c);
    if (const YAML::Node sh = root["shard"]) LoadShard(sh, c);
    if (root["pricing"]) LoadPricing(root["pricing"], c);
    if (root["receivers"]) LoadReceivers(root["receivers"], c);
    if (const YAML::Node d = root["default_receivers"]) {
      c.default_receivers = StringList(d, "default_receivers");
      for (const std::string& name : c.default_receivers) {
        bool found = false;
        std::vector<std::string> known;
        for (const ReceiverConfig& r : c.receivers) {
          found |= r.name == name;
          known.push_back(r.name);
        }
        if (!found) {
          Fail(d, "default_receivers: unknown receiver \"" + name + "\"" +
                      (known.empty() ? " (no receivers are configured)" : DidYouMean(name, known)));
        }
      }
    }
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
    if (const YAML::Node lg = root["log"]) {
      CheckKeys(lg, "log", {"level", "format"});
      if (lg["level"]) c.log_level = Expand(lg["level"], "log.level");
      if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
          c.log_level != "error") {
        Fail(lg["level"], "log.level: must be debug, info, warn or error");
      }
      if (lg["format"]) {
        c.log_format = Expand(lg["format"], "log.format");
        if (c.log_format != "logfmt" && c.log_format != "json") {
          Fail(lg["format"], "log.format: must be logfmt or json");
        }
      }
    }
    if (c.storage.retention < c.max_event_age) {
      Fail(root["storage"] ? root["storage"] : root,
           "storage.retention: must be at least max_event_age (" + FormatDuration(c.max_event_age) +
               ") so a resent old record is never counted twice");
    }
    return WithDefaults(c);
  }

  static Config WithDefaults(Config c) {
    if (c.sli_windows.empty()) {
      for (const char* w : {"1h", "24h", "7d"}) c.sli_windows.push_back(*ParseWindow(w, nullptr));
    }
    return c;
  }

 private:
  std::string file_;
  std::string dir_;
};

}  // namespace

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
