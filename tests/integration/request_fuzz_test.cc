// Random requests at every endpoint of the real binary, with auth on: junk
// and near-valid bodies, every content type, bytes that are not UTF-8 in the
// path, query, headers and body, wrong methods and tokens. Whatever comes
// in, the daemon must answer with a status below 500 and, for JSON, a body
// that parses (so it is valid UTF-8), stay up, and still store a
// legitimate client's span afterwards. Seeded, so a failure replays.

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/daemon_process.h"
#include "tests/testing/raw_socket.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using testing::DaemonProcess;
using testing::RawSocket;

constexpr const char* kIngestToken = "ingest-token-0123456789";
constexpr const char* kAdminToken = "admin-token-0123456789";

class RequestFuzz {
 public:
  explicit RequestFuzz(uint32_t seed) : rng_(seed) {}

  std::string Next() {
    static const std::vector<std::string> kPaths = {"/v1/spans",
                                                    "/v1/feedback",
                                                    "/v1/resolutions",
                                                    "/v1/traces",
                                                    "/v1/logs",
                                                    "/v1/webhooks/slack",
                                                    "/v1/webhooks/pagerduty",
                                                    "/api/v1/silences",
                                                    "/api/v1/alerts",
                                                    "/api/v1/rules",
                                                    "/api/v1/slis",
                                                    "/api/v1/receivers",
                                                    "/api/v1/investigations",
                                                    "/api/v1/calibration",
                                                    "/alerts/",
                                                    "/",
                                                    "/metrics",
                                                    "/-/reload",
                                                    "/-/healthy",
                                                    "/-/ready"};
    static const std::vector<std::string> kQueries = {
        "fingerprint=", "agent=", "window=", "alert=", "state=", "limit=", "since=", "silenced="};
    static const std::vector<std::string> kValues = {"%FF",
                                                     "%00",
                                                     "%C0%AF",
                                                     std::string(3000, 'x'),
                                                     "{",
                                                     "-1",
                                                     "99999999999999999999",
                                                     "1e999",
                                                     "",
                                                     "%22(a%7Caa)%2B%22",
                                                     "\xff\xfe"};
    static const std::vector<std::string> kTypes = {"application/json",
                                                    "application/x-ndjson",
                                                    "application/x-protobuf",
                                                    "text/plain",
                                                    "application/json; charset=\xff",
                                                    "multipart/form-data; boundary=x",
                                                    "application/x-www-form-urlencoded"};
    static const std::vector<std::string> kAuth = {std::string("Bearer ") + kAdminToken,
                                                   std::string("Bearer ") + kIngestToken,
                                                   "Bearer x",
                                                   "",
                                                   std::string("Bearer ") + kAdminToken + "\xff",
                                                   "Basic \x80\x81"};

    std::string path = Pick(kPaths);
    if (path == "/alerts/") path += Pick(kValues);
    const bool writes = path.rfind("/v1/", 0) == 0 || path == "/-/reload";
    std::string method = writes ? "POST" : "GET";
    if (path == "/api/v1/silences") method = Pick<std::string>({"GET", "POST", "DELETE"});
    if (method == "DELETE") {
      path += '/';
      path += Pick<std::string>({"%FF", "abc", std::string(40, '0')});
    }
    if (Chance(0.08)) method = Pick<std::string>({"PUT", "PATCH", "OPTIONS", "HEAD", "G\xffT"});
    if (Chance(0.3)) path += "?" + Pick(kQueries) + Pick(kValues);

    const std::string body = Body();
    std::string req = method + " " + path +
                      " HTTP/1.1\r\nHost: x\r\nContent-Type: " + Pick(kTypes) +
                      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    const std::string auth = Pick(kAuth);
    if (!auth.empty()) req += "Authorization: " + auth + "\r\n";
    if (Chance(0.1)) req += "X-Junk: " + Junk(20) + "\r\n";
    return req + "Connection: close\r\n\r\n" + body;
  }

