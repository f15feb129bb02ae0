// Expired silences are purged once `silence_retention` has passed since
// they ended (while running and across a restart), and /metrics counts
// silences by state. The real daemon with its clock set from a file
// (AGENTWATCH_TEST_NOW_FILE) and a real SQLite store.

#include <stdlib.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/now_file.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kRetention = 2 * kHour;

struct Planned {
  TimeMs starts = 0;
  TimeMs ends = 0;
  std::string id;  // once created
};

class SilenceRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t0_ = ParseRfc3339("2026-11-25T10:00:00Z").value();
    SetNow(t0_);
    // A rule, so evaluations run (and WaitForEvaluations can count them).
    dir_.Write("rules/agents.yaml",
               "groups:\n- name: agents\n  rules:\n  - alert: Busy\n    sli: tool_calls\n"
               "    stat: p95\n    window: 1h\n    threshold: 25\n");
    config_ = dir_.Write("agentwatch.yaml",
                         "listen: 127.0.0.1:0\nstorage: {path: events.db}\n"
                         "evaluation_interval: 200ms\nsilence_retention: 2h\n"
                         "rule_files: [rules/*.yaml]\n");
  }

  void SetNow(TimeMs t) {
    now_ = t;
    now_file_.Set(t);
  }

  std::unique_ptr<DaemonProcess> Start() {
    auto d = std::make_unique<DaemonProcess>(AW_BINARY, config_, dir_.path());
    EXPECT_TRUE(d->Start()) << d->Log();
    return d;
  }

  static std::string Create(DaemonProcess& d, const Planned& p, const std::string& value) {
    const json body = {
        {"matchers",
         {{{"name", "agent"}, {"value", value}, {"isRegex", false}, {"isEqual", true}}}},
        {"startsAt", FormatRfc3339(p.starts)},
        {"endsAt", FormatRfc3339(p.ends)},
        {"createdBy", "alice"},
        {"comment", "maintenance"}};
    auto res = d.Client()->Post("/api/v1/silences", body.dump(), "application/json");
    if (!res || res->status != 200) {
      ADD_FAILURE() << (res ? res->body : "no reply");
      return "";
    }
    return json::parse(res->body)["silenceID"].get<std::string>();
  }

  static std::set<std::string> Listed(DaemonProcess& d) {
    std::set<std::string> ids;
    const json body = json::parse(d.Client()->Get("/api/v1/silences")->body);
    for (const json& s : body["silences"]) ids.insert(s["id"].get<std::string>());
    return ids;
  }

  // agentwatch_silences by state, from /metrics.
  static std::map<std::string, double> Gauges(DaemonProcess& d) {
    std::map<std::string, double> out;
    std::istringstream lines(d.Client()->Get("/metrics")->body);
    const std::string prefix = "agentwatch_silences{state=\"";
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(prefix, 0) != 0) continue;
      const size_t end = line.find('"', prefix.size());
      out[line.substr(prefix.size(), end - prefix.size())] = std::stod(line.substr(end + 2));
    }
    return out;
  }

  // What the gauges must read at `now` for `silences`.
  static std::map<std::string, double> Expected(const std::vector<Planned>& silences, TimeMs now) {
    std::map<std::string, double> out = {{"active", 0}, {"pending", 0}, {"expired", 0}};
    for (const Planned& p : silences) {
      if (now < p.starts) {
        ++out["pending"];
      } else if (now < p.ends) {
        ++out["active"];
      } else if (now < p.ends + kRetention) {
        ++out["expired"];
      }
    }
    return out;
  }

  testing::TempDir dir_;
  testing::NowFile now_file_{dir_};
  std::string config_;
  TimeMs t0_ = 0;
  TimeMs now_ = 0;
};

TEST_F(SilenceRetentionTest, ExpiredSilencesAreListedUntilTheRetentionThenPurged) {
  auto d = Start();
  // soon: ends in 30m; later: pending for an hour; long: active for 3h.
  std::vector<Planned> all = {{t0_, t0_ + 30 * kMinute, ""},
                              {t0_ + kHour, t0_ + 10 * kHour, ""},
                              {t0_, t0_ + 3 * kHour, ""}};
  Planned& soon = all[0];
  Planned& later = all[1];
  Planned& lasting = all[2];
  soon.id = Create(*d, soon, "a");
  later.id = Create(*d, later, "b");
  lasting.id = Create(*d, lasting, "c");
  ASSERT_EQ(Listed(*d).size(), 3u);
  EXPECT_EQ(Gauges(*d), Expected(all, now_));

  // `soon` has expired: listed as such, counted as expired.
  SetNow(soon.ends + kMinute);
  ASSERT_TRUE(d->WaitForEvaluations(3));
  EXPECT_EQ(Gauges(*d), Expected(all, now_));
  EXPECT_EQ(Gauges(*d)["expired"], 1);

  // One second short of the retention it is still there.
  SetNow(soon.ends + kRetention - 1000);
  ASSERT_TRUE(d->WaitForEvaluations(3));
  EXPECT_EQ(Listed(*d), (std::set<std::string>{soon.id, later.id, lasting.id}));
  ASSERT_EQ(d->Stop(), 0);

  // The retention passes while the daemon is down: gone after the restart.
  SetNow(soon.ends + kRetention);
  d = Start();
  ASSERT_TRUE(d->WaitForEvaluations(3));
  EXPECT_EQ(Listed(*d), (std::set<std::string>{later.id, lasting.id}));
  EXPECT_EQ(Gauges(*d), Expected(all, now_));

  // `lasting` expires and its retention passes while running.
  SetNow(lasting.ends + kRetention - 1000);
  ASSERT_TRUE(d->WaitForEvaluations(3));
  EXPECT_EQ(Listed(*d), (std::set<std::string>{later.id, lasting.id}));
  EXPECT_EQ(Gauges(*d), Expected(all, now_));
  EXPECT_EQ(Gauges(*d)["expired"], 1);
  SetNow(lasting.ends + kRetention);
  ASSERT_TRUE(d->WaitForEvaluations(3));
  EXPECT_EQ(Listed(*d), (std::set<std::string>{later.id}));
  EXPECT_EQ(Gauges(*d), Expected(all, now_));
  ASSERT_EQ(d->Stop(), 0);

  // Deleted from the store, not only from memory.
  d = Start();
  EXPECT_EQ(Listed(*d), (std::set<std::string>{later.id}));
  EXPECT_EQ(Gauges(*d),
            (std::map<std::string, double>{{"active", 1}, {"pending", 0}, {"expired", 0}}));
  EXPECT_EQ(d->Stop(), 0);
}

}  // namespace
}  // namespace aw
