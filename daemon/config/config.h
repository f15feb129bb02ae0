#pragma once

// The daemon's configuration (CONTRACT.md "Config file"): one plain value,
// loaded from YAML with every error naming its key (and the closest valid
// key for a typo), then overridden by command-line flags. Immutable once
// loaded: a reload builds a new Config and the App swaps it in.
//
// Owns the file format only (parsing in loader.h and config*.cc). Loading
// reads the file, secret files and the environment; a loaded Config is a
// plain value, safe to read from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/common/status.h"
#include "daemon/common/types.h"
#include "daemon/config/shard.h"

namespace aw {

struct PagerDutyReceiver {
  std::string routing_key;
  std::string url = "https://events.pagerduty.com/v2/enqueue";
};
struct SlackReceiver {
  std::string webhook_url;
};
struct WebhookReceiver {
  std::string url;
  std::string secret;  // empty: unsigned
};
struct AlertmanagerReceiver {
  std::string url;  // base URL; we POST {url}/api/v2/alerts
};

// Alertmanager's notification grouping for one receiver (alerting/grouping.h).
struct GroupingConfig {
  // Set when the receiver gives any of group_by, group_wait, group_interval
  // (an ungrouped receiver gets every change at once, one alert per
  // message), or only its own repeat_interval: then each alert is its own
  // group with no wait and no interval, so changes still go out at once.
  bool enabled = false;
  bool by_all = true;           // group_by: [...] (each alert its own group)
  std::vector<std::string> by;  // label names when !by_all
  Millis wait{0};
  Millis interval{5LL * 60 * 1000};
  Millis repeat{0};  // 0 until loaded: then the receiver's or the top-level repeat_interval
};

struct ReceiverConfig {
  enum class Kind { kPagerDuty, kSlack, kWebhook, kAlertmanager };
  std::string name;
  Kind kind = Kind::kWebhook;
  PagerDutyReceiver pagerduty;
  SlackReceiver slack;
  WebhookReceiver webhook;
  AlertmanagerReceiver alertmanager;
  Millis timeout{10'000};
  GroupingConfig grouping;
};

struct Config {
  std::string file;  // the config file, as given
  std::string dir;   // its folder: relative paths resolve against it

  std::string listen = "127.0.0.1:9464";
  // Base of every link in notifications; "" means http(s)://<listen>.
  std::string external_url;
  struct Storage {
    std::string path = "./data/agentwatch.db";  // resolved
    Millis retention{30LL * 24 * 3600 * 1000};
    bool sync_full = false;
  } storage;
  Millis evaluation_interval{15'000};
  Millis max_event_age{7LL * 24 * 3600 * 1000};
  Millis max_clock_skew{5 * 60 * 1000};
  std::vector<WindowSpec> sli_windows;  // default 1h, 24h, 7d
  // `exporters:` which rows of the sli_windows snapshot /metrics exports
  // (/api/v1/slis always shows them all). The default is 16 rows per window:
  // the 6 plain SLIs and p50, p95 of the 5 distributions; 48 agentwatch_sli
  // series per agent with the three default windows.
  struct Exporters {
    std::vector<Sli> slis;                            // empty: every SLI
    std::vector<Stat> stats{Stat::kP50, Stat::kP95};  // of distribution SLIs
    std::vector<std::string> windows;                 // sli_windows names; empty: all
    bool samples = false;                             // also export agentwatch_sli_samples per row
  } exporters;
  struct Limits {
    int64_t max_body_bytes = 4 << 20;
    int64_t max_records_per_request = 10'000;
    int64_t max_agents = 1'000;  // label cardinality guard
    int64_t max_label_sets = 10'000;
    int64_t max_models = 200;  // distinct `model` metric label values
    int64_t max_connections = 4096;
    Millis read_timeout{10'000};
  } limits;
  struct Auth {
    bool enabled = false;
    std::vector<std::string> ingest_tokens;
    std::vector<std::string> admin_tokens;
    std::string webhook_secret;
    std::string pagerduty_webhook_secret;
    std::string slack_signing_secret;
    bool protect_reads = false;  // GET endpoints need a token too
  } auth;
  struct Tls {
    std::string cert_file;
    std::string key_file;
  } tls;
  // OTLP/HTTP ingest (/v1/traces, /v1/logs).
  struct Otlp {
    Millis assembly_window{2 * 60 * 1000};  // children wait for (or follow) their investigation
    int64_t max_pending_spans = 100'000;    // held spans; beyond it the oldest are dropped
    Labels labels{{"env", "deployment.environment.name"},
                  {"version", "gen_ai.agent.version"}};  // label name -> attribute
    std::vector<std::string> verdict_evaluations{"oncall_verdict"};
  } otlp;
  Pricing pricing;
  std::vector<ReceiverConfig> receivers;
  std::vector<std::string> default_receivers;
  Millis repeat_interval{4LL * 3600 * 1000};
  Millis delivery_max_age{24LL * 3600 * 1000};
  // Expired silences are kept (listed, shown) this long, then deleted, as
  // Alertmanager's --data.retention.
  Millis silence_retention{120LL * 3600 * 1000};
  std::vector<std::string> rule_files;  // globs, resolved against dir
  // Added to every series on /metrics (e.g. {replica: a} for Thanos/Mimir
  // deduplication of an HA pair); a label a series already has is kept.
  Labels external_labels;
  ShardSpec shard;  // which agents this instance owns; unset: all
  std::string log_level = "info";
  std::string log_format = "logfmt";  // logfmt | json
  // Command-line overrides applied to this config, in order (kept so that
  // a reload applies them again).
  std::vector<std::pair<std::string, std::string>> overrides;
};

// Loads and validates a config file. Errors read "FILE:LINE: message".
// ${ENV} is expanded in scalars; `*_file` keys read secrets from files.
Result<Config> LoadConfig(const std::string& path);

// Applies a command-line override such as "listen", "storage.path",
// "log.level", "log.format". Returns an error for an unknown key or bad value.
Status ApplyOverride(Config& config, const std::string& key, const std::string& value);

// What a reload applies: `fresh` with the running process's overrides
// applied again and the settings that only a restart changes (file,
// listener, storage, TLS, OTLP assembly, logging, the server's limits but
// max_records_per_request) kept from `running`. Every other field follows
// the file, so a new field is reloadable unless listed here.
Config ForReload(const Config& running, Config fresh);

}  // namespace aw
