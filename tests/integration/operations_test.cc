// Operating the real binary: one instance per store, start-up errors that
// exit at once with FILE:LINE, per-command help, log lines that parse as
// logfmt or JSON, and a shutdown that says what is still pending.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/testing/daemon_process.h"
#include "tests/testing/logfmt.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::DaemonProcess;
using testing::ParseLogfmt;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A child process whose exit is awaited with a deadline, unlike RunBinary:
// a hang must fail the test, not stall it.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::string& dir, const std::string& tag)
      : err_path_(dir + "/" + tag + ".err") {
    pid_ = fork();
    if (pid_ == 0) {
      const int out = open((dir + "/" + tag + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, 1);
      dup2(err, 2);
      std::vector<char*> argv{const_cast<char*>(AW_BINARY)};
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(AW_BINARY, argv.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // The exit code (128+signal when killed), or nullopt if still running at
  // the deadline.
  std::optional<int> Wait(milliseconds timeout) {
    int status = 0;
    const bool done =
        testing::WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
    if (!done) return std::nullopt;
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
  }
  void Signal(int sig) { kill(pid_, sig); }
  std::string Err() const { return ReadAll(err_path_); }

 private:
  pid_t pid_ = -1;
  std::string err_path_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

constexpr const char* kRules = R"(groups:
- name: agents
  rules:
  - alert: AgentToolCallExplosion
    sli: tool_calls
    stat: p95
    window: 10 investigations
    threshold: 25
    min_samples: 5
    labels: {severity: page}
)";

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("rules/agents.yaml", kRules);
    config_ = dir_.Write("agentwatch.yaml",
                         "listen: 127.0.0.1:0\nstorage: {path: data/events.db}\n"
                         "evaluation_interval: 200ms\nrule_files: [rules/*.yaml]\n");
  }
  testing::TempDir dir_;
  std::string config_;
};

TEST_F(OperationsTest, SecondServeOnTheSameStoreExitsAtOnceAndKill9ReleasesIt) {
  std::filesystem::create_directories(dir_.File("a"));
  std::filesystem::create_directories(dir_.File("b"));
  DaemonProcess first(AW_BINARY, config_, dir_.File("a"));
  ASSERT_TRUE(first.Start()) << first.Log();

  Child second({"serve", "--config", config_}, dir_.path(), "second");
  const auto code = second.Wait(seconds(10));
  ASSERT_TRUE(code.has_value()) << "a second serve on the same store did not exit";
  EXPECT_EQ(*code, 1);
  const std::string err = second.Err();
  const std::string db = dir_.File("data/events.db");
  EXPECT_NE(err.find("store " + db + " is in use: another agentwatch process"), std::string::npos)
      << err;
  EXPECT_NE(err.find(db + ".lock"), std::string::npos) << err;
  EXPECT_EQ(err.find("listening"), std::string::npos) << "refused before binding: " << err;
  // The first one is untouched.
  auto res = first.Client()->Get("/-/ready");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  // A crash releases the lock: the next start works.
  first.Kill9();
  DaemonProcess third(AW_BINARY, config_, dir_.File("b"));
  ASSERT_TRUE(third.Start()) << third.Log();
  EXPECT_EQ(third.Stop(SIGTERM), 0);

  // A different store is not blocked by the lock of another.
  DaemonProcess other(AW_BINARY, config_, dir_.File("a"),
                      {"--storage.path", dir_.File("other/events.db")});
  DaemonProcess again(AW_BINARY, config_, dir_.File("b"));
  ASSERT_TRUE(again.Start()) << again.Log();
  ASSERT_TRUE(other.Start()) << other.Log();
}

// `top -H`, perf and /proc name the daemon's long-lived threads.
TEST_F(OperationsTest, LongLivedThreadsCarryTheirNames) {
  DaemonProcess d(AW_BINARY, config_, dir_.path());
  ASSERT_TRUE(d.Start()) << d.Log();
  std::multiset<std::string> names;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(d.pid()) + "/task")) {
    std::string name = ReadAll(task.path().string() + "/comm");
    if (!name.empty() && name.back() == '\n') name.pop_back();
    names.insert(name);
  }
  for (const char* want : {"aw-writer", "aw-evaluator", "aw-http-io", "aw-checkpoint"}) {
    EXPECT_GE(names.count(want), 1u) << want;
  }
  EXPECT_EQ(d.Stop(SIGTERM), 0);
}

