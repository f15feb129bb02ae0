// App::Start can fail after the listener thread is running (here: a rule
// file that breaks between `serve`'s own check and Start). Stop() must then
// always finish: cpp-httplib's stop() is a no-op until the listen loop has
// marked itself running, and a Stop() racing that start used to join a loop
// that never ended (about one start in six).

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "daemon/common/clock.h"
#include "daemon/config/config.h"
#include "daemon/server/app.h"
#include "tests/testing/temp_dir.h"

namespace aw {
namespace {

TEST(AppStartFailureTest, StopAfterAFailedStartAlwaysFinishes) {
  testing::TempDir dir;
  dir.Write("rules/bad.yaml", "groups:\n- name: g\n  rules:\n  - alert: A\n    sli: nope\n");
  auto config = LoadConfig(dir.Write("agentwatch.yaml",
                                     "listen: 127.0.0.1:0\nstorage: {path: events.db}\n"
                                     "log: {level: error}\nrule_files: [rules/*.yaml]\n"));
  ASSERT_TRUE(config.ok()) << config.status().message();
  SystemClock clock;
  for (int i = 0; i < 40; ++i) {
    server::App app(*config, clock, {});
    const Status s = app.Start();
    ASSERT_FALSE(s.ok());
    ASSERT_NE(s.message().find("bad.yaml:5:"), std::string::npos) << s.message();
    std::atomic<bool> done{false};
    std::thread stopper([&] {
      app.Stop();
      done = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!done) {
      ADD_FAILURE() << "Stop() after a failed Start() hung (attempt " << i << ")";
      std::_Exit(1);  // the stuck thread cannot be joined
    }
    stopper.join();
  }
}

}  // namespace
}  // namespace aw
