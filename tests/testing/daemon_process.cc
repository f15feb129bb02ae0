#include "tests/testing/daemon_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace aw::testing {

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

namespace {
std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pid_t Spawn(const std::string& binary, const std::vector<std::string>& args,
            const std::string& out_path, const std::string& err_path) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  dup2(out, 1);
  dup2(err, 2);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  _exit(127);
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}
}  // namespace

DaemonProcess::DaemonProcess(std::string binary, std::string config_path, std::string work_dir,
                             std::vector<std::string> extra_args)
    : binary_(std::move(binary)),
      config_path_(std::move(config_path)),
      work_dir_(std::move(work_dir)),
      extra_args_(std::move(extra_args)) {}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) Kill9();
}

bool DaemonProcess::Start(std::chrono::milliseconds timeout) {
  const std::string port_file = work_dir_ + "/port";
  std::filesystem::remove(port_file);
  std::vector<std::string> args = {"serve", "--config", config_path_, "--port-file", port_file};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  ++starts_;
  pid_ = Spawn(binary_, args, work_dir_ + "/stdout.log", work_dir_ + "/stderr.log");
  const bool up = WaitFor(
      [&] {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;  // exited: stop waiting
        }
        std::ifstream in(port_file);
        return static_cast<bool>(in >> port_) && port_ > 0;
      },
      timeout);
  if (!up || pid_ < 0) return false;
  return WaitFor(
      [&] {
        auto res = Client()->Get("/-/ready");
        return res && res->status == 200;
      },
      timeout);
}

int DaemonProcess::Stop(int sig) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return ExitCode(status);
}

void DaemonProcess::Kill9() { Stop(SIGKILL); }

std::unique_ptr<httplib::Client> DaemonProcess::Client() const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
  c->set_connection_timeout(5);
  c->set_read_timeout(30);
  return c;
}

std::string DaemonProcess::Log() const { return ReadFile(work_dir_ + "/stderr.log"); }

std::string SmallDaemonConfig(const std::string& limits, const std::string& extra_yaml) {
  return "listen: 127.0.0.1:0\n"
         "storage: {path: events.db}\n"
         "sli_windows: [1h]\n"
         "limits: " +
         limits + "\n" + extra_yaml;
}

int RunBinary(const std::string& binary, const std::vector<std::string>& args, std::string* out,
              std::string* err) {
  char tmpl[] = "/tmp/aw-run-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const pid_t pid = Spawn(binary, args, dir + "/out", dir + "/err");
  int status = 0;
  waitpid(pid, &status, 0);
  if (out) *out = ReadFile(dir + "/out");
  if (err) *err = ReadFile(dir + "/err");
  std::filesystem::remove_all(dir);
  return ExitCode(status);
}

bool DaemonProcess::WaitForEvaluations(int more) const {
  const auto count = [this] {
    auto res = Client()->Get("/metrics");
    if (!res) return -1.0;
    const std::string key = "agentwatch_rule_evaluation_duration_seconds_count ";
    const size_t at = res->body.find(key);
    return at == std::string::npos ? -1.0 : std::stod(res->body.substr(at + key.size()));
  };
  const double start = count();
  return WaitFor([&] { return count() >= start + more; });
}

}  // namespace aw::testing
