// Prometheus compatibility, checked with the real tools: promtool lints a
// real scrape, and a real Prometheus scraping the daemon every second sees
// the same override rate as the daemon's own API.

#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/testing/child_process.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;

class PrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.Write("agentwatch.yaml",
                         "listen: 127.0.0.1:0\nstorage: {path: events.db}\n"
                         "sli_windows: [1h, 24h]\n"
                         "pricing: {m: {input: 3, output: 15}}\n");
    daemon_ = std::make_unique<DaemonProcess>(AW_BINARY, config_, dir_.path());
    ASSERT_TRUE(daemon_->Start()) << daemon_->Log();
    // Two agents, verdicts, a resolution: every metric family has series.
    std::string spans, verdicts;
    for (int i = 0; i < 40; ++i) {
      const std::string agent = i % 2 ? "triage" : "incident-response";
      spans += R"({"investigation_id":"i)" + std::to_string(i) + R"(","agent":")" + agent +
               R"(","model":"m","input_tokens":1000,"output_tokens":200,"tool_calls":)" +
               std::to_string(i % 7) + R"(,"confidence":0.)" + std::to_string(i % 9 + 1) +
               R"(,"incident_id":"INC-)" + std::to_string(i) + R"(","duration_ms":1000})" + "\n";
      verdicts += R"({"investigation_id":"i)" + std::to_string(i) + R"(","verdict":")" +
                  (i % 5 == 0 ? "override" : "confirm") + "\"}\n";
    }
    auto c = daemon_->Client();
    ASSERT_EQ(c->Post("/v1/spans", spans, "application/x-ndjson")->status, 200);
    ASSERT_EQ(c->Post("/v1/feedback", verdicts, "application/x-ndjson")->status, 200);
    ASSERT_EQ(c->Post("/v1/resolutions", R"([{"incident_id":"INC-1","time_to_resolve_s":60},
                                              {"incident_id":"INC-3","time_to_resolve_s":600}])",
                      "application/json")
                  ->status,
              200);
  }

  double ApiOverrideRate(const std::string& agent) {
    auto res = daemon_->Client()->Get(("/api/v1/slis?agent=" + agent).c_str());
    const json body = json::parse(res->body);
    for (const json& row : body["slis"]) {
      if (row["sli"] == "override_rate" && row["window"] == "1h") return row["value"].get<double>();
    }
    return -1;
  }

  testing::TempDir dir_;
  std::string config_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(PrometheusTest, PromtoolAcceptsARealScrape) {
  auto res = daemon_->Client()->Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("version=0.0.4"), std::string::npos);
  for (const char* name :
       {"agentwatch_investigations_total{agent=\"triage\"} 20", "agentwatch_feedback_total{",
        "agentwatch_tokens_total{", "agentwatch_cost_usd_total{", "agentwatch_tool_calls_total{",
        "agentwatch_sli{", "agentwatch_ingest_rejected_total", "agentwatch_build_info{version="}) {
    EXPECT_NE(res->body.find(name), std::string::npos) << name << "\n" << res->body;
  }
  const std::string scrape = dir_.Write("scrape.txt", res->body);
  std::string out, err;
  const int rc =
      testing::RunBinary("/bin/sh", {"-c", "promtool check metrics < " + scrape}, &out, &err);
  EXPECT_EQ(rc, 0) << "promtool check metrics:\n" << out << err;
}

TEST_F(PrometheusTest, RealPrometheusSeesTheSameOverrideRate) {
  if (!std::filesystem::exists("/usr/bin/prometheus")) GTEST_SKIP() << "prometheus not installed";
  const int prom_port = testing::FreePort();
  const std::string prom_config =
      dir_.Write("prometheus.yml",
                 "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                 "scrape_configs:\n  - job_name: agentwatch\n    static_configs:\n"
                 "      - targets: ['127.0.0.1:" +
                     std::to_string(daemon_->port()) + "']\n");
  std::filesystem::create_directories(dir_.File("tsdb"));
  testing::ChildProcess prometheus(
      "/usr/bin/prometheus",
      {"--config.file=" + prom_config, "--storage.tsdb.path=" + dir_.File("tsdb"),
       "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
      dir_.File("prometheus.log"));
  prometheus.Start();
  httplib::Client prom("127.0.0.1", prom_port);
  prom.set_read_timeout(5);
  prom.set_connection_timeout(1);
  const double expected = ApiOverrideRate("incident-response");
  ASSERT_GT(expected, 0);
  double seen = -1;
  const bool ok = testing::WaitFor(
      [&] {
        auto res = prom.Get(
            "/api/v1/query?query=agentwatch_sli%7Bsli%3D%22override_rate%22%2Cwindow%3D%221h%22"
            "%2Cagent%3D%22incident-response%22%7D");
        if (!res || res->status != 200) return false;
        const json body = json::parse(res->body, nullptr, false);
        if (body.is_discarded() || body["data"]["result"].empty()) return false;
        seen = std::stod(body["data"]["result"][0]["value"][1].get<std::string>());
        return true;
      },
      std::chrono::seconds(30));
  ASSERT_TRUE(ok) << "Prometheus never scraped the SLI\n" << prometheus.Log();
  EXPECT_DOUBLE_EQ(seen, expected);
  EXPECT_DOUBLE_EQ(expected, 0.2);  // 4 overrides of the agent's 20 verdicts
}

}  // namespace
}  // namespace aw
