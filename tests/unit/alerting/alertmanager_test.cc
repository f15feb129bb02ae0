// Posts to a real Alertmanager (Debian's prometheus-alertmanager) on
// loopback and reads the alert back through its API.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "alerting/http_notifier.h"
#include "alerting/outbox_sender.h"
#include "daemon/common/time_util.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/alerting/fake_outbox_store.h"
#include "tests/unit/alerting/test_util.h"

extern char** environ;

namespace aw::alerting {
namespace {

using namespace std::chrono_literals;
using State = test::FakeOutboxStore::State;

constexpr char kAlertmanager[] = "/usr/bin/prometheus-alertmanager";

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An Alertmanager process on 127.0.0.1, killed by PID on destruction.
class AlertmanagerProcess {
 public:
  explicit AlertmanagerProcess(const aw::testing::TempDir& dir) : dir_(dir) {
    port_ = FreePort();
    std::string config = dir.Write("alertmanager.yml",
                                   "route:\n"
                                   "  receiver: 'null'\n"
                                   "receivers:\n"
                                   "  - name: 'null'\n");
    std::vector<std::string> args = {
        kAlertmanager,
        "--config.file=" + config,
        "--storage.path=" + dir.File("am-data"),
        "--web.listen-address=127.0.0.1:" + std::to_string(port_),
        "--cluster.listen-address=",
        "--log.level=warn",
    };
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    log_ = dir.File("alertmanager.log");
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, kAlertmanager, &actions, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }

  ~AlertmanagerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  // Polls /-/ready until it answers 200 or the process exits.
  bool WaitReady(std::chrono::seconds timeout) {
    if (pid_ <= 0) return false;
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(1s);
    client.set_read_timeout(1s);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto res = client.Get("/-/ready"); res && res->status == 200) {
        return true;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      // Alertmanager offers no readiness notification; poll it.
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return ReadFile(log_); }

  // Active alerts from GET /api/v2/alerts.
  nlohmann::json Alerts() const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(5s);
    auto res = client.Get("/api/v2/alerts");
    if (!res || res->status != 200) return nlohmann::json::array();
    return nlohmann::json::parse(res->body, nullptr, false);
  }

  nlohmann::json FindAlert(const std::string& alertname) const {
    for (const auto& a : Alerts()) {
      if (a["labels"].value("alertname", "") == alertname) return a;
    }
    return nullptr;
  }

 private:
  const aw::testing::TempDir& dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string log_;
};

TEST(AlertmanagerIntegrationTest, PostedAlertIsActiveInAlertmanager) {
  if (::access(kAlertmanager, X_OK) != 0) {
    GTEST_SKIP() << kAlertmanager << " is not installed (apt-get install prometheus-alertmanager)";
  }
  aw::testing::TempDir dir;
  AlertmanagerProcess am(dir);
  ASSERT_TRUE(am.WaitReady(30s)) << am.Log();

  // Real time: Alertmanager compares endsAt with its own clock.
  SystemClock clock;
  test::FakeOutboxStore store;
  HttpNotifier::Options notifier_options;
  notifier_options.https_proxy = notifier_options.http_proxy = "";
  notifier_options.payload.external_url = "http://agentwatch.test:9464";
  HttpNotifier notifier(notifier_options);
  OutboxSender::Options options;
  options.seed = 7;
  OutboxSender sender(store, clock, {test::Alertmanager("am", am.Url())}, notifier, options);

  const TimeMs now = clock.NowMs();
  AlertEvent event = test::FiringEvent("agentwatch_it_low_accuracy");
  event.active_since_ms = now - 120'000;
  event.fired_at_ms = now - 60'000;
  int64_t id = store.Add("am", test::Payload(event), now);
  EXPECT_EQ(sender.DeliverDue(now), 1);
  ASSERT_EQ(store.Get(id)->state, State::kDelivered) << store.Get(id)->item.last_error << "\n"
                                                     << am.Log();

  nlohmann::json alert = am.FindAlert("agentwatch_it_low_accuracy");
  ASSERT_FALSE(alert.is_null()) << am.Alerts().dump(2);
  EXPECT_EQ(alert["labels"]["agent"], "incident-response");
  EXPECT_EQ(alert["labels"]["severity"], "page");
  EXPECT_EQ(alert["annotations"]["summary"], "Override rate is high");
  EXPECT_EQ(alert["generatorURL"].get<std::string>().rfind("http://agentwatch.test:9464/", 0), 0u);
  EXPECT_NE(alert["status"]["state"], "");
  auto ends = ParseRfc3339(alert["endsAt"].get<std::string>());
  ASSERT_TRUE(ends.has_value());
  // now + 4 x 1 min resend interval (Alertmanager keeps ms precision).
  EXPECT_NEAR(static_cast<double>(*ends), static_cast<double>(now + 240'000), 1000.0);

  // The resolve ends it: Alertmanager no longer lists it as active.
  event.resolved = true;
  event.resolved_at_ms = clock.NowMs() - 1000;
  int64_t resolve = store.Add("am", test::Payload(event), clock.NowMs());
  EXPECT_EQ(sender.DeliverDue(clock.NowMs()), 1);
  ASSERT_EQ(store.Get(resolve)->state, State::kDelivered);
  EXPECT_TRUE(am.FindAlert("agentwatch_it_low_accuracy").is_null()) << am.Alerts().dump(2);
}

}  // namespace
}  // namespace aw::alerting
