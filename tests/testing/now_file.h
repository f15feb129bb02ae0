#pragma once

// The daemon's injected clock in integration tests: a file holding the time
// in Unix ms, which the daemon reads when AGENTWATCH_TEST_NOW_FILE names it.
// The variable is set while a NowFile lives (daemons started then inherit
// it); Set writes the file atomically, so the daemon never reads half of one.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "daemon/common/types.h"
#include "tests/testing/temp_dir.h"

namespace aw::testing {

class NowFile {
 public:
  explicit NowFile(const TempDir& dir) : dir_(dir), path_(dir.File("now")) {
    ::setenv("AGENTWATCH_TEST_NOW_FILE", path_.c_str(), 1);
  }
  ~NowFile() { ::unsetenv("AGENTWATCH_TEST_NOW_FILE"); }
  NowFile(const NowFile&) = delete;
  NowFile& operator=(const NowFile&) = delete;

  void Set(TimeMs t) const {
    dir_.Write("now.tmp", std::to_string(t));
    ASSERT_EQ(std::rename(dir_.File("now.tmp").c_str(), path_.c_str()), 0);
  }

 private:
  const TempDir& dir_;
  std::string path_;
};

}  // namespace aw::testing
