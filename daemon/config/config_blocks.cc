// Loader's blocks other than receivers: storage, sli_windows, exporters,
// limits, auth, tls, log, otlp, external_labels, shard, pricing.

#include <algorithm>
#include <cctype>
#include <fstream>

#include "daemon/common/did_you_mean.h"
#include "daemon/common/time_util.h"

#include "daemon/config/loader.h"

namespace aw::config_internal {

// storage: the database file, its retention and fsync policy.
void Loader::LoadStorage(const YAML::Node& st, Config& c) const {
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

// sli_windows: the windows every SLI is kept over.
void Loader::LoadWindows(const YAML::Node& w, Config& c) const {
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

// exporters: which SLIs, stats and windows /metrics shows.
void Loader::LoadExporters(const YAML::Node& ex, Config& c) const {
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

// limits: request sizes, cardinality caps, connections.
void Loader::LoadLimits(const YAML::Node& l, Config& c) const {
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
  if (l["read_timeout"]) c.limits.read_timeout = Duration(l["read_timeout"], "limits.read_timeout");
}

// auth: tokens and webhook secrets; admin tokens are required.
void Loader::LoadAuth(const YAML::Node& a, Config& c) const {
  CheckKeys(
      a, "auth",
      {"ingest_tokens", "ingest_tokens_file", "admin_tokens", "admin_tokens_file", "webhook_secret",
       "webhook_secret_file", "pagerduty_webhook_secret", "pagerduty_webhook_secret_file",
       "slack_signing_secret", "slack_signing_secret_file", "protect_reads"});
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

// tls: certificate and key files, both readable.
void Loader::LoadTls(const YAML::Node& t, Config& c) const {
  CheckKeys(t, "tls", {"cert_file", "key_file"});
  if (!t["cert_file"] || !t["key_file"]) Fail(t, "tls: needs both cert_file and key_file");
  c.tls.cert_file = Resolve(Expand(t["cert_file"], "tls.cert_file"));
  c.tls.key_file = Resolve(Expand(t["key_file"], "tls.key_file"));
  for (const auto& [field, path] :
       {std::pair{"tls.cert_file", c.tls.cert_file}, std::pair{"tls.key_file", c.tls.key_file}}) {
    if (!std::ifstream(path)) Fail(t, std::string(field) + ": cannot read " + path);
  }
}

// log: level and format.
void Loader::LoadLog(const YAML::Node& lg, Config& c) const {
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

void Loader::LoadOtlp(const YAML::Node& o, Config& c) const {
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

void Loader::LoadExternalLabels(const YAML::Node& node, Config& c) const {
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

void Loader::LoadShard(const YAML::Node& s, Config& c) const {
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

void Loader::LoadPricing(const YAML::Node& node, Config& c) const {
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

}  // namespace aw::config_internal
