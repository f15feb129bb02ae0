#pragma once

// Runs the real agentwatch binary for integration tests: on an ephemeral
// loopback port (it writes the bound port to a file), with its own config
// and SQLite file in a TempDir. Polls instead of sleeping fixed times.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <httplib.h>

namespace aw::testing {

// Polls `pred` every few ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& pred,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

class DaemonProcess {
 public:
  // `config_path`: the YAML to serve. Extra args go after it.
  DaemonProcess(std::string binary, std::string config_path, std::string work_dir,
                std::vector<std::string> extra_args = {});
  ~DaemonProcess();  // SIGKILLs a daemon still running

  // Starts and waits until /-/ready answers 200. False on timeout or exit.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Sends `sig` and waits for the exit; returns the exit code (or 128+sig).
  int Stop(int sig = 15);
  void Kill9();
  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // A fresh client bound to the daemon.
  std::unique_ptr<httplib::Client> Client() const;
  // Waits until `more` rule evaluations have run since the call (the
  // agentwatch_rule_evaluation_duration_seconds count on /metrics), e.g.
  // after the test moved the daemon's clock. False on timeout.
  bool WaitForEvaluations(int more) const;
  // The daemon's stderr so far (for failure messages).
  std::string Log() const;

 private:
  std::string binary_;
  std::string config_path_;
  std::string work_dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int port_ = 0;
  int starts_ = 0;
};

// The config of the small daemon the front-door and security tests start:
// the store in events.db, one 1h SLI window, `limits` as the limits block
// (a YAML flow map), then `extra_yaml`.
std::string SmallDaemonConfig(const std::string& limits, const std::string& extra_yaml);

// Runs the binary to completion with `args`; returns the exit code and
// fills stdout/stderr.
int RunBinary(const std::string& binary, const std::vector<std::string>& args, std::string* out,
              std::string* err);

}  // namespace aw::testing
