// Loader's receivers block: one notifier each, its grouping, and the
// default_receivers that name them.

#include <set>

#include "daemon/common/did_you_mean.h"

#include "daemon/config/loader.h"

namespace aw::config_internal {

void Loader::LoadReceivers(const YAML::Node& node, Config& c) const {
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

void Loader::LoadGrouping(const YAML::Node& r, const std::string& where, GroupingConfig& g) const {
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

// default_receivers: names of receivers already loaded.
void Loader::LoadDefaultReceivers(const YAML::Node& d, Config& c) const {
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

}  // namespace aw::config_internal
