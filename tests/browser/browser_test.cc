// The status page and an alert page as a real headless browser renders
// them (Debian's chromium, --dump-dom and --screenshot): the unhealthy agent
// marked and listed first, the firing alert with its summary, the alert
// page with its investigations and threshold. Screenshots at desktop and
// phone widths go to $AW_SCREENSHOT_DIR when set (docs/ keeps a copy),
// else to a temp dir. Skipped when chromium is not installed.

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/daemon_process.h"
#include "tests/testing/http_sink.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;

constexpr const char* kRules = R"(groups:
- name: agents
  rules:
  - alert: AgentOverridesHigh
    sli: override_rate
    window: 1h
    threshold: 0.25
    min_samples: 5
    labels: {severity: page}
    annotations:
      summary: "On-call engineers overrode {{ $labels.agent }} too often"
      runbook_url: https://wiki.example.test/runbooks/overrides
  - alert: AgentCostHigh
    sli: cost_usd
    window: 1h
    threshold: 50
    labels: {severity: ticket}
    annotations:
      summary: "{{ $labels.agent }} spends too much"
)";

std::string FindChromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
      const size_t end = std::min(dirs.find(':', start), dirs.size());
      const std::filesystem::path candidate =
          std::filesystem::path(dirs.substr(start, end - start)) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      start = end + 1;
    }
  }
  return "";
}

int64_t NowSec() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class BrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = FindChromium();
    if (chromium_.empty()) GTEST_SKIP() << "chromium is not installed";
    const char* out = std::getenv("AW_SCREENSHOT_DIR");
    shots_ =
        out && *out ? std::filesystem::path(out) : std::filesystem::path(dir_.path()) / "shots";
    std::filesystem::create_directories(shots_);
  }

  // Runs chromium headless on `url`; returns its stdout (the DOM with
  // --dump-dom). A fresh profile per run; no sandbox (CI runs as root).
  std::string Chromium(const std::string& url, const std::string& mode, int width, int height) {
    const std::string profile = dir_.path() + "/profile-" + std::to_string(runs_++);
    const std::string cmd = "timeout 90 '" + chromium_ +
                            "' --headless --no-sandbox --disable-gpu --hide-scrollbars "
                            "--no-first-run --disable-dev-shm-usage --user-data-dir='" +
                            profile + "' --window-size=" + std::to_string(width) + "," +
                            std::to_string(height) + " " + mode + " '" + url + "' 2>/dev/null";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return out;
    std::array<char, 65536> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int status = ::pclose(p);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd;
    return out;
  }

  void Screenshot(const std::string& url, const std::string& file, int width, int height) {
    const std::filesystem::path path = shots_ / file;
    std::filesystem::remove(path);
    Chromium(url, "--screenshot='" + path.string() + "'", width, height);
    std::ifstream in(path, std::ios::binary);
    std::string head(8, '\0');
    ASSERT_TRUE(in.read(head.data(), 8)) << "no screenshot at " << path;
    EXPECT_EQ(head, "\x89PNG\r\n\x1a\n");
    EXPECT_GT(std::filesystem::file_size(path), 5000u) << path;
  }

  std::string chromium_;
  testing::TempDir dir_;
  std::filesystem::path shots_;
  int runs_ = 0;
};

