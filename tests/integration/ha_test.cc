// An HA pair, active-active, against the real binaries: two agentwatch
// instances fed the same traffic post to a real two-node Alertmanager
// cluster, which must deduplicate them: the same breach notifies once; with
// one instance killed the survivor still notifies; the killed one,
// restarted on its store, does not notify again.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/testing/child_process.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/http_sink.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;
using testing::DaemonProcess;

constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";
// How long the second Alertmanager waits for the first one's notification
// to reach it before sending its own.
constexpr int kPeerTimeoutSeconds = 2;

constexpr const char* kRules = R"(groups:
- name: agents
  rules:
  - alert: AgentBusy
    sli: investigations
    window: 1h
    threshold: 2
)";

class HaTest : public ::testing::Test {
 protected:
  // Starts Alertmanager node `i` of two, peered with the other.
  void StartAlertmanager(int i) {
    const std::string dir = dir_.File("am" + std::to_string(i));
    std::filesystem::create_directories(dir);
    const std::string config =
        dir_.Write("am" + std::to_string(i) + "/alertmanager.yml",
                   "route:\n  receiver: hook\n  group_by: [alertname, agent]\n"
                   "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
                   "receivers:\n  - name: hook\n    webhook_configs:\n"
                   "      - {url: \"" +
                       sink_.Url("/notify") + "\", send_resolved: false}\n");
    const std::string self = "127.0.0.1:" + std::to_string(cluster_ports_[i]);
    const std::string peer = "127.0.0.1:" + std::to_string(cluster_ports_[1 - i]);
    am_[i] = std::make_unique<testing::ChildProcess>(
        kAlertmanager,
        std::vector<std::string>{
            "--config.file=" + config, "--storage.path=" + dir,
            "--web.listen-address=127.0.0.1:" + std::to_string(web_ports_[i]),
            "--cluster.listen-address=" + self, "--cluster.advertise-address=" + self,
            "--cluster.peer=" + peer,
            "--cluster.peer-timeout=" + std::to_string(kPeerTimeoutSeconds) + "s",
            "--cluster.gossip-interval=50ms", "--cluster.pushpull-interval=1s",
            "--cluster.settle-timeout=3s"},
        dir + "/log");
    am_[i]->Start();
  }

  bool ClusterReady() {
    return testing::WaitFor(
        [&] {
          for (int i = 0; i < 2; ++i) {
            httplib::Client c("127.0.0.1", web_ports_[i]);
            auto res = c.Get("/api/v2/status");
            if (!res || res->status != 200) return false;
            const json s = json::parse(res->body, nullptr, false);
            if (s.is_discarded() || s["cluster"]["peers"].size() != 2) return false;
          }
          return true;
        },
        seconds(20));
  }

  std::unique_ptr<DaemonProcess> Instance(const std::string& name) {
    dir_.Write(name + "/rules.yaml", kRules);
    std::string receivers;
    for (int i = 0; i < 2; ++i) {
      receivers += "  - name: am" + std::to_string(i) +
                   "\n    alertmanager: {url: \"http://127.0.0.1:" + std::to_string(web_ports_[i]) +
                   "\"}\n";
    }
    const std::string config =
        dir_.Write(name + "/agentwatch.yaml",
                   "listen: 127.0.0.1:0\nstorage: {path: events.db}\nevaluation_interval: 200ms\n"
                   "external_labels: {replica: " +
                       name +
                       "}\n"
                       "receivers:\n" +
                       receivers + "default_receivers: [am0, am1]\nrule_files: [rules.yaml]\n");
    return std::make_unique<DaemonProcess>(AW_BINARY, config, dir_.File(name));
  }

  static void Breach(DaemonProcess& d, const std::string& agent) {
    std::string body;
    for (int i = 0; i < 3; ++i) {
      body += R"({"investigation_id":")" + agent + "-" + std::to_string(i) + R"(","agent":")" +
              agent + "\"}\n";
    }
    auto res = d.Client()->Post("/v1/spans", body, "application/x-ndjson");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }

  // The agents of the firing alerts the receiver was notified of, one entry
  // per alert per notification.
  std::multiset<std::string> Notified() {
    std::multiset<std::string> out;
    for (const auto& r : sink_.Requests("/notify")) {
      const json body = json::parse(r.body, nullptr, false);
      if (body.is_discarded()) continue;
      for (const json& a : body["alerts"]) {
        if (a["status"] == "firing") out.insert(a["labels"]["agent"].get<std::string>());
      }
    }
    return out;
  }

  // Long enough for the second Alertmanager to have sent a duplicate if
  // the cluster did not deduplicate: group_wait + its peer timeout, twice.
  static void WaitPastPeerTimeout() {
    std::this_thread::sleep_for(seconds(1 + 2 * kPeerTimeoutSeconds + 2));
  }

  testing::TempDir dir_;
  testing::HttpSink sink_;
  int web_ports_[2] = {testing::FreePort(), testing::FreePort()};
  int cluster_ports_[2] = {testing::FreePort(), testing::FreePort()};
  std::unique_ptr<testing::ChildProcess> am_[2];
};

TEST_F(HaTest, AlertmanagerClusterNotifiesOncePerBreach) {
  if (!std::filesystem::exists(kAlertmanager))
    GTEST_SKIP() << "prometheus-alertmanager not installed";
  StartAlertmanager(0);
  StartAlertmanager(1);
  ASSERT_TRUE(ClusterReady()) << am_[0]->Log() << am_[1]->Log();

  auto a = Instance("a");
  auto b = Instance("b");
  ASSERT_TRUE(a->Start()) << a->Log();
  ASSERT_TRUE(b->Start()) << b->Log();

  // The same breach at both instances: each posts to both nodes.
  Breach(*a, "ir");
  Breach(*b, "ir");
  ASSERT_TRUE(sink_.WaitForRequests("/notify", 1, seconds(20))) << am_[0]->Log() << am_[1]->Log();
  WaitPastPeerTimeout();
  EXPECT_EQ(Notified(), (std::multiset<std::string>{"ir"}));

  // One instance dies; a new breach reaches only the survivor.
  a->Kill9();
  Breach(*b, "cost-bot");
  ASSERT_TRUE(sink_.WaitForRequests("/notify", 2, seconds(20)));
  WaitPastPeerTimeout();
  EXPECT_EQ(Notified(), (std::multiset<std::string>{"ir", "cost-bot"}));

  // The killed one comes back on its store: its firing alert is not news.
  ASSERT_TRUE(a->Start()) << a->Log();
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        const json alerts = json::parse(a->Client()->Get("/api/v1/alerts")->body)["alerts"];
        return alerts.size() == 1 && alerts[0]["state"] == "firing";
      },
      seconds(10)));
  WaitPastPeerTimeout();
  EXPECT_EQ(Notified(), (std::multiset<std::string>{"ir", "cost-bot"}));
  EXPECT_EQ(a->Stop(), 0);
  EXPECT_EQ(b->Stop(), 0);
}

}  // namespace
}  // namespace aw
