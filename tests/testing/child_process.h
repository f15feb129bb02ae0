#pragma once

// Third-party servers (Prometheus, Alertmanager) run by integration tests:
// started with fork/exec, output to a log file, SIGTERM'd (then reaped) on
// destruction. Not thread-safe.

#include <sys/types.h>

#include <string>
#include <vector>

namespace aw::testing {

// A loopback TCP port the kernel just handed out and released again, for
// servers that cannot report the port they bound.
int FreePort();

class ChildProcess {
 public:
  ChildProcess(std::string binary, std::vector<std::string> args, std::string log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void Start();
  // Sends `sig` and reaps the process.
  void Stop(int sig = 15);
  bool running() const { return pid_ > 0; }
  std::string Log() const;

 private:
  std::string binary_;
  std::vector<std::string> args_;
  std::string log_path_;
  pid_t pid_ = -1;
};

}  // namespace aw::testing
