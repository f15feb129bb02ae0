// Everything at once against the real daemon: two clients ingest spans
// (timestamps out of order, so the windows re-sort), verdicts and
// resolutions; rules evaluate on every commit and every 100 ms; /metrics,
// /api/v1/slis, the status page, alert pages, silences and receivers are
// read in loops; silences are created and expired; alerts go to a grouped
// and an ungrouped receiver; the config is reloaded with alternating rules
// (which restarts delivery). Runs ~10 s (AW_CONCURRENCY_SECONDS).
//
// It fails when the daemon reports a data race (run under ThreadSanitizer
// by scripts/tsan.sh: halt_on_error makes the daemon exit), when a request
// fails, when the SLIs read at the end do not match what was sent, or when
// a restart (a single-threaded rebuild from the store) gives different SLIs.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/daemon_process.h"
#include "tests/testing/http_sink.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;

constexpr int kAgents = 6;

constexpr const char* kFleetRules = R"(groups:
- name: fleet
  rules:
  - alert: FleetOverrides
    sli: override_rate
    window: 1h
    by: []
    threshold: THRESHOLD
    min_samples: 10
  - alert: DurationTail
    sli: duration_ms
    stat: p99
    window: 50 investigations
    threshold: 90000
  - alert: CostCompare
    sli: cost_usd
    window: 2h
    compare: {offset: 1h, ratio_above: 2}
slos:
- name: fleet-diagnosis
  sli: override_rate
  objective: 0.95
  period: 7d
)";

// Concatenation by appending (g++ 12 gives a false -Wrestrict on
// "literal" + std::string&&).
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Seconds() {
  const char* s = std::getenv("AW_CONCURRENCY_SECONDS");
  return s != nullptr ? std::max(1, std::atoi(s)) : 10;
}

// (agent, sli, window, stat, labels) -> value, for every row of /api/v1/slis.
std::map<std::string, json> SliRows(DaemonProcess& d) {
  std::map<std::string, json> out;
  auto res = d.Client()->Get("/api/v1/slis");
  if (!res || res->status != 200) {
    ADD_FAILURE() << "GET /api/v1/slis: "
                  << (res ? Cat(std::to_string(res->status), " ", res->body)
                          : Cat("error ", httplib::to_string(res.error())));
    return out;
  }
  const json body = json::parse(res->body);
  for (const json& row : body["slis"]) {
    const std::string key = Cat(row["agent"].get<std::string>(), "|", row["sli"].get<std::string>(),
                                "|", row["window"].get<std::string>(), "|",
                                row["stat"].get<std::string>(), "|", row["labels"].dump());
    out[key] = row;
  }
  return out;
}

class ConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("rules/agents.yaml",
               ReadFile(std::string(AW_SOURCE_DIR) + "/examples/rules/agents.yaml"));
    WriteFleetRules("0.5");
    config_ = dir_.Write(
        "agentwatch.yaml",
        "listen: 127.0.0.1:0\nstorage: {path: events.db}\n"
        "evaluation_interval: 100ms\n"
        "sli_windows: [1h, 24h, 100 investigations]\n"
        "pricing: {m: {input: 3, output: 15}}\n"
        "receivers:\n"
        "  - name: grouped\n    webhook: {url: \"" +
            sink_.Url("/grouped") +
            "\"}\n"
            "    group_by: [alertname]\n    group_wait: 200ms\n    group_interval: 300ms\n"
            "  - name: plain\n    webhook: {url: \"" +
            sink_.Url("/plain") +
            "\"}\n"
            "default_receivers: [grouped, plain]\n"
            "rule_files: [rules/*.yaml]\n");
  }
  void WriteFleetRules(const std::string& threshold) {
    std::string text = kFleetRules;
    text.replace(text.find("THRESHOLD"), 9, threshold);
    dir_.Write("rules/fleet.yaml", text);
  }

  testing::TempDir dir_;
  testing::HttpSink sink_;
  std::string config_;
};