TEST_F(OperationsTest, InvalidRuleFileExitsOneWithFileLineEveryTime) {
  dir_.Write("rules/agents.yaml",
             "groups:\n- name: g\n  rules:\n  - alert: A\n    sli: tool_calls\n    stat: p95\n"
             "    window: 10 minutes\n    threshold: 1\n");
  for (int i = 0; i < 20; ++i) {
    Child serve({"serve", "--config", config_}, dir_.path(), "serve");
    const auto code = serve.Wait(seconds(10));
    ASSERT_TRUE(code.has_value()) << "start " << i << " hung:\n" << serve.Err();
    ASSERT_EQ(*code, 1) << serve.Err();
    const std::string err = serve.Err();
    ASSERT_NE(err.find(dir_.File("rules/agents.yaml") + ":7: rule \"A\": window: "),
              std::string::npos)
        << err;
    ASSERT_NE(err.find("did you mean 10m?"), std::string::npos) << err;
    ASSERT_EQ(err.find("listening"), std::string::npos) << "checked before binding: " << err;
  }
  // And the store was never opened.
  EXPECT_FALSE(std::filesystem::exists(dir_.File("data/events.db")));
}

TEST_F(OperationsTest, InvalidConfigExitsOneWithFileLine) {
  const std::string bad = dir_.Write("bad.yaml", "listen: 127.0.0.1:0\nrule_file: [x]\n");
  Child serve({"serve", "--config", bad}, dir_.path(), "serve");
  const auto code = serve.Wait(seconds(10));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  EXPECT_NE(serve.Err().find(bad + ":2: unknown key \"rule_file\" in config (did you mean "
                                   "\"rule_files\"?"),
            std::string::npos)
      << serve.Err();
}

TEST_F(OperationsTest, StopDuringStartUpAlwaysFinishes) {
  // A store with some history makes the rebuild take a moment.
  {
    DaemonProcess d(AW_BINARY, config_, dir_.path());
    ASSERT_TRUE(d.Start()) << d.Log();
    std::string body;
    for (int i = 0; i < 2000; ++i) {
      body += R"({"investigation_id":"inv-)" + std::to_string(i) +
              R"(","agent":"ir","tool_calls":3})" + "\n";
    }
    auto res = d.Client()->Post("/v1/spans", body, "application/x-ndjson");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    ASSERT_EQ(d.Stop(SIGTERM), 0);
  }
  // SIGTERM at different points of the start-up: before the config is read,
  // while binding, while rebuilding. Every one must end the process.
  for (int i = 0; i < 12; ++i) {
    const std::string port_file = dir_.File("port" + std::to_string(i));
    Child serve({"serve", "--config", config_, "--port-file", port_file}, dir_.path(), "serve");
    if (i % 3 == 1) {
      testing::WaitFor([&] { return serve.Err().find("listening") != std::string::npos; },
                       seconds(10));
    } else if (i % 3 == 2) {
      testing::WaitFor([&] { return std::filesystem::exists(port_file); }, seconds(10));
    }
    serve.Signal(SIGTERM);
    const auto code = serve.Wait(seconds(15));
    ASSERT_TRUE(code.has_value()) << "SIGTERM during start-up " << i << " hung:\n" << serve.Err();
    EXPECT_TRUE(*code == 0 || *code == 128 + SIGTERM) << *code << "\n" << serve.Err();
  }
}

TEST_F(OperationsTest, HelpForEveryCommandAndUsageErrors) {
  const std::map<std::string, std::vector<std::string>> flags = {
      {"serve",
       {"--config", "--listen", "--storage.path", "--log.level", "--log.format",
        "--evaluation_interval", "--port-file", "--insecure", "--help"}},
      {"check", {"--config", "--help"}},
      {"test", {"--help"}},
      {"replay", {"--config", "--json", "--help"}},
      {"version", {"--help"}},
  };
  for (const auto& [command, names] : flags) {
    std::string out, err;
    ASSERT_EQ(testing::RunBinary(AW_BINARY, {command, "--help"}, &out, &err), 0) << command << err;
    EXPECT_EQ(out.rfind("usage: agentwatch " + command, 0), 0u) << out;
    for (const std::string& f : names) {
      // Each flag is on its own line with a description after it.
      const size_t at = out.find("  " + f);
      ASSERT_NE(at, std::string::npos) << command << " help lacks " << f << ":\n" << out;
      const std::string line = out.substr(at, out.find('\n', at) - at);
      EXPECT_GT(line.size(), f.size() + 8) << command << " " << f << " has no description";
    }
    EXPECT_EQ(testing::RunBinary(AW_BINARY, {command, "-h"}, &out, &err), 0);
  }
  std::string out, err;
  EXPECT_EQ(
      testing::RunBinary(AW_BINARY, {"serve", "--config", config_, "--listn", "x"}, &out, &err), 2);
  EXPECT_NE(err.find("unknown flag --listn for serve (did you mean \"--listen\"?"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("usage: agentwatch serve"), std::string::npos) << err;
  EXPECT_EQ(
      testing::RunBinary(AW_BINARY, {"check", "--config", config_, "--listen", "x"}, &out, &err),
      2);
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"serv"}, &out, &err), 2);
  EXPECT_NE(err.find("did you mean \"serve\"?"), std::string::npos) << err;
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"--help"}, &out, &err), 0);
  EXPECT_NE(out.find("serve"), std::string::npos);
}