TEST_F(BrowserTest, StatusAndAlertPagesRenderForOnCall) {
  dir_.Write("rules/agents.yaml", kRules);
  testing::HttpSink sink;  // the receiver, so the pages show a delivery
  const std::string config =
      dir_.Write("agentwatch.yaml",
                 "listen: 127.0.0.1:0\nstorage: {path: events.db}\nevaluation_interval: 200ms\n"
                 "receivers:\n  - name: oncall-webhook\n    webhook: {url: \"" +
                     sink.Url("/hook") +
                     "\"}\n"
                     "default_receivers: [oncall-webhook]\n"
                     "rule_files: [rules/*.yaml]\n");
  DaemonProcess d(AW_BINARY, config, dir_.path());
  ASSERT_TRUE(d.Start()) << d.Log();

  // A day of traffic for three agents (for the sparklines), then a bad
  // last hour for incident-response: overrides on 3 of its 8 reviewed
  // investigations, more than the 25% threshold.
  const int64_t now = NowSec();
  const std::vector<std::string> agents = {"cost-bot", "incident-response", "release-validator"};
  json spans = json::array();
  json feedback = json::array();
  for (int h = 23; h >= 1; --h) {
    for (size_t a = 0; a < agents.size(); ++a) {
      for (int k = 0; k < 2; ++k) {
        const std::string id = agents[a] + "-h" + std::to_string(h) + "-" + std::to_string(k);
        spans.push_back({{"investigation_id", id},
                         {"agent", agents[a]},
                         {"ts", now - h * 3600 + k * 900},
                         {"estimated_cost_usd", 0.2 + 0.05 * ((h + k + a) % 5)},
                         {"tool_calls", 4 + (h * 3 + k) % 7},
                         {"confidence", 0.6 + 0.03 * (h % 10)}});
        feedback.push_back(
            {{"investigation_id", id}, {"verdict", (h + k) % 9 ? "confirm" : "override"}});
      }
    }
  }
  const std::vector<std::string> overridden = {"ir-7", "ir-3", "ir-5"};
  for (int i = 0; i < 8; ++i) {
    const std::string id = "ir-" + std::to_string(i);
    spans.push_back({{"investigation_id", id},
                     {"agent", "incident-response"},
                     {"ts", now - 3000 + i * 300},
                     {"incident_id", "INC-" + std::to_string(4400 + i)},
                     {"estimated_cost_usd", 0.3},
                     {"tool_calls", 6},
                     {"confidence", 0.5 + 0.05 * i}});
    const bool over = std::find(overridden.begin(), overridden.end(), id) != overridden.end();
    feedback.push_back({{"investigation_id", id}, {"verdict", over ? "override" : "confirm"}});
  }
  for (size_t a = 0; a < agents.size(); ++a) {
    if (agents[a] == "incident-response") continue;
    for (int i = 0; i < 4; ++i) {
      const std::string id = agents[a] + "-now-" + std::to_string(i);
      spans.push_back({{"investigation_id", id},
                       {"agent", agents[a]},
                       {"ts", now - 2400 + i * 500},
                       {"estimated_cost_usd", 0.25},
                       {"tool_calls", 5}});
      feedback.push_back({{"investigation_id", id}, {"verdict", "confirm"}});
    }
  }
  for (const auto& [path, body] :
       {std::pair{"/v1/spans", &spans}, std::pair{"/v1/feedback", &feedback}}) {
    auto res = d.Client()->Post(path, body->dump(), "application/json");
    ASSERT_TRUE(res && res->status == 200) << path << ": " << (res ? res->body : "no reply");
  }
  std::string fp;
  ASSERT_TRUE(testing::WaitFor([&] {
    auto r = d.Client()->Get("/api/v1/alerts");
    const json body = json::parse(r->body);
    for (const json& a : body["alerts"]) {
      if (a["name"] == "AgentOverridesHigh" && a["state"] == "firing" &&
          a["labels"]["agent"] == "incident-response") {
        fp = a["fingerprint"].get<std::string>();
      }
    }
    return !fp.empty();
  })) << d.Log();

  ASSERT_TRUE(sink.WaitForRequests("/hook", 1, std::chrono::seconds(10)));
  ASSERT_TRUE(testing::WaitFor([&] {
    auto r = d.Client()->Get("/api/v1/receivers");
    return r && json::parse(r->body)["receivers"][0]["last_success"].is_string();
  }));

  // The status page as the browser builds it.
  const std::string dom = Chromium(d.url() + "/", "--dump-dom", 1400, 900);
  const size_t cards = dom.find("id=\"agents\"");
  ASSERT_NE(cards, std::string::npos) << dom.substr(0, 2000);
  const size_t first = dom.find("data-agent=\"", cards);
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(dom.substr(first, 30), "data-agent=\"incident-response\"")
      << "the unhealthy agent leads, though it does not sort first by name";
  const size_t second = dom.find("data-agent=\"", first + 1);
  const size_t mark = dom.find(">unhealthy<", first);
  EXPECT_LT(mark, second) << "marked unhealthy on its own card";
  EXPECT_EQ(dom.find(">unhealthy<", second), std::string::npos) << "no other agent is";
  EXPECT_NE(dom.find("On-call engineers overrode incident-response too often"), std::string::npos);
  EXPECT_NE(dom.find("href=\"/alerts/" + fp + "\""), std::string::npos);

  // The alert page: its investigations (overrides first) and threshold.
  const std::string alert_url = d.url() + "/alerts/" + fp;
  const std::string page = Chromium(alert_url, "--dump-dom", 1400, 900);
  for (const std::string& id : overridden) {
    EXPECT_NE(page.find("href=\"/api/v1/investigations/" + id + "\""), std::string::npos) << id;
  }
  const size_t first_row = page.find("class=\"investigation\"");
  ASSERT_NE(first_row, std::string::npos);
  // Overrides come first, the most confident first: ir-7 (0.85).
  EXPECT_NE(page.substr(first_row, 200).find("ir-7"), std::string::npos)
      << page.substr(first_row, 400);
  EXPECT_NE(page.find("threshold 25.0%"), std::string::npos);
  EXPECT_NE(page.find("class=\"threshold\""), std::string::npos);
  EXPECT_NE(page.find("INC-4407"), std::string::npos);
  const size_t delivery = page.find("id=\"notifications\"");
  ASSERT_NE(delivery, std::string::npos);
  EXPECT_NE(page.find("oncall-webhook", delivery), std::string::npos);
  EXPECT_NE(page.find(">delivered<", delivery), std::string::npos);

  Screenshot(d.url() + "/", "status-page.png", 1400, 900);
  Screenshot(d.url() + "/", "status-page-phone.png", 420, 900);
  Screenshot(alert_url, "alert-page.png", 1400, 900);
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace aw