TEST_F(ConcurrencyTest, IngestRulesScrapesApiStatusPageAndReloadsTogether) {
  DaemonProcess d(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d.Start()) << d.Log();

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(Seconds());
  const auto running = [&] { return std::chrono::steady_clock::now() < deadline; };
  std::atomic<int> failures{0};
  std::string first_failure;
  std::mutex failure_mu;
  const auto fail = [&](const std::string& what) {
    std::lock_guard lock(failure_mu);
    if (failures++ == 0) first_failure = what;
  };

  // What was sent and accepted, per agent.
  std::mutex sent_mu;
  std::map<std::string, int64_t> spans_sent, verdicts_sent, overrides_sent;

  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(static_cast<uint32_t>(w + 1));
      auto c = d.Client();
      for (int batch = 0; running(); ++batch) {
        std::string spans, verdicts;
        std::map<std::string, int64_t> s_count, v_count, o_count;
        for (int i = 0; i < 50; ++i) {
          const std::string id =
              Cat("w", std::to_string(w), "-", std::to_string(batch), "-", std::to_string(i));
          const std::string agent = Cat("agent-", std::to_string(rng() % kAgents));
          // Within the last 50 minutes, in no particular order.
          const int64_t ts = now_s - static_cast<int64_t>(rng() % 3000);
          spans += Cat(R"({"investigation_id":")", id, R"(","agent":")", agent, R"(","ts":)",
                       std::to_string(ts), R"(,"model":"m","input_tokens":)",
                       std::to_string(rng() % 4000), R"(,"output_tokens":)",
                       std::to_string(rng() % 800), R"(,"tool_calls":)", std::to_string(rng() % 40),
                       R"(,"duration_ms":)", std::to_string(rng() % 120000), R"(,"confidence":0.)",
                       std::to_string(rng() % 9 + 1), R"(,"incident_id":"INC-)",
                       std::to_string(rng() % 200), "\"}\n");
          ++s_count[agent];
          if (i % 2 == 0) {
            const bool override = rng() % 5 == 0;
            verdicts += Cat(R"({"investigation_id":")", id, R"(","ts":)", std::to_string(ts + 1),
                            R"(,"verdict":")", override ? "override" : "confirm", "\"}\n");
            ++v_count[agent];
            if (override) ++o_count[agent];
          }
        }
        auto r = c->Post("/v1/spans", spans, "application/x-ndjson");
        if (!r || r->status != 200) {
          fail(Cat("POST /v1/spans: ",
                   r ? Cat(std::to_string(r->status), " ", r->body) : "no answer"));
          return;
        }
        r = c->Post("/v1/feedback", verdicts, "application/x-ndjson");
        if (!r || r->status != 200) {
          fail(Cat("POST /v1/feedback: ",
                   r ? Cat(std::to_string(r->status), " ", r->body) : "no answer"));
          return;
        }
        if (batch % 4 == 0) {
          r = c->Post("/v1/resolutions",
                      Cat(R"({"incident_id":"INC-)", std::to_string(rng() % 200),
                          R"(","time_to_resolve_s":)", std::to_string(rng() % 7200), "}\n"),
                      "application/x-ndjson");
          if (!r || r->status != 200) {
            fail(Cat("POST /v1/resolutions: ", r ? std::to_string(r->status) : "no answer"));
            return;
          }
        }
        std::lock_guard lock(sent_mu);
        for (const auto& [a, n] : s_count) spans_sent[a] += n;
        for (const auto& [a, n] : v_count) verdicts_sent[a] += n;
        for (const auto& [a, n] : o_count) overrides_sent[a] += n;
      }
    });
  }
  const auto reader = [&](const std::string& path) {
    return [&, path] {
      auto c = d.Client();
      while (running()) {
        auto r = c->Get(path.c_str());
        if (!r || r->status != 200) {
          fail(Cat("GET ", path, ": ", r ? std::to_string(r->status) : "no answer"));
          return;
        }
      }
    };
  };
  threads.emplace_back(reader("/metrics"));
  threads.emplace_back(reader("/metrics"));
  threads.emplace_back(reader("/api/v1/slis"));
  threads.emplace_back(reader("/api/v1/slis?agent=agent-1"));
  threads.emplace_back(reader("/"));
  threads.emplace_back(reader("/api/v1/silences"));
  threads.emplace_back(reader("/api/v1/receivers"));
  // Alert pages of whatever fires now (200), or has just resolved (404).
  threads.emplace_back([&] {
    auto c = d.Client();
    while (running()) {
      auto r = c->Get("/api/v1/alerts");
      if (!r || r->status != 200) {
        fail(Cat("GET /api/v1/alerts: ", r ? std::to_string(r->status) : "no answer"));
        return;
      }
      const json alerts = json::parse(r->body)["alerts"];
      for (const json& a : alerts) {
        const std::string path = Cat("/alerts/", a["fingerprint"].get<std::string>());
        auto p = c->Get(path.c_str());
        if (!p || (p->status != 200 && p->status != 404)) {
          fail(Cat("GET ", path, ": ", p ? std::to_string(p->status) : "no answer"));
          return;
        }
      }
    }
  });
  // Silences come and go: evaluation and delivery read them meanwhile.
  threads.emplace_back([&] {
    auto c = d.Client();
    for (int i = 0; running(); ++i) {
      const json body = {{"matchers",
                          {{{"name", "agent"},
                            {"value", Cat("agent-", std::to_string(i % kAgents))},
                            {"isRegex", false},
                            {"isEqual", true}}}},
                         {"endsAt", "2099-01-01T00:00:00Z"},
                         {"createdBy", "ci"},
                         {"comment", "churn"}};
      auto r = c->Post("/api/v1/silences", body.dump(), "application/json");
      if (!r || r->status != 200) {
        fail(Cat("POST /api/v1/silences: ",
                 r ? Cat(std::to_string(r->status), " ", r->body) : "no answer"));
        return;
      }
      const std::string id = json::parse(r->body)["silenceID"].get<std::string>();
      r = c->Delete(Cat("/api/v1/silences/", id).c_str());
      if (!r || r->status != 200) {
        fail(Cat("DELETE /api/v1/silences: ", r ? std::to_string(r->status) : "no answer"));
        return;
      }
    }
  });
  threads.emplace_back([&] {
    auto c = d.Client();
    for (int i = 0; running(); ++i) {
      WriteFleetRules(i % 2 ? "0.5" : "0.1");
      auto r = c->Post("/-/reload", "", "application/json");
      if (!r || r->status != 200) {
        fail(Cat("POST /-/reload: ",
                 r ? Cat(std::to_string(r->status), " ", r->body) : "no answer"));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // pacing, not waiting
    }
  });
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0) << first_failure << "\n" << d.Log();
  ASSERT_TRUE(d.running());
  EXPECT_EQ(d.Log().find("ThreadSanitizer"), std::string::npos) << d.Log();

  // The figures match what was sent.
  const auto before = SliRows(d);
  ASSERT_FALSE(before.empty()) << d.Log();
  int64_t total = 0;
  for (const auto& [agent, n] : spans_sent) {
    total += n;
    const auto inv = before.find(agent + "|investigations|1h||{}");
    ASSERT_NE(inv, before.end()) << agent;
    EXPECT_EQ(inv->second["value"].get<double>(), static_cast<double>(n)) << agent;
    const auto rate = before.find(agent + "|override_rate|24h||{}");
    ASSERT_NE(rate, before.end()) << agent;
    EXPECT_NEAR(
        rate->second["value"].get<double>(),
        static_cast<double>(overrides_sent[agent]) / static_cast<double>(verdicts_sent[agent]),
        1e-12)
        << agent;
    EXPECT_EQ(rate->second["samples"].get<int64_t>(), verdicts_sent[agent]) << agent;
  }
  EXPECT_GT(total, 0);

  // A restart rebuilds the windows on one thread: the same figures. (Every
  // window here holds all records, whose ts lie 0-50 min back, at both
  // reads, or none of them: the clock moving in between changes nothing.)
  EXPECT_EQ(d.Stop(), 0) << d.Log();
  ASSERT_TRUE(d.Start()) << d.Log();
  const auto after = SliRows(d);
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [key, row] : before) {
    const auto it = after.find(key);
    ASSERT_NE(it, after.end()) << key;
    EXPECT_EQ(it->second["samples"], row["samples"]) << key;
    if (row["value"].is_null()) {
      EXPECT_TRUE(it->second["value"].is_null()) << key;
    } else {
      const double a = row["value"].get<double>(), b = it->second["value"].get<double>();
      EXPECT_NEAR(a, b, 1e-9 * std::max(1.0, std::abs(a))) << key;
    }
  }
  EXPECT_EQ(d.Stop(), 0) << d.Log();
  EXPECT_EQ(d.Log().find("ThreadSanitizer"), std::string::npos) << d.Log();
}

}  // namespace
}  // namespace aw
