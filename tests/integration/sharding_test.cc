// Sharding by agent against the real binaries: two shards (count: 2, with
// peers) and one instance holding every agent get the same traffic; a real
// Prometheus scrapes all three with the shipped recording rules loaded. The
// fleet-wide figures over the shards equal the single instance's, and its
// own fleet figure (a `by: []` rule row on /api/v1/slis).

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/testing/child_process.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/http_sink.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;

// FNV-1a 64 written out here, not taken from the daemon: the placement the
// docs promise (owner = hash % count).
uint64_t Fnv(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

constexpr const char* kFleetRules = R"(groups:
- name: fleet
  rules:
  - {alert: FleetOverrides, sli: override_rate, window: 1h, by: [], threshold: 2}
  - {alert: FleetVolume, sli: investigations, window: 1h, by: [], threshold: 1000000000}
  - {alert: FleetCost, sli: cost_usd, window: 1h, by: [], threshold: 1000000000}
)";

class ShardingTest : public ::testing::Test {
 protected:
  std::string Config(const std::string& name, const std::string& extra, int port) {
    return dir_.Write(name + "/agentwatch.yaml",
                      "listen: 127.0.0.1:" + std::to_string(port) +
                          "\nstorage: {path: events.db}\nsli_windows: [1h]\n"
                          "exporters: {samples: true}\n"
                          "receivers:\n  - name: hook\n    webhook: {url: \"" +
                          sink_.Url("/hook") +
                          "\"}\ndefault_receivers: [hook]\nrule_files: [rules.yaml]\n" + extra);
  }

  std::unique_ptr<DaemonProcess> Launch(const std::string& name, const std::string& extra,
                                        int port) {
    dir_.Write(name + "/rules.yaml", kFleetRules);
    auto d = std::make_unique<DaemonProcess>(AW_BINARY, Config(name, extra, port), dir_.File(name));
    EXPECT_TRUE(d->Start()) << d->Log();
    return d;
  }

  static json Post(const std::string& url, const std::string& path, const std::string& body,
                   int* status) {
    httplib::Client c(url);
    auto res = c.Post(path.c_str(), body, "application/x-ndjson");
    *status = res ? res->status : -1;
    return res ? json::parse(res->body, nullptr, false) : json();
  }

  testing::TempDir dir_;
  testing::HttpSink sink_;
};

