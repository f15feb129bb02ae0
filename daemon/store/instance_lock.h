#pragma once

// One daemon per store: an exclusive flock(2) on "<db>.lock", beside the
// SQLite file, held for the life of the process. The kernel drops it when
// the process exits in any way (kill -9 included), so a crash never leaves
// a stale lock behind; the file itself stays and is harmless.

#include <string>

#include "daemon/common/status.h"

namespace aw {

class InstanceLock {
 public:
  // Takes the lock for the database at `db_path` without waiting. The error
  // names the lock file and, when another process holds it, says so (with
  // that process's pid when it wrote one).
  static Result<InstanceLock> Acquire(const std::string& db_path);

  InstanceLock(InstanceLock&& other) noexcept;
  InstanceLock& operator=(InstanceLock&& other) noexcept;
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;
  ~InstanceLock();  // releases the lock

  const std::string& path() const { return path_; }

 private:
  InstanceLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace aw
