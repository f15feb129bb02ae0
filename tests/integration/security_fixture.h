#pragma once

// The security tests' fixture (security_test.cc, security_webhooks_test.cc):
// a daemon with small limits and every secret set, and the requests and
// reads the tests make of it.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "daemon/common/hmac.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/raw_socket.h"
#include "tests/testing/signed_webhooks.h"
#include "tests/testing/temp_dir.h"

namespace aw::security_test {

using json = nlohmann::json;
using testing::DaemonProcess;
using testing::RawSocket;
using Clock = std::chrono::steady_clock;

constexpr const char* kIngestToken = "ingest-token-0123456789";
constexpr const char* kAdminToken = "admin-token-0123456789ab";
constexpr const char* kPdSecret = "pd-subscription-secret";
constexpr const char* kSlackSecret = "slack-signing-secret";

inline std::string Bearer() { return std::string("Bearer ") + kIngestToken; }

inline std::string Iso(std::time_t t) {
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class SecurityTest : public ::testing::Test {
 protected:
  std::unique_ptr<DaemonProcess> StartDaemon(const std::string& extra_yaml,
                                             const std::string& limits =
                                                 "{max_body_bytes: 64KiB, "
                                                 "max_records_per_request: 500}") {
    const std::string config =
        dir_.Write("agentwatch.yaml", testing::SmallDaemonConfig(limits, extra_yaml));
    auto d = std::make_unique<DaemonProcess>(AW_BINARY, config, dir_.path());
    EXPECT_TRUE(d->Start()) << d->Log();
    return d;
  }

  static std::string AuthYaml() {
    return std::string("auth:\n  ingest_tokens: [") + kIngestToken + "]\n  admin_tokens: [" +
           kAdminToken + "]\n  pagerduty_webhook_secret: " + kPdSecret +
           "\n  slack_signing_secret: " + kSlackSecret + "\n";
  }

  static json Post(DaemonProcess& d, const std::string& path, const std::string& body, int* status,
                   const httplib::Headers& headers = {},
                   const std::string& ctype = "application/json") {
    auto res = d.Client()->Post(path.c_str(), headers, body, ctype.c_str());
    if (!res) {
      *status = -1;
      return json();
    }
    *status = res->status;
    return json::parse(res->body, nullptr, false);
  }

  static std::string FirstError(const json& reply) {
    if (!reply.is_object() || !reply.contains("errors") || reply["errors"].empty()) {
      return reply.is_object() && reply.contains("error") ? reply["error"].get<std::string>()
                                                          : reply.dump();
    }
    return reply["errors"][0]["error"].get<std::string>();
  }

  static std::string Metrics(DaemonProcess& d, const httplib::Headers& headers = {}) {
    auto res = d.Client()->Get("/metrics", headers);
    return res ? res->body : "";
  }

  static bool HasMetric(const std::string& metrics, const std::string& line) {
    return metrics.find(line) != std::string::npos;
  }

  // The value of one SLI row (and its sample count), or nullopt when absent.
  static std::optional<json> SliRow(DaemonProcess& d, const std::string& agent,
                                    const std::string& sli, const std::string& window) {
    auto res = d.Client()->Get(("/api/v1/slis?agent=" + agent).c_str());
    if (!res || res->status != 200) return std::nullopt;
    const json reply = json::parse(res->body);  // outlives the loop (C++20 range-for)
    for (const json& row : reply["slis"]) {
      if (row["sli"] == sli && row["window"] == window && row["stat"] == "") return row;
    }
    return std::nullopt;
  }

  static bool Healthy(DaemonProcess& d) {
    int status = 0;
    Post(d, "/v1/spans",
         R"({"investigation_id":"probe-)" + std::to_string(probe_++) + R"(","agent":"probe"})",
         &status, {{"Authorization", Bearer()}});
    return status == 200;
  }

  testing::TempDir dir_;
  static inline int probe_ = 0;
};

}  // namespace aw::security_test