TEST_F(ShardingTest, FleetFiguresOverShardsEqualOneInstanceHoldingAllAgents) {
  if (!std::filesystem::exists("/usr/bin/prometheus")) GTEST_SKIP() << "prometheus not installed";
  const int p0 = testing::FreePort(), p1 = testing::FreePort();
  const std::string url0 = "http://127.0.0.1:" + std::to_string(p0);
  const std::string url1 = "http://127.0.0.1:" + std::to_string(p1);
  const std::string peers = "  peers: [\"" + url0 + "\", \"" + url1 + "\"]\n";
  auto shard0 = Launch("shard0", "shard:\n  count: 2\n  index: 0\n" + peers, p0);
  auto shard1 = Launch("shard1", "shard:\n  count: 2\n  index: 1\n" + peers, p1);
  auto single = Launch("single", "external_labels: {replica: single-a}\n", 0);
  ASSERT_TRUE(shard0->running() && shard1->running() && single->running());
  const std::vector<std::string> shard_urls = {url0, url1};

  // The traffic, and the fleet's figures computed from it here.
  int investigations = 0, verdicts = 0, overrides = 0, redirected = 0;
  double cost = 0;
  std::string all_verdicts;
  for (int a = 0; a < 10; ++a) {
    const std::string agent = "agent-" + std::to_string(a);
    std::string spans;
    const int n = 3 + a % 4;
    for (int j = 0; j < n; ++j) {
      const std::string id = agent + "-inv-" + std::to_string(j);
      const double c = 0.01 * (j + 1) + 0.001 * a;
      spans += R"({"investigation_id":")" + id + R"(","agent":")" + agent +
               R"(","estimated_cost_usd":)" + std::to_string(c) + "}\n";
      cost += std::stod(std::to_string(c));
      ++investigations;
      if (j == 0) continue;  // unreviewed
      const bool override = (a + j) % 3 == 0;
      all_verdicts += R"({"investigation_id":")" + id + R"(","verdict":")" +
                      (override ? "override" : "confirm") + "\"" +
                      (j % 2 ? "" : R"(,"agent":")" + agent + "\"") + "}\n";
      ++verdicts;
      overrides += override ? 1 : 0;
    }
    // To shard 0; a 421 names the owner, and the owner takes them.
    int status = 0;
    json body = Post(url0, "/v1/spans", spans, &status);
    const uint64_t owner = Fnv(agent) % 2;
    if (owner == 0) {
      ASSERT_EQ(status, 200) << body.dump();
      EXPECT_EQ(body["accepted"], n);
    } else {
      ASSERT_EQ(status, 421) << body.dump();
      const std::string error = body["error"];
      EXPECT_NE(error.find("agent: \"" + agent + "\" is served by shard 1 (" + url1 + ")"),
                std::string::npos)
          << error;
      EXPECT_EQ(body["rejected"], n);
      ASSERT_EQ(body["errors"].size(), static_cast<size_t>(n));
      ++redirected;
      body = Post(shard_urls[owner], "/v1/spans", spans, &status);
      ASSERT_EQ(status, 200) << body.dump();
      EXPECT_EQ(body["accepted"], n);
    }
    body = Post(single->url(), "/v1/spans", spans, &status);
    ASSERT_EQ(status, 200) << body.dump();
  }
  EXPECT_GT(redirected, 0);
  EXPECT_LT(redirected, 10);

  // A mixed batch: the shard keeps its own agent's record and names the
  // owner of the other in a 200, as it does for an invalid record.
  std::string own, foreign;
  for (int a = 0; own.empty() || foreign.empty(); ++a) {
    const std::string agent = "agent-" + std::to_string(a);
    (Fnv(agent) % 2 == 0 ? own : foreign) = agent;
  }
  const std::string mixed = R"({"investigation_id":"mixed-0","agent":")" + own + "\"}\n" +
                            R"({"investigation_id":"mixed-1","agent":")" + foreign + "\"}\n";
  int status = 0;
  json body = Post(url0, "/v1/spans", mixed, &status);
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["accepted"], 1);
  EXPECT_EQ(body["rejected"], 1);
  ASSERT_EQ(body["errors"].size(), 1u);
  EXPECT_EQ(body["errors"][0]["index"], 1);
  EXPECT_NE(body["errors"][0]["error"].get<std::string>().find(foreign), std::string::npos);
  ASSERT_EQ((Post(url1, "/v1/spans",
                  R"({"investigation_id":"mixed-1","agent":")" + foreign + "\"}\n", &status),
             status),
            200);
  ASSERT_EQ((Post(single->url(), "/v1/spans", mixed, &status), status), 200);
  investigations += 2;

  // OTLP: a foreign agent's investigation is rejected in partialSuccess,
  // naming its owner, and not stored.
  {
    const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const std::string otlp =
        R"({"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[{)"
        R"("traceId":"0123456789abcdef0123456789abcdef","spanId":"0123456789abcdef",)"
        R"("name":"invoke_agent","startTimeUnixNano":")" +
        std::to_string(now_ns - 1'000'000'000) + R"(","endTimeUnixNano":")" +
        std::to_string(now_ns) +
        R"(","attributes":[)"
        R"({"key":"gen_ai.operation.name","value":{"stringValue":"invoke_agent"}},)"
        R"({"key":"gen_ai.agent.name","value":{"stringValue":")" +
        foreign + R"("}}]}]}]}]})";
    httplib::Client c(url0);
    auto res = c.Post("/v1/traces", otlp, "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const json reply = json::parse(res->body);
    EXPECT_EQ(reply["partialSuccess"]["rejectedSpans"], "1") << res->body;
    EXPECT_NE(reply["partialSuccess"]["errorMessage"].get<std::string>().find(
                  "agent: \"" + foreign + "\" is served by shard 1 (" + url1 + ")"),
              std::string::npos)
        << res->body;
    EXPECT_EQ(
        shard0->Client()->Get("/api/v1/investigations/0123456789abcdef0123456789abcdef")->status,
        404);
  }

  // Verdicts go to every shard (the sender does not know the owner).
  for (const std::string& url : {url0, url1, single->url()}) {
    body = Post(url, "/v1/feedback", all_verdicts, &status);
    ASSERT_EQ(status, 200) << url << " " << body.dump();
    EXPECT_EQ(body["accepted"], verdicts);
  }

  // Prometheus scrapes all three every second, with the shipped rules.
  const int prom_port = testing::FreePort();
  // Appended piecewise: g++ 12 warns (-Wrestrict, GCC bug 105329) on
  // `"'" + std::string`.
  const auto target = [](const std::string& u) {
    std::string t(1, '\'');
    t.append(u, 7);  // without "http://"
    t += '\'';
    return t;
  };
  const std::string prom_config =
      dir_.Write("prometheus.yml",
                 "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                 "rule_files: ['" AW_SOURCE_DIR
                 "/examples/prometheus/agentwatch-recording-rules.yml']\n"
                 "scrape_configs:\n"
                 "  - job_name: shards\n    static_configs: [{targets: [" +
                     target(url0) + ", " + target(url1) +
                     "]}]\n"
                     "  - job_name: single\n    static_configs: [{targets: [" +
                     target(single->url()) + "]}]\n");
  std::filesystem::create_directories(dir_.File("tsdb"));
  testing::ChildProcess prom(
      "/usr/bin/prometheus",
      {"--config.file=" + prom_config, "--storage.tsdb.path=" + dir_.File("tsdb"),
       "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
      dir_.File("prometheus.log"));
  prom.Start();
  httplib::Client pc("127.0.0.1", prom_port);
  pc.set_read_timeout(5);
  pc.set_connection_timeout(1);
  const auto query = [&](const std::string& q) -> std::optional<double> {
    auto res = pc.Get("/api/v1/query", httplib::Params{{"query", q}}, httplib::Headers{});
    if (!res || res->status != 200) return std::nullopt;
    const json b = json::parse(res->body, nullptr, false);
    if (b.is_discarded() || b["data"]["result"].size() != 1) return std::nullopt;
    return std::stod(b["data"]["result"][0]["value"][1].get<std::string>());
  };
  const auto fleet = [&](const std::string& record, const std::string& job) {
    return query(record + "{job=\"" + job + "\",window=\"1h\"}");
  };
  // Wait until both jobs' recording rules have seen every record.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (const char* job : {"shards", "single"}) {
          auto inv = fleet("agentwatch:investigations:fleet", job);
          auto n = fleet("agentwatch:override_rate_samples:fleet", job);
          if (!inv || *inv != investigations || !n || *n != verdicts) return false;
        }
        return true;
      },
      std::chrono::seconds(40)))
      << "want " << investigations << " investigations, " << verdicts
      << " verdicts; Prometheus has " << [&] {
           std::string out;
           for (const char* q :
                {"agentwatch:investigations:fleet", "agentwatch:override_rate_samples:fleet",
                 "agentwatch_sli{sli=\"investigations\"}"}) {
             auto res = pc.Get("/api/v1/query", httplib::Params{{"query", q}}, httplib::Headers{});
             out += std::string(q) + " -> " + (res ? res->body : "no answer") + "\n";
           }
           return out;
         }();

  // The single instance's own fleet figures (by: [] rule rows).
  std::map<std::string, double> own_fleet;
  const json slis = json::parse(single->Client()->Get("/api/v1/slis")->body)["slis"];
  for (const json& row : slis) {
    if (row["agent"] == "" && row["labels"].empty() && row["window"] == "1h" &&
        !row["value"].is_null()) {
      own_fleet[row["sli"]] = row["value"].get<double>();
    }
  }
  const double want_rate = static_cast<double>(overrides) / verdicts;
  const struct {
    const char* record;
    const char* sli;
    double expected;
  } figures[] = {
      {"agentwatch:override_rate:fleet", "override_rate", want_rate},
      {"agentwatch:investigations:fleet", "investigations", static_cast<double>(investigations)},
      {"agentwatch:cost_usd:fleet", "cost_usd", cost},
  };
  for (const auto& f : figures) {
    const auto shards = fleet(f.record, "shards");
    const auto one = fleet(f.record, "single");
    ASSERT_TRUE(shards && one) << f.record;
    EXPECT_NEAR(*shards, *one, 1e-9) << f.record;
    EXPECT_NEAR(*shards, f.expected, 1e-9) << f.record;
    ASSERT_TRUE(own_fleet.count(f.sli)) << f.sli << " " << slis.dump();
    EXPECT_NEAR(own_fleet[f.sli], *shards, 1e-9) << f.sli;
  }

  // Broadcast verdicts count once across the fleet: each shard counts its
  // own agents' only.
  const auto fb = [&](const std::string& job) {
    return query("sum(agentwatch_feedback_total{job=\"" + job + "\"})");
  };
  EXPECT_EQ(fb("shards"), std::optional<double>(verdicts));
  EXPECT_EQ(fb("single"), std::optional<double>(verdicts));
  EXPECT_EQ(query("sum(agentwatch_ingest_rejected_total{job=\"shards\",endpoint=\"/v1/"
                  "spans\",reason=\"misdirected\"})"),
            std::optional<double>([&] {
              int n = 1;  // the mixed batch's foreign record
              for (int a = 0; a < 10; ++a) {
                if (Fnv("agent-" + std::to_string(a)) % 2 == 1) n += 3 + a % 4;
              }
              return n;
            }()));

  // external_labels: every series of the single instance carries replica.
  const std::string metrics = single->Client()->Get("/metrics")->body;
  std::istringstream lines(metrics);
  int series = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    ++series;
    EXPECT_NE(line.find("replica=\"single-a\""), std::string::npos) << line;
  }
  EXPECT_GT(series, 20);
  EXPECT_EQ(shard0->Client()->Get("/metrics")->body.find("replica="), std::string::npos);
}

}  // namespace
}  // namespace aw

namespace aw {
namespace {

TEST_F(ShardingTest, OwnershipFollowsAReload) {
  auto d = Launch("listed", "shard: {agents: [triage]}\n", 0);
  ASSERT_TRUE(d->running());
  int status = 0;
  const auto span = [](const std::string& id, const std::string& agent) {
    return R"({"investigation_id":")" + id + R"(","agent":")" + agent + "\"}\n";
  };
  EXPECT_EQ((Post(d->url(), "/v1/spans", span("r1", "triage"), &status), status), 200);
  json body = Post(d->url(), "/v1/spans", span("r2", "cost-bot"), &status);
  EXPECT_EQ(status, 421);
  EXPECT_NE(body["error"].get<std::string>().find(
                "agent: \"cost-bot\" is not one of this shard's agents"),
            std::string::npos)
      << body.dump();

  // The shard now serves cost-bot instead.
  Config("listed", "shard: {agents: [cost-bot]}\n", 0);
  auto res = d->Client()->Post("/-/reload", "", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ((Post(d->url(), "/v1/spans", span("r2", "cost-bot"), &status), status), 200);
  EXPECT_EQ((Post(d->url(), "/v1/spans", span("r3", "triage"), &status), status), 421);
}

}  // namespace
}  // namespace aw