TEST_F(OperationsTest, CheckRejectsARuleGlobThatMatchesNothing) {
  const std::string cfg =
      dir_.Write("typo.yaml", "listen: 127.0.0.1:0\nrule_files: [rules/*.yaml, rule/*.yml]\n");
  std::string out, err;
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"check", "--config", cfg}, &out, &err), 1);
  EXPECT_NE(err.find("rule_files: \"" + dir_.File("rule/*.yml") + "\" matches no file"),
            std::string::npos)
      << err;
  EXPECT_EQ(testing::RunBinary(AW_BINARY, {"check", "--config", config_}, &out, &err), 0) << err;
}

TEST_F(OperationsTest, LogfmtLinesParseAndShutdownReportsPendingNotifications) {
  // A receiver where nothing listens: the notification stays in the outbox.
  const std::string cfg = dir_.Write(
      "down.yaml",
      "listen: 127.0.0.1:0\nstorage: {path: data/events.db}\nevaluation_interval: 200ms\n"
      "receivers:\n  - name: down\n    webhook: {url: \"http://127.0.0.1:1/hook\"}\n"
      "default_receivers: [down]\nrule_files: [rules/*.yaml]\n");
  DaemonProcess d(AW_BINARY, cfg, dir_.path());
  ASSERT_TRUE(d.Start()) << d.Log();
  std::string body;
  for (int i = 0; i < 10; ++i) {
    body += R"({"investigation_id":"loop-)" + std::to_string(i) +
            R"(","agent":"ir","tool_calls":40})" + "\n";
  }
  auto res = d.Client()->Post("/v1/spans", body, "application/x-ndjson");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  ASSERT_TRUE(testing::WaitFor([&] {
    auto a = d.Client()->Get("/api/v1/alerts");
    return a && json::parse(a->body)["alerts"].size() == 1;
  }));
  ASSERT_EQ(d.Stop(SIGTERM), 0);

  bool saw_pending = false;
  for (const std::string& line : Lines(d.Log())) {
    auto kv = ParseLogfmt(line);
    ASSERT_TRUE(kv) << "not logfmt: " << line;
    EXPECT_TRUE(kv->count("ts") && kv->count("level") && kv->count("msg")) << line;
    if (kv->count("pending_notifications")) {
      saw_pending = true;
      EXPECT_GE(std::stoi(kv->at("pending_notifications")), 1) << line;
      EXPECT_NE(kv->at("msg").find("still pending"), std::string::npos) << line;
      EXPECT_NE(kv->at("msg").find("resumes when agentwatch starts again"), std::string::npos);
    }
  }
  EXPECT_TRUE(saw_pending) << d.Log();
}

TEST_F(OperationsTest, JsonLogFormatFromFlagAndConfig) {
  {
    DaemonProcess d(AW_BINARY, config_, dir_.path(), {"--log.format", "json"});
    ASSERT_TRUE(d.Start()) << d.Log();
    ASSERT_EQ(d.Stop(SIGTERM), 0);
    const auto lines = Lines(d.Log());
    ASSERT_GE(lines.size(), 3u);
    bool saw_shutdown = false;
    for (const std::string& line : lines) {
      json j;
      ASSERT_NO_THROW(j = json::parse(line)) << line;
      ASSERT_TRUE(j.is_object()) << line;
      EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
      if (j.contains("pending_notifications")) {
        saw_shutdown = true;
        EXPECT_EQ(j["pending_notifications"], "0");
      }
    }
    EXPECT_TRUE(saw_shutdown) << d.Log();
  }
  std::filesystem::remove(dir_.File("stderr.log"));
  const std::string cfg = dir_.Write("json.yaml",
                                     "listen: 127.0.0.1:0\nstorage: {path: data/j.db}\n"
                                     "log: {format: json}\nrule_files: [rules/*.yaml]\n");
  DaemonProcess d(AW_BINARY, cfg, dir_.path());
  ASSERT_TRUE(d.Start()) << d.Log();
  ASSERT_EQ(d.Stop(SIGTERM), 0);
  for (const std::string& line : Lines(d.Log())) {
    EXPECT_NO_THROW(json::parse(line)) << line;
  }
}

}  // namespace
}  // namespace aw