 private:
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
  }
  template <typename T>
  T Pick(std::initializer_list<T> v) {
    return Pick(std::vector<T>(v));
  }
  std::string Junk(size_t max) {
    std::string s(std::uniform_int_distribution<size_t>(1, max)(rng_), '\0');
    for (char& c : s) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng_));
    // Header values cannot hold CR or LF; the request must stay one request.
    if (max <= 20) {
      for (char& c : s) {
        if (c == '\r' || c == '\n') c = ' ';
      }
    }
    return s;
  }
  std::string Body() {
    switch (std::uniform_int_distribution<int>(0, 6)(rng_)) {
      case 0:
        return "";
      case 1:
        return Junk(400);
      case 2:
        return json{{"investigation_id", std::to_string(rng_()).insert(0, 1, 'f')},
                    {"agent", Pick<std::string>({"ir", "", "a\xff"})},
                    {"tool_calls", Pick<json>({3, -1, "x", 1e300, nullptr})}}
            .dump(-1, ' ', false, json::error_handler_t::ignore);
      case 3:
        return json{
            {"matchers", json::array({json{{"name", Pick<std::string>({"agent", ""})},
                                           {"value", Pick<std::string>({"(a|aa)+", "[", "ir"})},
                                           {"isRegex", Chance(0.5)}}})},
            {"startsAt", Pick<json>({"2020-01-01T00:00:00Z", "bad", nullptr})},
            {"endsAt", Pick<json>({"2099-01-01T00:00:00Z", "1970-01-01T00:00:00Z", 12})},
            {"createdBy", "fuzz"},
            {"comment", "c"}}
            .dump();
      case 4:
        return std::string("payload=").append(Junk(200));
      case 5:
        return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":")" + Junk(16) +
               "\"}]}]}]}";
      default:
        return "{\"investigation_id\":\"" + Junk(12) + "\",\"agent\":\"ir\"}";
    }
  }

  std::mt19937 rng_;
};

// dump() with the strict handler throws on bytes that are not UTF-8.
bool IsUtf8(const std::string& s) {
  try {
    (void)json(s).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

TEST(RequestFuzzTest, RandomRequestsAtEveryEndpointGetAnAnswerBelow500AndValidJson) {
  testing::TempDir dir;
  const std::string config =
      dir.Write("agentwatch.yaml",
                std::string("listen: 127.0.0.1:0\nstorage: {path: events.db}\nsli_windows: [1h]\n"
                            "evaluation_interval: 1s\n"
                            "auth:\n  ingest_tokens: [") +
                    kIngestToken + "]\n  admin_tokens: [" + kAdminToken +
                    "]\n  slack_signing_secret: slk\n  pagerduty_webhook_secret: pds\n");
  DaemonProcess d(AW_BINARY, config, dir.path());
  ASSERT_TRUE(d.Start()) << d.Log();

  std::map<int, int> statuses;
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    RequestFuzz fuzz(seed);
    for (int i = 0; i < 500; ++i) {
      const std::string request = fuzz.Next();
      RawSocket s(d.port());
      ASSERT_TRUE(s.connected()) << "seed " << seed << " request " << i << "\n" << d.Log();
      ASSERT_TRUE(s.Send(request));
      const std::string reply = s.ReadResponse();
      const int status = StatusOf(reply);
      ++statuses[status];
      const std::string shown = json(request).dump(-1, ' ', false, json::error_handler_t::replace);
      ASSERT_TRUE(status >= 200 && status < 500)
          << "seed " << seed << " request " << i << ": " << shown << "\n"
          << reply;
      const size_t head_end = reply.find("\r\n\r\n");
      const std::string head = reply.substr(0, head_end);
      const std::string body = reply.substr(head_end + 4);
      const bool has_body = request.rfind("HEAD ", 0) != 0;
      if (has_body && head.find("Content-Type: application/json") != std::string::npos) {
        EXPECT_FALSE(json::parse(body, nullptr, false).is_discarded()) << shown << "\n" << reply;
      }
      EXPECT_TRUE(IsUtf8(body)) << shown << "\n" << reply;  // pages and plain text too
    }
  }
  for (const auto& [status, n] : statuses) std::cout << status << ": " << n << "\n";
  // Every kind of answer was exercised, not just one rejection.
  EXPECT_GT(statuses[200], 100);
  EXPECT_GT(statuses[400], 20);
  EXPECT_GT(statuses[401], 20);
  EXPECT_GT(statuses[415], 5);

  httplib::Client c("127.0.0.1", d.port());
  const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kIngestToken}};
  auto res = c.Post("/v1/spans", auth, R"({"investigation_id":"legit-1","agent":"legit"})",
                    "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  res = c.Get("/api/v1/investigations/legit-1",
              {{"Authorization", std::string("Bearer ") + kAdminToken}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(d.Stop(), 0) << d.Log();
}

}  // namespace
}  // namespace aw
